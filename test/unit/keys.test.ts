/** Keys as a US keyboard sends them (Puppeteer's key table): what an agent's key names become. */
import { describe, expect, it } from "@effect/vitest"
import { keyEvent, parseKey } from "../../extension/src/Actions.js"

describe("parseKey", () => {
  it("reads keys and modifiers, and names what it cannot read", () => {
    expect(parseKey("Enter")).toEqual({ ok: { key: "Enter", modifiers: [] } })
    expect(parseKey("Control+Shift+a")).toEqual({ ok: { key: "a", modifiers: ["Control", "Shift"] } })
    expect(parseKey("+")).toEqual({ ok: { key: "+", modifiers: [] } })
    expect(parseKey(" ")).toEqual({ ok: { key: "Space", modifiers: [] } })
    expect(parseKey("Ctrl+a").error).toContain(`"Ctrl" is not a modifier`)
    expect(parseKey("Enterr").error).toContain(`"Enterr" is not a key`)
    for (const named of ["Comma", "Period", "NumpadEnter", "F12", "Control+Shift++"]) expect(parseKey(named).ok, named).toBeDefined()
  })

  it("sends what a US keyboard sends: punctuation is never another key, Shift shifts, Control types nothing", () => {
    expect(keyEvent(".", [])).toMatchObject({ key: ".", code: "Period", windowsVirtualKeyCode: 190, text: "." })
    expect(keyEvent("Shift", [])).toMatchObject({ key: "Shift", code: "ShiftLeft" })
    expect(keyEvent("1", ["Shift"])).toMatchObject({ key: "!", code: "Digit1", text: "!" })
    expect(keyEvent("a", ["Shift"])).toMatchObject({ key: "A", code: "KeyA", text: "A" })
    expect(keyEvent("Comma", [])).toMatchObject({ key: ",", code: "Comma", text: "," })
    expect(keyEvent("NumpadEnter", [])).toMatchObject({ key: "Enter", code: "NumpadEnter", text: "\r", location: 3 })
    expect(keyEvent("a", ["Control"])).toEqual({ key: "a", code: "KeyA", windowsVirtualKeyCode: 65, location: 0, modifiers: 2 })
    expect(keyEvent("é", [])).toMatchObject({ key: "é", text: "é" })
    // Every printable ASCII character types itself.
    for (let c = 32; c < 127; c++) {
      const ch = String.fromCharCode(c)
      expect(keyEvent(ch, []).text, JSON.stringify(ch)).toBe(ch)
    }
  })
})
