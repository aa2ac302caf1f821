/**
 * The page as an agent reads it, close to Playwright's aria snapshot: one line per
 * meaningful element, indented by nesting, with a ref on every element an action can
 * target. Each frame computes its own lines in tabmux's isolated world (`PageScript.ts`);
 * the lines of an iframe's frame (same- or cross-origin, in or out of process) are nested
 * under its `iframe` line.
 *
 * Refs are `s<epoch>e<n>` (see `RefTable`): an element keeps its ref across snapshots for
 * as long as it lives, as in Playwright MCP; a ref whose element has gone, or whose page
 * has loaded a new document, is refused ("stale ref") and never lands on another element.
 */
import { Effect, Option, Schema } from "effect"
import { BadParams, type CallFailure, notWebContent, PageError, StaleRef } from "../../src/protocol/index.js"
import { Driver } from "./Driver.js"
import { pageElement, pageSelect, pageSnapshot, pageUrl, type SelectAnswer, type SnapshotAnswer, type SnapshotArgs } from "./PageScript.js"
import { contextKey, type FrameRef, type PageRecord, pageError, type World, WORLD_NAME } from "./PageRecord.js"
import { pageOf } from "./TabSessions.js"

/**
 * Elements a page may hold for a snapshot to be taken: one budget for everything a
 * snapshot reads, the light DOM, open shadow roots and every frame together. Measured: a
 * long documentation page (Node's fs.html) has some 16,000; the hostile fixture 200,000,
 * whose snapshot would be megabytes no agent can use. Counted in the isolated world, so a
 * page cannot lie about it.
 */
export const ELEMENT_BUDGET = 100_000
/**
 * Characters a snapshot may hold, all frames together; past them it is cut, saying so
 * (each name and value is already cut at 300). Well inside a frame of the wire, so a
 * snapshot never ends a connection.
 */
export const SNAPSHOT_CHARS = 4 * 1024 * 1024
/** Iframes nested deeper than this are shown without their content. */
const MAX_FRAME_NESTING = 8

const WorldCreated = Schema.Struct({ executionContextId: Schema.Number })
const Called = Schema.Struct({
  result: Schema.Struct({ value: Schema.optional(Schema.Unknown), objectId: Schema.optional(Schema.String), subtype: Schema.optional(Schema.String) }),
  exceptionDetails: Schema.optional(Schema.Struct({ text: Schema.optional(Schema.String), exception: Schema.optional(Schema.Struct({ description: Schema.optional(Schema.String) })) }))
})
const Described = Schema.Struct({ node: Schema.Struct({ backendNodeId: Schema.Number, frameId: Schema.optional(Schema.String) }) })

const SNAPSHOT_SOURCE = pageSnapshot.toString()
const ELEMENT_SOURCE = pageElement.toString()
const SELECT_SOURCE = pageSelect.toString()
const URL_SOURCE = pageUrl.toString()

/**
 * The execution context of `world` in a frame. The page's own is known from Runtime's
 * events; tabmux's isolated world is made the first time a frame needs it (and again
 * after the frame's document changed). `None` when the frame is gone; refused (`NotWebContent`)
 * when the page embeds another extension's page, which Chrome lets no other extension drive.
 */
export const context = (page: PageRecord, frame: FrameRef, world: World) =>
  Effect.gen(function*() {
    const key = contextKey(frame.session, frame.frameId, world)
    const known = page.contexts.get(key)
    if (known !== undefined || world === "main") return Option.fromNullable(known)
    const driver = yield* Driver
    return yield* driver.send(page.tab, "Page.createIsolatedWorld", { frameId: frame.frameId, worldName: WORLD_NAME, grantUniveralAccess: false }, frame.session).pipe(
      Effect.flatMap(Schema.decodeUnknown(WorldCreated)),
      Effect.map((created) => {
        page.contexts.set(key, created.executionContextId)
        return Option.some(created.executionContextId)
      }),
      // A frame gone reads as none; a page Chrome will not let us drive says so.
      Effect.catchAll((e) => {
        const failure = pageError("Page.createIsolatedWorld", e.message)
        return failure._tag === "NotWebContent" ? Effect.fail(failure) : Effect.succeed(Option.none<number>())
      })
    )
  })

