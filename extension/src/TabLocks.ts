/**
 * One lock per tab. Every operation on a tab runs under it, so calls never interleave
 * on a tab, in FIFO order. A lease is the lock held across calls by one instance: while
 * it lasts, only that instance's operations run on the tab (still one at a time, and
 * ahead of other instances' waiters, which wait for the lease to end). A lease not
 * renewed within its TTL is recovered exactly at the TTL; every operation of the holder
 * renews it. All per-tab state lives in one Ref changed by atomic `modify` steps; a
 * waiter is a `Deferred` completed by whichever step grants it.
 */
import type { Locks } from "../../src/protocol/index.js"
import { Clock, Context, Data, Deferred, Duration, Effect, FiberMap, Layer, Option, PubSub, Ref, type Scope, Stream, SubscriptionRef } from "effect"

/** Who holds or waits: an instance, with the name other agents see in errors. */
export interface Who {
  readonly instanceId: string
  readonly name: string
}

/** A lease in force: its holder, its TTL, since when it is held (renewals keep it) and when it ends unless renewed. */
export interface Lease {
  readonly _tag: "Held"
  readonly who: Who
  readonly ttl: Duration.Duration
  readonly since: number
  readonly expiresAt: number
}

/** A lease waiter that was given the tab, until `lease` arms its timer (one atomic step later). */
interface Granted {
  readonly _tag: "Granted"
  readonly who: Who
}

interface Waiter {
  readonly id: number
  readonly who: Who
  readonly kind: "op" | "lease"
  readonly since: number
  readonly deferred: Deferred.Deferred<void, TabGone | InstanceGone>
}

interface TabState {
  readonly lease: Lease | Granted | undefined
  readonly op: { readonly id: number; readonly who: Who } | undefined
  readonly waiters: ReadonlyArray<Waiter>
}

export class LockTimeout extends Data.TaggedError("LockTimeout")<{
  readonly tab: string
  readonly holder: string | undefined
  readonly waited: Duration.Duration
}> {
  override get message() {
    return `${this.tab} is busy${this.holder ? `: ${this.holder} holds it` : ""}; gave up after ${Duration.format(this.waited)}.`
  }
}

/** The tab was closed while the call waited for it. */
export class TabGone extends Data.TaggedError("TabGone")<{ readonly tab: string }> {
  override get message() {
    return `${this.tab} was closed while waiting for it.`
  }
}

/** The waiting instance disconnected (its calls end with it). */
export class InstanceGone extends Data.TaggedError("InstanceGone")<{ readonly instanceId: string }> {}

export type LockEvent =
  | { readonly _tag: "LeaseExpired"; readonly tab: number; readonly who: Who }
  /** Its holder let the lease go (`unlock`). */
  | { readonly _tag: "LeaseReleased"; readonly tab: number; readonly who: Who }

export interface TabLockView {
  readonly tab: number
  readonly lease: Lease | undefined
  readonly busyWith: Who | undefined
  readonly waiters: ReadonlyArray<{ readonly who: Who; readonly kind: "op" | "lease"; readonly since: number }>
}

export interface LockOptions {
  /** How long to wait for the tab before failing with `LockTimeout`. */
  readonly wait: Duration.Duration
  /** A label for messages (the caller's handle for the tab, like `t3`). */
  readonly label: string
  /** Told when the call starts waiting, and every `progressEvery` while it waits. */
  readonly onWait?: (message: string) => Effect.Effect<void>
}

const PROGRESS_EVERY = Duration.seconds(5)

/** How many of the latest samples of each kind an instance's figures keep. */
const SAMPLES = 1000

type LockFigures = Locks.LockFigures
type Samples = LockFigures["waits"]

const noSamples: Samples = { count: 0, recent: [] }
const noFigures: LockFigures = { acquisitions: 0, handoffs: 0, recoveries: 0, waits: noSamples, leases: noSamples }
const sample = (s: Samples, ms: number): Samples => ({
  count: s.count + 1,
  recent: s.recent.length < SAMPLES ? [...s.recent, ms] : [...s.recent.slice(1), ms]
})

