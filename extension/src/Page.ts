/**
 * What the page methods do through CDP. Each runs under the tab's lock (the caller's
 * job); each waits for what it caused, with a cap, and says so when the cap was hit.
 */
import { Clock, Duration, Effect, Encoding, Option, Queue, Schedule, Schema } from "effect"
import { BadParams, type CallFailure, ModalOpen, NavigationFailed, NotActionable, NotWebContent, notWebContent, PageError, Timeout, type WebContentOptions } from "../../src/protocol/index.js"
import * as Actions from "./Actions.js"
import { capture, drawFrame } from "./Capture.js"
import { describeModal } from "./Actions.js"
import { type CdpEvent, Driver } from "./Driver.js"
import { type ConsoleLevel, type PageRecord, pageError, type RequestEntry } from "./PageRecord.js"
import { pageOf, type TabSessions } from "./TabSessions.js"
import * as Snapshot from "./Snapshot.js"

const LOAD_CAP = Duration.seconds(30)
/** How long a navigation waits for the load event once the document is ready. */
const AFTER_READY = Duration.seconds(3)
/**
 * How long, after the load event, a navigation waits for the requests its page made and
 * has not finished (an application that fetches its code or data once loaded, and renders
 * it): the snapshot then shows the page as it comes up. Nothing in flight: no wait at all.
 */
const AFTER_LOAD = Duration.seconds(2)

/** Checks a URL an agent asked to load: absolute, and web content (invariant 10). */
export const checkUrl = (text: string, options: WebContentOptions): Effect.Effect<string, CallFailure> => {
  const refused = notWebContent(text, options)
  if (refused !== undefined) return Effect.fail(new NotWebContent({ url: text, message: refused }))
  return Effect.succeed(text.startsWith("data:") ? text : new URL(text === "" ? "about:blank" : text).href)
}

const escapeHtml = (text: string) => text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;" })[c]!)

/**
 * The document a `data:` URL holds, as HTML: Chrome refuses to load a data: URL in a tab
 * at an extension's request (net::ERR_ABORTED, measured in Chromium 156), so tabmux
 * writes it into a blank tab instead. HTML as it is; other text in a `<pre>`.
 */
export const dataDocument = (url: string): { readonly html: string } | { readonly error: string } => {
  const comma = url.indexOf(",")
  if (comma < 0) return { error: "a data: URL has a comma before its data (data:text/html,<h1>Hi</h1>)" }
  const meta = url.slice("data:".length, comma)
  const base64 = /;base64$/i.test(meta)
  const type = (meta.replace(/;base64$/i, "").split(";")[0] || "text/plain").trim().toLowerCase()
  let text: string
  try {
    const body = url.slice(comma + 1)
    text = base64 ? new TextDecoder().decode(Uint8Array.from(atob(decodeURIComponent(body)), (c) => c.charCodeAt(0))) : decodeURIComponent(body)
  } catch {
    return { error: "its data is not valid (percent-encoded, or base64 after ;base64)" }
  }
  if (type === "text/html" || type === "application/xhtml+xml") return { html: text }
  if (type.startsWith("text/") || type === "application/json") return { html: `<pre>${escapeHtml(text)}</pre>` }
  return { error: `a data: URL of type ${type} is not a page tabmux can show: open it as text/html or text/plain` }
}

const History = Schema.Struct({
  currentIndex: Schema.Number,
  entries: Schema.Array(Schema.Struct({ id: Schema.Number, url: Schema.String, title: Schema.optional(Schema.String) }))
})

const NavigateResult = Schema.Struct({ frameId: Schema.String, loaderId: Schema.optional(Schema.String), errorText: Schema.optional(Schema.String) })

const decode = <A, I>(schema: Schema.Schema<A, I>, method: string) => (value: unknown) =>
  Schema.decodeUnknown(schema)(value).pipe(Effect.mapError(() => pageError(method, "unexpected answer from the browser")))