/**
 * Calls one of the page script's functions in tabmux's isolated world of `frame`. A
 * context we knew may have gone with its document: then the frame's current one is used.
 * `None` when the frame is gone.
 */
const callInFrame = (page: PageRecord, frame: FrameRef, source: string, arg: unknown, byValue: boolean) =>
  Effect.gen(function*() {
    const driver = yield* Driver
    const once = Effect.flatMap(context(page, frame, "isolated"), Option.match({
      onNone: () => Effect.succeedNone,
      onSome: (executionContextId) =>
        driver.send(page.tab, "Runtime.callFunctionOn", {
          functionDeclaration: source,
          executionContextId,
          arguments: [{ value: arg }],
          returnByValue: byValue,
          awaitPromise: false
        }, frame.session).pipe(Effect.flatMap(Schema.decodeUnknown(Called)), Effect.map(Option.some))
    }))
    const called = yield* once.pipe(
      Effect.catchAll(() =>
        Effect.suspend(() => {
          page.contexts.delete(contextKey(frame.session, frame.frameId, "isolated"))
          return once
        })
      ),
      // A frame gone (or not ready) reads as nothing; a page Chrome will not let us drive says so.
      Effect.catchAll((e) => {
        const failure = "_tag" in e && e._tag === "NotWebContent" ? e : pageError("Runtime.callFunctionOn", e.message)
        return failure._tag === "NotWebContent" ? Effect.fail(failure) : Effect.succeedNone
      })
    )
    if (Option.isSome(called) && called.value.exceptionDetails !== undefined) {
      const e = called.value.exceptionDetails
      return yield* Effect.fail(new PageError({ message: `the snapshot script failed in the page: ${e.exception?.description ?? e.text ?? "unknown error"}` }))
    }
    return Option.map(called, (c) => c.result)
  })

/** The frame an out-of-process frame's session shows (its frame id is its target id). */
const topOf = (page: PageRecord): FrameRef => ({ session: undefined, frameId: page.mainFrame })

/** The frame an iframe element (ref `n` of `frame`) holds, and where that element is. */
const innerFrame = (page: PageRecord, frame: FrameRef, n: number) =>
  Effect.gen(function*() {
    const driver = yield* Driver
    const element = yield* callInFrame(page, frame, ELEMENT_SOURCE, n, false)
    const objectId = Option.flatMap(element, (r) => Option.fromNullable(r.objectId))
    if (Option.isNone(objectId)) return Option.none<FrameRef>()
    const described = yield* driver.send(page.tab, "DOM.describeNode", { objectId: objectId.value }, frame.session).pipe(
      Effect.flatMap(Schema.decodeUnknown(Described)),
      Effect.option
    )
    if (Option.isNone(described) || described.value.node.frameId === undefined) return Option.none<FrameRef>()
    const frameId = described.value.node.frameId
    const child = page.children.get(frameId)
    if (child === undefined) return Option.some<FrameRef>({ session: frame.session, frameId })
    page.owners.set(child, { ...frame, backendNodeId: described.value.node.backendNodeId })
    return Option.some<FrameRef>({ session: child, frameId })
  })

export interface SnapshotOptions {
  /** Show only the subtree of this element (a ref from the latest snapshot). */
  readonly from?: string | undefined
  /** Levels of nesting shown; deeper lines are left out and their parent marked with "…". */
  readonly depth?: number | undefined
  /** Each element's box beside its ref. */
  readonly boxes?: boolean | undefined
}

/** What the frames of one snapshot have left to spend, as they are read one after another. */
interface Left {
  elements: number
  chars: number
  cut: boolean
}

const tooLarge = (count: number) =>
  new PageError({
    message: `page too large for a snapshot: it holds ${count} elements, counting open shadow roots and frames (the limit is ${ELEMENT_BUDGET}, so that one page ` +
      "cannot stall the other agents). Read the parts you need with browser_evaluate, or look at it with browser_take_screenshot."
  })