export class TabLocks extends Context.Tag("tabmux/TabLocks")<TabLocks, {
  /** Runs `effect` holding `tab`'s lock. The lease holder's calls go first and renew its lease. */
  readonly withTab: <A, E, R>(
    tab: number,
    who: Who,
    options: LockOptions,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | LockTimeout | TabGone | InstanceGone, R>
  /** Takes (or renews) a lease on `tab` for `ttl`. */
  readonly lease: (tab: number, who: Who, ttl: Duration.Duration, options: LockOptions) => Effect.Effect<Lease, LockTimeout | TabGone | InstanceGone>
  /** Ends `who`'s lease on `tab`; false when it held none. */
  readonly unlock: (tab: number, who: Who) => Effect.Effect<boolean>
  /** Drops everything of an instance: its leases, and its waiters (they fail with `InstanceGone`). */
  readonly releaseInstance: (instanceId: string) => Effect.Effect<void>
  /** Forgets a closed tab: its waiters fail with `TabGone`. */
  readonly forgetTab: (tab: number) => Effect.Effect<void>
  readonly view: Effect.Effect<ReadonlyArray<TabLockView>>
  /** Whether anyone holds, leases (granted or not yet confirmed) or waits for `tab`. */
  readonly inUse: (tab: number) => Effect.Effect<boolean>
  /** An instance's lock figures since it connected (kept until `releaseInstance`). */
  readonly figures: (instanceId: string) => Effect.Effect<LockFigures>
  readonly events: Stream.Stream<LockEvent>
  /** Told whenever a lock, lease, waiter or the pause changes. */
  readonly changes: Stream.Stream<void>
  /**
   * The user paused (or resumed) all agents: while paused no lease runs out; on resume
   * every lease has the time it had left when the pause began.
   */
  readonly pause: (paused: boolean) => Effect.Effect<void>
  readonly paused: Effect.Effect<boolean>
}>() {}

const empty: TabState = { lease: undefined, op: undefined, waiters: [] }

/** Grants what can be granted, FIFO, the lease holder's operations first. Pure. */
const grant = (state: TabState): [TabState, ReadonlyArray<Waiter>] => {
  let s = state
  const granted: Array<Waiter> = []
  while (s.op === undefined && s.waiters.length > 0) {
    const holder = s.lease?.who.instanceId
    let index = holder === undefined ? -1 : s.waiters.findIndex((w) => w.kind === "op" && w.who.instanceId === holder)
    if (index < 0) {
      const head = s.waiters[0]!
      const free = s.lease === undefined || s.lease.who.instanceId === head.who.instanceId
      if (!free) break
      index = 0
    }
    const w = s.waiters[index]!
    const waiters = s.waiters.filter((_, i) => i !== index)
    s = w.kind === "op"
      ? { ...s, op: { id: w.id, who: w.who }, waiters }
      : { ...s, lease: { _tag: "Granted", who: w.who }, waiters }
    granted.push(w)
  }
  return [s, granted]
}

type Restore = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

const holderName = (s: TabState | undefined) => s?.lease?.who.name ?? s?.op?.who.name

export const make: Effect.Effect<typeof TabLocks.Service, never, Scope.Scope> = Effect.gen(function*() {
  const tabs = yield* SubscriptionRef.make(new Map<number, TabState>())
  const timers = yield* FiberMap.make<number>()
  const events = yield* PubSub.unbounded<LockEvent>()
  const figures = yield* Ref.make(new Map<string, LockFigures>())
  /** When the user paused all agents, if they did. */
  const pausedAt = yield* SubscriptionRef.make(Option.none<number>())
  let nextId = 1

  const count = (instanceId: string, f: (figures: LockFigures) => LockFigures) =>
    Ref.update(figures, (map) => new Map(map).set(instanceId, f(map.get(instanceId) ?? noFigures)))
  const acquired = (who: Who, waitedMs: number, handoff: boolean) =>
    count(who.instanceId, (f) => ({ ...f, acquisitions: f.acquisitions + 1, handoffs: f.handoffs + (handoff ? 1 : 0), waits: sample(f.waits, waitedMs) }))
  /** A lease ended (released, expired or dropped): its duration, and a recovery when it expired. */
  const leaseEnded = (lease: Lease | Granted | undefined, now: number, expired: boolean) =>
    lease?._tag === "Held"
      ? count(lease.who.instanceId, (f) => ({ ...f, recoveries: f.recoveries + (expired ? 1 : 0), leases: sample(f.leases, now - lease.since) }))
      : Effect.void

  /** Applies `f` to one tab's state atomically, grants what it can, and wakes the granted. */
  const update = <B>(tab: number, f: (s: TabState, now: number) => readonly [TabState, B]) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Ref.modify(tabs, (map) => {
        const [changed, result] = f(map.get(tab) ?? empty, now)
        const [next, granted] = grant(changed)
        const copy = new Map(map)
        if (next.lease === undefined && next.op === undefined && next.waiters.length === 0) copy.delete(tab)
        else copy.set(tab, next)
        return [[result, granted] as const, copy]
      })).pipe(
        Effect.tap(([, granted]) => Effect.forEach(granted, (w) => Deferred.succeed(w.deferred, undefined), { discard: true })),
        Effect.map(([result]) => result)
      )

  /** (Re)starts the lease timer: renewal is replacing it. It runs to the lease's end, and not while the user pauses agents. */
  const arm = (tab: number, lease: Lease) =>
    Effect.flatMap(Ref.get(pausedAt), (paused) => Option.isSome(paused) ? Effect.void : FiberMap.run(
      timers,
      tab,
      Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sleep(Duration.millis(Math.max(0, lease.expiresAt - now)))).pipe(
        Effect.zipRight(update(tab, (s) =>
          s.lease !== undefined && s.lease.who.instanceId === lease.who.instanceId
            ? [{ ...s, lease: undefined }, s.lease] as const
            : [s, undefined] as const
        )),
        Effect.flatMap((expired) =>
          expired === undefined ? Effect.void : Effect.zipRight(
            Effect.flatMap(Clock.currentTimeMillis, (now) => leaseEnded(expired, now, true)),
            PubSub.publish(events, { _tag: "LeaseExpired" as const, tab, who: lease.who })
          )
        )
      )
    ).pipe(Effect.asVoid))

