/**
 * What a lock holder writes about itself, and how an observer judges it. The record is
 * informational: the kernel claim (or the directory's single owner file) is the truth,
 * the record only says who and since when, for error messages, status and doctor.
 */
import { Data, Duration, Effect, Option, Schema } from "effect"
import * as Os from "node:os"
import * as Process from "../Process.js"

export const LockOwner = Schema.Struct({
  name: Schema.String,
  pid: Schema.Int,
  processStartTime: Schema.optional(Schema.String),
  hostname: Schema.String,
  token: Schema.String,
  strategy: Schema.Literal("kernel", "directory", "redis"),
  acquiredAt: Schema.Number,
  heartbeatAt: Schema.Number,
  /** Redis: the fencing token of this grant (larger for every later grant). */
  fence: Schema.optional(Schema.Int)
})
export type LockOwner = typeof LockOwner.Type

const OwnerJson = Schema.parseJson(LockOwner)
export const encodeOwner = (owner: LockOwner) => Schema.encodeSync(OwnerJson)(owner) + "\n"
/** `None` for an empty, half-written or foreign file: unreadable content is never a verdict. */
export const decodeOwner = (text: string | undefined): Option.Option<LockOwner> =>
  text === undefined ? Option.none() : Schema.decodeUnknownOption(OwnerJson)(text.trim())

export const newOwner = (name: string, strategy: LockOwner["strategy"], token: string, now: number) =>
  Effect.map(Process.currentProcess, (me): LockOwner => ({
    name,
    pid: me.pid,
    ...(me.startTime === undefined ? {} : { processStartTime: me.startTime }),
    hostname: Os.hostname(),
    token,
    strategy,
    acquiredAt: now,
    heartbeatAt: now
  }))

/** Hung: the process lives but its heartbeat is `staleAfter` old or older. Reported, never taken over. */
export const isHeartbeatStale = (heartbeatAt: number, now: number, staleAfter: Duration.Duration) =>
  now - heartbeatAt >= Duration.toMillis(staleAfter)

/** A held lock was lost (Redis: not renewed in time, or taken over): its holder must stop. */
export class LockLost extends Data.TaggedError("LockLost")<{
  readonly name: string
  readonly path: string
  readonly fence: number
  readonly why: string
}> {
  override get message() {
    return `tabmux lock "${this.name}" at ${this.path} was lost (${this.why}; fencing token ${this.fence}): its holder stops, as another may hold it now.`
  }
}

/** Another process holds the lock. Names who, where, and what to do. */
export class LockHeld extends Data.TaggedError("LockHeld")<{
  readonly name: string
  readonly path: string
  readonly state: "alive" | "hung"
  readonly holder: Option.Option<LockOwner>
  readonly pid: Option.Option<number>
}> {
  override get message() {
    const who = Option.match(this.holder, {
      onNone: () => Option.match(this.pid, { onNone: () => "another process", onSome: (pid) => `pid ${pid}` }),
      onSome: (h) => `pid ${h.pid} on ${h.hostname} (since ${new Date(h.acquiredAt).toISOString()})`
    })
    const pid = Option.orElse(Option.map(this.holder, (h) => h.pid), () => this.pid)
    const state = this.state === "hung"
      ? "it is alive but not responding (hung?)"
      : "it is running"
    const stop = Option.match(pid, { onNone: () => "stop the other holder", onSome: (p) => `stop it (kill ${p})` })
    return `tabmux lock "${this.name}" is held by ${who}; ${state}. Lock: ${this.path}. ` +
      `To go on: ${stop}, run \`tabmux doctor\` to inspect locks, or use another lock directory (--dir / TABMUX_DIR).`
  }
}

/** The lock could not be judged or taken for a reason other than a holder. */
export class LockError extends Data.TaggedError("LockError")<{
  readonly name: string
  readonly path: string
  readonly problem: string
  readonly remedy: string
}> {
  override get message() {
    return `tabmux lock "${this.name}" at ${this.path}: ${this.problem}. ${this.remedy}`
  }
}
