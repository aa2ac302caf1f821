/**
 * What agents do to a page, as a user would: trusted mouse and keyboard events through
 * CDP's Input domain, aimed at the visible centre of an element named by a snapshot ref
 * (scrolled into view first, refused when hidden, disabled or covered by another
 * element). Every action then waits for what it caused (a navigation to load, requests
 * it started to settle, a dialog or file chooser to open) and reports where the page is.
 * The in-page helpers below are fixed functions: arguments always travel as values.
 */
import { Clock, Context, Duration, Effect, Option, Queue, Schema } from "effect"
import type * as Protocol from "../../src/protocol/index.js"
import { BadParams, type CallFailure, ModalOpen, NotActionable, NotWebContent, PageError, StaleRef } from "../../src/protocol/index.js"
import { Browser } from "./Browser.js"
import { drawing } from "./Capture.js"
import { type CdpEvent, Driver } from "./Driver.js"
import { driverError, type Modal, type PageRecord } from "./PageRecord.js"
import { pageOf } from "./TabSessions.js"
import * as Snapshot from "./Snapshot.js"
import { _keyDefinitions, type KeyDefinition, type KeyInput } from "puppeteer-core/internal/common/USKeyboardLayout.js"

/**
 * The visible surface of an editor whose own input `el` is (a textarea or text input one
 * cannot see: a pixel wide, clipped to nothing by a tiny box, or transparent), or null.
 */
const EDITOR_SURFACE = `function (el) {
  if (!(el.localName === "textarea" || (el.localName === "input" && /^(text|search)?$/.test(el.type))) || el.getClientRects().length === 0) return null
  const view = el.ownerDocument.defaultView
  if (view.getComputedStyle(el).visibility === "hidden") return null
  const rect = el.getBoundingClientRect()
  let clipped = view.getComputedStyle(el).opacity === "0" || rect.width <= 3 || rect.height <= 3
  for (let a = el.parentElement; a && a !== el.ownerDocument.body && a !== el.ownerDocument.documentElement; a = a.parentElement) {
    const r = a.getBoundingClientRect()
    if (r.width >= 20 && r.height >= 20) return clipped ? a : null
    if (view.getComputedStyle(a).overflow !== "visible" && (r.width <= 3 || r.height <= 3)) clipped = true
  }
  return null
}`

/** The editor's own input for an element of its surface (its lines), found within its 16 nearest ancestors, or null. */
const EDITOR_INPUT = `function () {
  const surfaceOf = ${EDITOR_SURFACE}
  let a = this.nodeType === 1 ? this : this.parentElement
  for (let up = 0; a && up < 16 && a !== a.ownerDocument.body; up++, a = a.parentElement) {
    for (const input of a.querySelectorAll("textarea, input")) {
      const surface = surfaceOf(input)
      if (surface && surface.contains(this)) return input
    }
  }
  return null
}`

/**
 * Scrolls the element into view (`align`: where in the viewport, as scrollIntoView's
 * block and inline) and checks a click at its centre would reach it. Runs with `this` = the element.
 */
const PREPARE = `function (action, align) {
  const el = this.nodeType === 1 ? this : this.parentElement
  if (!el || !el.isConnected) return { error: "gone" }
  // An editor's own input (CodeMirror, Monaco, Ace): a text field one cannot see (a pixel
  // wide, clipped to nothing, or transparent) inside the editor's visible surface. A
  // person types into it by clicking the surface; here it is focused and typed into.
  if (action === "type") {
    const surface = ${EDITOR_SURFACE}(el)
    if (surface) {
      if (el.disabled === true) return { error: "disabled" }
      if (el.readOnly === true) return { error: "readonly" }
      surface.scrollIntoView({ block: align === "center" ? "nearest" : align, inline: "nearest", behavior: "instant" })
      return { ok: true, editor: true }
    }
    // Typing aimed at the editor's own lines (what a snapshot shows of it) goes to its input.
    const editable = el.isContentEditable || el.localName === "textarea" || el.localName === "input" || el.localName === "select"
    if (!editable && ${EDITOR_INPUT}.call(el)) return { redirect: true }
  }
  el.scrollIntoView({ block: align, inline: align, behavior: "instant" })
  const rect = el.getBoundingClientRect()
  const style = el.ownerDocument.defaultView.getComputedStyle(el)
  if (rect.width === 0 || rect.height === 0 || style.visibility === "hidden") return { error: "hidden" }
  if (action !== "hover" && (el.disabled === true || el.closest("[aria-disabled=true]"))) return { error: "disabled" }
  if (action === "type" && (el.readOnly === true || el.getAttribute("aria-readonly") === "true")) return { error: "readonly" }
  // A link to another application (mailto:, ftp:, an app's own scheme) makes Chrome ask the
  // user in a prompt over the page, which blocks all input to it until answered.
  const link = action === "click" ? el.closest("a[href], area[href]") : null
  if (link && !/^(https?|data|blob|javascript|about):$/.test(new URL(link.href, el.baseURI).protocol)) {
    return { error: "external", scheme: new URL(link.href, el.baseURI).protocol }
  }
  const view = el.ownerDocument.defaultView
  // Still outside the viewport after scrolling: no scroll brings it in (a closed off-canvas menu, say).
  if (rect.right <= 0 || rect.bottom <= 0 || rect.left >= view.innerWidth || rect.top >= view.innerHeight) {
    let box = el
    for (let a = el.parentElement; a; a = a.parentElement) {
      if (view.getComputedStyle(a).position === "fixed") { box = a; break }
    }
    const boxId = box.id ? "#" + box.id : ""
    const boxCls = typeof box.className === "string" && box.className.trim() ? "." + box.className.trim().split(/\\s+/).slice(0, 3).join(".") : ""
    return { error: "offscreen", container: "<" + box.localName + boxId + boxCls + ">" }
  }
  const x = Math.min(Math.max(rect.left + rect.width / 2, 0), view.innerWidth - 1)
  const y = Math.min(Math.max(rect.top + rect.height / 2, 0), view.innerHeight - 1)
  let hit = el.ownerDocument.elementFromPoint(x, y)
  while (hit && hit.shadowRoot) {
    const inner = hit.shadowRoot.elementFromPoint(x, y)
    if (!inner || inner === hit) break
    hit = inner
  }
  for (let n = hit; n; n = n.parentNode || n.host) if (n === el) return { ok: true }
  if (hit && hit.localName === "label" && hit.control === el) return { ok: true }
  if (!hit) return { error: "hidden" }
  const id = hit.id ? "#" + hit.id : ""
  const cls = typeof hit.className === "string" && hit.className.trim() ? "." + hit.className.trim().split(/\\s+/).join(".") : ""
  const text = (hit.innerText || "").trim().slice(0, 40)
  return { error: "covered", by: "<" + hit.localName + id + cls + ">" + (text ? " \\"" + text + "\\"" : "") }
}`

