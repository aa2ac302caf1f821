/**
 * The page as an agent reads it: Chrome's accessibility tree, one line per meaningful
 * node, indented by depth, with a ref on every element an action can target. Iframes
 * (same- and cross-origin, in or out of process) are nested under their `iframe` line;
 * open and closed shadow roots are part of the tree Chrome computes. Generic wrappers,
 * ignored nodes and text that repeats its parent's name are left out: the snapshot is
 * what an agent pays for on every step, so every line has to earn its place.
 *
 * Refs are `s<epoch>e<n>` (see `RefTable`): an element keeps its ref across snapshots for
 * as long as it lives, as in Playwright MCP; a ref whose element has gone, or whose page
 * has loaded a new document, is refused ("stale ref") and never lands on another element.
 */
import { Effect, Option, Schema } from "effect"
import { BadParams, type CallFailure, PageError, StaleRef } from "../../src/protocol/index.js"
import { Driver } from "./Driver.js"
import { contextKey, driverError, type NodeRef, type PageRecord, Pages, type RefTable, type World, WORLD_NAME } from "./Pages.js"

/**
 * CDP's AXNode, as far as we read it. A page of 5,000 elements has some 20,000 of them:
 * only the list is checked on arrival (a full Schema decode cost more than the rest of
 * the snapshot); every field is read defensively.
 */
interface AXNode {
  readonly nodeId: string
  readonly ignored?: boolean
  readonly role?: { readonly value?: unknown }
  readonly name?: { readonly value?: unknown }
  readonly value?: { readonly value?: unknown }
  readonly properties?: ReadonlyArray<{ readonly name: string; readonly value: { readonly value?: unknown } }>
  readonly childIds?: ReadonlyArray<string>
  readonly backendDOMNodeId?: number
  readonly parentId?: string
}
const AXTree = Schema.Struct({ nodes: Schema.Array(Schema.Unknown) })
const isNode = (n: unknown): n is AXNode => typeof (n as AXNode | null)?.nodeId === "string"
const Described = Schema.Struct({ node: Schema.Struct({ frameId: Schema.optional(Schema.String) }) })

/** One frame's tree, and the trees of the frames its iframes hold (by the iframe element's node). */
interface FrameTree {
  readonly session: string | undefined
  readonly frameId: string
  readonly nodes: ReadonlyMap<string, AXNode>
  readonly root: AXNode
  readonly frames: ReadonlyMap<number, FrameTree>
}

/** Roles that only wrap their children: the children are shown in their place. */
const WRAPPERS = new Set(["generic", "none", "presentation", "LabelText", "RootWebArea", "WebArea", "Section", "ignored", "MenuListPopup"])
/** Roles shown even with no name and no content: what an agent may act on. */
const ACTIONABLE = new Set([
  "button", "link", "textbox", "searchbox", "checkbox", "radio", "combobox", "listbox", "option", "slider", "spinbutton",
  "switch", "tab", "menuitem", "menuitemcheckbox", "menuitemradio", "treeitem", "iframe", "img", "image"
])
/** Roles that add nothing an agent can read or act on. */
const SKIPPED = new Set(["InlineTextBox", "LineBreak", "ListMarker"])
const TEXT = "StaticText"
const CELLS = new Set(["cell", "gridcell", "columnheader", "rowheader"])
/** Roles whose value (what is typed or chosen) is shown after the line. */
const VALUED = new Set(["textbox", "searchbox", "combobox", "spinbutton", "slider", "textField", "TextField"])

const MAX_TEXT = 300
const clip = (s: string) => {
  const one = s.replace(/\s+/g, " ").trim()
  return one.length > MAX_TEXT ? `${one.slice(0, MAX_TEXT)}…` : one
}

const squeeze = (s: string) => s.replace(/\s+/g, "")

const str = (v: { value?: unknown } | undefined) => (v?.value === undefined || v.value === null ? "" : String(v.value))

const states = (node: AXNode): string => {
  const out: Array<string> = []
  for (const p of node.properties ?? []) {
    const v = p.value?.value
    switch (p.name) {
      case "checked":
      case "pressed":
        if (v === "true" || v === true) out.push(p.name)
        else if (v === "mixed") out.push(`${p.name}=mixed`)
        break
      case "disabled":
      case "selected":
      case "required":
      case "focused":
      case "readonly":
      case "modal":
        if (v === true || v === "true") out.push(p.name)
        break
      case "expanded":
        if (v === true || v === "true") out.push("expanded")
        break
      case "level":
        out.push(`level=${v}`)
        break
      case "invalid":
        if (v !== "false" && v !== false) out.push("invalid")
        break
    }
  }
  return out.map((s) => ` [${s}]`).join("")
}

