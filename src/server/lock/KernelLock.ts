/**
 * The kernel holds the truth: on Linux an abstract Unix socket, on Windows a named
 * pipe. Only one process can listen on a name, and the kernel frees it the moment
 * that process dies, SIGKILL included, so there is no stale state to judge. The
 * socket also answers a one-line handshake: a holder that accepts but never answers
 * is alive and hung, and is reported as such (never killed, never taken over).
 *
 * Abstract socket names (and pipe names) are one namespace for every user of the
 * machine: a name anyone can compute, anyone can squat. So the name is an HMAC of the
 * lock's directory and name under the user's secret (0600 in the 0700 runtime
 * directory): another user cannot compute it. But a held name shows in /proc/net/unix,
 * and another user can bind it once it is released. So a name is taken as held only when
 * the kernel says a process of this user listens on it (the socket's inode among this
 * user's processes' descriptors, which also gives the holder's real pid); a name another
 * user's process holds is squatted, and the lock moves to the next of a few names
 * (`generation`). A holder then looks at every other name: if a process of the user
 * holds one, it lets its own go and reports that holder (two that race may both step
 * back; neither ever holds alongside the other).
 */
import { Clock, Duration, Effect, Option, type Scope } from "effect"
import * as Crypto from "node:crypto"
import * as SyncFs from "node:fs"
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { errorCode, readFileNoFollow, removeFile, writeFileAtomic } from "../Files.js"
import type { LockBackend } from "./Backend.js"
import { decodeOwner, encodeOwner, LockError, LockHeld, type LockOwner, newOwner } from "./Owner.js"

export const kernelLockSupported = process.platform === "linux" || process.platform === "win32"

/** Names a lock can be held under, tried in order while the earlier ones are squatted. */
const GENERATIONS = 8

const addressOf = (secret: string, dir: string, name: string, generation = 0) => {
  const hash = Crypto.createHmac("sha256", secret).update(`tabmux-lock\0${dir}\0${name}${generation === 0 ? "" : `\0${generation}`}`).digest("hex").slice(0, 32)
  return process.platform === "win32"
    ? `\\\\.\\pipe\\tabmux-${Os.userInfo().username}-${hash}`
    : `\0tabmux/${process.getuid?.() ?? 0}/${hash}`
}

type Probe =
  | { readonly _tag: "Answered"; readonly owner: Option.Option<LockOwner> }
  | { readonly _tag: "Silent" }
  | { readonly _tag: "Gone" }

/** Connects to the holder and reads its one-line answer. */
const probe = (address: string, timeout: Duration.Duration): Effect.Effect<Probe> =>
  Effect.async<Probe>((resume) => {
    const socket = Net.connect(address)
    let text = ""
    const done = (p: Probe) => {
      socket.destroy()
      resume(Effect.succeed(p))
    }
    socket.setEncoding("utf8")
    socket.on("data", (chunk: string) => {
      text += chunk
      if (text.includes("\n")) done({ _tag: "Answered", owner: decodeOwner(text) })
    })
    socket.on("end", () => done(text ? { _tag: "Answered", owner: decodeOwner(text) } : { _tag: "Silent" }))
    socket.on("error", (e) => {
      const code = errorCode(e)
      done(code === "ECONNREFUSED" || code === "ENOENT" ? { _tag: "Gone" } : { _tag: "Silent" })
    })
    return Effect.sync(() => socket.destroy())
  }).pipe(Effect.timeoutTo({ duration: timeout, onTimeout: (): Probe => ({ _tag: "Silent" }), onSuccess: (p) => p }))

/**
 * Who listens on an abstract socket, as the kernel tells it (Linux): the listening
 * socket's inode from /proc/net/unix, found among the descriptors of this user's
 * processes. `undefined` when no process of this user holds it (another user's does, or
 * it is gone); Windows pipes are not looked at (`{ pid: undefined }`: taken as ours).
 */
