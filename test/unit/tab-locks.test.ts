import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Option, Ref, Stream, TestClock } from "effect"
import * as TabLocks from "../../extension/src/TabLocks.js"

const A: TabLocks.Who = { instanceId: "a", name: "claude-desktop" }
const B: TabLocks.Who = { instanceId: "b", name: "cursor" }
const C: TabLocks.Who = { instanceId: "c", name: "claude-code" }
const opts = (wait = "1 hour"): TabLocks.LockOptions => ({ wait: Duration.decode(wait as Duration.DurationInput), label: "t1" })
const TAB = 7

const withLocks = <A, E>(f: (locks: typeof TabLocks.TabLocks.Service) => Effect.Effect<A, E>) =>
  Effect.flatMap(TabLocks.make, f).pipe(Effect.scoped)

/** An operation that logs when it starts, then waits for `gate`. */
const held = (log: Ref.Ref<Array<string>>, name: string, ms = 100) =>
  Ref.update(log, (l) => [...l, `${name}+`]).pipe(
    Effect.zipRight(Effect.sleep(ms)),
    Effect.zipRight(Ref.update(log, (l) => [...l, `${name}-`]))
  )

describe("TabLocks", () => {
  it.effect("counts each instance's acquisitions, hand-offs, waits, lease durations and expired leases", () =>
    withLocks((locks) =>
      Effect.gen(function*() {
        // A leases the tab (free: no wait), renews it at 20 s and lets it run out 60 s later.
        yield* locks.lease(TAB, A, Duration.seconds(60), opts())
        yield* TestClock.adjust("20 seconds")
        yield* locks.lease(TAB, A, Duration.seconds(60), opts())
        // B waits behind A's lease until it expires (60 s after the renewal), then runs.
        const b = yield* Effect.fork(locks.withTab(TAB, B, opts(), Effect.void))
        yield* Effect.yieldNow()
        yield* TestClock.adjust("60 seconds")
        yield* Fiber.join(b)
        // C leases the tab for 5 s and releases it after 2 s.
        yield* locks.lease(TAB, C, Duration.seconds(5), opts())
        yield* TestClock.adjust("2 seconds")
        yield* locks.unlock(TAB, C)
        const [a, bf, c] = yield* Effect.all([locks.figures("a"), locks.figures("b"), locks.figures("c")])
        expect(a).toEqual({ acquisitions: 1, handoffs: 0, recoveries: 1, waits: { count: 1, recent: [0] }, leases: { count: 1, recent: [80_000] } })
        expect(bf).toEqual({ acquisitions: 1, handoffs: 1, recoveries: 0, waits: { count: 1, recent: [60_000] }, leases: { count: 0, recent: [] } })
        expect(c).toEqual({ acquisitions: 1, handoffs: 0, recoveries: 0, waits: { count: 1, recent: [0] }, leases: { count: 1, recent: [2_000] } })
        // An instance that goes leaves no figures behind.
        yield* locks.releaseInstance("a")
        expect((yield* locks.figures("a")).acquisitions).toBe(0)
      })))

  it.effect("serialises operations on one tab, in arrival order", () =>
    withLocks((locks) =>
      Effect.gen(function*() {
        const log = yield* Ref.make<Array<string>>([])
        const fibers = []
        for (const name of ["1", "2", "3", "4"]) {
          fibers.push(yield* Effect.fork(locks.withTab(TAB, A, opts(), held(log, name))))
          yield* Effect.yieldNow()
        }
        yield* TestClock.adjust("1 second")
        yield* Fiber.joinAll(fibers)
        expect(yield* Ref.get(log)).toEqual(["1+", "1-", "2+", "2-", "3+", "3-", "4+", "4-"])
      })))

  it.effect("lets different tabs run at the same time", () =>
    withLocks((locks) =>
      Effect.gen(function*() {
        const log = yield* Ref.make<Array<string>>([])
        const one = yield* Effect.fork(locks.withTab(1, A, opts(), held(log, "x")))
        const two = yield* Effect.fork(locks.withTab(2, A, opts(), held(log, "y")))
        yield* TestClock.adjust("100 millis")
        yield* Fiber.joinAll([one, two])
        expect((yield* Ref.get(log)).slice(0, 2)).toEqual(["x+", "y+"])
      })))

  it.effect("a lease makes others wait; the holder's calls go first; unlock hands the tab on", () =>
    withLocks((locks) =>
      Effect.gen(function*() {
        const log = yield* Ref.make<Array<string>>([])
        yield* locks.lease(TAB, A, Duration.seconds(60), opts())
        const b = yield* Effect.fork(locks.withTab(TAB, B, opts(), held(log, "B")))
        yield* Effect.yieldNow()
        const a = yield* Effect.fork(locks.withTab(TAB, A, opts(), held(log, "A")))
        yield* TestClock.adjust("100 millis")
        yield* Fiber.join(a)
        expect(yield* Ref.get(log)).toEqual(["A+", "A-"])
        expect(yield* locks.unlock(TAB, A)).toBe(true)
        yield* TestClock.adjust("100 millis")
        yield* Fiber.join(b)
        expect(yield* Ref.get(log)).toEqual(["A+", "A-", "B+", "B-"])
      })))

  it.effect("recovers a lease exactly at its TTL, not a millisecond before", () =>
    withLocks((locks) =>
      Effect.gen(function*() {
        const expired = yield* Effect.fork(Stream.runHead(Stream.filter(locks.events, (e) => e._tag === "LeaseExpired")))
        yield* locks.lease(TAB, A, Duration.seconds(60), opts())
        const b = yield* Effect.fork(locks.withTab(TAB, B, opts(), Effect.succeed("B ran")))
        yield* TestClock.adjust("59999 millis")
        expect(b.unsafePoll()).toBeNull()
        yield* TestClock.adjust("1 millis")
        expect(yield* Fiber.join(b)).toBe("B ran")
        expect(yield* Fiber.join(expired)).toEqual(Option.some({ _tag: "LeaseExpired", tab: TAB, who: A }))
      })))

  it.effect("while the user pauses agents no lease runs out; on resume each lease has the time it had left", () =>
    withLocks((locks) =>
      Effect.gen(function*() {
        yield* locks.lease(TAB, A, Duration.seconds(60), opts())
        yield* TestClock.adjust("10 seconds")
        yield* locks.pause(true)
        expect(yield* locks.paused).toBe(true)
        // An hour of pause: the lease is still A's, 50 s left.
        yield* TestClock.adjust("1 hour")
        expect((yield* locks.view)[0]?.lease?.who).toEqual(A)
        yield* locks.pause(false)
        expect(yield* locks.paused).toBe(false)
        const b = yield* Effect.fork(locks.withTab(TAB, B, opts(), Effect.void))
        yield* Effect.yieldNow()
        yield* TestClock.adjust("49999 millis")
        expect(b.unsafePoll()).toBeNull()
        expect((yield* locks.view).find((v) => v.tab === TAB)?.lease?.who).toEqual(A)
        yield* TestClock.adjust("1 millis")
        yield* Fiber.join(b)
        expect((yield* locks.figures("a")).recoveries).toBe(1)
      })))

  it.effect("every call of the holder renews its lease", () =>
    withLocks((locks) =>
      Effect.gen(function*() {
        yield* locks.lease(TAB, A, Duration.seconds(60), opts())
        const b = yield* Effect.fork(locks.withTab(TAB, B, opts(), Effect.succeed("B ran")))
        yield* TestClock.adjust("50 seconds")
        yield* locks.withTab(TAB, A, opts(), Effect.void) // renews: now expires at 110 s
        yield* TestClock.adjust("59999 millis")
        expect(b.unsafePoll()).toBeNull()
        yield* TestClock.adjust("1 millis")
        expect(yield* Fiber.join(b)).toBe("B ran")
      })))

  it.effect("a waiter gives up at waitSeconds with an error naming the holder, and leaves the queue", () =>
    withLocks((locks) =>
      Effect.gen(function*() {
        yield* locks.lease(TAB, A, Duration.seconds(60), opts())
        const b = yield* Effect.fork(locks.withTab(TAB, B, opts("1 second"), Effect.void))
        yield* TestClock.adjust("999 millis")
        expect(b.unsafePoll()).toBeNull()
        yield* TestClock.adjust("1 millis")
        const error = yield* Fiber.join(b).pipe(Effect.flip)
        expect(error._tag).toBe("LockTimeout")
        expect(error.message).toContain("claude-desktop holds it")
        expect((yield* locks.view)[0]?.waiters).toEqual([])
      })))

  it.effect("leases and operations of other instances are served in arrival order", () =>
    withLocks((locks) =>
      Effect.gen(function*() {
        const log = yield* Ref.make<Array<string>>([])
        yield* locks.lease(TAB, A, Duration.seconds(60), opts())
        const b = yield* Effect.fork(locks.lease(TAB, B, Duration.seconds(60), opts()).pipe(Effect.zipRight(Ref.update(log, (l) => [...l, "B leased"]))))
        yield* Effect.yieldNow()
        const c = yield* Effect.fork(locks.withTab(TAB, C, opts(), Ref.update(log, (l) => [...l, "C ran"])))
        yield* Effect.yieldNow()
        yield* locks.unlock(TAB, A)
        yield* Fiber.join(b)
        expect(yield* Ref.get(log)).toEqual(["B leased"])
        yield* locks.unlock(TAB, B)
        yield* Fiber.join(c)
        expect(yield* Ref.get(log)).toEqual(["B leased", "C ran"])
      })))

  it.effect("releasing an instance drops its leases and fails its waiters; others go on", () =>
    withLocks((locks) =>
      Effect.gen(function*() {
        yield* locks.lease(TAB, A, Duration.seconds(60), opts())
        yield* locks.lease(8, B, Duration.seconds(60), opts())
        const aWaits = yield* Effect.fork(locks.withTab(8, A, opts(), Effect.void))
        const bWaits = yield* Effect.fork(locks.withTab(TAB, B, opts(), Effect.succeed("B ran")))
        yield* Effect.yieldNow()
        yield* locks.releaseInstance("a")
        expect((yield* Fiber.join(aWaits).pipe(Effect.flip))._tag).toBe("InstanceGone")
        expect(yield* Fiber.join(bWaits)).toBe("B ran")
        const view = yield* locks.view
        expect(view.map((v) => [v.tab, v.lease?.who.name])).toEqual([[8, "cursor"]])
        // The released lease's timer is gone too: nothing fires at its old TTL.
        yield* TestClock.adjust("61 seconds")
      })))

  it.effect("a closed tab fails its waiters with TabGone", () =>
    withLocks((locks) =>
      Effect.gen(function*() {
        yield* locks.lease(TAB, A, Duration.seconds(60), opts())
        const b = yield* Effect.fork(locks.withTab(TAB, B, opts(), Effect.void))
        yield* Effect.yieldNow()
        yield* locks.forgetTab(TAB)
        expect((yield* Fiber.join(b).pipe(Effect.flip))._tag).toBe("TabGone")
        expect(yield* locks.view).toEqual([])
      })))

  it.effect("an operation interrupted while it runs (a cancelled call) hands the tab to the next waiter at that instant", () =>
    withLocks((locks) =>
      Effect.gen(function*() {
        const log = yield* Ref.make<Array<string>>([])
        const long = yield* Effect.fork(locks.withTab(TAB, A, opts(), held(log, "a", 20_000)))
        yield* Effect.yieldNow()
        const next = yield* Effect.fork(locks.withTab(TAB, B, opts(), held(log, "b", 10)))
        yield* TestClock.adjust("1 second")
        expect(yield* Ref.get(log)).toEqual(["a+"])
        yield* Fiber.interrupt(long)
        // No time passes: b starts at once.
        yield* TestClock.adjust("0 millis")
        expect(yield* Ref.get(log)).toEqual(["a+", "b+"])
        yield* TestClock.adjust("10 millis")
        yield* Fiber.join(next)
        expect(yield* locks.view).toEqual([])
      })))

  it.effect("an interrupted waiter leaves no trace and does not block the tab", () =>
    withLocks((locks) =>
      Effect.gen(function*() {
        const first = yield* Effect.fork(locks.withTab(TAB, A, opts(), Effect.sleep("1 second")))
        yield* Effect.yieldNow()
        const second = yield* Effect.fork(locks.withTab(TAB, B, opts(), Effect.void))
        yield* Effect.yieldNow()
        yield* Fiber.interrupt(second)
        yield* Fiber.interrupt(first)
        expect(yield* locks.view).toEqual([])
        expect(Exit.isSuccess(yield* Effect.exit(locks.withTab(TAB, C, opts("1 millis"), Effect.void)))).toBe(true)
      })))
})

describe("TabLocks with no wait", () => {
  it.effect("waitSeconds 0 takes a free tab at once, and fails at once on a held one", () =>
    withLocks((locks) =>
      Effect.gen(function*() {
        yield* locks.lease(TAB, A, Duration.seconds(60), opts("0 millis"))
        const error = yield* Effect.flip(locks.lease(TAB, B, Duration.seconds(60), opts("0 millis")))
        expect(error.message).toContain("claude-desktop holds it")
      })))
})