/**
 * Guards a press aimed at the element (runs with `this` = it, in tabmux's isolated world):
 * until `HIT_REPORT`, the first pointer event in its window must target the element (or
 * what is inside it, or its label); any other target is noted, and every event of the
 * press is stopped from reaching the page. The page cannot see or undo the guard.
 */
const HIT_GUARD = `function () {
  const el = this.nodeType === 1 ? this : this.parentElement
  const view = el.ownerDocument.defaultView
  const state = { seen: null }
  const inside = (t) => {
    for (let n = t; n; n = n.parentNode || n.host) if (n === el) return true
    return !!(t && t.localName === "label" && t.control === el)
  }
  const describe = (t) => {
    if (!t || t.nodeType !== 1) return "another element"
    const id = t.id ? "#" + t.id : ""
    const cls = typeof t.className === "string" && t.className.trim() ? "." + t.className.trim().split(/\\s+/).join(".") : ""
    const text = (t.innerText || "").trim().slice(0, 40)
    return "<" + t.localName + id + cls + ">" + (text ? " \\"" + text + "\\"" : "")
  }
  const check = (event) => {
    if (state.seen === null) state.seen = inside(event.composedPath()[0] || event.target) ? "ok" : describe(event.composedPath()[0] || event.target)
    if (state.seen !== "ok") { event.preventDefault(); event.stopImmediatePropagation() }
  }
  const types = ["pointerdown", "mousedown", "pointerup", "mouseup", "click", "auxclick", "dblclick", "contextmenu"]
  for (const type of types) view.addEventListener(type, check, true)
  globalThis.__tabmuxHit = { state, stop: () => { for (const type of types) view.removeEventListener(type, check, true) } }
  return true
}`

/** Ends the guard; what the press hit: "ok", a description of what else it hit, or null when nothing reached this window. */
const HIT_REPORT = `function () {
  const guard = globalThis.__tabmuxHit
  if (!guard) return "ok"
  guard.stop()
  delete globalThis.__tabmuxHit
  return guard.state.seen
}`

/** Selects what an editable element holds, so typing replaces it. */
const SELECT_CONTENT = `function () {
  this.focus()
  if (typeof this.select === "function" && "value" in this) { this.select(); return true }
  if (this.isContentEditable) {
    const range = this.ownerDocument.createRange()
    range.selectNodeContents(this)
    const selection = this.ownerDocument.defaultView.getSelection()
    selection.removeAllRanges()
    selection.addRange(range)
    return true
  }
  return false
}`

/** Where keyboard input would go now, if not this element (or inside it): a short description of it, else null. */
const FOCUS_ELSEWHERE = `function () {
  let a = this.ownerDocument.activeElement
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement
  if (a === this || (a && this.contains(a))) return null
  if (!a) return "nothing"
  return "<" + a.localName + (a.id ? "#" + a.id : "") + ">"
}`

/** Chooses options of a <select> by value or label; fires input and change as a user's choice would. */
const SELECT_OPTIONS = `function (values) {
  if (this.localName !== "select") return { error: "not a <select> (it is <" + this.localName + ">)" }
  const options = Array.from(this.options)
  const chosen = []
  for (const v of values) {
    const o = options.find((o) => o.value === v) || options.find((o) => o.label === v || o.text.trim() === v)
    if (!o) return { error: "no option " + JSON.stringify(v) + "; options are " + options.map((o) => JSON.stringify(o.label || o.value)).join(", ") }
    chosen.push(o)
  }
  if (!this.multiple && chosen.length > 1) return { error: "it takes one option, not " + chosen.length }
  for (const o of options) o.selected = chosen.includes(o)
  this.dispatchEvent(new Event("input", { bubbles: true }))
  this.dispatchEvent(new Event("change", { bubbles: true }))
  return { selected: chosen.map((o) => o.label || o.value) }
}`

/** Sets a range input's value as dragging its thumb would. */
const SET_RANGE = `function (value) {
  if (this.type !== "range") return { error: "not a slider (<input type=range>)" }
  this.value = value
  this.dispatchEvent(new Event("input", { bubbles: true }))
  this.dispatchEvent(new Event("change", { bubbles: true }))
  return { value: this.value }
}`

const IS_CHECKED = `function () { return this.checked === true || this.getAttribute("aria-checked") === "true" }`

const Called = Schema.Struct({
  result: Schema.Struct({ value: Schema.optional(Schema.Unknown) }),
  exceptionDetails: Schema.optional(Schema.Unknown)
})

/** Calls one of the fixed helpers on an element, arguments by value. */
const callOn = (tab: number, target: { readonly session: string | undefined; readonly objectId: string }, fn: string, args: ReadonlyArray<unknown> = []) =>
  Effect.flatMap(Driver, (d) =>
    d.send(tab, "Runtime.callFunctionOn", {
      functionDeclaration: fn,
      objectId: target.objectId,
      arguments: args.map((value) => ({ value })),
      returnByValue: true,
      awaitPromise: true
    }, target.session)).pipe(
      Effect.mapError(driverError),
      Effect.flatMap(Schema.decodeUnknown(Called)),
      Effect.mapError((e): CallFailure => (e._tag === "ParseError" ? new PageError({ message: "unexpected answer from the browser" }) : e)),
      Effect.map((c) => c.result.value as any)
    )

const Quads = Schema.Struct({ quads: Schema.Array(Schema.Array(Schema.Number)) })