/**
 * Where the tab is, as the browser records it (the current history entry): its URL and
 * title, never read from the page's script, whose getters a page can make return anything
 * of any size. The browser keeps a title to a few thousand characters; both are cut to
 * `MAX_LOCATION` here too.
 */
const whereIs = (tab: number) =>
  Effect.flatMap(Driver, (d) => d.send(tab, "Page.getNavigationHistory")).pipe(
    // During a swap of the page's process (an error page after a refused navigation, say) the page is briefly not there.
    Effect.retry({ while: (e) => /Not attached to an active page/i.test(e.message), times: 10, schedule: Schedule.spaced(Duration.millis(50)) }),
    Effect.flatMap(decode(History, "Page.getNavigationHistory")),
    Effect.map((h) => {
      const entry = h.entries[h.currentIndex]
      return { url: (entry?.url ?? "").slice(0, MAX_LOCATION), title: (entry?.title ?? "").slice(0, MAX_LOCATION) }
    }),
    Effect.mapError((e) => (e._tag === "DriverError" ? pageError("Page.getNavigationHistory", e.message) : e))
  )

const MAX_LOCATION = 8 * 1024

/** A back/forward-cache restore: the page is back at once, and no load event will come. */
const restoredFromCache = (params: unknown) =>
  (params as { type?: string } | undefined)?.type === "BackForwardCacheRestore"

const wrap = (method: string) => Effect.mapError((e: { readonly message: string }) => pageError(method, e.message))

/** Where a tab is after a navigation, and whether it finished loading in time. */
interface Loaded {
  readonly url: string
  readonly title: string
  readonly loaded: boolean
  readonly status?: number
  /** The navigation was a download (the tab stayed where it was). */
  readonly download?: { readonly url: string; readonly filename: string }
}

/**
 * Runs `act` (which may start a navigation) and waits, capped, for the tab's load event
 * when `act` says a load is coming; then reports where the tab is.
 */
const loading = <E, R>(tab: number, act: Effect.Effect<boolean, E, R>) =>
  Effect.scoped(Effect.gen(function*() {
    const driver = yield* Driver
    yield* modalFree(tab)
    // Subscribe before acting, so the load event cannot be missed.
    const events = yield* driver.subscribe
    const expectLoad = yield* act
    // The page's own requests since it started loading (a worker's script is the worker's to finish).
    const pending = new Set<string>()
    const next = (until: number) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        if (now >= until) return Option.none<CdpEvent>()
        const e = yield* Queue.take(events).pipe(Effect.timeout(Duration.millis(until - now)), Effect.option)
        if (Option.isNone(e) || e.value.tab !== tab || e.value.session !== undefined) return e
        const p = e.value.params as { requestId?: string; loaderId?: string; type?: string }
        if (e.value.method === "Network.requestWillBeSent" && p.loaderId !== "" && p.type !== "WebSocket" && p.type !== "EventSource") pending.add(p.requestId!)
        if (e.value.method === "Network.loadingFinished" || e.value.method === "Network.loadingFailed") pending.delete(p.requestId!)
        return e
      })
    // Settle on what an agent needs: the load event, or the document ready plus a short
    // grace for the rest (an image that never loads must not hold the agent for 30 s).
    const waitLoad = Effect.gen(function*() {
      let deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(LOAD_CAP)
      while (true) {
        const e = yield* next(deadline)
        if (Option.isNone(e)) return false
        if (e.value.tab !== tab || e.value.session !== undefined) continue
        if (e.value.method === "Page.loadEventFired" || restoredFromCache(e.value.params)) return true
        if (e.value.method === "Page.domContentEventFired") deadline = Math.min(deadline, (yield* Clock.currentTimeMillis) + Duration.toMillis(AFTER_READY))
      }
    })
    const loaded = !expectLoad || (yield* waitLoad)
    if (loaded && expectLoad) {
      const until = (yield* Clock.currentTimeMillis) + Duration.toMillis(AFTER_LOAD)
      while (pending.size > 0 && Option.isSome(yield* next(until)));
    }
    const { url, title } = yield* whereIs(tab)
    // The HTTP status of the document now shown (its main-frame Document request, the latest for its URL).
    const page = yield* pageOf(tab)
    const document = [...page.requests.values()].filter((r) => r.type === "Document" && r.session === undefined && r.url === url).at(-1)
    return { url, title, loaded, ...(document?.status === undefined ? {} : { status: document.status }) }
  }))