/**
 * DOM nodes a page's renderer may hold for a snapshot to be taken. Chrome hands the
 * accessibility tree over as one JSON message that the worker must parse; for a page of
 * 200,000 elements that wedged its tab for minutes and stalled other agents (measured).
 * Counted by the browser (`Performance.getMetrics`, "Nodes"), so a page cannot lie about
 * it. Measured: the 5,000-element fixture page has 10,026 nodes, the 200,000-element one
 * 400,013 (elements and their text).
 */
export const NODE_BUDGET = 50_000

const Metrics = Schema.Struct({ metrics: Schema.Array(Schema.Struct({ name: Schema.String, value: Schema.Number })) })

const withinBudget = (tab: number, session: string | undefined) =>
  Effect.gen(function*() {
    const driver = yield* Driver
    // The Performance domain is enabled with the others when the page is prepared: one round trip here.
    const counted = yield* driver.send(tab, "Performance.getMetrics", {}, session).pipe(
      Effect.flatMap(Schema.decodeUnknown(Metrics)),
      Effect.map((m) => m.metrics.find((x) => x.name === "Nodes")?.value ?? 0),
      Effect.option
    )
    if (Option.isSome(counted) && counted.value > NODE_BUDGET) {
      return yield* Effect.fail(new PageError({ message: `page too large for a snapshot: it holds ${counted.value} DOM nodes (the limit is ${NODE_BUDGET}, so that one page ` +
          "cannot stall the other agents). Read the parts you need with browser_evaluate, or look at it with browser_take_screenshot." }))
    }
  })

/** The frame an out-of-process frame's session shows (its frame id is its target id). */
const sessionFrame = (page: PageRecord, session: string) => {
  for (const [frame, child] of page.children) if (child === session) return frame
  return ""
}

const load = (tab: number, session: string | undefined, frameId: string | undefined, page: PageRecord, depth: number): Effect.Effect<Option.Option<FrameTree>, CallFailure, Driver> =>
  Effect.gen(function*() {
    const driver = yield* Driver
    if (frameId === undefined) yield* withinBudget(tab, session)
    const raw = yield* driver.send(tab, "Accessibility.getFullAXTree", frameId === undefined ? {} : { frameId }, session).pipe(Effect.mapError(driverError))
    const tree = yield* Schema.decodeUnknown(AXTree)(raw).pipe(
      Effect.map((t) => ({ nodes: t.nodes.filter(isNode) })),
      Effect.mapError((): CallFailure => (new PageError({ message: "Accessibility.getFullAXTree: unexpected answer from the browser" })))
    )
    const root = tree.nodes.find((n) => n.parentId === undefined) ?? tree.nodes[0]
    if (root === undefined) return Option.none()
    const self = frameId ?? (session === undefined ? page.mainFrame : sessionFrame(page, session))
    const frames = new Map<number, FrameTree>()
    if (depth < 8) {
      const iframes = tree.nodes.filter((n) => str(n.role) === "Iframe" && n.backendDOMNodeId !== undefined)
      yield* Effect.forEach(iframes, (n) =>
        driver.send(tab, "DOM.describeNode", { backendNodeId: n.backendDOMNodeId }, session).pipe(
          Effect.flatMap(Schema.decodeUnknown(Described)),
          Effect.flatMap(({ node }) => {
            if (node.frameId === undefined) return Effect.succeed(Option.none<FrameTree>())
            const child = page.children.get(node.frameId)
            if (child === undefined) return load(tab, session, node.frameId, page, depth + 1)
            page.owners.set(child, { session, frameId: self, backendNodeId: n.backendDOMNodeId! })
            return load(tab, child, undefined, page, depth + 1)
          }),
          Effect.map(Option.map((t) => frames.set(n.backendDOMNodeId!, t))),
          // A frame that went away while we looked is shown empty, not an error.
          Effect.catchAll(() => Effect.void)
        ), { concurrency: 4, discard: true })
    }
    return Option.some({ session, frameId: self, nodes: new Map(tree.nodes.map((n) => [n.nodeId, n])), root, frames })
  })

export interface SnapshotOptions {
  /** Show only the subtree of this element (a ref from the latest snapshot). */
  readonly from?: NodeRef | undefined
  /** Levels of nesting shown; deeper lines are left out and their parent marked with "…". */
  readonly depth?: number | undefined
}

