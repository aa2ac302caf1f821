import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { decodeFrame, encodeFrame, type Frame, FrameRefused, Methods, notWebContent, TabNotFound } from "../../src/protocol/index.js"

const frames: Array<Frame> = [
  { type: "hello", protocol: 1, extensionVersion: "0.1.0", browser: "Chromium 156", profile: "Default", nonce: "0f".repeat(32) },
  { type: "challenge", nonce: "1e".repeat(32), proof: "2d".repeat(32) },
  { type: "auth", proof: "3c".repeat(32) },
  { type: "welcome", protocol: 2, instanceId: "i", clientName: "c", pid: 1, serverVersion: "0.1.0", token: "t", onDisconnect: "keep", graceSeconds: 60, resume: "old" },
  { type: "reject", reason: "busy", message: "m" },
  { type: "call", id: 1, method: "tabs.list", params: {} },
  { type: "call", id: 3, method: "page.snapshot", params: {}, trace: { traceId: "ab".repeat(16), spanId: "cd".repeat(8) } },
  { type: "result", id: 1, ok: true, value: { tabs: [] } },
  {
    type: "result",
    id: 3,
    ok: true,
    value: {},
    spans: [
      { name: "extension page.snapshot", parent: -1, start: 1.5, end: 9.25, failed: false, attributes: {} },
      { name: "TabLocks.wait", parent: 0, start: 2, end: 4, failed: false, attributes: { tab: "t1", kind: "op" } }
    ]
  },
  { type: "result", id: 2, ok: false, error: new TabNotFound({ message: "m" }) },
  { type: "event", name: "tab.closed", data: { tab: "t1" } },
  { type: "ping", at: 1 },
  { type: "pong", at: 1 },
  { type: "error", error: new FrameRefused({ message: "m" }) }
]

describe("protocol frames", () => {
  it.effect("every frame survives encode then decode", () =>
    Effect.forEach(frames, (f) => Effect.map(decodeFrame(encodeFrame(f)), (back) => expect(back).toEqual(f))))

  it.effect("anything else decodes to a BadFrame that says why, never a throw", () =>
    Effect.gen(function*() {
      const cases: Array<[unknown, string]> = [
        ["not json", "JSON"],
        ["{\"type\":\"teleport\"}", "teleport"],
        ["{\"type\":\"call\",\"id\":1.5,\"method\":\"x\",\"params\":null}", "integer"],
        ["{\"type\":\"result\",\"id\":1,\"ok\":\"yes\"}", "ok"],
        ["{\"type\":\"result\",\"id\":1,\"ok\":true,\"value\":1,\"spans\":[{\"name\":\"x\"}]}", "parent"],
        ["null", "null"],
        [Buffer.from("{}"), "text frame"],
        ["x".repeat(33 * 1024 * 1024), "larger than"]
      ]
      for (const [input, mention] of cases) {
        const error = yield* Effect.flip(decodeFrame(input))
        expect(error._tag).toBe("BadFrame")
        expect(error.message).toContain(mention)
        expect(error.excerpt.length).toBeLessThanOrEqual(121)
      }
    }))
})

describe("method catalogue", () => {
  it("names tabs by handles, never by numbers", () => {
    const decode = Schema.decodeUnknownEither(Methods["tabs.select"].params)
    expect(decode({ tab: "t1" })._tag).toBe("Right")
    for (const bad of [{ tab: "1" }, { tab: "t0" }, { tab: 3 }, {}]) expect(decode(bad)._tag).toBe("Left")
  })

  it("gives every method a timeout and says whether it changes the page", () => {
    for (const [name, spec] of Object.entries(Methods)) {
      expect(name).toMatch(/^[a-z]+\.[a-z]+$/)
      expect(typeof spec.changesPage).toBe("boolean")
      expect(spec.timeout).toBeDefined()
    }
    expect(Methods["tabs.new"].changesPage).toBe(true)
    expect(Methods["tabs.list"].changesPage).toBe(false)
  })
})

describe("web content (invariant 10)", () => {
  const web = { allowFile: false }
  it("http, https, data, blob of a web origin and about:blank are web content", () => {
    for (const url of ["https://example.com/", "http://127.0.0.1:8080/x?y#z", "data:text/html,hi", "blob:https://example.com/1234", "about:blank", "about:blank#x", "about:blank?q", "about:srcdoc", ""]) {
      expect(notWebContent(url, web), url).toBeUndefined()
    }
  })
  it("the extension's and other extensions' pages, chrome:, devtools:, view-source:, javascript:, other about: pages and file: are not", () => {
    for (const url of [
      "chrome-extension://jejkldfklbhljdabcdbhnbmgjpdmpfji/status.html",
      "chrome://settings/",
      "chrome-untrusted://terminal/",
      "devtools://devtools/bundled/inspector.html",
      "view-source:https://example.com/",
      "javascript:alert(1)",
      "about:version",
      "about:blank-not",
      "about:settings#blank",
      "blob:chrome-extension://jejkldfklbhljdabcdbhnbmgjpdmpfji/1234",
      "file:///etc/passwd",
      "not a url"
    ]) {
      expect(notWebContent(url, web), url).toBeDefined()
    }
  })
  it("file: only when the user allowed it", () => {
    expect(notWebContent("file:///tmp/x.html", { allowFile: true })).toBeUndefined()
    expect(notWebContent("file:///tmp/x.html", web)).toContain("--allow-file-urls")
  })
})