/** How long a navigation Chrome aborted is watched for the download it became. */
const DOWNLOAD_WAIT = Duration.seconds(1)

export const navigate = (tab: number, target: string, web: WebContentOptions): Effect.Effect<Loaded, CallFailure, Driver | TabSessions> =>
  Effect.flatMap(checkUrl(target, web), (url) => url.startsWith("data:") ? writeData(tab, url, web) : Effect.gen(function*() {
    const page = yield* pageOf(tab)
    const before = page.consoleSeq
    let download: { readonly url: string; readonly filename: string } | undefined
    const loaded = yield* loading(tab, Effect.gen(function*() {
      const driver = yield* Driver
      const result = yield* driver.send(tab, "Page.navigate", { url }).pipe(wrap("Page.navigate"), Effect.flatMap(decode(NavigateResult, "Page.navigate")))
      // A response the browser saves as a file (Content-Disposition: attachment) ends the navigation as ERR_ABORTED:
      // it was a download, and the tab stays on its page.
      if (result.errorText === "net::ERR_ABORTED") {
        const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(DOWNLOAD_WAIT)
        download = page.downloads.find((d) => d.seq > before)
        while (download === undefined && (yield* Clock.currentTimeMillis) < deadline) {
          yield* Effect.sleep(Duration.millis(20))
          download = page.downloads.find((d) => d.seq > before)
        }
        if (download !== undefined) return false
      }
      if (result.errorText && /BLOCKED_BY_CLIENT/.test(result.errorText) && web.origins !== undefined) {
        // Held to the user's origins on the way (a redirect): the error page stands at the URL that was refused.
        yield* Effect.sleep(Duration.millis(100))
        const landed = yield* Effect.option(whereIs(tab))
        if (Option.isSome(landed)) yield* checkUrl(landed.value.url, web)
        return yield* Effect.fail(new NotWebContent({ url, message: `could not load ${url}: it led to an origin this agent may not visit (--allowed-origins / --blocked-origins)` }))
      }
      if (result.errorText) return yield* Effect.fail(new NavigationFailed({ url, message: `could not load ${url}: ${result.errorText}` }))
      // No loaderId: a same-document navigation (a #fragment), which fires no load event.
      return result.loaderId !== undefined
    }))
    // Where it ended (a redirect may lead elsewhere) is held to the same rules.
    yield* checkUrl(loaded.url, web)
    return download === undefined ? loaded : { ...loaded, download: { url: download.url, filename: download.filename } }
  }))

/** A data: URL's document, written into the tab once it shows a blank page (its URL stays about:blank). */
const writeData = (tab: number, url: string, web: WebContentOptions) =>
  Effect.gen(function*() {
    const document = dataDocument(url)
    if ("error" in document) return yield* Effect.fail(new BadParams({ message: `cannot open ${url.slice(0, 60)}…: ${document.error}` }))
    yield* navigate(tab, "about:blank", web)
    const page = yield* pageOf(tab)
    const driver = yield* Driver
    yield* driver.send(tab, "Page.setDocumentContent", { frameId: page.mainFrame, html: document.html }).pipe(wrap("Page.setDocumentContent"))
    const { title } = yield* whereIs(tab)
    return { url: "about:blank", title, loaded: true }
  })


export const history = (tab: number, action: "back" | "forward" | "reload", web: WebContentOptions) =>
  loading(tab, Effect.gen(function*() {
    const driver = yield* Driver
    if (action === "reload") {
      yield* driver.send(tab, "Page.reload").pipe(wrap("Page.reload"))
      return true
    }
    const h = yield* driver.send(tab, "Page.getNavigationHistory").pipe(wrap("Page.getNavigationHistory"), Effect.flatMap(decode(History, "Page.getNavigationHistory")))
    const entry = h.entries[h.currentIndex + (action === "back" ? -1 : 1)]
    if (entry === undefined) return yield* Effect.fail(new NavigationFailed({ message: `there is no page to go ${action} to in this tab's history` }))
    yield* checkUrl(entry.url, web)
    yield* driver.send(tab, "Page.navigateToHistoryEntry", { entryId: entry.id }).pipe(wrap("Page.navigateToHistoryEntry"))
    return true
  }))

