/**
 * The port registry: one record per claimed port, `<dir>/ports/<port>.json`. It is
 * informational (the kernel's listener is the truth), so it may be swept: a record
 * whose process is dead or recycled is stale. A record whose heartbeat stopped while
 * its process lives is reported as hung, never removed.
 */
import { Duration, Effect, Option, Schema } from "effect"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { fileOp, readFileNoFollow, removeFile, strayTempFiles, writeFileAtomic } from "./Files.js"
import { Locks } from "../protocol/index.js"
import * as Process from "./Process.js"
import { portsDir } from "./RuntimeDir.js"

export const PortRecord = Schema.Struct({
  port: Schema.Int,
  pid: Schema.Int,
  processStartTime: Schema.optional(Schema.String),
  instanceId: Schema.String,
  token: Schema.String,
  clientName: Schema.String,
  serverVersion: Schema.String,
  startedAt: Schema.Number,
  heartbeatAt: Schema.Number,
  extension: Schema.optional(Schema.Struct({ browser: Schema.String, extensionVersion: Schema.String, connectedAt: Schema.Number })),
  /** The agent's lock figures since it connected, as the extension counted them at the last heartbeat. */
  locks: Schema.optional(Locks.LockSummary)
})
export type PortRecord = typeof PortRecord.Type

const RecordJson = Schema.parseJson(PortRecord)

/** The record a server writes about itself. */
export const recordOf = (
  identity: {
    readonly pid: number
    readonly processStartTime: string | undefined
    readonly instanceId: string
    readonly token: string
    readonly serverVersion: string
    readonly startedAt: number
  },
  port: number,
  state: {
    readonly clientName: string
    readonly now: number
    readonly extension: Option.Option<NonNullable<PortRecord["extension"]>>
    readonly locks?: PortRecord["locks"]
  }
): PortRecord => ({
  port,
  pid: identity.pid,
  ...(identity.processStartTime === undefined ? {} : { processStartTime: identity.processStartTime }),
  instanceId: identity.instanceId,
  token: identity.token,
  clientName: state.clientName,
  serverVersion: identity.serverVersion,
  startedAt: identity.startedAt,
  heartbeatAt: state.now,
  ...Option.match(state.extension, { onNone: () => ({}), onSome: (extension) => ({ extension }) }),
  ...(state.locks === undefined ? {} : { locks: state.locks })
})

export const recordPath = (dir: string, port: number) => Path.join(portsDir(dir), `${port}.json`)

export const write = (dir: string, record: PortRecord) =>
  writeFileAtomic(recordPath(dir, record.port), Schema.encodeSync(RecordJson)(record) + "\n")

export const read = (dir: string, port: number) =>
  readFileNoFollow(recordPath(dir, port)).pipe(
    Effect.map((text) => (text === undefined ? Option.none() : Schema.decodeUnknownOption(RecordJson)(text)))
  )

/** Removes the record for `port` only if it is still the one with `token` (another server may own the port now). */
export const removeIfOurs = (dir: string, port: number, token: string) =>
  read(dir, port).pipe(
    Effect.flatMap((r) => (Option.isSome(r) && r.value.token === token ? removeFile(recordPath(dir, port)) : Effect.void))
  )

export type Verdict = "live" | "hung" | "dead" | "reused"

/** Judges a record; `hung` exactly when the heartbeat is `staleAfter` old or older while the process lives. */
export const judge = (record: PortRecord, now: number, staleAfter: Duration.Duration): Effect.Effect<Verdict> =>
  Effect.map(Process.liveness(record.pid, record.processStartTime), (l) =>
    l !== "alive" ? l : now - record.heartbeatAt >= Duration.toMillis(staleAfter) ? "hung" : "live")

export interface Entry {
  readonly port: number
  readonly path: string
  /** `None`: the file exists but is not a record (corrupt or foreign); never swept automatically. */
  readonly record: Option.Option<PortRecord>
  readonly verdict: Option.Option<Verdict>
}

/** Every record in the registry, judged now, ordered by port. */
export const list = (dir: string, now: number, staleAfter: Duration.Duration): Effect.Effect<ReadonlyArray<Entry>, never> =>
  fileOp("list", portsDir(dir), () => Fs.readdir(portsDir(dir))).pipe(
    Effect.orElseSucceed(() => [] as Array<string>),
    Effect.map((names) => names.filter((n) => /^\d+\.json$/.test(n)).map((n) => Number(n.slice(0, -5))).sort((a, b) => a - b)),
    Effect.flatMap((ports) =>
      Effect.forEach(ports, (port) =>
        read(dir, port).pipe(
          Effect.orElseSucceed(() => Option.none<PortRecord>()),
          Effect.flatMap((record) =>
            Effect.map(
              Option.match(record, { onNone: () => Effect.succeedNone, onSome: (r) => Effect.asSome(judge(r, now, staleAfter)) }),
              (verdict): Entry => ({ port, path: recordPath(dir, port), record, verdict })
            )
          )
        ))
    )
  )

/** Removes records of dead or recycled processes (and temp files such processes left); returns the records it removed. */
export const sweep = (dir: string, entries: ReadonlyArray<Entry>) =>
  Effect.zipLeft(
    Effect.filter(entries, (e) =>
      Option.exists(e.verdict, (v) => v === "dead" || v === "reused") && Option.isSome(e.record)
        ? removeIfOurs(dir, e.port, Option.getOrThrow(e.record).token).pipe(Effect.as(true), Effect.orElseSucceed(() => false))
        : Effect.succeed(false)),
    Effect.flatMap(strayTempFiles(portsDir(dir), Process.isAlive), (stray) => Effect.forEach(stray, (f) => Effect.ignore(removeFile(f))))
  )

export const formatAge = (ms: number) => {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
}
