/**
 * The pure-file lock, for where no kernel claim exists. The lock is a directory that
 * holds exactly one `owner.<pid>.<random>` file. It is created whole: the owner file
 * is written in a private temp directory, which is then renamed into place, so the
 * lock and its content appear at once (rename onto a non-empty directory fails; onto
 * an empty one, left by a half-done takeover, it succeeds, which is right).
 *
 * A stale owner (pid dead, or alive with another start time: pid reuse) is taken over
 * by deleting that uniquely named file (only one racer can), then `rmdir` (fails if
 * anyone renamed a new owner in meanwhile), then acquiring from the start. Never
 * unlink-then-create; never stale by age alone; unreadable content is never a verdict
 * (the pid in the file name is).
 */
import { Clock, Duration, Effect, Option } from "effect"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { fileOp, type FileError, randomId, readFileNoFollow, removeFile, tempPathFor, writeFileAtomic, writeNewPrivateFile } from "../Files.js"
import * as Process from "../Process.js"
import type { LockBackend, LockState } from "./Backend.js"
import { decodeOwner, encodeOwner, isHeartbeatStale, LockError, LockHeld, newOwner } from "./Owner.js"

const OWNER_FILE = /^owner\.(\d+)\.[0-9a-f]+$/

/** What one look at the lock directory found. */
type Seen =
  | { readonly _tag: "Missing" }
  | { readonly _tag: "Empty" }
  | { readonly _tag: "Stale"; readonly file: string }
  | { readonly _tag: "Held"; readonly error: LockHeld }
  | { readonly _tag: "Foreign"; readonly entries: ReadonlyArray<string> }

