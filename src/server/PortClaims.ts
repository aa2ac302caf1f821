/**
 * Claims a loopback port for this server. The kernel is the source of truth: we bind
 * exactly 127.0.0.1 on each port of the range until one succeeds, so two live servers
 * can never share a port and a dead server's port is free the moment it dies. The
 * registry record written beside it only says who holds it.
 */
import { Clock, Context, Data, Effect, FiberSet, Layer, Metric, Option, type Scope } from "effect"
import * as Metrics from "./Metrics.js"
import * as Http from "node:http"
import type { Socket } from "node:net"
import type { Duplex } from "node:stream"
import { clientUid, listenerUids, userName } from "./LoopbackPeers.js"
import * as Throttled from "./Throttled.js"
import { errorCode } from "./Files.js"
import { formatRange, portsOf, type PortRange, ServerConfig } from "./Config.js"
import * as PortRegistry from "./PortRegistry.js"
import { ensurePrivateDir, portsDir, type RuntimeDirError } from "./RuntimeDir.js"
import { ServerIdentity } from "./ServerIdentity.js"

export type UpgradeHandler = (request: Http.IncomingMessage, socket: Duplex, head: Buffer) => void

export interface PortClaim {
  readonly port: number
  /** Bound to 127.0.0.1:port; the Bridge serves WebSocket upgrades on it. */
  readonly server: Http.Server
  /**
   * Hands WebSocket upgrades to `handler`, first those that arrived since the port was
   * bound (a server still starting parks them, so an early extension waits instead of
   * failing and backing off). Returns what detaches the handler.
   */
  readonly serveUpgrades: (handler: UpgradeHandler) => () => void
}

export class PortClaims extends Context.Tag("tabmux/PortClaims")<PortClaims, {
  /** The first free port of the range, held (with its registry record) until the scope closes. */
  readonly claim: Effect.Effect<PortClaim, NoFreePort | PortClaimError | RuntimeDirError, Scope.Scope>
}>() {}

/** The port this server holds. */
export class Listener extends Context.Tag("tabmux/Listener")<Listener, PortClaim>() {}

export interface PortHolder {
  readonly port: number
  readonly record: Option.Option<PortRegistry.PortRecord>
  /** Who listens there, where the system tells (Linux: /proc/net/tcp): uid and user name. */
  readonly owner: Option.Option<{ readonly uid: number; readonly user: string | undefined }>
}

export class NoFreePort extends Data.TaggedError("NoFreePort")<{
  readonly range: PortRange
  readonly holders: ReadonlyArray<PortHolder>
  readonly now: number
}> {
  override get message() {
    const lines = this.holders.map((h) =>
      Option.match(h.record, {
        onNone: () =>
          Option.match(h.owner, {
            onNone: () => `  ${h.port}: in use by a program that is not a registered tabmux server`,
            onSome: (o) =>
              o.uid === process.getuid?.()
                ? `  ${h.port}: in use by another program of yours (uid ${o.uid}), not a registered tabmux server`
                : `  ${h.port}: held by ANOTHER USER, uid ${o.uid}${o.user ? ` (${o.user})` : ""}: not yours, never connected to`
          }),
        onSome: (r) => `  ${h.port}: tabmux pid ${r.pid} "${r.clientName}", up ${PortRegistry.formatAge(this.now - r.startedAt)}`
      })
    )
    return [
      `no free port in ${formatRange(this.range)} (${this.holders.length} in use):`,
      ...lines,
      "Stop servers you no longer use (`tabmux status` lists them), or widen the range with --ports / TABMUX_PORTS " +
      "and set the same range in the extension's options."
    ].join("\n")
  }
}

export class PortClaimError extends Data.TaggedError("PortClaimError")<{ readonly port: number; readonly cause: unknown }> {
  override get message() {
    return `cannot listen on 127.0.0.1:${this.port}: ${String((this.cause as Error)?.message ?? this.cause)}`
  }
}

type Bind = { readonly _tag: "Bound"; readonly server: Http.Server; readonly serveUpgrades: PortClaim["serveUpgrades"] } | { readonly _tag: "Busy" }

/** Parks upgrades until a handler is given; then the handler gets them, parked ones first. */
export const parkUpgrades = (server: Http.Server) => {
  const parked: Array<Parameters<UpgradeHandler>> = []
  const park: UpgradeHandler = (...upgrade) => void parked.push(upgrade)
  server.on("upgrade", park)
  server.once("close", () => {
    for (const [, socket] of parked.splice(0)) socket.destroy()
  })
  return (handler: UpgradeHandler) => {
    server.off("upgrade", park)
    server.on("upgrade", handler)
    for (const [request, socket, head] of parked.splice(0)) if (!socket.destroyed) handler(request, socket, head)
    return () => void server.off("upgrade", handler)
  }
}

