/**
 * What the page methods do through CDP. Each runs under the tab's lock (the caller's
 * job); each waits for what it caused, with a cap, and says so when the cap was hit.
 */
import { Duration, Effect, Option, Queue, Schema } from "effect"
import { ErrorTag, type WireError } from "../../src/protocol/index.js"
import { Driver } from "./Driver.js"

const LOAD_CAP = Duration.seconds(30)

const fail = (tag: string, message: string) => Effect.fail<WireError>({ tag, message })
const cdp = (method: string, message: string): WireError => ({ tag: ErrorTag.PageError, message: `${method}: ${message}` })

const SCHEMES = ["http:", "https:", "about:", "data:"]

/** Checks a URL an agent asked for: parsed, and one of the schemes a page may be loaded from. */
export const checkUrl = (text: string): Effect.Effect<string, WireError> => {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return fail(ErrorTag.BadParams, `"${text}" is not an absolute URL (like https://example.com/)`)
  }
  return SCHEMES.includes(url.protocol)
    ? Effect.succeed(url.href)
    : fail(ErrorTag.BadParams, `${url.protocol} URLs are not allowed: use ${SCHEMES.join(", ")}`)
}

const NavigateResult = Schema.Struct({ frameId: Schema.String, loaderId: Schema.optional(Schema.String), errorText: Schema.optional(Schema.String) })
const Evaluated = Schema.Struct({ result: Schema.Struct({ value: Schema.optional(Schema.Unknown) }) })

const decode = <A, I>(schema: Schema.Schema<A, I>, method: string) => (value: unknown) =>
  Schema.decodeUnknown(schema)(value).pipe(Effect.mapError(() => cdp(method, "unexpected answer from the browser")))

/** Reads a string from the page (location, title) by evaluating a fixed expression. */
const read = (tab: number, expression: "location.href" | "document.title") =>
  Effect.flatMap(Driver, (d) => d.send(tab, "Runtime.evaluate", { expression, returnByValue: true })).pipe(
    Effect.flatMap(decode(Evaluated, "Runtime.evaluate")),
    Effect.map((r) => (typeof r.result.value === "string" ? r.result.value : "")),
    Effect.mapError((e) => ("tag" in e ? e : cdp("Runtime.evaluate", e.message)))
  )

/** A back/forward-cache restore: the page is back at once, and no load event will come. */
const restoredFromCache = (params: unknown) =>
  (params as { type?: string } | undefined)?.type === "BackForwardCacheRestore"

const wrap = (method: string) => Effect.mapError((e: { readonly message: string }) => cdp(method, e.message))

/**
 * Runs `act` (which may start a navigation) and waits, capped, for the tab's load event
 * when `act` says a load is coming; then reports where the tab is.
 */
const loading = <E, R>(tab: number, act: Effect.Effect<boolean, E, R>) =>
  Effect.scoped(Effect.gen(function*() {
    const driver = yield* Driver
    yield* driver.send(tab, "Page.enable").pipe(wrap("Page.enable"))
    // Subscribe before acting, so the load event cannot be missed.
    const events = yield* driver.subscribe
    const expectLoad = yield* act
    const loaded = !expectLoad ||
      (yield* Queue.take(events).pipe(
        Effect.repeat({ until: (e) => e.tab === tab && (e.method === "Page.loadEventFired" || restoredFromCache(e.params)) }),
        Effect.timeout(LOAD_CAP),
        Effect.option,
        Effect.map(Option.isSome)
      ))
    return { url: yield* read(tab, "location.href"), title: yield* read(tab, "document.title"), loaded }
  }))

export const navigate = (tab: number, target: string) =>
  Effect.flatMap(checkUrl(target), (url) =>
    loading(tab, Effect.gen(function*() {
      const driver = yield* Driver
      const result = yield* driver.send(tab, "Page.navigate", { url }).pipe(wrap("Page.navigate"), Effect.flatMap(decode(NavigateResult, "Page.navigate")))
      if (result.errorText) return yield* fail(ErrorTag.NavigationFailed, `could not load ${url}: ${result.errorText}`)
      // No loaderId: a same-document navigation (a #fragment), which fires no load event.
      return result.loaderId !== undefined
    })))

const History = Schema.Struct({ currentIndex: Schema.Number, entries: Schema.Array(Schema.Struct({ id: Schema.Number, url: Schema.String })) })

export const history = (tab: number, action: "back" | "forward" | "reload") =>
  loading(tab, Effect.gen(function*() {
    const driver = yield* Driver
    if (action === "reload") {
      yield* driver.send(tab, "Page.reload").pipe(wrap("Page.reload"))
      return true
    }
    const h = yield* driver.send(tab, "Page.getNavigationHistory").pipe(wrap("Page.getNavigationHistory"), Effect.flatMap(decode(History, "Page.getNavigationHistory")))
    const entry = h.entries[h.currentIndex + (action === "back" ? -1 : 1)]
    if (entry === undefined) return yield* fail(ErrorTag.NavigationFailed, `there is no page to go ${action} to in this tab's history`)
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

/** Calls `fn` (a function expression, as written by the agent) with `args` passed by value. */
export const evaluate = (tab: number, fn: string, args: ReadonlyArray<unknown>) =>
  Effect.gen(function*() {
    const driver = yield* Driver
    const global = yield* driver.send(tab, "Runtime.evaluate", { expression: "globalThis" }).pipe(
      wrap("Runtime.evaluate"),
      Effect.flatMap(decode(Global, "Runtime.evaluate"))
    )
    const called = yield* driver.send(tab, "Runtime.callFunctionOn", {
      functionDeclaration: fn,
      objectId: global.result.objectId,
      arguments: args.map((value) => ({ value })),
      returnByValue: true,
      awaitPromise: true
    }).pipe(wrap("Runtime.callFunctionOn"), Effect.flatMap(decode(Called, "Runtime.callFunctionOn")))
    if (called.exceptionDetails) {
      const detail = called.exceptionDetails.exception?.description ?? called.exceptionDetails.text
      return yield* fail(ErrorTag.PageError, `the function threw: ${detail}`)
    }
    const json = called.result.type === "undefined" ? "undefined" : JSON.stringify(called.result.value) ?? "undefined"
    return json.length > MAX_RESULT ? { json: json.slice(0, MAX_RESULT), truncated: true } : { json, truncated: false }
  })