export const makeDirectoryBackend = (options: {
  readonly locksDir: string
  readonly staleAfter: Duration.Duration
}): LockBackend => {
  const pathOf = (name: string) => Path.join(options.locksDir, `${name}.lockd`)
  const lockError = (name: string, problem: string, remedy: string) =>
    new LockError({ name, path: pathOf(name), problem, remedy })
  const fromFile = (name: string) => (e: FileError) =>
    lockError(name, e.message, "Check the lock directory's permissions, or use another one (--dir / TABMUX_DIR).")

  const look = (name: string): Effect.Effect<Seen, LockError> =>
    Effect.gen(function*() {
      const dir = pathOf(name)
      const stat = yield* fileOp("inspect", dir, () => Fs.lstat(dir)).pipe(Effect.option)
      if (Option.isNone(stat)) return { _tag: "Missing" } as const
      if (!stat.value.isDirectory()) {
        return yield* lockError(name, stat.value.isSymbolicLink() ? "the lock path is a symbolic link" : "the lock path is not a directory", `Remove it (rm ${dir}) and check who created it.`)
      }
      const entries = yield* fileOp("list", dir, () => Fs.readdir(dir)).pipe(
        Effect.catchIf((e) => e.code === "ENOENT", () => Effect.succeed([] as Array<string>)),
        Effect.mapError(fromFile(name))
      )
      if (entries.length === 0) return { _tag: "Empty" } as const
      const owners = entries.filter((e) => OWNER_FILE.test(e))
      const [file] = owners
      if (owners.length !== 1 || entries.length !== 1 || file === undefined) return { _tag: "Foreign", entries } as const
      const pid = Number(OWNER_FILE.exec(file)![1])
      const text = yield* readFileNoFollow(Path.join(dir, file)).pipe(Effect.mapError(fromFile(name)))
      if (text === undefined) return { _tag: "Missing" } as const
      const owner = decodeOwner(text)
      const verdict = yield* Process.liveness(pid, Option.getOrUndefined(Option.flatMapNullable(owner, (o) => o.processStartTime)))
      if (verdict !== "alive") return { _tag: "Stale", file } as const
      const now = yield* Clock.currentTimeMillis
      const hung = Option.exists(owner, (o) => isHeartbeatStale(o.heartbeatAt, now, options.staleAfter))
      return {
        _tag: "Held",
        error: new LockHeld({ name, path: Path.join(dir, file), state: hung ? "hung" : "alive", holder: owner, pid: Option.some(pid) })
      } as const
    })

  /** Deletes the stale owner file (only one racer succeeds), then the directory if nobody came in meanwhile. */
  const takeOver = (name: string, file: string) =>
    fileOp("remove", file, () => Fs.unlink(Path.join(pathOf(name), file))).pipe(
      Effect.zipRight(fileOp("remove", pathOf(name), () => Fs.rmdir(pathOf(name)))),
      Effect.catchIf((e) => e.code === "ENOENT" || e.code === "ENOTEMPTY" || e.code === "EEXIST", () => Effect.void),
      Effect.mapError(fromFile(name))
    )

  const tryAcquire: LockBackend["tryAcquire"] = (name, token) =>
    Effect.gen(function*() {
      const dir = pathOf(name)
      const file = `owner.${process.pid}.${randomId()}`
      let owner = yield* newOwner(name, "directory", token, yield* Clock.currentTimeMillis)

      /** Writes a private directory holding our owner file and renames it into place. */
      const publish = Effect.gen(function*() {
        const temp = tempPathFor(dir)
        yield* fileOp("create", temp, () => Fs.mkdir(temp, { mode: 0o700 }))
        const placed = yield* writeNewPrivateFile(Path.join(temp, file), encodeOwner(owner)).pipe(
          Effect.zipRight(fileOp("rename", dir, () => Fs.rename(temp, dir))),
          Effect.as(true),
          // Occupied (or not a directory at all: the look below says what is there).
          Effect.catchIf((e) => e.code === "ENOTEMPTY" || e.code === "EEXIST" || e.code === "ENOTDIR", () => Effect.succeed(false))
        )
        if (!placed) {
          yield* fileOp("clean up", temp, () => Fs.rm(temp, { recursive: true, force: true })).pipe(Effect.ignore)
        }
        return placed
      }).pipe(Effect.mapError(fromFile(name)))

      // Each round either wins, reports a live holder, or clears a stale/transient state and goes again.
      let won = false
      for (let round = 0; round < 100 && !won; round++) {
        won = yield* publish
        if (won) break
        const seen = yield* look(name)
        switch (seen._tag) {
          case "Held":
            return yield* seen.error
          case "Stale":
            yield* Effect.logInfo(`taking over stale lock ${dir} (${seen.file})`)
            yield* takeOver(name, seen.file)
            break
          case "Foreign":
            return yield* lockError(name, `the lock directory holds unexpected entries (${seen.entries.join(", ")})`, `Inspect it with \`tabmux doctor\`; if no tabmux process uses it, remove ${dir}.`)
          case "Missing":
          case "Empty":
            break
        }
      }
      if (!won) return yield* lockError(name, "the lock changed hands too often to judge", "Try again.")

      const ownerPath = Path.join(dir, file)
      yield* Effect.addFinalizer(() =>
        removeFile(ownerPath).pipe(
          Effect.zipRight(fileOp("remove", dir, () => Fs.rmdir(dir))),
          Effect.catchAll((e) => (e.code === "ENOTEMPTY" || e.code === "ENOENT" ? Effect.void : Effect.logWarning(e.message)))
        )
      )
      return {
        name,
        path: ownerPath,
        owner,
        // Atomic replace of our own uniquely named file: observers always see exactly one owner file.
        lost: Effect.never,
        heartbeat: (at: number) =>
          Effect.suspend(() => {
            owner = { ...owner, heartbeatAt: at }
            const staged = Path.join(options.locksDir, `.${file}.${randomId(4)}.tmp`)
            return writeFileAtomic(staged, encodeOwner(owner)).pipe(
              Effect.zipRight(fileOp("rename", ownerPath, () => Fs.rename(staged, ownerPath))),
              Effect.tapError(() => removeFile(staged)),
              Effect.mapError(fromFile(name))
            )
          })
      }
    })

  const inspect: LockBackend["inspect"] = (name) =>
    Effect.map(look(name), (seen): LockState => {
      switch (seen._tag) {
        case "Held":
          return { _tag: "Held", error: seen.error }
        case "Missing":
          return { _tag: "Free", leftover: [] }
        case "Empty":
          return { _tag: "Free", leftover: [pathOf(name)] }
        case "Stale":
          return { _tag: "Free", leftover: [Path.join(pathOf(name), seen.file)] }
        case "Foreign":
          return { _tag: "Free", leftover: seen.entries.map((e) => Path.join(pathOf(name), e)) }
      }
    })

  return { strategy: "directory", tryAcquire, inspect, pathOf }
}

