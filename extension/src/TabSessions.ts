/**
 * One session per driven tab (invariant 17). An agent's first call on a tab opens it:
 * the debugger is attached and every domain the tools need is enabled at once, in the
 * page and in each out-of-process frame it already has, and the session is ready only
 * when all of that answered (so a page Chrome refuses to let us drive, one embedding
 * another extension's page, is refused on the first call, whatever the timing). While
 * it lives, CDP events keep the page's record. It ends whenever the tab leaves its agent
 * (closed, released, taken back by the user, its agent gone, a shared tab's lease ended)
 * or Chrome detaches: its finalizer detaches, which ends every override, emulation and
 * interception with it, stops the work on its frames, and drops the record.
 */
import { Context, Deferred, Effect, ExecutionStrategy, Exit, Fiber, FiberSet, Layer, Scope, Stream, SynchronizedRef } from "effect"
import { type CallFailure, NotWebContent, TabClosed } from "../../src/protocol/index.js"
import { DETACHED, Driver } from "./Driver.js"
import { apply, driverError, empty, type PageRecord } from "./PageRecord.js"

export class TabSessions extends Context.Tag("tabmux/TabSessions")<TabSessions, {
  /** The tab's page record, opening its session first if it has none. */
  readonly open: (tab: number) => Effect.Effect<PageRecord, CallFailure>
  /** Ends the tab's session (its debugger too, also one a previous service worker left). */
  readonly end: (tab: number) => Effect.Effect<void>
}>() {}

interface Session {
  readonly page: PageRecord
  readonly scope: Scope.CloseableScope
  readonly ready: Deferred.Deferred<PageRecord, CallFailure>
  /** Enabling the domains of the page's out-of-process frames, one fiber per frame. */
  readonly frames: FiberSet.FiberSet<void, CallFailure>
}

/** What every session of a page (the page itself, or a child frame) enables. */
const DOMAINS = [
  ["Page.enable", {}],
  ["Runtime.enable", {}],
  ["Network.enable", {}],
  ["Log.enable", {}],
  ["Page.setInterceptFileChooserDialog", { enabled: true }],
  ["Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: false, flatten: true }]
] as const

export const layer = Layer.scoped(
  TabSessions,
  Effect.gen(function*() {
    const driver = yield* Driver
    const layerScope = yield* Effect.scope
    const sessions = yield* SynchronizedRef.make<ReadonlyMap<number, Session>>(new Map())
    // Epochs start at a random point, so a worker that restarts does not give a tab the epoch it had before.
    let epochs = 1000 + Math.floor(Math.random() * 9000)

    const enable = (tab: number, session?: string) =>
      Effect.forEach(DOMAINS, ([method, params]) => driver.send(tab, method, params, session), { concurrency: "unbounded", discard: true }).pipe(
        Effect.mapError(driverError)
      )

    /** A frame that is gone meanwhile is no failure; one Chrome refuses us is the whole page's. */
    const enableFrame = (tab: number, session: string) =>
      Effect.catchIf(enable(tab, session), (f) => !(f instanceof NotWebContent), () => Effect.void)

    const ready = (session: Session) =>
      Effect.gen(function*() {
        const tab = session.page.tab
        yield* driver.attach(tab).pipe(Effect.mapError(driverError))
        // A background tab acts as if focused, so focus, keyboard and :focus styles behave as in front.
        yield* Effect.all([
          enable(tab),
          driver.send(tab, "Emulation.setFocusEmulationEnabled", { enabled: true }).pipe(Effect.mapError(driverError))
        ], { concurrency: "unbounded", discard: true })
        // Chrome answers setAutoAttach after announcing the frames already there: their domains are part of readiness.
        yield* Effect.forEach([...session.frames], Fiber.join, { discard: true })
        const tree = yield* driver.send(tab, "Page.getFrameTree").pipe(Effect.mapError(driverError))
        session.page.mainFrame = String((tree as { frameTree?: { frame?: { id?: string } } }).frameTree?.frame?.id ?? "")
        return session.page
      })

    /** Ends the tab's session (only `which`, when named: a later one for the same tab stays). */
    const end = (tab: number, which?: Session) =>
      SynchronizedRef.modify(sessions, (map) => {
        const session = map.get(tab)
        if (session === undefined || (which !== undefined && session !== which)) return [undefined, map] as const
        const copy = new Map(map)
        copy.delete(tab)
        return [session, copy] as const
      }).pipe(
        Effect.flatMap((session) =>
          session !== undefined ? Scope.close(session.scope, Exit.void) : which === undefined ? driver.detach(tab) : Effect.void
        ),
        Effect.uninterruptible
      )

    const start = (tab: number) =>
      Effect.gen(function*() {
        const scope = yield* Scope.fork(layerScope, ExecutionStrategy.sequential)
        const session: Session = {
          page: empty(tab, epochs++),
          scope,
          ready: yield* Deferred.make<PageRecord, CallFailure>(),
          frames: yield* FiberSet.make<void, CallFailure>().pipe(Scope.extend(scope))
        }
        yield* Scope.addFinalizer(scope, Effect.zipRight(
          Deferred.fail(session.ready, new TabClosed({ message: "the tab left its agent before it was ready" })),
          driver.detach(tab)
        ))
        // A session that could not be made ready ends (from outside its own scope), and the next call tries anew.
        yield* ready(session).pipe(
          Effect.exit,
          Effect.flatMap((exit) =>
            Effect.zipRight(Deferred.done(session.ready, exit), Exit.isFailure(exit) ? Effect.forkIn(end(tab, session), layerScope) : Effect.void)
          ),
          Effect.forkIn(scope)
        )
        return session
      })

    const open = (tab: number) =>
      SynchronizedRef.modifyEffect(sessions, (map) => {
        const known = map.get(tab)
        return known !== undefined
          ? Effect.succeed([known, map] as const)
          : Effect.map(start(tab), (session) => [session, new Map(map).set(tab, session)] as const)
      }).pipe(
        Effect.uninterruptible,
        Effect.flatMap((session) => Deferred.await(session.ready)),
        Effect.withSpan("TabSessions.open")
      )

    yield* driver.events.pipe(
      Stream.runForEach((e) =>
        Effect.gen(function*() {
          const session = (yield* SynchronizedRef.get(sessions)).get(e.tab)
          if (session === undefined) return
          if (e.method === DETACHED) return yield* end(e.tab)
          // A new out-of-process frame gets the same domains as its page.
          for (const child of apply(session.page, e.session, e.method, e.params)) yield* FiberSet.run(session.frames, enableFrame(e.tab, child))
        })
      ),
      Effect.forkScoped
    )

    return TabSessions.of({ open, end: (tab) => end(tab) })
  })
)

/** The tab's page record (its session opened if it has none). */
export const pageOf = (tab: number) => Effect.flatMap(TabSessions, (sessions) => sessions.open(tab))