/** Renders the tree; every element line gets its element's ref (a new one for an element not seen before). */
const render = (top: FrameTree, table: RefTable, options: SnapshotOptions) => {
  const lines: Array<string> = []
  let shown = 0
  const maxDepth = options.depth ?? Infinity

  const children = (frame: FrameTree, node: AXNode): Array<[FrameTree, AXNode]> => {
    const inner = node.backendDOMNodeId === undefined ? undefined : frame.frames.get(node.backendDOMNodeId)
    if (str(node.role) === "Iframe" && inner !== undefined) return [[inner, inner.root]]
    return (node.childIds ?? []).flatMap((id) => {
      const child = frame.nodes.get(id)
      return child === undefined ? [] : [[frame, child] as [FrameTree, AXNode]]
    })
  }

  /** The lines a node shows as: itself (or, for wrappers, its children), at `depth`. */
  const walk = (frame: FrameTree, node: AXNode, depth: number, parentName: string): Array<Line> => {
    const role = str(node.role)
    if (SKIPPED.has(role)) return []
    const name = clip(str(node.name))
    if (role === TEXT) return name === "" || parentName.includes(name) ? [] : [{ kind: "text", text: name, frame, node }]
    const kids = () => children(frame, node).flatMap(([f, n]) => walk(f, n, depth + 1, name || parentName))
    if (node.ignored || (WRAPPERS.has(role) && (name === "" || role === "RootWebArea" || role === "WebArea"))) {
      return children(frame, node).flatMap(([f, n]) => walk(f, n, depth, parentName))
    }
    return [{ kind: "node", frame, node, role: role === "Iframe" ? "iframe" : role, name, depth, kids }]
  }

  type Line =
    | { readonly kind: "text"; readonly text: string; readonly frame: FrameTree; readonly node: AXNode }
    | { readonly kind: "node"; readonly frame: FrameTree; readonly node: AXNode; readonly role: string; readonly name: string; readonly depth: number; readonly kids: () => Array<Line> }

  const refOf = (frame: FrameTree, node: AXNode) => {
    if (node.backendDOMNodeId === undefined) return ""
    const key = `${frame.session ?? ""}:${node.backendDOMNodeId}`
    let ref = table.byNode.get(key)
    if (ref === undefined) {
      ref = `s${table.epoch}e${++table.next}`
      table.byNode.set(key, ref)
      table.byRef.set(ref, { session: frame.session, frameId: frame.frameId, backendNodeId: node.backendDOMNodeId })
    }
    shown++
    return ` [ref=${ref}]`
  }

  /** Leaves out text that only repeats a neighbour's name (a label next to its field). */
  const unrepeated = (lines: Array<Line>) =>
    lines.filter((l) => l.kind !== "text" || !lines.some((o) => o.kind === "node" && o.name.includes(l.text)))

  const emit = (line: Line, indent: number) => {
    const pad = "  ".repeat(indent)
    if (line.kind === "text") {
      lines.push(`${pad}- text ${JSON.stringify(line.text)}${refOf(line.frame, line.node)}`)
      return
    }
    const value = VALUED.has(line.role) ? clip(str(line.node.value)) : ""
    // What a field holds is shown once, as its value.
    const kids = unrepeated(line.kids()).filter((k) => !(value && k.kind === "text" && k.text === value))
    // An unnamed, empty container says nothing.
    if (!line.name && !value && kids.length === 0 && !ACTIONABLE.has(line.role)) return
    // A table cell that only holds text is read, not acted on (its row, or what it holds,
    // is): no ref. On a page of 1,000 rows that is a third of the snapshot.
    const plainCell = CELLS.has(line.role) && kids.length === 0
    // A name computed from the content (a table row, a list item) repeats its children: leave it out.
    const said = kids.length > 0 && squeeze(kids.map((k) => (k.kind === "text" ? k.text : k.name)).join("")) === squeeze(line.name)
    const name = said ? "" : line.name
    const head = `${pad}- ${line.role}${name ? ` ${JSON.stringify(name)}` : ""}${states(line.node)}${plainCell ? "" : refOf(line.frame, line.node)}`
    if (indent + 1 >= maxDepth) {
      lines.push(kids.length > 0 ? `${head} …` : value ? `${head}: ${value}` : head)
      return
    }
    // A node whose only content is one piece of text reads better on one line.
    const only = kids.length === 1 ? kids[0] : undefined
    if (!value && only?.kind === "text" && !line.name) {
      lines.push(`${head}: ${only.text}`)
      return
    }
    lines.push(value ? `${head}: ${value}` : head)
    for (const kid of kids) emit(kid, indent + 1)
  }

  let start: Array<Line> = walk(top, top.root, 0, "")
  if (options.from !== undefined) {
    const from = options.from
    const find = (frame: FrameTree): Option.Option<[FrameTree, AXNode]> => {
      if (frame.session === from.session) {
        for (const n of frame.nodes.values()) if (n.backendDOMNodeId === from.backendNodeId) return Option.some([frame, n])
      }
      for (const inner of frame.frames.values()) {
        const found = find(inner)
        if (Option.isSome(found)) return found
      }
      return Option.none()
    }
    start = Option.match(find(top), {
      onNone: () => [],
      onSome: ([frame, node]) => {
        const role = str(node.role)
        const name = clip(str(node.name))
        return [{
          kind: "node",
          frame,
          node,
          role: role === "Iframe" ? "iframe" : role,
          name,
          depth: 0,
          kids: () => children(frame, node).flatMap(([f, n]) => walk(f, n, 1, name))
        }]
      }
    })
  }
  for (const line of unrepeated(start)) emit(line, 0)
  return { text: lines.join("\n"), elements: shown }
}