/** Largest evaluation result returned, in bytes of JSON. */
const MAX_RESULT = 64 * 1024

const Global = Schema.Struct({ result: Schema.Struct({ objectId: Schema.String }) })
const Called = Schema.Struct({
  result: Schema.Struct({ type: Schema.String, value: Schema.optional(Schema.Unknown) }),
  exceptionDetails: Schema.optional(Schema.Struct({
    text: Schema.String,
    exception: Schema.optional(Schema.Struct({ description: Schema.optional(Schema.String) }))
  }))
})

/** The global object of a page, a child frame, or one of its execution contexts, by handle. */
const globalObject = (tab: number, session: string | undefined, inContext: { readonly contextId?: number } = {}) =>
  Effect.flatMap(Driver, (driver) => driver.send(tab, "Runtime.evaluate", { expression: "globalThis", ...inContext }, session)).pipe(
    wrap("Runtime.evaluate"),
    Effect.flatMap(decode(Global, "Runtime.evaluate"))
  )

/**
 * Calls a function expression in a page's (or child frame's) global scope, `args` passed
 * by value, promises awaited; a throw is a `PageError` naming what was thrown.
 */
const callInPage = (
  tab: number,
  fn: string,
  args: ReadonlyArray<unknown>,
  on?: { readonly session: string | undefined }
) =>
  Effect.gen(function*() {
    const driver = yield* Driver
    const session = on?.session
    const global = yield* globalObject(tab, session)
    const called = yield* driver.send(tab, "Runtime.callFunctionOn", {
      functionDeclaration: fn,
      objectId: global.result.objectId,
      arguments: args.map((value) => ({ value })),
      returnByValue: true,
      awaitPromise: true
    }, session).pipe(wrap("Runtime.callFunctionOn"), Effect.flatMap(decode(Called, "Runtime.callFunctionOn")))
    if (called.exceptionDetails) {
      const detail = called.exceptionDetails.exception?.description ?? called.exceptionDetails.text
      return yield* Effect.fail(new PageError({ message: `the function threw: ${detail}` }))
    }
    return called.result
  })

/** Source that starts as a function declaration does: `function name(`, `async function`, a generator. */
const FUNCTION_DECLARATION = /^\s*(async\s+)?function\b/

const AgentEvaluated = Schema.Struct({
  result: Schema.Struct({ type: Schema.String, objectId: Schema.optional(Schema.String), value: Schema.optional(Schema.Unknown) }),
  exceptionDetails: Called.fields.exceptionDetails
})

/**
 * The agent's value as JSON cut to `limit` characters, made in the page, so a value of
 * any size never crosses to the worker whole: with `call`, the value of calling the
 * function it is called on (the agent's, by reference) with `args`; else that object itself.
 */
const BOUNDED = "async function (limit, call, ...args) { const json = JSON.stringify(call ? await this(...args) : this); " +
  "return typeof json !== 'string' ? { json: 'undefined', truncated: false } : { json: json.length > limit ? json.slice(0, limit) : json, truncated: json.length > limit } }"
const Bounded = Schema.Struct({ json: Schema.String, truncated: Schema.Boolean })

/**
 * Runs the agent's code as Playwright MCP does: an expression (`document.title`,
 * `(1 + 1)`) gives its value; a function expression is called with `args` passed by
 * value, and with a ref the element comes first (and it runs in the element's frame).
 * The source goes to CDP as the agent wrote it, never spliced into other code; CDP's
 * evaluation is not subject to the page's CSP.
 */
