/**
 * What each protocol method does in the browser, for one instance. Params are decoded
 * with the method catalogue before anything runs; every failure becomes a wire error
 * whose message tells the agent what to do. Every operation on a tab runs under its lock.
 */
import { Duration, Effect, Option, ParseResult, Ref, Schema, SynchronizedRef } from "effect"
import { ErrorTag, isMethodName, type MethodName, Methods, type ParamsOf, type TabInfo, type WireError } from "../../src/protocol/index.js"
import { Browser } from "./Browser.js"
import { type Instance, Instances } from "./Instances.js"
import { type InstanceGone, type LockTimeout, type TabGone, TabLocks } from "./TabLocks.js"

const fail = (tag: string, message: string) => Effect.fail<WireError>({ tag, message })

/** How long an operation waits for a tab another call holds. */
const OP_WAIT = Duration.seconds(8)

const ownTabs = (instance: Instance) =>
  Effect.map(SynchronizedRef.get(instance.tabs), (m) => (m.size === 0 ? "you have no tabs" : `your tabs: ${[...m.keys()].join(", ")}`))

/** The instance's tab for `handle` (default: its current tab), or an error listing its own tabs. */
const resolve = (instance: Instance, handle: string | undefined) =>
  Effect.gen(function*() {
    const chosen = handle ?? Option.getOrUndefined(yield* Ref.get(instance.current))
    if (chosen === undefined) return yield* fail(ErrorTag.TabNotFound, "No current tab: open one with browser_tabs {\"action\": \"new\"}.")
    const tab = (yield* SynchronizedRef.get(instance.tabs)).get(chosen)
    if (tab === undefined) {
      return yield* fail(ErrorTag.TabNotFound, `No tab ${chosen} among yours (${yield* ownTabs(instance)}). List them with browser_tabs {"action": "list"}.`)
    }
    return { handle: chosen, tab }
  })

const info = (instance: Instance, handle: string, tab: number) =>
  Effect.gen(function*() {
    const browser = yield* Browser
    const snapshot = yield* browser.getTab(tab)
    const current = Option.contains(yield* Ref.get(instance.current), handle)
    return Option.map(snapshot, (s): TabInfo => ({ tab: handle, url: s.url, title: s.title, current }))
  })

const list = (instance: Instance) =>
  Effect.gen(function*() {
    const tabs = yield* SynchronizedRef.get(instance.tabs)
    const infos = yield* Effect.forEach([...tabs], ([handle, tab]) => info(instance, handle, tab))
    return { tabs: infos.flatMap(Option.toArray) }
  })

const lockError = (handle: string, e: LockTimeout | TabGone | InstanceGone): WireError => {
  switch (e._tag) {
    case "LockTimeout":
      return { tag: ErrorTag.LockTimeout, message: e.message }
    case "TabGone":
      return { tag: ErrorTag.TabNotFound, message: `${handle} was closed.` }
    case "InstanceGone":
      return { tag: ErrorTag.Internal, message: "this instance is disconnecting" }
  }
}

/** Runs `effect` under the tab's lock, as this instance. */
const locked = <A, R>(instance: Instance, handle: string, tab: number, effect: Effect.Effect<A, WireError, R>) =>
  Effect.gen(function*() {
    const locks = yield* TabLocks
    const who = yield* Ref.get(instance.who)
    return yield* locks.withTab(tab, who, { wait: OP_WAIT, label: handle }, effect).pipe(
      Effect.mapError((e) => ("_tag" in e ? lockError(handle, e) : e))
    )
  })

const run = {
  "tabs.list": (instance: Instance) => list(instance),
  "tabs.new": (instance: Instance, params: ParamsOf<"tabs.new">) =>
    Effect.gen(function*() {
      const browser = yield* Browser
      const instances = yield* Instances
      const opened = yield* browser.openTab(params.url ?? "about:blank").pipe(
        Effect.catchTag("BrowserError", (e) => fail(ErrorTag.Internal, `could not open a tab: ${e.message}`))
      )
      const handle = yield* instances.adopt(instance, opened.id)
      return { tab: handle, url: opened.url, title: opened.title, current: true }
    }),
  "tabs.select": (instance: Instance, params: ParamsOf<"tabs.select">) =>
    Effect.gen(function*() {
      const { handle, tab } = yield* resolve(instance, params.tab)
      yield* Ref.set(instance.current, Option.some(handle))
      const found = yield* locked(instance, handle, tab, info(instance, handle, tab))
      return yield* Option.match(found, { onNone: () => fail(ErrorTag.TabNotFound, `${handle} was closed.`), onSome: Effect.succeed })
    }),
  "tabs.close": (instance: Instance, params: ParamsOf<"tabs.close">) =>
    Effect.gen(function*() {
      const browser = yield* Browser
      const instances = yield* Instances
      const { handle, tab } = yield* resolve(instance, params.tab)
      // Forget the handle before closing, so the tab's removal is not reported as the user's doing.
      yield* locked(instance, handle, tab, instances.drop(instance, handle).pipe(Effect.zipRight(browser.closeTab(tab))))
      return yield* list(instance)
    }),
  "instance.update": (instance: Instance, params: ParamsOf<"instance.update">) =>
    Effect.flatMap(Instances, (instances) => instances.rename(instance, params.clientName)).pipe(Effect.as({}))
} satisfies { readonly [M in MethodName]: (instance: Instance, params: ParamsOf<M>) => Effect.Effect<unknown, WireError, Browser | Instances | TabLocks> }

const issue = (e: ParseResult.ParseError) => ParseResult.TreeFormatter.formatErrorSync(e)

/** Runs one call for `instance`; the result is already encoded for the wire. */
export const handle = (instance: Instance, method: string, params: unknown): Effect.Effect<unknown, WireError, Browser | Instances | TabLocks> => {
  if (!isMethodName(method)) return fail(ErrorTag.UnknownMethod, `unknown method ${method}: update the tabmux extension`)
  const spec = Methods[method]
  return Schema.decodeUnknown(spec.params as Schema.Schema<any, any>)(params).pipe(
    Effect.mapError((e): WireError => ({ tag: ErrorTag.BadParams, message: `${method}: ${issue(e)}` })),
    Effect.flatMap((decoded) => (run[method] as (i: Instance, p: unknown) => Effect.Effect<unknown, WireError, Browser | Instances | TabLocks>)(instance, decoded)),
    Effect.flatMap((value) =>
      Schema.encodeUnknown(spec.result as Schema.Schema<any, any>)(value).pipe(
        Effect.mapError((e): WireError => ({ tag: ErrorTag.Internal, message: `${method} produced a bad result: ${issue(e)}` }))
      )
    )
  )
}
