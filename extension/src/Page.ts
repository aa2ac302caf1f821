/**
 * What the page methods do through CDP. Each runs under the tab's lock (the caller's
 * job); each waits for what it caused, with a cap, and says so when the cap was hit.
 */
import { Duration, Effect, Option, Queue, Schema } from "effect"
import { ErrorTag, type WireError } from "../../src/protocol/index.js"
import { Driver } from "./Driver.js"

const LOAD_CAP = Duration.seconds(30)
/** Longest side of a full-page screenshot; taller pages are scaled down to fit. */
const MAX_SIDE = 8000

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
const LayoutMetrics = Schema.Struct({
  cssLayoutViewport: Schema.Struct({ clientWidth: Schema.Number, clientHeight: Schema.Number }),
  cssContentSize: Schema.Struct({ width: Schema.Number, height: Schema.Number })
})
const Captured = Schema.Struct({ data: Schema.String })

const decode = <A, I>(schema: Schema.Schema<A, I>, method: string) => (value: unknown) =>
  Schema.decodeUnknown(schema)(value).pipe(Effect.mapError(() => cdp(method, "unexpected answer from the browser")))

/** Reads a string from the page (location, title) by evaluating a fixed expression. */
const read = (tab: number, expression: "location.href" | "document.title") =>
  Effect.flatMap(Driver, (d) => d.send(tab, "Runtime.evaluate", { expression, returnByValue: true })).pipe(
    Effect.flatMap(decode(Evaluated, "Runtime.evaluate")),
    Effect.map((r) => (typeof r.result.value === "string" ? r.result.value : "")),
    Effect.mapError((e) => ("tag" in e ? e : cdp("Runtime.evaluate", e.message)))
  )

export const navigate = (tab: number, target: string) =>
  Effect.scoped(Effect.gen(function*() {
    const url = yield* checkUrl(target)
    const driver = yield* Driver
    const wrap = (method: string) => Effect.mapError((e: { readonly message: string }) => cdp(method, e.message))
    yield* driver.send(tab, "Page.enable").pipe(wrap("Page.enable"))
    // Subscribe before navigating, so the load event cannot be missed.
    const events = yield* driver.subscribe
    const result = yield* driver.send(tab, "Page.navigate", { url }).pipe(wrap("Page.navigate"), Effect.flatMap(decode(NavigateResult, "Page.navigate")))
    if (result.errorText) return yield* fail(ErrorTag.NavigationFailed, `could not load ${url}: ${result.errorText}`)
    // No loaderId: a same-document navigation (a #fragment), which fires no load event.
    const loaded = result.loaderId === undefined
      ? true
      : yield* Queue.take(events).pipe(
        Effect.repeat({ until: (e) => e.tab === tab && e.method === "Page.loadEventFired" }),
        Effect.timeout(LOAD_CAP),
        Effect.option,
        Effect.map(Option.isSome)
      )
    return { url: yield* read(tab, "location.href"), title: yield* read(tab, "document.title"), loaded }
  }))

export const screenshot = (tab: number, options: { readonly type: "png" | "jpeg"; readonly quality?: number | undefined; readonly fullPage: boolean }) =>
  Effect.gen(function*() {
    const driver = yield* Driver
    const metrics = yield* driver.send(tab, "Page.getLayoutMetrics").pipe(
      Effect.mapError((e) => cdp("Page.getLayoutMetrics", e.message)),
      Effect.flatMap(decode(LayoutMetrics, "Page.getLayoutMetrics"))
    )
    const width = options.fullPage ? metrics.cssContentSize.width : metrics.cssLayoutViewport.clientWidth
    const height = options.fullPage ? metrics.cssContentSize.height : metrics.cssLayoutViewport.clientHeight
    const scale = Math.min(1, MAX_SIDE / Math.max(width, height))
    const captured = yield* driver.send(tab, "Page.captureScreenshot", {
      format: options.type,
      ...(options.type === "jpeg" ? { quality: options.quality ?? 80 } : {}),
      ...(options.fullPage ? { captureBeyondViewport: true, clip: { x: 0, y: 0, width, height, scale } } : {}),
      fromSurface: true
    }).pipe(Effect.mapError((e) => cdp("Page.captureScreenshot", e.message)), Effect.flatMap(decode(Captured, "Page.captureScreenshot")))
    return {
      mimeType: `image/${options.type}`,
      data: captured.data,
      width: Math.round(width * scale),
      height: Math.round(height * scale)
    }
  })
