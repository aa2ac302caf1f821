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
 * directory): another user cannot compute it, let alone take it first.
 */
import { Clock, Duration, Effect, Option } from "effect"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { errorCode, readFileNoFollow, removeFile, writeFileAtomic } from "../Files.js"
import type { LockBackend } from "./Backend.js"
import { decodeOwner, encodeOwner, LockError, LockHeld, type LockOwner, newOwner } from "./Owner.js"

export const kernelLockSupported = process.platform === "linux" || process.platform === "win32"

const addressOf = (secret: string, dir: string, name: string) => {
  const hash = Crypto.createHmac("sha256", secret).update(`tabmux-lock\0${dir}\0${name}`).digest("hex").slice(0, 32)
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

  const heldBy = (name: string, result: Probe & { _tag: "Answered" | "Silent" }) =>
    Effect.map(
      result._tag === "Answered" ? Effect.succeed(result.owner) : readRecord(name),
      (holder) =>
        new LockHeld({
          name,
          path: pathOf(name),
          state: result._tag === "Answered" ? "alive" : "hung",
          holder,
          pid: Option.none()
        })
    )

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
      const address = addressOf(options.secret, options.locksDir, name)
      yield* refuseSymlink(name)
      const now = yield* Clock.currentTimeMillis
      // Read by the socket's connection callback, outside any fiber: a plain binding of this handle.
      let owner = yield* newOwner(name, "kernel", token, now)
      const answer = () => encodeOwner(owner)
      // A holder that died between our listen and our probe is gone: try again at once, a few times.
      const attempt = Effect.gen(function*() {
        const listening = yield* Effect.acquireRelease(
          listen(address, answer).pipe(
            Effect.mapError((e) => lockError(name, `cannot listen on the lock socket (${errorCode(e) ?? String(e)})`, "Run `tabmux doctor`."))
          ),
          (l) => (l._tag === "Listening" ? closeServer(l.server) : Effect.void)
        )
        if (listening._tag === "Listening") return Option.some(listening.server)
        const seen = yield* probe(address, options.probeTimeout)
        if (seen._tag === "Gone") return Option.none()
        return yield* Effect.flatMap(heldBy(name, seen), Effect.fail)
      })
      yield* attempt.pipe(
        Effect.repeat({ until: (server) => Option.isSome(server), times: 20 }),
        Effect.filterOrFail(Option.isSome, () => lockError(name, "the lock changed hands too fast to judge", "Try again."))
      )
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
      const seen = yield* probe(addressOf(options.secret, options.locksDir, name), options.probeTimeout)
      if (seen._tag !== "Gone") return { _tag: "Held", error: yield* heldBy(name, seen) } as const
      const leftover = yield* readFileNoFollow(pathOf(name)).pipe(Effect.orElseSucceed(() => "<unreadable>"))
      return { _tag: "Free", leftover: leftover === undefined ? [] : [pathOf(name)] } as const
    })

  return { strategy: "kernel", tryAcquire, inspect, pathOf }
}