const Handle = Schema.Struct({ result: Schema.Struct({ objectId: Schema.String }) })

/** The element a function returns for `target` (called on it), by handle. */
const objectOf = (tab: number, target: { readonly session: string | undefined; readonly objectId: string }, fn: string) =>
  Effect.flatMap(Driver, (d) => d.send(tab, "Runtime.callFunctionOn", { functionDeclaration: fn, objectId: target.objectId, returnByValue: false }, target.session)).pipe(
    Effect.mapError(driverError),
    Effect.flatMap(Schema.decodeUnknown(Handle)),
    Effect.map((h) => h.result.objectId),
    Effect.mapError((e): CallFailure => (e._tag === "ParseError" ? new PageError({ message: "the editor's input is gone" }) : e))
  )
const BoxModel = Schema.Struct({ model: Schema.Struct({ content: Schema.Array(Schema.Number) }) })

/** Where the top-left of a child session's frame is, in the tab's viewport. */
export const frameOffset = (page: PageRecord, session: string | undefined): Effect.Effect<{ x: number; y: number }, CallFailure, Driver> =>
  Effect.gen(function*() {
    if (session === undefined) return { x: 0, y: 0 }
    const owner = page.owners.get(session)
    if (owner === undefined) return yield* Effect.fail(new StaleRef({ message: "the element's frame is no longer in the page: take a new snapshot" }))
    const driver = yield* Driver
    const box = yield* driver.send(page.tab, "DOM.getBoxModel", { backendNodeId: owner.backendNodeId }, owner.session).pipe(
      Effect.mapError(driverError),
      Effect.flatMap(Schema.decodeUnknown(BoxModel)),
      Effect.mapError((): CallFailure => (new StaleRef({ message: "the element's frame is no longer in the page: take a new snapshot" })))
    )
    const outer = yield* frameOffset(page, owner.session)
    return { x: outer.x + box.model.content[0]!, y: outer.y + box.model.content[1]! }
  })

export type ActionKind = "click" | "hover" | "type" | "select" | "drag"

/** How long an action waits for what covers its element to go (a toast, an overlay, a sticky header): Playwright MCP's action timeout. */
export const COVERED_WAIT = Duration.seconds(5)
/** Where the element is put in the viewport on each try: the centre, then the other scroll alignments, as Playwright does. */
const ALIGNS = ["center", "end", "start", "nearest"] as const
/** Pauses between tries (the last one repeats). */
const BACKOFF = [0, 20, 100, 100, 500]

/** Where an action reports what it is waiting for (the call's progress; nowhere by default). */
export class Progress extends Context.Reference<Progress>()("tabmux/Progress", {
  defaultValue: (): ((message: string) => Effect.Effect<void>) => () => Effect.void
}) {}

/**
 * Checks again while the element is covered: first at the other scroll alignments, then
 * after growing pauses, until `COVERED_WAIT`; the last answer (what covers it) is returned then.
 */
const untilUncovered = <A extends { readonly error?: unknown; readonly by?: unknown } | undefined, E, R>(
  what: string,
  first: Effect.Effect<A, E, R>,
  again: (align: typeof ALIGNS[number]) => Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(COVERED_WAIT)
    let ready = yield* first
    // Said once, as the call's progress: an agent (and its user) see why the action takes a moment.
    if (ready?.error === "covered") {
      yield* (yield* Progress)(`${what} is covered by ${String(ready.by)}; waiting up to ${Duration.format(COVERED_WAIT)} for it to go`)
    }
    for (let attempt = 1; ready?.error === "covered"; attempt++) {
      if ((yield* Clock.currentTimeMillis) >= deadline) break
      yield* Effect.sleep(Duration.millis(BACKOFF[Math.min(attempt - 1, BACKOFF.length - 1)]!))
      ready = yield* again(ALIGNS[attempt % ALIGNS.length]!)
    }
    return ready
  })

/** Resolves a ref, scrolls its element into view, checks it can take `action`, and returns the point to aim at. */
const target = (page: PageRecord, ref: string, element: string | undefined, action: ActionKind) =>
  Effect.gen(function*() {
    const resolved = yield* Snapshot.resolve(page, ref)
    const what = element ? `${element} (${ref})` : ref
    let node = resolved
    let ready = yield* untilUncovered(what, callOn(page.tab, node, PREPARE, [action, "center"]), (align) => callOn(page.tab, node, PREPARE, [action, align]))
    if (ready?.redirect === true) {
      // An editor's line: its own input takes the keys.
      node = { ...resolved, objectId: yield* objectOf(page.tab, resolved, EDITOR_INPUT) }
      ready = yield* callOn(page.tab, node, PREPARE, [action, "center"])
    }
    if (ready?.error === "gone") return yield* Effect.fail(new StaleRef({ message: `stale ref ${ref}: its element is no longer in the page: take a new snapshot` }))
    if (ready?.error === "hidden") return yield* Effect.fail(new NotActionable({ message: `${what} is not visible (zero size, hidden, or outside the page)` }))
    if (ready?.error === "disabled") return yield* Effect.fail(new NotActionable({ message: `${what} is disabled` }))
    if (ready?.error === "readonly") return yield* Effect.fail(new NotActionable({ message: `${what} is read-only: nothing was typed` }))
    if (ready?.error === "external") {
      return yield* Effect.fail(new NotWebContent({ message: `${what} links to a ${ready.scheme} URL, which would open another application (Chrome asks the user first, and that prompt blocks the page): agents only drive web content; read the link's address with browser_evaluate instead` }))
    }
    if (ready?.error === "offscreen") {
      return yield* Effect.fail(new NotActionable({
        message: `${what} is off-screen, inside ${ready.container}, which no scroll brings into view (a closed menu or panel?): ` +
          "open it first, or use another element of that name (the snapshot marks unreachable ones [offscreen])"
      }))
    }
    if (ready?.error === "covered") {
      return yield* Effect.fail(new NotActionable({ message: `${what} is covered by another element, ${ready.by}, which would get the click (checked for ${Duration.format(COVERED_WAIT)}, at every scroll alignment): close or scroll away what covers it first` }))
    }
    const driver = yield* Driver
    // An editor's hidden input takes keys, not the pointer: it has no point to aim at.
    if (ready?.editor === true) return { ...node, x: 0, y: 0, what, local: { x: 0, y: 0 }, editor: true }
    const quads = yield* driver.send(page.tab, "DOM.getContentQuads", { objectId: node.objectId }, node.session).pipe(
      Effect.mapError(driverError),
      Effect.flatMap(Schema.decodeUnknown(Quads)),
      Effect.mapError((): CallFailure => (new NotActionable({ message: `${what} has no box on the page` })))
    )
    const quad = quads.quads[0]
    if (quad === undefined || quad.length < 8) return yield* Effect.fail(new NotActionable({ message: `${what} has no box on the page` }))
    const offset = yield* frameOffset(page, node.session)
    const x = (quad[0]! + quad[2]! + quad[4]! + quad[6]!) / 4 + offset.x
    const y = (quad[1]! + quad[3]! + quad[5]! + quad[7]!) / 4 + offset.y
    return { ...node, x, y, what, local: { x: x - offset.x, y: y - offset.y }, editor: false }
  })