  const pause = (on: boolean) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const was = yield* Ref.getAndSet(pausedAt, on ? Option.orElse(yield* Ref.get(pausedAt), () => Option.some(now)) : Option.none())
      if (on) return yield* FiberMap.clear(timers)
      if (Option.isNone(was)) return
      // Every lease gets back the time the pause took from it.
      const shift = now - was.value
      const held = yield* Ref.modify(tabs, (map) => {
        const copy = new Map(map)
        const leases: Array<readonly [number, Lease]> = []
        for (const [tab, s] of map) {
          if (s.lease?._tag !== "Held") continue
          const lease: Lease = { ...s.lease, expiresAt: s.lease.expiresAt + shift }
          copy.set(tab, { ...s, lease })
          leases.push([tab, lease])
        }
        return [leases, copy] as const
      })
      yield* Effect.forEach(held, ([tab, lease]) => arm(tab, lease), { discard: true })
    })

  /**
   * Waits in the tab's queue. Runs inside the caller's `uninterruptibleMask`; only the wait
   * itself is interruptible (`restore`), so no waiter or grant can leak.
   */
  const acquire = (restore: Restore, tab: number, who: Who, kind: "op" | "lease", options: LockOptions) =>
      Effect.gen(function*() {
        const deferred = yield* Deferred.make<void, TabGone | InstanceGone>()
        const id = nextId++
        const since = yield* Clock.currentTimeMillis
        yield* update(tab, (s) => [{ ...s, waiters: [...s.waiters, { id, who, kind, since, deferred }] }, undefined] as const)
        // Granted at once: no wait at all (so even a zero `wait` succeeds).
        if (yield* Deferred.isDone(deferred)) return yield* Effect.as(acquired(who, 0, false), id)
        const tell = options.onWait
        const report = tell === undefined ? Effect.void : Effect.gen(function*() {
          const started = yield* Clock.currentTimeMillis
          while (true) {
            const s = (yield* Ref.get(tabs)).get(tab)
            const ahead = s?.waiters.findIndex((w) => w.id === id) ?? 0
            const holder = holderName(s)
            const waited = Duration.format(Duration.millis((yield* Clock.currentTimeMillis) - started))
            yield* tell(`waiting for ${options.label}${holder ? ` (held by ${holder})` : ""}, ${ahead} ahead, ${waited} so far`)
            yield* Effect.sleep(PROGRESS_EVERY)
          }
        })
        const waited = yield* restore(Effect.raceFirst(Deferred.await(deferred), Effect.zipRight(report, Effect.never)).pipe(
          Effect.timeoutFail({
            duration: options.wait,
            onTimeout: () => new LockTimeout({ tab: options.label, holder: undefined, waited: options.wait })
          }),
          Effect.withSpan("TabLocks.wait", { attributes: { tab: options.label, kind } })
        )).pipe(Effect.exit)
        if (waited._tag === "Success") return yield* Effect.as(acquired(who, (yield* Clock.currentTimeMillis) - since, true), id)
        // Not granted in time (or interrupted, or the tab/instance went): leave the queue; if we were
        // granted at the last moment, hand the grant on.
        const holder = holderName((yield* Ref.get(tabs)).get(tab))
        yield* update(tab, (s) => {
          const grantedOp = kind === "op" && s.op?.id === id
          const grantedLease = kind === "lease" && s.lease?._tag === "Granted" && s.lease.who.instanceId === who.instanceId
          return [{
            ...s,
            op: grantedOp ? undefined : s.op,
            lease: grantedLease ? undefined : s.lease,
            waiters: s.waiters.filter((w) => w.id !== id)
          }, undefined] as const
        })
        const cause = waited.cause
        if (cause._tag === "Fail" && cause.error._tag === "LockTimeout") {
          return yield* Effect.fail(new LockTimeout({ tab: options.label, holder, waited: options.wait }))
        }
        return yield* Effect.failCause(cause)
      })

  const releaseOp = (tab: number, id: number) =>
    update(tab, (s) => [s.op?.id === id ? { ...s, op: undefined } : s, undefined] as const)

  const renewIfHolder = (tab: number, who: Who) =>
    Effect.flatMap(Ref.get(tabs), (map) => {
      const lease = map.get(tab)?.lease
      return lease?._tag === "Held" && lease.who.instanceId === who.instanceId
        ? setLease(tab, who, lease.ttl)
        : Effect.void
    })

  const setLease = (tab: number, who: Who, ttl: Duration.Duration) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      update(tab, (s) => {
        const since = s.lease?._tag === "Held" && s.lease.who.instanceId === who.instanceId ? s.lease.since : now
        const lease: Lease = { _tag: "Held", who, ttl, since, expiresAt: now + Duration.toMillis(ttl) }
        return [{ ...s, lease }, lease] as const
      }).pipe(Effect.tap((lease) => arm(tab, lease))))

  const withTab = <A, E, R>(tab: number, who: Who, options: LockOptions, effect: Effect.Effect<A, E, R>) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(acquire(restore, tab, who, "op", options), (id) =>
        restore(Effect.zipRight(renewIfHolder(tab, who), effect)).pipe(
          Effect.ensuring(Effect.zipRight(renewIfHolder(tab, who), releaseOp(tab, id)))
        ))
    )

  const lease = (tab: number, who: Who, ttl: Duration.Duration, options: LockOptions) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const current = (yield* Ref.get(tabs)).get(tab)?.lease
        if (current === undefined || current.who.instanceId !== who.instanceId) {
          yield* acquire(restore, tab, who, "lease", options)
        }
        return yield* setLease(tab, who, ttl)
      })
    )

  const unlock = (tab: number, who: Who) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      update(tab, (s) =>
        s.lease?.who.instanceId === who.instanceId ? [{ ...s, lease: undefined }, s.lease] as const : [s, undefined] as const
      ).pipe(
        Effect.tap((released) =>
          released === undefined ? Effect.void : Effect.zipRight(FiberMap.remove(timers, tab), leaseEnded(released, now, false)).pipe(
            Effect.zipRight(PubSub.publish(events, { _tag: "LeaseReleased" as const, tab, who }))
          )),
        Effect.map((released) => released !== undefined)
      ))

  const failWaiters = (tab: number, which: (w: Waiter) => boolean, error: TabGone | InstanceGone, clearLease: (l: Lease | Granted) => boolean) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      update(tab, (s) => {
        const cleared = s.lease !== undefined && clearLease(s.lease) ? s.lease : undefined
        return [{
          ...s,
          lease: cleared === undefined ? s.lease : undefined,
          waiters: s.waiters.filter((w) => !which(w))
        }, { dropped: s.waiters.filter(which), cleared }] as const
      }).pipe(
        Effect.tap(({ cleared }) => leaseEnded(cleared, now, false)),
        Effect.flatMap(({ dropped }) => Effect.forEach(dropped, (w) => Deferred.fail(w.deferred, error), { discard: true }))
      ))

  const releaseInstance = (instanceId: string) =>
    Effect.gen(function*() {
      const map = yield* Ref.get(tabs)
      for (const [tab, s] of map) {
        if (s.lease?.who.instanceId === instanceId) yield* FiberMap.remove(timers, tab)
        yield* failWaiters(tab, (w) => w.who.instanceId === instanceId, new InstanceGone({ instanceId }), (l) => l.who.instanceId === instanceId)
      }
      yield* Ref.update(figures, (map) => {
        const copy = new Map(map)
        copy.delete(instanceId)
        return copy
      })
    })

  const forgetTab = (tab: number) =>
    FiberMap.remove(timers, tab).pipe(
      Effect.zipRight(failWaiters(tab, () => true, new TabGone({ tab: `tab ${tab}` }), () => true))
    )

  const view = Effect.map(Ref.get(tabs), (map) =>
    [...map].map(([tab, s]): TabLockView => ({
      tab,
      lease: s.lease?._tag === "Held" ? s.lease : undefined,
      busyWith: s.op?.who,
      waiters: s.waiters.map((w) => ({ who: w.who, kind: w.kind, since: w.since }))
    })))

  return {
    withTab,
    lease,
    unlock,
    releaseInstance,
    forgetTab,
    view,
    figures: (instanceId) => Effect.map(Ref.get(figures), (map) => map.get(instanceId) ?? noFigures),
    events: Stream.fromPubSub(events),
    changes: Stream.merge(tabs.changes, pausedAt.changes).pipe(Stream.as(undefined)),
    pause,
    paused: Effect.map(Ref.get(pausedAt), Option.isSome),
    inUse: (tab) => Effect.map(Ref.get(tabs), (map) => map.has(tab))
  }
})

export const layer = Layer.scoped(TabLocks, make)
