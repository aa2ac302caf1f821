/**
 * Single-instance protection for what must exist once per user: the managed browser
 * profile, a daemon, an `--exclusive` server. `acquire` holds a named lock until its
 * scope closes; the truth is a kernel claim where Node core has one (Linux abstract
 * socket, Windows named pipe), else the race-free directory protocol. A holder keeps
 * a heartbeat in its record so a hung holder is reported as hung, never stolen from.
 */
import { Cause, Clock, Context, Duration, Effect, Exit, Layer, Metric, Option, Schedule, type Scope } from "effect"
import { randomId } from "./Files.js"
import type { LockBackend, LockHandle, LockState } from "./lock/Backend.js"
import { makeDirectoryBackend } from "./lock/DirectoryLock.js"
import * as Metrics from "./Metrics.js"
import * as UserSecret from "./UserSecret.js"
import { kernelLockSupported, makeKernelBackend } from "./lock/KernelLock.js"
import { LockError, LockHeld, LockLost } from "./lock/Owner.js"
import { makeRedisBackend } from "./lock/RedisLock.js"
import { ensurePrivateDir, locksDir } from "./RuntimeDir.js"

export { LockError, LockHeld, LockLost }
export type { LockHandle, LockState }

export interface AcquireOptions {
  /** How long to keep trying while another process holds the lock. Default: fail at once. */
  readonly wait?: Duration.DurationInput
}

export class InstanceLock extends Context.Tag("tabmux/InstanceLock")<InstanceLock, {
  readonly strategy: "kernel" | "directory" | "redis"
  readonly acquire: (name: string, options?: AcquireOptions) => Effect.Effect<LockHandle, LockHeld | LockError, Scope.Scope>
  /** Who holds `name` now, without taking it: for status and doctor. */
  readonly inspect: (name: string) => Effect.Effect<LockState, LockError>
}>() {}

export interface InstanceLockOptions {
  /** The runtime directory (locks live in its `locks/` folder). */
  readonly dir: string
  readonly strategy: "auto" | "kernel" | "directory"
  /** A shared backend instead of the local one: `redis://host:port[/db]` (locks then hold across machines; `staleAfter` is their TTL). */
  readonly backend?: string | undefined
  /** The backend's password, when it is not in the URL. */
  readonly backendPassword?: string | undefined
  readonly heartbeatInterval: Duration.Duration
  readonly staleAfter: Duration.Duration
  readonly probeTimeout?: Duration.Duration
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** Retry delays while held: quick at first (a holder exiting is usually near), then once a second. */
export const retrySchedule = (wait: Duration.DurationInput) =>
  Schedule.exponential("50 millis").pipe(
    Schedule.modifyDelay((d) => Duration.min(d, Duration.seconds(1))),
    Schedule.upTo(wait)
  )

/** The service over any backend: name checks, retry on a Schedule, heartbeat while held. */
export const make = (backend: LockBackend, options: Pick<InstanceLockOptions, "heartbeatInterval">) => {
  const acquire = (name: string, acquireOptions?: AcquireOptions) => {
    if (!NAME.test(name)) {
      return Effect.fail(new LockError({ name, path: backend.pathOf("<name>"), problem: "invalid lock name", remedy: "Use 1-64 letters, digits, '.', '_' or '-'." }))
    }
    const once = Effect.zipRight(Metric.increment(Metrics.instanceLockAttempts), Effect.suspend(() => backend.tryAcquire(name, randomId(16))))
    const retried = acquireOptions?.wait === undefined || Duration.toMillis(acquireOptions.wait) <= 0
      ? once
      : Effect.retry(once, { schedule: retrySchedule(acquireOptions.wait), while: (e) => e._tag === "LockHeld" })
    const attempt = Effect.flatMap(Clock.currentTimeMillis, (started) =>
      Effect.onExit(retried, (exit) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const outcome = Exit.isSuccess(exit) ? "acquired" : Option.exists(Cause.failureOption(exit.cause), (e) => e._tag === "LockHeld") ? "held" : "error"
          return Metric.update(Metrics.instanceLockAcquire.pipe(Metric.tagged("backend", backend.strategy), Metric.tagged("outcome", outcome)), now - started)
        })))
    return Effect.tap(attempt, (handle) =>
      Clock.currentTimeMillis.pipe(
        Effect.flatMap(handle.heartbeat),
        Effect.catchAll((e) => Effect.logWarning(`lock heartbeat failed: ${e.message}`)),
        Effect.repeat(Schedule.spaced(options.heartbeatInterval)),
        Effect.delay(options.heartbeatInterval),
        Effect.interruptible,
        Effect.forkScoped
      ))
  }
  return InstanceLock.of({ strategy: backend.strategy, acquire, inspect: backend.inspect })
}

export const chooseStrategy = (strategy: InstanceLockOptions["strategy"]): "kernel" | "directory" =>
  strategy === "auto" ? (kernelLockSupported ? "kernel" : "directory") : strategy

export const layer = (options: InstanceLockOptions): Layer.Layer<InstanceLock, LockError> =>
  Layer.scoped(
    InstanceLock,
    Effect.gen(function*() {
      if (options.backend !== undefined) {
        // Renewed at least three times per TTL, so a healthy holder never counts its lock lost.
        const heartbeatInterval = Duration.min(options.heartbeatInterval, Duration.unsafeDivide(options.staleAfter, 3))
        return make(yield* makeRedisBackend({ url: options.backend, password: options.backendPassword, ttl: options.staleAfter }), { heartbeatInterval })
      }
      const dir = locksDir(options.dir)
      yield* ensurePrivateDir(options.dir).pipe(
        Effect.zipRight(ensurePrivateDir(dir)),
        Effect.mapError((e) => new LockError({ name: "*", path: e.path, problem: e.problem, remedy: e.remedy }))
      )
      const strategy = chooseStrategy(options.strategy)
      if (strategy === "kernel" && !kernelLockSupported) {
        return yield* new LockError({ name: "*", path: dir, problem: `no kernel lock on ${process.platform}`, remedy: "Use --lock-strategy directory." })
      }
      const backend = strategy === "kernel"
        ? makeKernelBackend({
          secret: yield* UserSecret.readOrCreate(options.dir).pipe(
            Effect.mapError((e) => new LockError({ name: "*", path: e.path, problem: e.message, remedy: "Fix or remove the secret file." }))
          ),
          locksDir: dir,
          probeTimeout: options.probeTimeout ?? Duration.seconds(1)
        })
        : makeDirectoryBackend({ locksDir: dir, staleAfter: options.staleAfter })
      return make(backend, options)
    })
  )