type Target = Effect.Effect.Success<ReturnType<typeof target>>

const MODIFIERS = { Alt: 1, Control: 2, Meta: 4, Shift: 8 } as const
export type Modifier = keyof typeof MODIFIERS
const modifierBits = (mods: ReadonlyArray<Modifier>) => mods.reduce((bits, m) => bits | MODIFIERS[m], 0)

const mouse = (tab: number, type: string, x: number, y: number, extra: object = {}, session?: string) =>
  Effect.flatMap(Driver, (d) => d.send(tab, "Input.dispatchMouseEvent", { type, x, y, ...extra }, session)).pipe(Effect.mapError(driverError))

/**
 * Pointer input at an element. An element in an out-of-process frame gets it through that
 * frame's own session, in the frame's coordinates: routed from the page instead, Chrome
 * aims by where the frame was last drawn, which in a background tab can be stale (clicks
 * were lost that way).
 */
const mouseAt = (tab: number, at: { readonly x: number; readonly y: number; readonly session: string | undefined; readonly local: { readonly x: number; readonly y: number } }, type: string, extra: object = {}) =>
  at.session === undefined ? mouse(tab, type, at.x, at.y, extra) : mouse(tab, type, at.local.x, at.local.y, extra, at.session)

/**
 * A pointer move before a press. Moves are delivered with the page's next frame, and a
 * background tab draws none, so Chrome answers only after a 1 s fallback; the press that
 * follows flushes the move anyway, so the press need not wait for that answer.
 */
const moveBeforePress = (tab: number, at: Parameters<typeof mouseAt>[1], extra: object = {}) =>
  mouseAt(tab, at, "mouseMoved", extra).pipe(Effect.ignore, Effect.forkDaemon, Effect.flatMap((f) => Effect.timeout(f.await, Duration.millis(50))), Effect.ignore)

/**
 * What a key sends, from Puppeteer's US keyboard table (maintained plain data, bundled at
 * build time): a character's entry merged over its physical key's (so "1" knows Shift
 * makes "!"), the key, code, virtual key code, location and the text it types. Named keys
 * (Enter, Comma, NumpadEnter, F1-F24, ...) and every printable ASCII character are in it.
 */
const keyDefinition = (key: string): KeyDefinition | undefined => {
  const own = _keyDefinitions[key as KeyInput] as KeyDefinition | undefined
  if (own === undefined) return undefined
  const physical = own.code === undefined ? undefined : (_keyDefinitions[own.code as KeyInput] as KeyDefinition | undefined)
  // The physical key's shifted character applies only to the character it types unshifted.
  const shiftKey = own.shiftKey ?? (own.key === physical?.key ? physical?.shiftKey : undefined)
  const { shiftKey: _, ...rest } = { ...physical, ...own }
  return shiftKey === undefined ? rest : { ...rest, shiftKey }
}

/** Parses "Control+Shift+A", "Enter", "a" into the key and its modifiers, or says what is wrong. */
export const parseKey = (combo: string): Either<{ key: string; modifiers: Array<Modifier> }> => {
  const parts = combo === "+" ? ["+"] : combo.endsWith("++") ? [...combo.slice(0, -2).split("+"), "+"] : combo.split("+")
  const key = parts.pop() ?? ""
  const modifiers: Array<Modifier> = []
  for (const m of parts) {
    if (!(m in MODIFIERS)) return { error: `"${m}" is not a modifier: use Alt, Control, Meta or Shift, as in "Control+a"` }
    modifiers.push(m as Modifier)
  }
  if (key === " ") return { ok: { key: "Space", modifiers } }
  if ([...key].length === 1 || keyDefinition(key) !== undefined) return { ok: { key, modifiers } }
  return { error: `"${key}" is not a key: use a single character, or a key name such as Enter, Tab, Escape, Backspace, ArrowLeft, Comma, NumpadEnter or F5` }
}
type Either<A> = { readonly ok: A; readonly error?: undefined } | { readonly error: string; readonly ok?: undefined }

/** The CDP key event fields for `key` with `modifiers`: Shift picks the shifted key; Control, Alt and Meta type no text. */
export const keyEvent = (key: string, modifiers: ReadonlyArray<Modifier>) => {
  const bits = modifierBits(modifiers)
  const shift = (bits & MODIFIERS.Shift) !== 0
  const d = keyDefinition(key)
  // A character the US table lacks (é, ß, 中) is typed as text.
  const name = d === undefined ? key : shift && d.shiftKey !== undefined ? d.shiftKey : d.key ?? key
  const text = bits & (MODIFIERS.Control | MODIFIERS.Meta | MODIFIERS.Alt)
    ? undefined
    : d === undefined
    ? key
    : shift && d.shiftText !== undefined
    ? d.shiftText
    : d.text ?? ([...name].length === 1 ? name : undefined)
  return {
    key: name,
    code: d?.code ?? "",
    windowsVirtualKeyCode: (shift ? d?.shiftKeyCode : undefined) ?? d?.keyCode ?? 0,
    location: d?.location ?? 0,
    modifiers: bits,
    ...(text === undefined ? {} : { text, unmodifiedText: text })
  }
}