/** Takes a snapshot of the tab's page; elements seen before keep their refs. */
export const take = (tab: number, options: SnapshotOptions = {}) =>
  Effect.gen(function*() {
    const pages = yield* Pages
    const page = yield* pages.prepare(tab)
    const tree = yield* load(tab, undefined, undefined, page, 0)
    return Option.match(tree, { onNone: () => ({ text: "", elements: 0 }), onSome: (t) => render(t, page.refs, options) })
  })

const REF = /^s([0-9]+)e([0-9]+)$/

const stale = (message: string): CallFailure => (new StaleRef({ message: `${message}: take a new snapshot (browser_snapshot) and use its refs` }))

const Connected = Schema.Struct({ result: Schema.Struct({ value: Schema.Literal(true) }) })
const Resolved = Schema.Struct({ object: Schema.Struct({ objectId: Schema.String }) })
const WorldCreated = Schema.Struct({ executionContextId: Schema.Number })

/**
 * The execution context of `world` in a frame. The page's own is known from Runtime's
 * events; tabmux's isolated world is made the first time a frame needs it (and again
 * after the frame's document changed). `None` when the frame is gone.
 */
export const context = (page: PageRecord, at: { readonly session: string | undefined; readonly frameId: string }, world: World) =>
  Effect.gen(function*() {
    const key = contextKey(at.session, at.frameId, world)
    const known = page.contexts.get(key)
    if (known !== undefined || world === "main") return Option.fromNullable(known)
    const driver = yield* Driver
    return yield* driver.send(page.tab, "Page.createIsolatedWorld", { frameId: at.frameId, worldName: WORLD_NAME, grantUniveralAccess: false }, at.session).pipe(
      Effect.flatMap(Schema.decodeUnknown(WorldCreated)),
      Effect.map((created) => {
        page.contexts.set(key, created.executionContextId)
        return Option.some(created.executionContextId)
      }),
      Effect.orElseSucceed(() => Option.none<number>())
    )
  })

/**
 * The element a ref names, while it lives (invariant 13), as an object in `world` of its
 * frame: a ref of this page's current document, whose element still exists and is still
 * in the document. Otherwise the ref is refused as stale; it never lands on another element.
 */
export const resolve = (page: PageRecord, ref: string, world: World = "isolated") =>
  Effect.gen(function*() {
    const m = REF.exec(ref)
    if (m === null) {
      return yield* Effect.fail(new BadParams({ message: `"${ref}" is not a ref: refs look like s3e12 and come from browser_snapshot` }))
    }
    if (Number(m[1]) !== page.refs.epoch) {
      return yield* Effect.fail(stale(`stale ref ${ref}: it is not from a snapshot of this tab since it was opened (or since the extension restarted)`))
    }
    const node = page.refs.byRef.get(ref)
    if (node === undefined) return yield* Effect.fail(stale(`stale ref ${ref}: the page has loaded a new document since that snapshot`))
    const driver = yield* Driver
    const gone = () => stale(`stale ref ${ref}: its element is no longer in the page`)
    const resolveIn = (contextId: Option.Option<number>) =>
      driver.send(page.tab, "DOM.resolveNode", {
        backendNodeId: node.backendNodeId,
        ...Option.match(contextId, { onNone: () => ({}), onSome: (executionContextId) => ({ executionContextId }) })
      }, node.session).pipe(Effect.flatMap(Schema.decodeUnknown(Resolved)))
    // A context we knew may have gone with its document: then the frame's current one is asked for.
    const resolved = yield* Effect.flatMap(context(page, node, world), resolveIn).pipe(
      Effect.catchAll(() =>
        Effect.suspend(() => {
          page.contexts.delete(contextKey(node.session, node.frameId, world))
          return Effect.flatMap(context(page, node, world), resolveIn)
        })
      ),
      Effect.mapError(gone)
    )
    // A removed element can still be resolved while something holds it: it must be in the document.
    yield* driver.send(page.tab, "Runtime.callFunctionOn", {
      functionDeclaration: "function () { return this.isConnected }",
      objectId: resolved.object.objectId,
      returnByValue: true
    }, node.session).pipe(Effect.flatMap(Schema.decodeUnknown(Connected)), Effect.mapError(gone))
    return { ...node, objectId: resolved.object.objectId }
  })