/** One frame's lines, with its iframes' frames spliced in; `None` when the frame is gone. */
const frameLines = (
  page: PageRecord,
  frame: FrameRef,
  args: Omit<SnapshotArgs, "next" | "budget" | "maxChars">,
  nesting: number,
  left: Left
): Effect.Effect<Option.Option<{ text: string; refs: number }>, CallFailure, Driver> =>
  Effect.gen(function*() {
    // An iframe that shows no web content (another extension's page, say) is not read, so no
    // ref can reach into it (invariant 10: agents only ever drive web content).
    if (nesting > 0) {
      const url = Option.flatMap(yield* callInFrame(page, frame, URL_SOURCE, null, true), (r) => Option.fromNullable(r.value as string | undefined))
      const refused = Option.isNone(url) ? "its frame is gone" : notWebContent(url.value, { allowFile: false })
      if (refused !== undefined) return Option.some({ text: `- text: (not shown: ${refused})`, refs: 0 })
    }
    // Frames are read one after another: each hands out numbers from where the last stopped.
    const first = page.refs.next
    if (left.chars <= 0) return Option.some({ text: "", refs: 0 })
    const result = yield* callInFrame(page, frame, SNAPSHOT_SOURCE, { ...args, next: first, budget: left.elements, maxChars: left.chars }, true)
    if (Option.isNone(result)) return Option.none()
    const answer = result.value.value as SnapshotAnswer | undefined
    if (answer === undefined || typeof answer !== "object") return yield* Effect.fail(new PageError({ message: "the snapshot script gave no answer" }))
    if ("error" in answer) {
      if (answer.error === "budget") return yield* Effect.fail(tooLarge(ELEMENT_BUDGET - left.elements + answer.count))
      return yield* Effect.fail(new StaleRef({ message: "stale ref: its element is no longer in the page: take a new snapshot (browser_snapshot) and use its refs" }))
    }
    if (answer.next > first) {
      page.refs.next = answer.next
      page.refs.handedOut.push({ from: first, to: answer.next, frame })
    }
    left.elements -= answer.count
    left.chars -= answer.text.length
    left.cut ||= answer.cut
    let text = answer.text
    let refs = answer.refs
    const inner = nesting < MAX_FRAME_NESTING ? answer.frames : []
    const spliced = yield* Effect.forEach(inner, ({ n, level }) =>
      innerFrame(page, frame, n).pipe(
        Effect.flatMap(Option.match({
          onNone: () => Effect.succeedNone,
          onSome: (child) => frameLines(page, child, { ...args, from: null, maxDepth: args.maxDepth - level - 1 }, nesting + 1, left)
        })),
        // A frame that went away while we looked (or cannot be read) is shown empty, not an
        // error; a page too large counting this frame is.
        Effect.catchAll((e) => e._tag === "PageError" && e.message.startsWith("page too large") ? Effect.fail(e) : Effect.succeedNone),
        Effect.map((lines) => [n, lines] as const)
      ))
    for (const [n, lines] of spliced) {
      text = text.replace(new RegExp(`^( *)\\u0000${n}$`, "m"), (_, pad: string) =>
        Option.match(lines, {
          onNone: () => "",
          onSome: (l) => l.text === "" ? "" : l.text.split("\n").map((line) => pad + line).join("\n")
        }))
      if (Option.isSome(lines)) refs += lines.value.refs
    }
    // Markers of frames not shown (too deep, gone) leave no line.
    text = text.split("\n").filter((line) => line.trim() !== "" && !line.includes("\u0000")).join("\n")
    return Option.some({ text, refs })
  })

/** Takes a snapshot of the tab's page; elements seen before keep their refs. */
export const take = (tab: number, options: SnapshotOptions = {}) =>
  Effect.gen(function*() {
    const page = yield* pageOf(tab)
    const maxDepth = options.depth ?? 1_000_000
    const start = options.from === undefined ? { frame: topOf(page), from: null } : yield* locate(page, options.from)
    const left: Left = { elements: ELEMENT_BUDGET, chars: SNAPSHOT_CHARS, cut: false }
    const lines = yield* frameLines(page, start.frame, { maxDepth, from: start.from, prefix: `s${page.refs.epoch}e`, boxes: options.boxes === true }, 0, left)
    const cut = left.cut
      ? `\n- text: (snapshot cut at ${SNAPSHOT_CHARS} characters: take part of the page with browser_snapshot's ref, or a smaller depth)`
      : ""
    return Option.match(lines, { onNone: () => ({ text: "", elements: 0 }), onSome: (l) => ({ text: l.text + cut, elements: l.refs }) })
  })