/** Presses one key (with modifiers) in whatever has focus in the tab. */
const press = (tab: number, key: string, modifiers: ReadonlyArray<Modifier>) =>
  Effect.gen(function*() {
    const driver = yield* Driver
    const { text, unmodifiedText, ...base } = keyEvent(key, modifiers)
    const send = (params: object) => driver.send(tab, "Input.dispatchKeyEvent", params).pipe(Effect.mapError(driverError))
    yield* send({ type: text === undefined ? "rawKeyDown" : "keyDown", ...base, ...(text === undefined ? {} : { text, unmodifiedText }) })
    yield* send({ type: "keyUp", ...base })
  })

// ---------------------------------------------------------------------------------------------
// Waiting for what an action caused

/**
 * How long after the last request or navigation change the page must stay quiet. A press
 * (click, key, drop, a dialog's answer) often starts the page's own logic a moment later
 * (a timer, then a navigation): it waits longer than typing or choosing does.
 */
export const QUIET = { press: Duration.millis(300), input: Duration.millis(100) } as const
/** Longest wait for requests an action started. */
const REQUESTS_CAP = Duration.seconds(3)
/** Longest wait for a navigation an action started. */
const NAVIGATION_CAP = Duration.seconds(15)

/** Waits until what the action started has finished (capped); true when the cap was hit. */
const settle = (page: PageRecord, events: Queue.Dequeue<CdpEvent>, quiet: Duration.Duration) =>
  Effect.gen(function*() {
    const pending = new Set<string>()
    let navigating = false
    let modal = false
    const started = yield* Clock.currentTimeMillis
    let lastChange = started
    for (;;) {
      const now = yield* Clock.currentTimeMillis
      const cap = started + Duration.toMillis(navigating ? NAVIGATION_CAP : REQUESTS_CAP)
      if (modal) return { capped: false, modal }
      if (!navigating && pending.size === 0 && now - lastChange >= Duration.toMillis(quiet)) return { capped: false, modal }
      if (now >= cap) return { capped: true, modal }
      const wait = Math.max(1, Math.min(cap - now, navigating || pending.size > 0 ? cap - now : lastChange + Duration.toMillis(quiet) - now))
      const next = yield* Queue.take(events).pipe(Effect.timeout(Duration.millis(wait)), Effect.option)
      if (Option.isNone(next)) continue
      const e = next.value
      if (e.tab !== page.tab) continue
      const p = e.params as any
      switch (e.method) {
        case "Network.requestWillBeSent":
          // A worker's own script has no loader of the page's: its end is told to the worker, never here.
          if (p.type !== "WebSocket" && p.type !== "EventSource" && p.loaderId !== "") pending.add(p.requestId)
          break
        case "Network.loadingFinished":
        case "Network.loadingFailed":
          pending.delete(p.requestId)
          break
        case "Page.frameStartedLoading":
          if (e.session === undefined && p.frameId === page.mainFrame) navigating = true
          break
        case "Page.frameStoppedLoading":
          if (e.session === undefined && p.frameId === page.mainFrame) navigating = false
          break
        case "Page.javascriptDialogOpening":
        case "Page.fileChooserOpened":
          modal = true
          break
        default:
          continue
      }
      lastChange = yield* Clock.currentTimeMillis
    }
  })

export const describeModal = (modal: Modal | undefined) =>
  modal === undefined
    ? undefined
    : modal.kind === "dialog"
    ? `${/^[aeiou]/.test(modal.type) ? "an" : "a"} ${modal.type} dialog is open: ${JSON.stringify(modal.message)}${modal.type === "prompt" ? ` (default ${JSON.stringify(modal.defaultPrompt)})` : ""}; answer it with browser_handle_dialog`
    : `a file chooser is open${modal.multiple ? " (for several files)" : ""}; answer it with browser_file_upload`

/** Where a tab is, as Chrome reports it (so it works while a dialog blocks the page's script). */
export const whereIs = (tab: number) =>
  Effect.map(Effect.flatMap(Browser, (b) => b.getTab(tab)), Option.match({
    onNone: () => ({ url: "", title: "" }),
    onSome: (t) => ({ url: t.url, title: t.title })
  }))

/** What an action answers (the handler adds the tab's handle). */
export type ActionResult = Omit<Protocol.ActionResult, "tab">

/** Messages an action's result shows at most (the latest). */
const MAX_CONSOLE_IN_RESULT = 20
/** Lines and characters of one message an action's result shows (browser_console_messages shows it whole). */
const CONSOLE_LINES = 3
const CONSOLE_CHARS = 400

/**
 * The messages an action caused, in brief: a message repeated is shown once with its count, and
 * a long one (an uncaught error's stack) by its first lines, saying where the rest is.
 */
export const inBrief = (messages: ReadonlyArray<{ readonly level: typeof Protocol.ConsoleLevel.Type; readonly type?: string | undefined; readonly text: string }>) => {
  const groups: Array<{ level: typeof Protocol.ConsoleLevel.Type; type?: string | undefined; text: string; count: number }> = []
  for (const m of messages) {
    const same = groups.find((g) => g.level === m.level && g.type === m.type && g.text === m.text)
    if (same) same.count++
    else groups.push({ level: m.level, type: m.type, text: m.text, count: 1 })
  }
  return groups.slice(-MAX_CONSOLE_IN_RESULT).map(({ level, type, text, count }) => {
    const lines = text.split("\n")
    let brief = lines.slice(0, CONSOLE_LINES).join("\n")
    if (brief.length > CONSOLE_CHARS) brief = `${brief.slice(0, CONSOLE_CHARS)}…`
    const cut = brief.length < text.length ? " (cut: browser_console_messages shows it whole)" : ""
    return { level, ...(type === undefined ? {} : { type }), text: `${brief}${cut}${count > 1 ? ` (×${count})` : ""}` }
  })
}

