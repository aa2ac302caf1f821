/**
 * The Chrome DevTools Protocol, per tab, through `chrome.debugger`: a tab is attached on
 * first use and stays attached until it closes (Chrome then detaches it) or it leaves its
 * agent (released, taken back, a shared tab's lease ended: `release`). Commands and events are typed only as CDP's JSON; callers decode what
 * they read. Out-of-process iframes are child sessions of their tab.
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

/** Sent as an event when Chrome detaches from a tab (closed, navigated to a chrome:// page, user cancelled). */
export const DETACHED = "Inspector.detached"

export class Driver extends Context.Tag("tabmux/Driver")<Driver, {
  /** A command to the tab's page, or to one of its child sessions (out-of-process iframes). */
  readonly send: (tab: number, method: string, params?: object, session?: string) => Effect.Effect<unknown, DriverError>
  readonly events: Stream.Stream<CdpEvent>
  /** A subscription that starts now (nothing sent after this call is missed), for the scope's life. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<CdpEvent>, never, Scope.Scope>
  /**
   * Detaches from a tab (no-op when not attached). Until `claim`ed again, commands to it
   * fail instead of attaching anew, so work still under way for it cannot put it back
   * under the debugger.
   */
  readonly release: (tab: number) => Effect.Effect<void>
  /** The tab is driven again (a new page record for a call of an agent). */
  readonly claim: (tab: number) => Effect.Effect<void>
}>() {}

const message = (e: unknown) => String((e as Error)?.message ?? e)

export const chromeLayer = Layer.scoped(
  Driver,
  Effect.gen(function*() {
    const attached = yield* Ref.make(new Set<number>())
    const released = yield* Ref.make(new Set<number>())
    const events = yield* PubSub.unbounded<CdpEvent>()
    const onEvent = (source: chrome.debugger.DebuggerSession, method: string, params?: object) => {
      if (source.tabId !== undefined) events.unsafeOffer({ tab: source.tabId, session: source.sessionId, method, params })
    }
    const onDetach = (source: chrome.debugger.Debuggee) => {
      if (source.tabId === undefined) return
      Effect.runSync(Ref.update(attached, (s) => new Set([...s].filter((t) => t !== source.tabId))))
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
     * Attaches to a tab. An attachment left by this extension's previous service worker
     * (Chrome keeps it when the worker stops) is detached and made anew: only our own
     * attachment can be detached by us, so "another debugger" after that is DevTools or
     * another extension.
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

    const send = (tab: number, method: string, params: object = {}, session?: string) =>
      Ref.get(released).pipe(
        Effect.flatMap((r) => r.has(tab) ? Effect.fail(new DriverError({ method, message: "this tab is no longer driven by an agent" })) : Effect.void),
        Effect.zipRight(attach(tab)),
        Effect.zipRight(Effect.tryPromise({
          try: () => chrome.debugger.sendCommand(session === undefined ? { tabId: tab } : { tabId: tab, sessionId: session }, method, params),
          catch: (e) => new DriverError({ method, message: message(e) })
        })),
        Effect.withSpan(`cdp ${method}`)
      )

    /**
     * Detaches: every override, interception and emulation of the session ends with it
     * (invariant 17). Told as a `DETACHED` event, as Chrome's own detach is, so the tab's
     * page record goes too.
     */
    const release = (tab: number) =>
      Ref.update(released, (r) => new Set(r).add(tab)).pipe(
        Effect.zipRight(Ref.modify(attached, (s) => [s.has(tab), new Set([...s].filter((t) => t !== tab))] as const)),
        Effect.flatMap((was) =>
          was
            ? Effect.promise(() => chrome.debugger.detach({ tabId: tab }).catch(() => undefined)).pipe(
              Effect.zipRight(PubSub.publish(events, { tab, method: DETACHED, params: {} }))
            )
            : Effect.void)
      )

    const claim = (tab: number) => Ref.update(released, (r) => (r.has(tab) ? new Set([...r].filter((t) => t !== tab)) : r))

    return { send, events: Stream.fromPubSub(events), subscribe: PubSub.subscribe(events), release, claim }
  })
)

/** For tests of logic that never reaches a page. */
export const unavailable = Layer.succeed(Driver, {
  send: (_tab, method) => Effect.fail(new DriverError({ method, message: "no browser in this test" })),
  events: Stream.empty,
  subscribe: Queue.unbounded<CdpEvent>(),
  release: () => Effect.void,
  claim: () => Effect.void
})
