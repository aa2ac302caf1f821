/**
 * The Chrome DevTools Protocol, per tab, through `chrome.debugger`. Only a tab's session
 * (TabSessions) attaches and detaches; a command to a tab that is not attached fails, so
 * work still under way for a tab that left its agent cannot put it back under the
 * debugger. Commands and events are typed only as CDP's JSON; callers decode what they
 * read. Out-of-process iframes are child sessions of their tab.
 */
import { Context, Data, Effect, Layer, PubSub, Queue, Ref, type Scope, Stream } from "effect"

export class DriverError extends Data.TaggedError("DriverError")<{ readonly method: string; readonly message: string }> {}

export interface CdpEvent {
  readonly tab: number
  /** The child session (an out-of-process iframe) it came from; none for the tab's page. */
  readonly session?: string | undefined
  readonly method: string
  readonly params: unknown
}

/** Sent as an event when Chrome ends the attachment itself (tab closed, user cancelled, DevTools took over). */
export const DETACHED = "Inspector.detached"

export class Driver extends Context.Tag("tabmux/Driver")<Driver, {
  readonly attach: (tab: number) => Effect.Effect<void, DriverError>
  /** Ends the attachment, and with it every override, emulation and interception (no-op when not attached). */
  readonly detach: (tab: number) => Effect.Effect<void>
  /** A command to an attached tab's page, or to one of its child sessions (out-of-process iframes). */
  readonly send: (tab: number, method: string, params?: object, session?: string) => Effect.Effect<unknown, DriverError>
  readonly events: Stream.Stream<CdpEvent>
  /** A subscription that starts now (nothing sent after this call is missed), for the scope's life. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<CdpEvent>, never, Scope.Scope>
}>() {}

const message = (e: unknown) => String((e as Error)?.message ?? e)

export const chromeLayer = Layer.scoped(
  Driver,
  Effect.gen(function*() {
    const attached = yield* Ref.make<ReadonlySet<number>>(new Set())
    const without = (tab: number) => (s: ReadonlySet<number>) => new Set([...s].filter((t) => t !== tab))
    const events = yield* PubSub.unbounded<CdpEvent>()
    const onEvent = (source: chrome.debugger.DebuggerSession, method: string, params?: object) => {
      if (source.tabId !== undefined) events.unsafeOffer({ tab: source.tabId, session: source.sessionId, method, params })
    }
    const onDetach = (source: chrome.debugger.Debuggee) => {
      if (source.tabId === undefined) return
      Effect.runSync(Ref.update(attached, without(source.tabId)))
      events.unsafeOffer({ tab: source.tabId, method: DETACHED, params: {} })
    }
    chrome.debugger.onEvent.addListener(onEvent)
    chrome.debugger.onDetach.addListener(onDetach)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        chrome.debugger.onEvent.removeListener(onEvent)
        chrome.debugger.onDetach.removeListener(onDetach)
      })
    )

    /**
     * An attachment left by this extension's previous service worker (Chrome keeps it
     * when the worker stops) is detached and made anew: only our own attachment can be
     * detached by us, so "another debugger" after that is DevTools or another extension.
     */
    const attach = (tab: number) =>
      Effect.gen(function*() {
        if ((yield* Ref.get(attached)).has(tab)) return
        const once = Effect.tryPromise({ try: () => chrome.debugger.attach({ tabId: tab }, "1.3"), catch: message })
        yield* once.pipe(
          Effect.catchIf(
            (m) => /Another debugger/i.test(m),
            () => Effect.promise(() => chrome.debugger.detach({ tabId: tab }).catch(() => undefined)).pipe(Effect.zipRight(once))
          ),
          Effect.mapError((m) =>
            new DriverError({
              method: "attach",
              message: /Another debugger/i.test(m)
                ? "another debugger (DevTools, or another extension) is attached to this tab: close it and try again"
                : m
            })
          ),
          Effect.withSpan("cdp attach")
        )
        yield* Ref.update(attached, (s) => new Set(s).add(tab))
      })

    // Also detaches what a previous service worker left attached (Chrome answers "not attached" otherwise).
    const detach = (tab: number) =>
      Ref.update(attached, without(tab)).pipe(
        Effect.zipRight(Effect.promise(() => chrome.debugger.detach({ tabId: tab }).catch(() => undefined)))
      )

    const send = (tab: number, method: string, params: object = {}, session?: string) =>
      Ref.get(attached).pipe(
        Effect.filterOrFail((a) => a.has(tab), () => new DriverError({ method, message: "this tab is no longer driven by an agent" })),
        Effect.zipRight(Effect.tryPromise({
          try: () => chrome.debugger.sendCommand(session === undefined ? { tabId: tab } : { tabId: tab, sessionId: session }, method, params),
          catch: (e) => new DriverError({ method, message: message(e) })
        })),
        Effect.withSpan(`cdp ${method}`)
      )

    return { attach, detach, send, events: Stream.fromPubSub(events), subscribe: PubSub.subscribe(events) }
  })
)

/** For tests of logic that never reaches a page. */
export const unavailable = Layer.succeed(Driver, {
  attach: () => Effect.fail(new DriverError({ method: "attach", message: "no browser in this test" })),
  detach: () => Effect.void,
  send: (_tab, method) => Effect.fail(new DriverError({ method, message: "no browser in this test" })),
  events: Stream.empty,
  subscribe: Queue.unbounded<CdpEvent>()
})