/** Refuses an action while a dialog or file chooser waits for its answer, unless the action is that answer. */
const modalOpen = (page: PageRecord, answers: Modal["kind"] | undefined) =>
  page.modal !== undefined && page.modal.kind !== answers
    ? Effect.fail(new ModalOpen({ message: `Cannot act now: ${describeModal(page.modal)} first${page.modal.kind === "fileChooser" ? " (no paths cancels it)" : ""}.` }))
    : Effect.void

/**
 * Runs an action on the tab's page and waits for what it caused; then reports what was
 * done, where the page is, what opened, the console errors it logged, and (if asked) a
 * fresh snapshot.
 */
export const acting = <R>(
  tab: number,
  options: { readonly snapshot: boolean; readonly quiet: Duration.Duration; readonly answers?: Modal["kind"] | undefined },
  act: (page: PageRecord) => Effect.Effect<string, CallFailure, R>
) =>
  Effect.scoped(Effect.gen(function*() {
    const driver = yield* Driver
    const page = yield* pageOf(tab)
    yield* modalOpen(page, options.answers)
    const consoleBefore = page.consoleSeq
    const events = yield* driver.subscribe
    const dialogs = yield* driver.subscribe
    // A dialog blocks the page, and with it the event that opened it: stop waiting for the action then.
    const dialogOpened = Queue.take(dialogs).pipe(
      Effect.repeat({ until: (e) => e.tab === tab && e.method === "Page.javascriptDialogOpening" }),
      Effect.as("acted; the page opened a dialog")
    )
    const did = yield* (options.answers === "dialog" ? act(page) : Effect.raceFirst(act(page), dialogOpened))
    const { capped, modal: opened } = yield* settle(page, events, options.quiet)
    // The page record learns of what opened from its own subscription: give it a moment to catch up.
    if (opened) yield* Effect.sleep(Duration.millis(5)).pipe(Effect.repeat({ until: () => page.modal !== undefined, times: 40 }))
    const where = yield* whereIs(tab)
    const modal = describeModal(page.modal)
    // The action is done whatever the snapshot says: a page that cannot be read is said so, not
    // failed. A dialog that opens meanwhile (or opened since the action) blocks the page's script.
    const snapshot = options.snapshot && page.modal?.kind !== "dialog"
      ? yield* Effect.raceFirst(
        Snapshot.take(tab).pipe(Effect.map((s) => s.text), Effect.catchAll((e) => Effect.succeed(`(no snapshot: ${e.message})`))),
        Effect.as(dialogOpened, "(no snapshot: a dialog is open)")
      )
      : undefined
    const result: ActionResult = {
      did,
      ...where,
      consoleMessages: inBrief(page.console.filter((c) => c.seq > consoleBefore)),
      downloads: page.downloads.filter((d) => d.seq > consoleBefore).map(({ filename, url }) => ({ filename, url })),
      settled: !capped,
      ...(modal === undefined ? {} : { modal }),
      ...(snapshot === undefined ? {} : { snapshot })
    }
    return result
  }))

// ---------------------------------------------------------------------------------------------
// The actions

export interface ClickOptions {
  readonly ref: string
  readonly element?: string | undefined
  readonly button?: "left" | "right" | "middle" | undefined
  readonly doubleClick?: boolean | undefined
  readonly modifiers?: ReadonlyArray<Modifier> | undefined
}

export const click = (page: PageRecord, o: ClickOptions) =>
  Effect.gen(function*() {
    const at = yield* target(page, o.ref, o.element, "click")
    const button = o.button ?? "left"
    const modifiers = modifierBits(o.modifiers ?? [])
    const buttons = { left: 1, right: 2, middle: 4 }[button]
    yield* moveBeforePress(page.tab, at, { modifiers })
    yield* guarded(page, at, Effect.forEach(o.doubleClick ? [1, 2] : [1], (clickCount) =>
      Effect.zipRight(
        mouseAt(page.tab, at, "mousePressed", { button, buttons, clickCount, modifiers }),
        mouseAt(page.tab, at, "mouseReleased", { button, buttons: 0, clickCount, modifiers })
      ), { discard: true }))
    return `${o.doubleClick ? "double-clicked" : button === "left" ? "clicked" : `${button}-clicked`} ${at.what}`
  })

/**
 * Runs a press with the hit guard on: refused, naming the intruder, when the press landed
 * on another element (the page moved it under the pointer) or never reached the
 * element's frame (something of another frame lay over it). A guard that cannot be read
 * because the press navigated away had seen its press land.
 */
const guarded = <E, R>(page: PageRecord, at: Target, press: Effect.Effect<void, E, R>) =>
  Effect.gen(function*() {
    yield* callOn(page.tab, at, HIT_GUARD)
    yield* press
    const seen = yield* callOn(page.tab, at, HIT_REPORT).pipe(Effect.orElseSucceed(() => "ok"))
    if (seen === "ok") return
    return yield* Effect.fail(new NotActionable({ message: seen === null
        ? `the press aimed at ${at.what} did not reach it: something over it (another frame, or a browser prompt over the page) took it. Take a new snapshot and look at what covers it`
        : `the press aimed at ${at.what} landed on ${seen} instead (the page moved it there): it was stopped before the page saw it. Take a new snapshot and try again` }))
  })

export const hover = (page: PageRecord, ref: string, element: string | undefined) =>
  Effect.gen(function*() {
    const at = yield* target(page, ref, element, "hover")
    yield* mouseAt(page.tab, at, "mouseMoved")
    return `hovered over ${at.what}`
  })