/**
 * Binds exactly 127.0.0.1 (never all interfaces, never `localhost`, never reusePort).
 * `admit` sees each connection as it is accepted, before anything is read from it or
 * sent to it.
 */
const bind = (port: number, admit: (socket: Socket) => void) =>
  Effect.async<Bind, PortClaimError>((resume) => {
    // Plain HTTP is never served: answer 403 from the first moment, so a probe that
    // arrives before the WebSocket endpoint is attached is answered, not left hanging.
    const server = Http.createServer((_request, response) => {
      response.writeHead(403, { "content-type": "text/plain" }).end("tabmux: forbidden\n")
    })
    server.once("error", (e) => {
      const code = errorCode(e)
      resume(code === "EADDRINUSE" || code === "EACCES" ? Effect.succeed({ _tag: "Busy" }) : Effect.fail(new PortClaimError({ port, cause: e })))
    })
    server.on("connection", admit)
    const serveUpgrades = parkUpgrades(server)
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => {
      resume(Effect.succeed({ _tag: "Bound", server, serveUpgrades }))
    })
  })

const close = (server: Http.Server) =>
  Effect.async<void>((resume) => {
    server.closeAllConnections()
    server.close(() => resume(Effect.void))
  })

export const make = Effect.gen(function*() {
  const config = yield* ServerConfig
  const identity = yield* ServerIdentity

  const warnForeign = yield* Throttled.warning

  /**
   * Another user's process on the other end is refused before it is read or answered
   * (invariant 9: such a process could relay the extension's proof, DESIGN §6); the
   * same-user proof and the sealed session stand where the system does not say.
   */
  const admitOwnUser = (port: number, run: (effect: Effect.Effect<void>) => unknown) => (socket: Socket) => {
    const mine = process.getuid?.()
    const uid = mine === undefined || socket.remotePort === undefined ? undefined : clientUid(port, socket.remotePort)
    if (uid === undefined || uid === mine) return
    socket.destroy()
    const user = userName(uid)
    run(warnForeign(`refused a connection from another user's process (uid ${uid}${user ? `, ${user}` : ""}): only your own browser may connect`))
  }

  const firstFree = Effect.gen(function*() {
    const run = yield* FiberSet.makeRuntime<never>()
    for (const port of portsOf(config.ports)) {
      yield* Metric.increment(Metrics.portClaimAttempts)
      const bound = yield* Effect.acquireRelease(bind(port, admitOwnUser(port, run)), (b) => (b._tag === "Bound" ? close(b.server) : Effect.void))
      if (bound._tag === "Bound") return Option.some({ port, server: bound.server, serveUpgrades: bound.serveUpgrades })
    }
    return Option.none<PortClaim>()
  })

  const noFreePort = Effect.gen(function*() {
    const uids = listenerUids()
    const holders = yield* Effect.forEach(portsOf(config.ports), (port) =>
      PortRegistry.read(config.dir, port).pipe(
        Effect.orElseSucceed(() => Option.none<PortRegistry.PortRecord>()),
        Effect.map((record): PortHolder => ({
          port,
          record,
          owner: Option.map(Option.fromNullable(uids.get(port)), (uid) => ({ uid, user: userName(uid) }))
        }))
      ))
    return yield* new NoFreePort({ range: config.ports, holders, now: yield* Clock.currentTimeMillis })
  })

  const claim = Effect.gen(function*() {
    yield* ensurePrivateDir(config.dir).pipe(Effect.zipRight(ensurePrivateDir(portsDir(config.dir))))
    const claimed = yield* firstFree
    if (Option.isNone(claimed)) return yield* noFreePort
    const { port } = claimed.value
    const now = yield* Clock.currentTimeMillis
    const record = PortRegistry.recordOf(identity, port, { clientName: yield* identity.clientName.get, now, extension: Option.none() })
    yield* Effect.acquireRelease(
      PortRegistry.write(config.dir, record).pipe(Effect.catchAll((e) => Effect.logWarning(`port record not written: ${e.message}`))),
      () => PortRegistry.removeIfOurs(config.dir, port, identity.token).pipe(Effect.ignore)
    )
    yield* Effect.logInfo(`listening on 127.0.0.1:${port}, waiting for the extension`)
    return claimed.value
  })

  return PortClaims.of({ claim })
})

export const layer = Layer.effect(PortClaims, make)

/** Claims one port for the life of the layer. */
export const listenerLayer = Layer.scoped(Listener, Effect.flatMap(PortClaims, (p) => p.claim))