const REF = /^s([0-9]+)e([0-9]+)$/

const stale = (message: string): CallFailure => (new StaleRef({ message: `${message}: take a new snapshot (browser_snapshot) and use its refs` }))

/**
 * The frame that handed out a ref, and the ref's number there; refused when it cannot be
 * this page's. A target that is not a ref is taken as a CSS selector in the top frame (as
 * Playwright MCP takes "a unique element selector"): it must match exactly one element.
 */
const locate = (page: PageRecord, target: string) =>
  Effect.gen(function*() {
    const m = REF.exec(target)
    if (m === null) return yield* select(page, target)
    if (Number(m[1]) !== page.refs.epoch) {
      return yield* Effect.fail(stale(`stale ref ${target}: it is not from a snapshot of this tab since it was opened (or since the extension restarted)`))
    }
    const n = Number(m[2])
    const range = page.refs.handedOut.find((r) => n >= r.from && n < r.to)
    if (range === undefined) {
      return yield* Effect.fail(n < page.refs.next
        ? stale(`stale ref ${target}: the page has loaded a new document since that snapshot`)
        : stale(`stale ref ${target}: no snapshot of this tab gave it`))
    }
    return { frame: range.frame, from: n }
  })

const select = (page: PageRecord, selector: string) =>
  Effect.gen(function*() {
    const bad = (why: string) => new BadParams({ message: `"${selector}" ${why}` })
    if (/^e\d+$/.test(selector)) return yield* Effect.fail(bad("is not a ref here: tabmux's refs look like s3e12; take a snapshot (browser_snapshot) and use its refs"))
    const frame = topOf(page)
    const first = page.refs.next
    const called = yield* callInFrame(page, frame, SELECT_SOURCE, { selector, next: first }, true)
    const answer = Option.getOrUndefined(called)?.value as SelectAnswer | undefined
    if (answer === undefined || typeof answer !== "object") return yield* Effect.fail(bad("could not be looked up: the page is not ready; try again"))
    if ("error" in answer) return yield* Effect.fail(bad(answer.error))
    if (answer.next > first) {
      page.refs.next = answer.next
      page.refs.handedOut.push({ from: first, to: answer.next, frame })
    }
    return { frame, from: answer.n }
  })

/**
 * The element a ref names, while it lives (invariant 13), as an object in `world` of its
 * frame: a ref of this page's current document, whose element still exists and is still
 * in the document. Otherwise the ref is refused as stale; it never lands on another element.
 */
export const resolve = (page: PageRecord, ref: string, world: World = "isolated") =>
  Effect.gen(function*() {
    const { frame, from } = yield* locate(page, ref)
    const gone = stale(`stale ref ${ref}: its element is no longer in the page`)
    const found = yield* callInFrame(page, frame, ELEMENT_SOURCE, from, false)
    const objectId = Option.flatMap(found, (r) => Option.fromNullable(r.objectId))
    if (Option.isNone(objectId)) return yield* Effect.fail(gone)
    if (world === "isolated") return { ...frame, objectId: objectId.value }
    // The page's own world: the same node, as the page's script sees it.
    const driver = yield* Driver
    const described = yield* driver.send(page.tab, "DOM.describeNode", { objectId: objectId.value }, frame.session).pipe(
      Effect.flatMap(Schema.decodeUnknown(Described)),
      Effect.mapError(() => gone)
    )
    const main = yield* context(page, frame, "main")
    const resolved = yield* driver.send(page.tab, "DOM.resolveNode", {
      backendNodeId: described.node.backendNodeId,
      ...Option.match(main, { onNone: () => ({}), onSome: (executionContextId) => ({ executionContextId }) })
    }, frame.session).pipe(
      Effect.flatMap(Schema.decodeUnknown(Schema.Struct({ object: Schema.Struct({ objectId: Schema.String }) }))),
      Effect.mapError(() => gone)
    )
    return { ...frame, objectId: resolved.object.objectId }
  })
