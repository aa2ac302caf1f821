import { describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs"
import { BadConfig, parsePortRange } from "../../src/server/Config.js"
import { extensionIdFromKey, readManifest } from "../../src/server/Extension.js"
import { refusal } from "../../src/server/WebSocketServer.js"

describe("port range", () => {
  it("parses a range or a single port", () => {
    expect(parsePortRange("--ports", "8765-8796")).toEqual({ first: 8765, last: 8796 })
    expect(parsePortRange("--ports", " 9000 ")).toEqual({ first: 9000, last: 9000 })
  })
  it("refuses anything else, naming the setting and the expected shape", () => {
    for (const bad of ["", "abc", "9000-8000", "80-90", "8000-70000", "1024-4000", "8765,8766"]) {
      const result = parsePortRange("--ports / TABMUX_PORTS", bad)
      expect(result).toBeInstanceOf(BadConfig)
      expect((result as BadConfig).message).toContain("--ports / TABMUX_PORTS")
      expect((result as BadConfig).message).toContain("8765-8796")
    }
  })
})

describe("extension identity", () => {
  it("derives an id in Chrome's a-p alphabet from the pinned key", () => {
    const manifest = JSON.parse(Fs.readFileSync("extension/manifest.json", "utf8"))
    expect(readManifest().key).toBe(manifest.key)
    expect(extensionIdFromKey(manifest.key)).toMatch(/^[a-p]{32}$/)
  })
})

describe("WebSocket upgrade check", () => {
  const allow = ["chrome-extension://jejkldfklbhljdabcdbhnbmgjpdmpfji"]
  const ok = { origin: allow[0], host: "127.0.0.1:8765" }
  it("accepts the exact extension origin on a loopback host", () => {
    expect(refusal(ok, allow, 8765)).toBeUndefined()
    expect(refusal({ ...ok, host: "localhost:8765" }, allow, 8765)).toBeUndefined()
  })
  it("refuses a missing, foreign or prefix-matching Origin", () => {
    expect(refusal({ host: ok.host }, allow, 8765)).toContain("no Origin")
    expect(refusal({ ...ok, origin: "https://evil.example" }, allow, 8765)).toContain("not allowed")
    expect(refusal({ ...ok, origin: `${allow[0]}.evil.example` }, allow, 8765)).toContain("not allowed")
    expect(refusal({ ...ok, origin: "chrome-extension://jejkldfklbhljdabcdbhnbmgjpdmpfj" }, allow, 8765)).toContain("not allowed")
    expect(refusal({ ...ok, origin: "null" }, allow, 8765)).toContain("not allowed")
  })
  it("refuses a non-loopback or wrong-port Host (DNS rebinding)", () => {
    expect(refusal({ ...ok, host: "evil.example:8765" }, allow, 8765)).toContain("Host")
    expect(refusal({ ...ok, host: "127.0.0.1:9999" }, allow, 8765)).toContain("Host")
    expect(refusal({ origin: ok.origin }, allow, 8765)).toContain("Host")
  })
})