export const drag = (page: PageRecord, from: { ref: string; element?: string | undefined }, to: { ref: string; element?: string | undefined }) =>
  Effect.scoped(Effect.gen(function*() {
    const driver = yield* Driver
    const start = yield* target(page, from.ref, from.element, "drag")
    const send = (method: string, params: object) => driver.send(page.tab, method, params).pipe(Effect.mapError(driverError))
    // HTML drag and drop: Chrome hands the drag to us (dragIntercepted) and we play its events.
    yield* send("Input.setInterceptDrags", { enabled: true })
    yield* Effect.addFinalizer(() => Effect.ignore(driver.send(page.tab, "Input.setInterceptDrags", { enabled: false })))
    const events = yield* driver.subscribe
    yield* moveBeforePress(page.tab, start)
    yield* mouse(page.tab, "mousePressed", start.x, start.y, { button: "left", buttons: 1, clickCount: 1 })
    // The drag starts (past the browser's 4 px threshold) before the end is found: finding it
    // may scroll, and a drag that starts after a scroll starts from whatever is then under
    // the point pressed. The end is then found with the button held, as a person drags to it.
    yield* mouse(page.tab, "mouseMoved", start.x + 6, start.y + 6, { button: "left", buttons: 1 })
    const intercepted = yield* Queue.take(events).pipe(
      Effect.repeat({ until: (e) => e.tab === page.tab && e.method === "Input.dragIntercepted" }),
      Effect.timeout(Duration.millis(200)),
      Effect.option
    )
    const end = yield* target(page, to.ref, to.element, "drag").pipe(
      Effect.tapError(() => Effect.ignore(mouse(page.tab, "mouseReleased", start.x, start.y, { button: "left", buttons: 0, clickCount: 1 })))
    )
    if (Option.isSome(intercepted)) {
      // An HTML drag: the browser holds it now (mouse moves would wait on it), so its events are played to the end.
      const data = (intercepted.value.params as { data: unknown }).data
      for (const type of ["dragEnter", "dragOver", "drop"]) yield* send("Input.dispatchDragEvent", { type, x: end.x, y: end.y, data })
    } else {
      // A drag the page makes of mouse events: the pointer moves there in steps.
      const steps = 5
      for (let i = 1; i <= steps; i++) {
        const x = start.x + ((end.x - start.x) * i) / steps
        const y = start.y + ((end.y - start.y) * i) / steps
        yield* mouse(page.tab, "mouseMoved", x, y, { button: "left", buttons: 1 })
      }
    }
    yield* mouse(page.tab, "mouseReleased", end.x, end.y, { button: "left", buttons: 0, clickCount: 1 })
    return `dragged ${start.what} to ${end.what}`
  }))

/** Drops files and data onto an element, as a drag from outside the page would: dragenter, dragover, drop. */
export const drop = (page: PageRecord, o: { ref: string; element?: string | undefined; paths: ReadonlyArray<string>; data: Readonly<Record<string, string>> }) =>
  Effect.gen(function*() {
    const at = yield* target(page, o.ref, o.element, "drag")
    const driver = yield* Driver
    const data = {
      items: Object.entries(o.data).map(([mimeType, value]) => ({ mimeType, data: value })),
      ...(o.paths.length === 0 ? {} : { files: o.paths }),
      dragOperationsMask: 1 | 2 | 16
    }
    const x = at.session === undefined ? at.x : at.local.x
    const y = at.session === undefined ? at.y : at.local.y
    for (const type of ["dragEnter", "dragOver", "drop"]) {
      yield* driver.send(page.tab, "Input.dispatchDragEvent", { type, x, y, data }, at.session).pipe(
        Effect.mapError((e): CallFailure => (new PageError({ message: /not allowed|permission|file/i.test(e.message) && o.paths.length > 0
            ? `the browser refused to drop files: allow the tabmux extension "access to file URLs" in chrome://extensions (${e.message})`
            : `Input.dispatchDragEvent: ${e.message}` })))
      )
    }
    const what = [...o.paths.map((p) => p.split("/").pop()), ...Object.keys(o.data)].join(", ")
    return `dropped ${what} onto ${at.what}`
  })

/** What an editor's surface shows now (its lines as a person reads them, without its line numbers), cut. */
const EDITOR_TEXT = `function () {
  let surface = this.parentElement
  while (surface && surface.getBoundingClientRect().width < 20) surface = surface.parentElement
  // Editors draw spaces as no-break spaces; the text is read with plain ones.
  const lines = (surface ? surface.innerText : "").replace(/\\u00a0/g, " ").split("\\n").filter((l) => !/^[\\s\\u200b\\d]*$/.test(l))
  const text = lines.join("\\n")
  return text.length > 500 ? text.slice(0, 500) + "…" : text
}`

/**
 * Typing into an editor's own input: key by key, at its cursor (nothing selected first), so
 * the editor sees what a person's keys give it (brackets it closes itself, its completion
 * popups, its indentation on Enter); focus is checked before each key.
 */
const typeIntoEditor = (page: PageRecord, at: Target, o: { readonly text: string; readonly submit?: boolean | undefined }) =>
  Effect.scoped(Effect.gen(function*() {
    // Some editors (Ace, Monaco) draw their lines at the next frame, which a background tab
    // makes only when asked: it draws while the keys arrive, as a tab in front would.
    const frames = yield* drawing(page.tab)
    let typed = 0
    for (const ch of o.text) {
      const moved = yield* callOn(page.tab, at, FOCUS_ELSEWHERE)
      if (typeof moved === "string") {
        return yield* Effect.fail(new NotActionable({ message: `focus moved from ${at.what} to ${moved} after ${typed} of ${[...o.text].length} characters: the rest was not typed` }))
      }
      yield* press(page.tab, ch === "\n" ? "Enter" : ch === "\t" ? "Tab" : ch, [])
      typed++
    }
    if (o.submit) yield* press(page.tab, "Enter", [])
    const shown = callOn(page.tab, at, EDITOR_TEXT).pipe(Effect.orElseSucceed(() => undefined))
    let holds = yield* shown
    // What the last key did is drawn at the next frame.
    const last = o.text.split("\n").map((l) => l.trim()).filter((l) => l !== "").at(-1)
    if (last !== undefined && typeof holds === "string" && !holds.includes(last)) {
      yield* frames.frame
      holds = yield* shown
    }
    return `typed ${JSON.stringify(o.text)} key by key into ${at.what}, an editor's own input, at its cursor${o.submit ? ", and pressed Enter" : ""}` +
      (typeof holds === "string" && holds !== "" ? `; the editor now shows: ${JSON.stringify(holds)}` : "")
  }))