export const evaluate = (tab: number, source: string, args: ReadonlyArray<unknown>, ref?: string) =>
  Effect.gen(function*() {
    const page = yield* modalFree(tab)
    const element = ref === undefined ? undefined : yield* Snapshot.resolve(page, ref, "main")
    const driver = yield* Driver
    const session = element?.session
    // With a ref, the code runs in the page's own world of the element's frame.
    const contextId = element === undefined ? Option.none() : yield* Snapshot.context(page, element, "main")
    const inContext = Option.match(contextId, { onNone: () => ({}), onSome: (contextId) => ({ contextId }) })
    // A function declaration (`function foo() { return 1 }`) evaluates to nothing as a statement: CDP
    // compiles it as a function instead (its documented functionDeclaration), and calls it.
    const declared = FUNCTION_DECLARATION.test(source)
    const evaluated = yield* (declared
      ? Effect.flatMap(
        globalObject(tab, session, inContext),
        (global) =>
          driver.send(tab, "Runtime.callFunctionOn", {
            functionDeclaration: source,
            objectId: global.result.objectId,
            arguments: [...(element === undefined ? [] : [{ objectId: element.objectId }]), ...args.map((value) => ({ value }))],
            awaitPromise: true
          }, session)
      )
      : driver.send(tab, "Runtime.evaluate", {
        expression: source,
        awaitPromise: true,
        ...inContext
      }, session)).pipe(
        wrap("Runtime.evaluate"),
        Effect.flatMap(decode(AgentEvaluated, "Runtime.evaluate"))
      )
    if (evaluated.exceptionDetails) {
      const detail = evaluated.exceptionDetails.exception?.description ?? evaluated.exceptionDetails.text
      return yield* Effect.fail(new PageError({ message: `the code threw: ${detail}` }))
    }
    // A declaration was called already: its value is what remains to be cut.
    const isFunction = !declared && evaluated.result.type === "function"
    if (!declared && !isFunction && (args.length > 0 || element !== undefined)) {
      return yield* Effect.fail(new BadParams({ message: "args and ref are passed to a function: write a function expression, like (element, a) => element.textContent + a" }))
    }
    if (evaluated.result.objectId === undefined) {
      // A primitive (an expression's number or string) comes by value.
      const json = evaluated.result.type === "undefined" ? "undefined" : JSON.stringify(evaluated.result.value) ?? "undefined"
      return json.length > MAX_RESULT ? { json: json.slice(0, MAX_RESULT), truncated: true } : { json, truncated: false }
    }
    const bounded = yield* driver.send(tab, "Runtime.callFunctionOn", {
      functionDeclaration: BOUNDED,
      objectId: evaluated.result.objectId,
      arguments: [
        { value: MAX_RESULT },
        { value: isFunction },
        ...(isFunction ? [...(element === undefined ? [] : [{ objectId: element.objectId }]), ...args.map((value) => ({ value }))] : [])
      ],
      returnByValue: true,
      awaitPromise: true
    }, session).pipe(
      wrap("Runtime.callFunctionOn"),
      Effect.flatMap(decode(Called, "Runtime.callFunctionOn")),
      Effect.flatMap((called) =>
        called.exceptionDetails
          ? Effect.fail(new PageError({ message: `the function threw: ${called.exceptionDetails.exception?.description ?? called.exceptionDetails.text}` }))
          : Effect.succeed(called.result.value)
      ),
      Effect.flatMap(decode(Bounded, "Runtime.callFunctionOn"))
    )
    // Checked again here: a page can replace JSON.stringify and String.prototype.slice.
    return bounded.json.length > MAX_RESULT ? { json: bounded.json.slice(0, MAX_RESULT), truncated: true } : bounded
  })

/** Refuses to run page script while a dialog blocks the page (it would wait until the dialog closes). */
const modalFree = (tab: number) =>
  pageOf(tab).pipe(
    Effect.flatMap((page) =>
      page.modal?.kind === "dialog" ? Effect.fail(new ModalOpen({ message: `Cannot run page script now: ${describeModal(page.modal)} first.` })) : Effect.succeed(page)
    )
  )

