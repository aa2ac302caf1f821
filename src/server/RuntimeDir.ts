/**
 * The per-user runtime directory that holds port records and lock files. It must be
 * a real directory (not a symlink), owned by this user, and closed to everyone else
 * (0700): anyone who can write there could forge a record or a lock.
 */
import { Data, Effect } from "effect"
import type { Stats } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { errorCode } from "./Files.js"
import { directoryProblem } from "./OwnedPath.js"

export class RuntimeDirError extends Data.TaggedError("RuntimeDirError")<{
  readonly path: string
  readonly problem: string
  readonly remedy: string
}> {
  override get message() {
    return `tabmux runtime directory ${this.path}: ${this.problem}. ${this.remedy}`
  }
}

const otherDir = "or choose another directory with --dir / TABMUX_DIR"

/** Makes sure `path` exists as a private directory of this user; never loosens or follows anything. */
export const ensurePrivateDir = (path: string): Effect.Effect<string, RuntimeDirError> =>
  Effect.tryPromise({
    try: async () => {
      await Fs.mkdir(Path.dirname(path), { recursive: true, mode: 0o700 })
      try {
        await Fs.mkdir(path, { mode: 0o700 })
      } catch (e) {
        if (errorCode(e) !== "EEXIST") throw e
      }
      return Fs.lstat(path)
    },
    catch: (e) =>
      new RuntimeDirError({
        path,
        problem: `cannot create it (${errorCode(e) ?? String(e)})`,
        remedy: `Check the permissions of ${Path.dirname(path)}, ${otherDir}.`
      })
  }).pipe(Effect.flatMap((stat) => refuseUnlessPrivate(path, stat)))

/** What is wrong with `path` as a runtime directory, seen through its `lstat`; its path when nothing is. */
const refuseUnlessPrivate = (path: string, stat: Stats): Effect.Effect<string, RuntimeDirError> => {
  const fail = (problem: string, remedy: string) => Effect.fail(new RuntimeDirError({ path, problem, remedy }))
  if (stat.isSymbolicLink()) return fail("it is a symbolic link", `Remove the link (rm ${path}) ${otherDir}.`)
  if (!stat.isDirectory()) return fail("it is not a directory", `Remove it ${otherDir}.`)
  if (process.getuid && stat.uid !== process.getuid()) {
    return fail(`it belongs to uid ${stat.uid}, not to you (uid ${process.getuid()})`, `Use a directory of your own, ${otherDir}.`)
  }
  if (process.platform !== "win32" && (stat.mode & 0o077) !== 0) {
    return fail(`its mode is ${(stat.mode & 0o777).toString(8)}, open to other users`, `Run: chmod 700 ${path} (${otherDir}).`)
  }
  // Its parents too: another user who can change one could swap the whole directory.
  const problem = directoryProblem(path)
  if (problem !== undefined) return fail(`another user could replace it: ${problem}`, `Use a directory in one of your own, ${otherDir}.`)
  return Effect.succeed(path)
}

/**
 * Whether the runtime directory exists, for commands that only read it (`tabmux status`):
 * `false` when it does not; refused, as the server would refuse it, when it cannot be used.
 */
export const existingPrivateDir = (path: string): Effect.Effect<boolean, RuntimeDirError> =>
  Effect.tryPromise({
    try: () => Fs.lstat(path).then((stat) => stat, (e) => (errorCode(e) === "ENOENT" ? undefined : Promise.reject(e))),
    catch: (e) => new RuntimeDirError({ path, problem: `cannot read it (${errorCode(e) ?? String(e)})`, remedy: `Check its permissions, ${otherDir}.` })
  }).pipe(Effect.flatMap((stat) => (stat === undefined ? Effect.succeed(false) : Effect.as(refuseUnlessPrivate(path, stat), true))))

export const portsDir = (dir: string) => Path.join(dir, "ports")
export const locksDir = (dir: string) => Path.join(dir, "locks")
