/**
 * Process identity: a pid alone is not an identity, because pids are reused. A pid
 * plus the process's start time is. Used to tell a dead or recycled holder from a
 * live one, for port records and locks alike.
 */
import { Effect, Option } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs/promises"

/** True while a process with this pid exists (ours or another user's). */
export const isAlive = (pid: number): boolean => {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * An opaque token that changes when the pid is reused: on Linux the start time in
 * clock ticks since boot (field 22 of /proc/<pid>/stat), on macOS and BSD what `ps`
 * prints as the start. `None` where neither is available (then only liveness counts).
 */
export const startTime = (pid: number): Effect.Effect<Option.Option<string>> => {
  if (process.platform === "linux") {
    return Effect.promise(() =>
      Fs.readFile(`/proc/${pid}/stat`, "utf8").then(
        (stat) => {
          // The command name (field 2) may contain spaces and ')': fields resume after the last ')'.
          const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
          const ticks = fields[19]
          return ticks && /^\d+$/.test(ticks) ? Option.some(ticks) : Option.none()
        },
        () => Option.none()
      )
    )
  }
  if (process.platform === "win32") return Effect.succeed(Option.none())
  return Effect.async<Option.Option<string>>((resume) => {
    ChildProcess.execFile("ps", ["-o", "lstart=", "-p", String(pid)], (error, stdout) => {
      const text = stdout.trim()
      resume(Effect.succeed(error || text === "" ? Option.none() : Option.some(text)))
    })
  })
}

/** What a record says about a process, judged now: `dead` and `reused` are safe to clean up, nothing else is. */
export type Liveness = "alive" | "dead" | "reused"

export const liveness = (pid: number, recordedStartTime: string | undefined): Effect.Effect<Liveness> =>
  Effect.gen(function*() {
    if (!isAlive(pid)) return "dead"
    if (recordedStartTime === undefined) return "alive"
    const actual = yield* startTime(pid)
    return Option.isSome(actual) && actual.value !== recordedStartTime ? "reused" : "alive"
  })

export interface ProcessIdentity {
  readonly pid: number
  readonly startTime: string | undefined
}

export const currentProcess: Effect.Effect<ProcessIdentity> = Effect.map(
  startTime(process.pid),
  (st) => ({ pid: process.pid, startTime: Option.getOrUndefined(st) })
)