// ---------------------------------------------------------------------------------------------
// Waiting for text

const HAS_TEXT = `function (text) { return !!document.body && document.body.innerText.includes(text) }`
const POLL = Duration.millis(200)

/** Whether `text` shows in the page or any of its out-of-process frames. */
const showing = (page: PageRecord, text: string) =>
  Effect.map(
    Effect.forEach([undefined, ...page.children.values()], (session) =>
      callInPage(page.tab, HAS_TEXT, [text], { session }).pipe(
        Effect.map((r) => r.value === true),
        // A frame that is navigating or gone has no text to show.
        Effect.orElseSucceed(() => false)
      )),
    (found) => found.some((f) => f)
  )

export const waitFor = (tab: number, o: { text?: string | undefined; textGone?: string | undefined; time?: number | undefined; timeoutSeconds: number }) =>
  Effect.gen(function*() {
    const page = yield* modalFree(tab)
    const started = yield* Clock.currentTimeMillis
    if (o.time !== undefined) yield* Effect.sleep(Duration.seconds(o.time))
    const waitUntil = (want: boolean, text: string) =>
      showing(page, text).pipe(
        Effect.repeat({ until: (shown) => shown === want, schedule: Schedule.spaced(POLL) }),
        Effect.timeoutFail({
          duration: Duration.seconds(o.timeoutSeconds),
          onTimeout: (): CallFailure => (new Timeout({ message: `${JSON.stringify(text)} ${want ? "did not appear" : "was still there"} after ${o.timeoutSeconds} s` }))
        })
      )
    if (o.text !== undefined) yield* waitUntil(true, o.text)
    if (o.textGone !== undefined) yield* waitUntil(false, o.textGone)
    const waited = [
      o.time === undefined ? undefined : `${o.time} s passed`,
      o.text === undefined ? undefined : `${JSON.stringify(o.text)} appeared`,
      o.textGone === undefined ? undefined : `${JSON.stringify(o.textGone)} is gone`
    ].filter((s) => s !== undefined).join(", ")
    return { waited, ms: (yield* Clock.currentTimeMillis) - started }
  })

// ---------------------------------------------------------------------------------------------
// Console and network, as recorded since the page loaded

const LEVELS = ["error", "warning", "info", "debug"] as const

export const consoleMessages = (tab: number, level: ConsoleLevel, all: boolean) =>
  Effect.map(pageOf(tab), (page) => ({
    messages: page.console
      .filter((m) => (all || m.seq > page.documentSeq) && LEVELS.indexOf(m.level) <= LEVELS.indexOf(level))
      .map((m) => ({ level: m.level, type: m.type, text: m.text, ...(m.where === undefined ? {} : { where: m.where }) }))
  }))

const STATIC = new Set(["Image", "Stylesheet", "Font", "Media", "Script", "Manifest", "TextTrack"])

const summary = (r: RequestEntry, index: number) => ({
  id: r.id,
  index,
  method: r.method,
  url: r.url,
  type: r.type,
  ...(r.status === undefined ? {} : { status: r.status }),
  ...(r.failed === undefined ? {} : { failed: r.failed }),
  ...(r.size === undefined ? {} : { size: r.size }),
  finished: r.finished
})

export const networkRequests = (tab: number, filter: string | undefined, includeStatic: boolean) =>
  Effect.map(pageOf(tab), (page) => ({
    requests: [...page.requests.values()]
      .map((r, i) => [r, i + 1] as const)
      // A static resource that failed is always listed: that is what an agent looks for.
      .filter(([r]) => (includeStatic || !STATIC.has(r.type) || r.failed !== undefined || (r.status ?? 0) >= 400) && (filter === undefined || r.url.toLowerCase().includes(filter.toLowerCase())))
      .map(([r, index]) => summary(r, index))
  }))

/** Largest response body returned, in characters. */
const MAX_BODY = 16 * 1024
const Body = Schema.Struct({ body: Schema.String, base64Encoded: Schema.Boolean })

/** Largest response body handed over whole (to be saved to a file). */
const MAX_SAVED_BODY = 10 * 1024 * 1024