const holderOf = (address: string): { readonly pid: number | undefined } | undefined => {
  if (process.platform !== "linux") return { pid: undefined }
  let table = ""
  try {
    table = SyncFs.readFileSync("/proc/net/unix", "utf8")
  } catch {
    return { pid: undefined }
  }
  const shown = `@${address.slice(1)}`
  // Num RefCount Protocol Flags Type St Inode Path; a listening socket has the flag __SO_ACCEPTCON (00010000).
  // The path shows NUL bytes as "@", and Node pads an abstract name with NULs to the full length.
  const inode = table.split("\n").map((l) => l.trim().split(/\s+/))
    .find((f) => f[3] === "00010000" && f[7]?.replace(/@+$/, "") === shown)?.[6]
  if (inode === undefined) return undefined
  const uid = process.getuid?.()
  const link = `socket:[${inode}]`
  const fs = SyncFs
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (uid !== undefined && fs.statSync(`/proc/${pid}`).uid !== uid) continue
      for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
        try {
          if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === link) return { pid: Number(pid) }
        } catch {
          // Closed meanwhile.
        }
      }
    } catch {
      // Gone, or not ours to read.
    }
  }
  return undefined
}

type Listen = { readonly _tag: "Listening"; readonly server: Net.Server } | { readonly _tag: "InUse" }

const listen = (address: string, answer: () => string) =>
  Effect.async<Listen, unknown>((resume) => {
    const server = Net.createServer((socket) => {
      socket.on("error", () => socket.destroy())
      socket.end(answer())
    })
    server.once("error", (e) =>
      errorCode(e) === "EADDRINUSE" ? resume(Effect.succeed({ _tag: "InUse" })) : resume(Effect.fail(e))
    )
    server.listen({ path: address, exclusive: true }, () => {
      resume(Effect.succeed({ _tag: "Listening", server }))
    })
  })

const closeServer = (server: Net.Server) =>
  Effect.async<void>((resume) => {
    server.close(() => resume(Effect.void))
  })