export const type = (page: PageRecord, o: { ref: string; element?: string | undefined; text: string; submit?: boolean | undefined; slowly?: boolean | undefined }) =>
  Effect.gen(function*() {
    const at = yield* target(page, o.ref, o.element, "type")
    const driver = yield* Driver
    yield* driver.send(page.tab, "DOM.focus", { objectId: at.objectId }, at.session).pipe(Effect.mapError(driverError))
    if (at.editor) return yield* typeIntoEditor(page, at, o)
    const editable = yield* callOn(page.tab, at, SELECT_CONTENT)
    if (editable !== true) return yield* Effect.fail(new NotActionable({ message: `${at.what} does not take text (it is not an input, a textarea or editable)` }))
    // The page may move focus away (into another field or frame): the text would land there.
    const elsewhere = yield* callOn(page.tab, at, FOCUS_ELSEWHERE)
    if (typeof elsewhere === "string") {
      return yield* Effect.fail(new NotActionable({ message: `focus moved from ${at.what} to ${elsewhere} before typing: nothing was typed` }))
    }
    if (o.slowly === true) {
      // Key by key, the page has time to move focus between keys: checked before each.
      let typed = 0
      for (const ch of o.text) {
        const moved = yield* callOn(page.tab, at, FOCUS_ELSEWHERE)
        if (typeof moved === "string") {
          return yield* Effect.fail(new NotActionable({ message: `focus moved from ${at.what} to ${moved} after ${typed} of ${[...o.text].length} characters: the rest was not typed` }))
        }
        yield* ch === "\n" ? press(page.tab, "Enter", []) : press(page.tab, ch, [])
        typed++
      }
    } else {
      yield* driver.send(page.tab, "Input.insertText", { text: o.text }).pipe(Effect.mapError(driverError))
    }
    if (o.submit) yield* press(page.tab, "Enter", [])
    return `typed ${JSON.stringify(o.text)} into ${at.what}${o.submit ? " and pressed Enter" : ""}`
  })

export const pressKey = (page: PageRecord, combo: string) =>
  Effect.gen(function*() {
    const parsed = parseKey(combo)
    if (parsed.error !== undefined) return yield* Effect.fail(new BadParams({ message: `key: ${parsed.error}` }))
    yield* press(page.tab, parsed.ok.key, parsed.ok.modifiers)
    return `pressed ${combo}`
  })

export const selectOption = (page: PageRecord, o: { ref: string; element?: string | undefined; values: ReadonlyArray<string> }) =>
  Effect.gen(function*() {
    const at = yield* target(page, o.ref, o.element, "select")
    const chosen = yield* callOn(page.tab, at, SELECT_OPTIONS, [o.values])
    if (chosen?.error) return yield* Effect.fail(new NotActionable({ message: `${at.what}: ${chosen.error}` }))
    return `selected ${(chosen.selected as Array<string>).map((s) => JSON.stringify(s)).join(", ")} in ${at.what}`
  })

export interface FormField {
  readonly name: string
  readonly type: "textbox" | "checkbox" | "radio" | "combobox" | "slider"
  readonly ref: string
  readonly value: string
}

export const fillForm = (page: PageRecord, fields: ReadonlyArray<FormField>) =>
  Effect.forEach(fields, (field) =>
    Effect.gen(function*() {
      switch (field.type) {
        case "textbox":
          return yield* type(page, { ref: field.ref, element: field.name, text: field.value })
        case "combobox":
          return yield* selectOption(page, { ref: field.ref, element: field.name, values: [field.value] })
        case "slider": {
          const at = yield* target(page, field.ref, field.name, "select")
          const set = yield* callOn(page.tab, at, SET_RANGE, [field.value])
          if (set?.error) return yield* Effect.fail(new NotActionable({ message: `${at.what}: ${set.error}` }))
          return `set ${at.what} to ${set.value}`
        }
        case "checkbox":
        case "radio": {
          const want = field.value === "true"
          if (!want && field.type === "radio") return yield* Effect.fail(new BadParams({ message: `${field.name}: a radio button can only be chosen ("true"); choose another one to change it` }))
          const node = yield* Snapshot.resolve(page, field.ref)
          const checked = yield* callOn(page.tab, node, IS_CHECKED)
          if (checked === want) return `${field.name} already ${want ? "checked" : "unchecked"}`
          yield* click(page, { ref: field.ref, element: field.name })
          return `${want ? "checked" : "unchecked"} ${field.name}`
        }
      }
    })).pipe(Effect.map((done) => done.join("; ")))

export const upload = (page: PageRecord, paths: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const modal = page.modal
    if (modal?.kind !== "fileChooser") {
      return yield* Effect.fail(new ModalOpen({ message: "No file chooser is open: click the file input (or the button that opens it) first, then call browser_file_upload." }))
    }
    if (!modal.multiple && paths.length > 1) return yield* Effect.fail(new BadParams({ message: `paths: this file chooser takes one file, not ${paths.length}` }))
    const driver = yield* Driver
    yield* driver.send(page.tab, "DOM.setFileInputFiles", { files: paths, backendNodeId: modal.backendNodeId }, modal.session).pipe(
      Effect.mapError((e): CallFailure => (new PageError({ message: /not allowed|permission/i.test(e.message)
          ? `the browser refused to set files: allow the tabmux extension "access to file URLs" in chrome://extensions (${e.message})`
          : `DOM.setFileInputFiles: ${e.message}` })))
    )
    page.modal = undefined
    return paths.length === 0 ? "cancelled the file chooser" : `chose ${paths.length === 1 ? paths[0] : `${paths.length} files`}`
  })

export const answerDialog = (page: PageRecord, accept: boolean, promptText: string | undefined) =>
  Effect.gen(function*() {
    const modal = page.modal
    if (modal?.kind !== "dialog") return yield* Effect.fail(new ModalOpen({ message: "No dialog is open." }))
    const driver = yield* Driver
    yield* driver.send(page.tab, "Page.handleJavaScriptDialog", { accept, ...(promptText === undefined ? {} : { promptText }) }, modal.session).pipe(
      Effect.mapError(driverError)
    )
    // Only this dialog: another may have opened the moment it closed.
    if (page.modal === modal) page.modal = undefined
    return `${accept ? "accepted" : "dismissed"} the ${modal.type} ${JSON.stringify(modal.message)}${promptText === undefined ? "" : ` with ${JSON.stringify(promptText)}`}`
  })