export const networkRequest = (tab: number, id: string, whole: boolean) =>
  Effect.gen(function*() {
    // Chrome answers no body while a dialog blocks the page: say so at once, as the other tools do.
    const page = yield* modalFree(tab)
    const r = page.requests.get(id)
    if (r === undefined) {
      return yield* Effect.fail(new BadParams({ message: `no request ${JSON.stringify(id)} on this page since it loaded: list them with browser_network_requests` }))
    }
    const driver = yield* Driver
    const raw = r.finished && r.failed === undefined
      ? yield* driver.send(tab, "Network.getResponseBody", { requestId: id }, r.session).pipe(Effect.flatMap(Schema.decodeUnknown(Body)), Effect.option)
      : Option.none()
    const body = !r.finished || r.failed !== undefined
      ? undefined
      : Option.match(raw, {
        onNone: () => "(the browser no longer has the body)",
        onSome: (b) =>
          b.base64Encoded
            ? `(binary, ${Math.floor(b.body.length * 3 / 4)} bytes${whole ? "" : "; give a filename to save it"})`
            : b.body.length > MAX_BODY
            ? `${b.body.slice(0, MAX_BODY)}\n(cut at ${MAX_BODY} of ${b.body.length} characters${whole ? "" : "; give a filename to save it whole"})`
            : b.body
      })
    const bodyBase64 = !whole ? undefined : Option.match(raw, {
      onNone: () => undefined,
      onSome: (b) => {
        const base64 = b.base64Encoded ? b.body : Encoding.encodeBase64(b.body)
        return base64.length * 3 / 4 > MAX_SAVED_BODY ? undefined : base64
      }
    })
    return {
      request: {
        ...summary(r, [...page.requests.keys()].indexOf(r.id) + 1),
        requestHeaders: r.requestHeaders,
        ...(r.postData === undefined ? {} : { postData: r.postData }),
        ...(r.statusText === undefined ? {} : { statusText: r.statusText }),
        ...(r.mimeType === undefined ? {} : { mimeType: r.mimeType }),
        ...(r.responseHeaders === undefined ? {} : { responseHeaders: r.responseHeaders }),
        ...(body === undefined ? {} : { body }),
        ...(bodyBase64 === undefined ? {} : { bodyBase64 })
      }
    }
  })

// ---------------------------------------------------------------------------------------------
// Viewport, screenshots, PDF

export const resize = (tab: number, width: number, height: number) =>
  Effect.gen(function*() {
    yield* pageOf(tab)
    const driver = yield* Driver
    // A background tab takes a new size with a frame it draws, and draws none by itself:
    // set the size, make it draw, and again until the page reports the size (a capture
    // just before can restore its own metrics after ours, undoing them).
    const size = callInPage(tab, "() => [innerWidth, innerHeight]", []).pipe(Effect.map((r) => r.value as [number, number]))
    const seen = yield* driver.send(tab, "Emulation.setDeviceMetricsOverride", { width, height, deviceScaleFactor: 0, mobile: false }).pipe(
      wrap("Emulation.setDeviceMetricsOverride"),
      Effect.zipRight(drawFrame(tab)),
      Effect.zipRight(size),
      Effect.filterOrFail(([w, h]) => w === width && h === height, () => pageError("Emulation.setDeviceMetricsOverride", `the page did not take the ${width}×${height} size within 6 s`)),
      Effect.retry(Schedule.spaced(Duration.millis(100)).pipe(Schedule.upTo(Duration.seconds(6))))
    )
    return { width: seen[0], height: seen[1] }
  })

const Metrics = Schema.Struct({
  cssVisualViewport: Schema.Struct({ pageX: Schema.Number, pageY: Schema.Number, clientWidth: Schema.Number, clientHeight: Schema.Number }),
  /** The same viewport in device pixels: their ratio is the device pixel ratio. */
  visualViewport: Schema.Struct({ clientWidth: Schema.Number }),
  cssContentSize: Schema.Struct({ width: Schema.Number, height: Schema.Number })
})
const Captured = Schema.Struct({ data: Schema.String })
const Box = Schema.Struct({ model: Schema.Struct({ border: Schema.Array(Schema.Number) }) })

