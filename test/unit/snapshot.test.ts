/**
 * Snapshot rendering and ref resolution against a scripted browser: which lines an
 * accessibility tree becomes, and that refs are honoured only from the latest snapshot
 * of their page and only while their element exists.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Queue, Stream } from "effect"
import { keyEvent, parseKey } from "../../extension/src/Actions.js"
import { type CdpEvent, Driver, DriverError } from "../../extension/src/Driver.js"
import { type PageRecord, Pages } from "../../extension/src/Pages.js"
import * as Snapshot from "../../extension/src/Snapshot.js"

/** A compact way to write an AX tree: [role, name, children, extra]. */
type Spec = [string, string, Array<Spec>?, Record<string, unknown>?]

const axTree = (spec: Spec) => {
  const nodes: Array<Record<string, unknown>> = []
  let next = 1
  const add = ([role, name, children = [], extra = {}]: Spec, parentId?: string): string => {
    const nodeId = String(next++)
    const node: Record<string, unknown> = { nodeId, ignored: false, role: { value: role }, name: { value: name }, backendDOMNodeId: Number(nodeId) * 10, ...extra }
    if (parentId) node.parentId = parentId
    nodes.push(node)
    node.childIds = children.map((c) => add(c, nodeId))
    return nodeId
  }
  add(spec)
  return { nodes }
}

const FORM: Spec = ["RootWebArea", "Form", [
  ["heading", "Sign up", [["StaticText", "Sign up"]], { properties: [{ name: "level", value: { value: 1 } }] }],
  ["generic", "", [
    ["LabelText", "", [["StaticText", "Name"]]],
    ["textbox", "Name", [], { value: { value: "Ada" } }],
    ["checkbox", "News", [], { properties: [{ name: "checked", value: { value: "true" } }] }],
    ["button", "Send", [["StaticText", "Send"]], { properties: [{ name: "disabled", value: { value: true } }] }]
  ]],
  ["row", "1 Item 1", [["cell", "1"], ["cell", "Item 1"]]],
  ["paragraph", "", [["StaticText", "Just text"]]],
  ["generic", "", []],
  ["status", "", []],
  ["InlineTextBox", "ignored"]
]]

const scripted = (gone: Set<number>) =>
  Layer.succeed(Driver, {
    send: (_tab, method, params) => {
      if (method === "Accessibility.getFullAXTree") return Effect.succeed(axTree(FORM))
      if (method === "Runtime.callFunctionOn") return Effect.succeed({ result: { value: true } })
      if (method === "DOM.resolveNode") {
        const id = (params as { backendNodeId: number }).backendNodeId
        return gone.has(id) ? Effect.fail(new DriverError({ method, message: "No node with given id found" })) : Effect.succeed({ object: { objectId: `obj-${id}` } })
      }
      return Effect.fail(new DriverError({ method, message: "not scripted" }))
    },
    events: Stream.empty,
    subscribe: Queue.unbounded<CdpEvent>(),
    release: () => Effect.void
  })

const page: PageRecord = {
  tab: 1, mainFrame: "F", children: new Map(), owners: new Map(), console: [], consoleSeq: 0,
  requests: new Map(), modal: undefined, refs: { epoch: 1, next: 0, byRef: new Map(), byNode: new Map() }
}

const setup = (gone: Set<number>) =>
  Effect.gen(function*() {
    page.refs.byRef.clear()
    page.refs.byNode.clear()
    page.refs.next = 0
    return Layer.merge(scripted(gone), Layer.succeed(Pages, { prepare: () => Effect.succeed(page) }))
  })

describe("Snapshot", () => {
  it.effect("renders one line per meaningful node, with states, values and refs; leaves out wrappers and repeats", () =>
    Effect.gen(function*() {
      const layer = yield* setup(new Set())
      const shot = yield* Snapshot.take(1).pipe(Effect.provide(layer))
      expect(shot.text).toBe([
        "- heading \"Sign up\" [level=1] [ref=s1e1]",
        "- textbox \"Name\" [ref=s1e2]: Ada",
        "- checkbox \"News\" [checked] [ref=s1e3]",
        "- button \"Send\" [disabled] [ref=s1e4]",
        "- row [ref=s1e5]",
        "  - cell \"1\"",
        "  - cell \"Item 1\"",
        "- paragraph [ref=s1e6]: Just text"
      ].join("\n"))
      expect(shot.elements).toBe(6)
    }))

  it.effect("depth cuts nesting and marks what it hid; a subtree starts at its ref", () =>
    Effect.gen(function*() {
      const layer = yield* setup(new Set())
      const shallow = yield* Snapshot.take(1, { depth: 1 }).pipe(Effect.provide(layer))
      expect(shallow.text).toContain("- row [ref=s1e5] …")
      expect(shallow.text).not.toContain("cell")
      const row = yield* Snapshot.resolve(page, "s1e5").pipe(Effect.provide(layer))
      const sub = yield* Snapshot.take(1, { from: row }).pipe(Effect.provide(layer))
      expect(sub.text).toBe(["- row [ref=s1e5]", "  - cell \"1\"", "  - cell \"Item 1\""].join("\n"))
    }))

  it.effect("an element keeps its ref across snapshots while it lives; then the ref is stale, never another element's", () =>
    Effect.gen(function*() {
      const gone = new Set<number>()
      const layer = yield* setup(gone)
      const first = yield* Snapshot.take(1).pipe(Effect.provide(layer))
      const ok = yield* Snapshot.resolve(page, "s1e2").pipe(Effect.provide(layer))
      expect(ok.objectId).toBe("obj-70")
      const second = yield* Snapshot.take(1).pipe(Effect.provide(layer))
      expect(second.text).toBe(first.text)
      expect((yield* Snapshot.resolve(page, "s1e2").pipe(Effect.provide(layer))).objectId).toBe("obj-70")
      const otherTab = yield* Effect.flip(Snapshot.resolve(page, "s2e2").pipe(Effect.provide(layer)))
      expect(otherTab).toMatchObject({ _tag: "StaleRef" })
      expect(otherTab.message).toContain("it is not from a snapshot of this tab")
      const missing = yield* Effect.flip(Snapshot.resolve(page, "s1e99").pipe(Effect.provide(layer)))
      expect(missing.message).toContain("stale ref s1e99")
      gone.add(70)
      const removed = yield* Effect.flip(Snapshot.resolve(page, "s1e2").pipe(Effect.provide(layer)))
      expect(removed.message).toContain("its element is no longer in the page")
      const bad = yield* Effect.flip(Snapshot.resolve(page, "button").pipe(Effect.provide(layer)))
      expect(bad).toMatchObject({ _tag: "BadParams" })
    }))
})

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
