import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Metric, Option, Ref, Scope, TestClock } from "effect"
import * as InstanceLock from "../../src/server/InstanceLock.js"
import * as Metrics from "../../src/server/Metrics.js"
import type { LockBackend } from "../../src/server/lock/Backend.js"
import { isHeartbeatStale, LockHeld, type LockOwner } from "../../src/server/lock/Owner.js"

/** A backend whose truth is a Ref: enough to test what the service adds (retry, heartbeat, release). */
const memoryBackend = Effect.gen(function*() {
  const holder = yield* Ref.make(Option.none<string>())
  const log = yield* Ref.make<Array<string>>([])
  const owner = (token: string): LockOwner => ({
    name: "x",
    pid: 1,
    hostname: "h",
    token,
    strategy: "kernel",
    acquiredAt: 0,
    heartbeatAt: 0
  })
  const backend: LockBackend = {
    strategy: "kernel",
    pathOf: (name) => `/mem/${name}`,
    inspect: () => Effect.succeed({ _tag: "Free", leftover: [] }),
    tryAcquire: (name, token) =>
      Effect.gen(function*() {
        const won = yield* Ref.modify(holder, (h) => Option.isNone(h) ? [true, Option.some(token)] : [false, h])
        if (!won) {
          return yield* new LockHeld({ name, path: `/mem/${name}`, state: "alive", holder: Option.none(), pid: Option.some(1) })
        }
        yield* Ref.update(log, (l) => [...l, "acquired"])
        yield* Effect.addFinalizer(() => Ref.set(holder, Option.none()).pipe(Effect.zipRight(Ref.update(log, (l) => [...l, "released"]))))
        return {
          name,
          path: `/mem/${name}`,
          owner: owner(token),
          lost: Effect.never,
          heartbeat: (at) => Ref.update(log, (l) => [...l, `heartbeat@${at}`])
        }
      })
  }
  return { backend, holder, log }
})

const service = (backend: LockBackend) => InstanceLock.make(backend, { heartbeatInterval: Duration.seconds(5) })

describe("InstanceLock service", () => {
  it.effect("fails at once with LockHeld when no wait is given", () =>
    Effect.gen(function*() {
      const { backend } = yield* memoryBackend
      const lock = service(backend)
      yield* lock.acquire("x")
      const error = yield* lock.acquire("x").pipe(Effect.flip)
      expect(error._tag).toBe("LockHeld")
      expect(error.message).toContain("kill 1")
      expect(error.message).toContain("tabmux doctor")
      expect(error.message).toContain("--dir")
    }).pipe(Effect.scoped))

  it.effect("retries on its schedule and takes the lock at the first retry after release", () =>
    Effect.gen(function*() {
      const { backend } = yield* memoryBackend
      const lock = service(backend)
      const first = yield* Scope.make()
      yield* lock.acquire("x").pipe(Scope.extend(first))
      const waiter = yield* Effect.fork(Effect.scoped(Effect.as(lock.acquire("x", { wait: "10 seconds" }), "won")))
      // Retries at 50, 150, 350, 750, 1550, 2550 ms (50 ms doubling, capped at 1 s). Release at 2 s.
      yield* TestClock.adjust("2 seconds")
      yield* Scope.close(first, Exit.void)
      yield* TestClock.adjust("549 millis")
      expect(waiter.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(waiter)).toBe("won")
    }))

  it.effect("counts attempts and times each acquisition by outcome, retries included", () =>
    Effect.gen(function*() {
      const { backend } = yield* memoryBackend
      const lock = service(backend)
      const timed = (outcome: string) => Metrics.instanceLockAcquire.pipe(Metric.tagged("backend", "kernel"), Metric.tagged("outcome", outcome))
      const before = { attempts: (yield* Metric.value(Metrics.instanceLockAttempts)).count, held: (yield* Metric.value(timed("held"))).count }
      const first = yield* Scope.make()
      yield* lock.acquire("x").pipe(Scope.extend(first))
      const waiter = yield* Effect.fork(Effect.scoped(Effect.as(lock.acquire("x", { wait: "10 seconds" }), "won")))
      yield* TestClock.adjust("2 seconds")
      yield* Scope.close(first, Exit.void)
      yield* TestClock.adjust("550 millis")
      yield* Fiber.join(waiter)
      yield* Effect.flip(Effect.scoped(lock.acquire("y").pipe(Effect.zipRight(Effect.scoped(lock.acquire("y"))))))
      // 1 + 7 (the waiter: at once, then at 50, 150, 350, 750, 1550, 2550 ms) + 2 (y, then y held).
      expect((yield* Metric.value(Metrics.instanceLockAttempts)).count - before.attempts).toBe(10)
      expect((yield* Metric.value(timed("held"))).count - before.held).toBe(1)
      const acquired = yield* Metric.value(timed("acquired"))
      expect(acquired.max).toBeGreaterThanOrEqual(2550)
    }))

  it.effect("gives up with LockHeld when the wait runs out", () =>
    Effect.gen(function*() {
      const { backend } = yield* memoryBackend
      const lock = service(backend)
      yield* lock.acquire("x")
      const waiter = yield* Effect.fork(Effect.scoped(lock.acquire("x", { wait: "3 seconds" })))
      yield* TestClock.adjust("10 seconds")
      const exit = yield* Fiber.await(waiter)
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag).toBe("LockHeld")
    }).pipe(Effect.scoped))

  it.effect("heartbeats every interval while held, and stops before the lock is released", () =>
    Effect.gen(function*() {
      const { backend, log } = yield* memoryBackend
      const lock = service(backend)
      const scope = yield* Scope.make()
      yield* lock.acquire("x").pipe(Scope.extend(scope))
      yield* TestClock.adjust("4999 millis")
      expect(yield* Ref.get(log)).toEqual(["acquired"])
      yield* TestClock.adjust("1 millis")
      yield* TestClock.adjust("5 seconds")
      expect(yield* Ref.get(log)).toEqual(["acquired", "heartbeat@5000", "heartbeat@10000"])
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust("20 seconds")
      expect(yield* Ref.get(log)).toEqual(["acquired", "heartbeat@5000", "heartbeat@10000", "released"])
    }))

  it.effect("refuses a lock name that could escape its directory", () =>
    Effect.gen(function*() {
      const { backend } = yield* memoryBackend
      const error = yield* service(backend).acquire("../etc").pipe(Effect.flip)
      expect(error._tag).toBe("LockError")
      expect(error.message).toContain("invalid lock name")
    }).pipe(Effect.scoped))

  it("judges a heartbeat stale exactly at staleAfter, not before", () => {
    const staleAfter = Duration.seconds(15)
    expect(isHeartbeatStale(1000, 1000 + 14_999, staleAfter)).toBe(false)
    expect(isHeartbeatStale(1000, 1000 + 15_000, staleAfter)).toBe(true)
  })
})