/** Longest side of a screenshot, in pixels: larger pages are scaled down to it. */
const MAX_SIDE = 2000
export const screenshot = (
  tab: number,
  o: { fullPage: boolean; ref?: string | undefined; element?: string | undefined; type: "png" | "jpeg" | "webp"; quality?: number | undefined; scale?: "css" | "device" | undefined }
) =>
  Effect.gen(function*() {
    const page = yield* modalFree(tab)
    const driver = yield* Driver
    const metrics = yield* driver.send(tab, "Page.getLayoutMetrics").pipe(wrap("Page.getLayoutMetrics"), Effect.flatMap(decode(Metrics, "Page.getLayoutMetrics")))
    const view = metrics.cssVisualViewport
    let clip = { x: view.pageX, y: view.pageY, width: view.clientWidth, height: view.clientHeight }
    if (o.fullPage) clip = { x: 0, y: 0, width: metrics.cssContentSize.width, height: Math.min(metrics.cssContentSize.height, 16_384) }
    if (o.ref !== undefined) {
      const node = yield* Snapshot.resolve(page, o.ref)
      yield* driver.send(tab, "DOM.scrollIntoViewIfNeeded", { objectId: node.objectId }, node.session).pipe(wrap("DOM.scrollIntoViewIfNeeded"))
      const box = yield* driver.send(tab, "DOM.getBoxModel", { objectId: node.objectId }, node.session).pipe(wrap("DOM.getBoxModel"), Effect.flatMap(decode(Box, "DOM.getBoxModel")))
      const offset = yield* Actions.frameOffset(page, node.session)
      const after = yield* driver.send(tab, "Page.getLayoutMetrics").pipe(wrap("Page.getLayoutMetrics"), Effect.flatMap(decode(Metrics, "Page.getLayoutMetrics")))
      const xs = [0, 2, 4, 6].map((i) => box.model.border[i]!)
      const ys = [1, 3, 5, 7].map((i) => box.model.border[i]!)
      clip = {
        x: Math.min(...xs) + offset.x + after.cssVisualViewport.pageX,
        y: Math.min(...ys) + offset.y + after.cssVisualViewport.pageY,
        width: Math.max(...xs) - Math.min(...xs),
        height: Math.max(...ys) - Math.min(...ys)
      }
      if (clip.width < 1 || clip.height < 1) return yield* Effect.fail(new NotActionable({ message: `${o.element ?? o.ref} has no visible box to capture` }))
    }
    // Image pixels per CSS pixel: 1 with "css" (the default, as Playwright MCP's), the display's ratio with "device";
    // then at most MAX_SIDE on the longest side. Chrome's capture multiplies its scale by the display's ratio.
    const dpr = Math.max(0.25, metrics.visualViewport.clientWidth / Math.max(1, view.clientWidth))
    const perCss = (o.scale === "device" ? dpr : 1) * Math.min(1, MAX_SIDE / (Math.max(clip.width, clip.height) * (o.scale === "device" ? dpr : 1)))
    const scale = perCss / dpr
    const params = {
      format: o.type,
      ...(o.type !== "png" ? { quality: o.quality ?? 80 } : {}),
      clip: { ...clip, scale },
      captureBeyondViewport: o.fullPage
    }
    const data = yield* capture(tab, params)
    return {
      data,
      mimeType: `image/${o.type}`,
      width: Math.round(clip.width * perCss),
      height: Math.round(clip.height * perCss)
    }
  })

export const pdf = (tab: number) =>
  Effect.gen(function*() {
    yield* modalFree(tab)
    const driver = yield* Driver
    const printed = yield* driver.send(tab, "Page.printToPDF", { printBackground: true }).pipe(
      wrap("Page.printToPDF"),
      Effect.flatMap(decode(Captured, "Page.printToPDF"))
    )
    return { data: printed.data }
  })
