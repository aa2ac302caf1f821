/** What a lock backend provides; the InstanceLock service adds retry, heartbeat and naming on top. */
import type { Effect, Scope } from "effect"
import type { LockError, LockHeld, LockLost, LockOwner } from "./Owner.js"

export interface LockHandle {
  readonly name: string
  /** The file a human looks at: the lock file (kernel) or the owner file (directory). */
  readonly path: string
  readonly owner: LockOwner
  /** Rewrites the holder record with a fresh heartbeat (Redis: renews the grant). */
  readonly heartbeat: (now: number) => Effect.Effect<void, LockError>
  /** Completes if the lock is lost while held (Redis); local locks are held until released. */
  readonly lost: Effect.Effect<LockLost>
}

export type LockState =
  | { readonly _tag: "Free"; readonly leftover: ReadonlyArray<string> }
  | { readonly _tag: "Held"; readonly error: LockHeld }

export interface LockBackend {
  readonly strategy: LockOwner["strategy"]
  /** One attempt, no waiting: held → `LockHeld`. Transient races are resolved inside. */
  readonly tryAcquire: (name: string, token: string) => Effect.Effect<LockHandle, LockHeld | LockError, Scope.Scope>
  readonly inspect: (name: string) => Effect.Effect<LockState, LockError>
  readonly pathOf: (name: string) => string
}
