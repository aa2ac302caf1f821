import { describe, expect, it } from "vitest"
import { inBrief } from "../../extension/src/Actions.js"

describe("an action's console messages, in brief", () => {
  it("shows a repeated message once with its count, and a long one by its first lines", () => {
    const stack = ["Uncaught Error: worker failed", ...Array.from({ length: 20 }, (_, i) => `    at f${i} (http://x/app.js:${i}:1)`)].join("\n")
    expect(inBrief([
      { level: "error", text: stack },
      { level: "info", text: "ready" },
      { level: "error", text: stack },
      { level: "error", text: stack }
    ])).toEqual([
      { level: "error", text: `${stack.split("\n").slice(0, 3).join("\n")} (cut: browser_console_messages shows it whole) (×3)` },
      { level: "info", text: "ready" }
    ])
  })

  it("cuts a long line, and keeps the latest 20 kinds", () => {
    expect(inBrief([{ level: "warning", text: "x".repeat(1000) }])[0]!.text).toBe(`${"x".repeat(400)}… (cut: browser_console_messages shows it whole)`)
    const many = inBrief(Array.from({ length: 30 }, (_, i) => ({ level: "info" as const, text: `m${i}` })))
    expect(many.map((m) => m.text)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i + 10}`))
  })
})