export const makeKernelBackend = (options: {
  /** The user's secret: names are derived from it, so no other user can squat them. */
  readonly secret: string
  readonly locksDir: string
  readonly probeTimeout: Duration.Duration
}): LockBackend => {
  const pathOf = (name: string) => Path.join(options.locksDir, `${name}.lock`)

  const readRecord = (name: string) =>
    readFileNoFollow(pathOf(name)).pipe(Effect.map(decodeOwner), Effect.orElseSucceed(() => Option.none<LockOwner>()))

  /** The lock is held by a process of this user (`pid`, from the kernel, when known). */
  const heldBy = (name: string, result: Probe & { _tag: "Answered" | "Silent" }, pid: number | undefined) =>
    Effect.map(
      result._tag === "Answered" ? Effect.succeed(result.owner) : readRecord(name),
      (holder) =>
        new LockHeld({
          name,
          path: pathOf(name),
          state: result._tag === "Answered" ? "alive" : "hung",
          // What the holder says of itself is shown only when the kernel agrees on its pid.
          holder: Option.filter(holder, (h) => pid === undefined || h.pid === pid),
          pid: Option.fromNullable(pid)
        })
    )

  /** Who holds `address`: nobody (`Gone`), a process of this user (`Ours`), or another user's process (`Squatted`). */
  type Look = { readonly _tag: "Gone" } | { readonly _tag: "Squatted" } | { readonly _tag: "Ours"; readonly error: LockHeld }
  const look = (name: string, address: string): Effect.Effect<Look> =>
    Effect.flatMap(probe(address, options.probeTimeout), (seen): Effect.Effect<Look> => {
      if (seen._tag === "Gone") return Effect.succeed({ _tag: "Gone" })
      const holder = holderOf(address)
      return holder === undefined
        ? Effect.succeed({ _tag: "Squatted" })
        : Effect.map(heldBy(name, seen, holder.pid), (error): Look => ({ _tag: "Ours", error }))
    })

  const lockError = (name: string, problem: string, remedy: string) =>
    new LockError({ name, path: pathOf(name), problem, remedy })

  /** A symlink at the lock path is refused outright: someone is trying to make us write elsewhere. */
  const refuseSymlink = (name: string) =>
    Effect.tryPromise(() => Fs.lstat(pathOf(name))).pipe(
      Effect.option,
      Effect.flatMap((stat) =>
        Option.isSome(stat) && stat.value.isSymbolicLink()
          ? Effect.fail(lockError(name, "the lock file is a symbolic link", `Remove it (rm ${pathOf(name)}) and check who created it.`))
          : Effect.void
      )
    )

  const tryAcquire: LockBackend["tryAcquire"] = (name, token) =>
    Effect.gen(function*() {
      yield* refuseSymlink(name)
      const now = yield* Clock.currentTimeMillis
      // Read by the socket's connection callback, outside any fiber: a plain binding of this handle.
      let owner = yield* newOwner(name, "kernel", token, now)
      const answer = () => encodeOwner(owner)
      /** Listens on the first name that is free; a name of this user's is the holder; squatted names are passed by. */
      const claim = (generation: number): Effect.Effect<{ readonly server: Net.Server; readonly generation: number }, LockHeld | LockError, Scope.Scope> =>
        generation >= GENERATIONS
          ? Effect.fail(lockError(
            name,
            `all ${GENERATIONS} names of this lock are held by processes that are not yours (another user squats them)`,
            "Nothing of yours holds it: use --lock-strategy directory (a lock inside your private runtime directory), and find who squats with `ss -xlp | grep tabmux`."
          ))
          : Effect.gen(function*() {
            const address = addressOf(options.secret, options.locksDir, name, generation)
            // A holder that died between our listen and our look is gone: try again at once, a few times.
            for (let attempt = 0; attempt < 20; attempt++) {
              const listening = yield* Effect.acquireRelease(
                listen(address, answer).pipe(
                  Effect.mapError((e) => lockError(name, `cannot listen on the lock socket (${errorCode(e) ?? String(e)})`, "Run `tabmux doctor`."))
                ),
                (l) => (l._tag === "Listening" ? closeServer(l.server) : Effect.void)
              )
              if (listening._tag === "Listening") return { server: listening.server, generation }
              const seen = yield* look(name, address)
              if (seen._tag === "Ours") return yield* seen.error
              if (seen._tag === "Squatted") return yield* claim(generation + 1)
            }
            return yield* lockError(name, "the lock changed hands too fast to judge", "Try again.")
          })
      const held = yield* claim(0)
      // A process of this user may hold the lock under another name (taken while ours was squatted): then it is the holder.
      for (let generation = 0; generation < GENERATIONS; generation++) {
        if (generation === held.generation) continue
        const seen = yield* look(name, addressOf(options.secret, options.locksDir, name, generation))
        if (seen._tag === "Ours") {
          yield* closeServer(held.server)
          return yield* seen.error
        }
      }
      const write = Effect.suspend(() => writeFileAtomic(pathOf(name), encodeOwner(owner))).pipe(
        Effect.mapError((e) => lockError(name, e.message, "Check the lock directory's permissions, or use another one (--dir / TABMUX_DIR)."))
      )
      yield* write
      yield* Effect.addFinalizer(() =>
        readRecord(name).pipe(
          Effect.flatMap((o) => (Option.isSome(o) && o.value.token === token ? removeFile(pathOf(name)) : Effect.void)),
          Effect.ignore
        )
      )
      return {
        name,
        path: pathOf(name),
        owner,
        lost: Effect.never,
        heartbeat: (at: number) => Effect.suspend(() => {
          owner = { ...owner, heartbeatAt: at }
          return write
        })
      }
    })

  const inspect: LockBackend["inspect"] = (name) =>
    Effect.gen(function*() {
      for (let generation = 0; generation < GENERATIONS; generation++) {
        const seen = yield* look(name, addressOf(options.secret, options.locksDir, name, generation))
        if (seen._tag === "Ours") return { _tag: "Held", error: seen.error } as const
      }
      const leftover = yield* readFileNoFollow(pathOf(name)).pipe(Effect.orElseSucceed(() => "<unreadable>"))
      return { _tag: "Free", leftover: leftover === undefined ? [] : [pathOf(name)] } as const
    })

  return { strategy: "kernel", tryAcquire, inspect, pathOf }
}
