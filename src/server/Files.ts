/**
 * The few file operations the registry and the locks need, done safely: private
 * (0600) files that appear whole (temp file + fsync + rename), reads that refuse to
 * follow symlinks, removals that tolerate a file already gone.
 */
import { Data, Effect } from "effect"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs/promises"
import { constants, type Stats } from "node:fs"
import * as Path from "node:path"

export class FileError extends Data.TaggedError("FileError")<{
  readonly op: string
  readonly path: string
  readonly code: string | undefined
  readonly cause: unknown
}> {
  override get message() {
    const detail = this.code === "ELOOP"
      ? "it is a symbolic link, which tabmux never follows"
      : String((this.cause as Error)?.message ?? this.cause)
    return `cannot ${this.op} ${this.path}: ${detail}`
  }
}

export const errorCode = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : undefined

export const fileOp = <A>(op: string, path: string, f: () => Promise<A>): Effect.Effect<A, FileError> =>
  Effect.tryPromise({ try: f, catch: (cause) => new FileError({ op, path, code: errorCode(cause), cause }) })

export const randomId = (bytes = 8) => Crypto.randomBytes(bytes).toString("hex")

/** A temp name beside `path`, unique to this process and call; never collides with a record. */
export const tempPathFor = (path: string) =>
  Path.join(Path.dirname(path), `.${Path.basename(path)}.${process.pid}.${randomId(4)}.tmp`)

/** Writes `content` to a new private file and fsyncs it; fails if the path exists. */
export const writeNewPrivateFile = (path: string, content: string) =>
  fileOp("write", path, async () => {
    const handle = await Fs.open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
    try {
      await handle.writeFile(content)
      await handle.sync()
    } finally {
      await handle.close()
    }
  })

/**
 * Replaces `path` with `content` in one step: readers see the old file or the new one,
 * never a part. Not interruptible (it takes milliseconds), and the temp file is removed
 * on any failure, so a server stopped mid-write leaves nothing behind.
 */
export const writeFileAtomic = (path: string, content: string) => {
  const temp = tempPathFor(path)
  return writeNewPrivateFile(temp, content).pipe(
    Effect.zipRight(fileOp("rename", path, () => Fs.rename(temp, path))),
    Effect.onError(() => Effect.ignore(removeFile(temp))),
    Effect.uninterruptible
  )
}

/** The largest record or lock file tabmux reads; anything bigger is not one of ours. */
const MAX_READ_BYTES = 64 * 1024

/**
 * The file's text, or `undefined` when it does not exist. A symlink is an error, never
 * followed; so is anything but a regular file (a FIFO or a device would block or never
 * end: opened non-blocking and refused), a file too big to be one of ours, and whatever
 * `refuse` finds wrong with the opened file (its owner, its mode).
 */
export const readFileNoFollow = (path: string, refuse: (stat: Stats) => string | undefined = () => undefined) =>
  fileOp("read", path, async () => {
    let handle: Fs.FileHandle
    try {
      handle = await Fs.open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
    } catch (e) {
      if (errorCode(e) === "ENOENT") return undefined
      throw e
    }
    try {
      const stat = await handle.stat()
      if (!stat.isFile()) throw Object.assign(new Error("it is not a regular file"), { code: "ENOTREG" })
      if (stat.size > MAX_READ_BYTES) throw Object.assign(new Error(`it is ${stat.size} bytes, larger than any tabmux file`), { code: "EFBIG" })
      const problem = refuse(stat)
      if (problem !== undefined) throw Object.assign(new Error(problem), { code: "EREFUSED" })
      return await handle.readFile("utf8")
    } finally {
      await handle.close()
    }
  })

/** Temp files (`tempPathFor`) in `dir` left by processes that died mid-write; removed by status and doctor's sweep. */
export const strayTempFiles = (dir: string, isAlive: (pid: number) => boolean) =>
  fileOp("list", dir, () => Fs.readdir(dir)).pipe(
    Effect.orElseSucceed(() => [] as Array<string>),
    Effect.map((names) =>
      names.flatMap((n) => {
        const m = /^\..+\.(\d+)\.[0-9a-f]+\.tmp$/.exec(n)
        return m && !isAlive(Number(m[1])) ? [Path.join(dir, n)] : []
      })
    )
  )

/** Removes a file; a file already gone is fine. */
export const removeFile = (path: string) =>
  fileOp("remove", path, () => Fs.unlink(path)).pipe(
    Effect.catchIf((e) => e.code === "ENOENT", () => Effect.void)
  )
