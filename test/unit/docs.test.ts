import * as Fs from "node:fs"
import { describe, expect, it } from "vitest"
import { readmeToolList, toolsMarkdown } from "../../src/server/tools/reference.js"
import { tools } from "../../src/server/tools/index.js"
import { unalias } from "../../src/server/tools/Tool.js"

describe("generated tool reference", () => {
  it("docs/TOOLS.md is what `npm run docs` writes from the registry", () => {
    expect(Fs.readFileSync("docs/TOOLS.md", "utf8")).toBe(toolsMarkdown() + "\n")
  })

  it("README lists every tool, as `npm run docs` writes it, and counts them right", () => {
    const readme = Fs.readFileSync("README.md", "utf8")
    expect(readme).toContain(`**Tools** (${tools.length}, `)
    const list = /<!-- tools:start -->\n([\s\S]*?)<!-- tools:end -->/.exec(readme)?.[1]
    expect(list).toBe(readmeToolList() + "\n")
    for (const t of tools) expect(list).toContain(`\`${t.name}\``)
  })

  it("every tool has a title, a description, and an object input schema with described arguments", () => {
    for (const t of tools) {
      expect(t.annotations.title.length, t.name).toBeGreaterThan(2)
      expect(t.description.length, t.name).toBeGreaterThan(20)
      expect(t.inputSchema.type, t.name).toBe("object")
      for (const [name, p] of Object.entries((t.inputSchema.properties ?? {}) as Record<string, { description?: string }>)) {
        expect(p.description, `${t.name}.${name} has no description`).toBeTruthy()
      }
    }
  })
})

describe("tool schemas every client reads", () => {
  it("no $ref, $defs or generated titles in any input or output schema; integers stay integers", () => {
    for (const t of tools) {
      for (const schema of [t.inputSchema, t.outputSchema]) {
        const text = JSON.stringify(schema ?? {})
        expect(text, t.name).not.toMatch(/"\$ref"|"\$defs"|"\$id"|"title"\s*:\s*"(int|between|unknown|greaterThan|lessThan)/)
      }
    }
    const resize = tools.find((t) => t.name === "browser_resize")!.inputSchema as any
    expect(resize.properties.width).toMatchObject({ type: "integer", minimum: 100, maximum: 10000 })
  })
})

describe("Playwright MCP's argument names", () => {
  it("target, startTarget and endTarget are taken as ref, startRef and endRef (also in fill_form fields); the canonical name wins", () => {
    expect(unalias({ target: "s1e2", element: "Go" })).toEqual({ ref: "s1e2", element: "Go" })
    expect(unalias({ startTarget: "s1e1", endTarget: "s1e2" })).toEqual({ startRef: "s1e1", endRef: "s1e2" })
    expect(unalias({ fields: [{ name: "Name", type: "textbox", target: "s1e3", value: "Ada" }] })).toEqual({
      fields: [{ name: "Name", type: "textbox", ref: "s1e3", value: "Ada" }]
    })
    expect(unalias({ ref: "s1e1", target: "s9e9" })).toEqual({ ref: "s1e1", target: "s9e9" })
  })
})
