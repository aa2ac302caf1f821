/**
 * The whole server as one Layer: config → identity → user secret → (exclusive lock) → port claim →
 * Bridge + WebSocket endpoint + registry heartbeat → MCP. Needs only an MCP transport,
 * so it can be embedded in another Effect program (with `Mcp.McpTransport` from an
 * in-memory pair) as easily as run over stdio.
 */
import { Effect, Layer } from "effect"
import * as BridgeModule from "./Bridge.js"
import { Bridge } from "./Bridge.js"
import { ServerConfig } from "./Config.js"
import * as Heartbeat from "./Heartbeat.js"
import * as InstanceLock from "./InstanceLock.js"
import * as Mcp from "./Mcp.js"
import * as PortClaims from "./PortClaims.js"
import * as ServerIdentity from "./ServerIdentity.js"
import * as SnapshotChanges from "./SnapshotChanges.js"
import * as UserSecret from "./UserSecret.js"
import * as WebSocketServer from "./WebSocketServer.js"
import * as Workspace from "./Workspace.js"

/** The lock an `--exclusive` server holds. */
export const EXCLUSIVE_LOCK = "server"

const bridgeLayer = Layer.effect(Bridge, Effect.flatMap(PortClaims.Listener, (l) => BridgeModule.make({ port: l.port })))

export const layer = (config: ServerConfig) => {
  const configLayer = Layer.succeed(ServerConfig, config)
  const lockLayer = InstanceLock.layer({
    dir: config.dir,
    strategy: config.lockStrategy,
    backend: config.lockBackend,
    backendPassword: config.lockBackendPassword,
    heartbeatInterval: config.heartbeatInterval,
    staleAfter: config.staleAfter
  })
  // A lock that is lost while held (a shared backend that could not be renewed in time) ends
  // this server: it says why and stops (SIGTERM, so its tabs and port are released as usual).
  const exclusive = config.exclusive
    ? Layer.scopedDiscard(Effect.gen(function*() {
      const lock = yield* InstanceLock.InstanceLock
      const handle = yield* lock.acquire(EXCLUSIVE_LOCK)
      yield* Effect.forkScoped(Effect.flatMap(handle.lost, (lost) =>
        Effect.logError(lost.message).pipe(Effect.zipRight(Effect.sync(() => {
          process.exitCode = 3
          process.kill(process.pid, "SIGTERM")
        })))))
    }))
    : Layer.empty
  const listener = PortClaims.listenerLayer.pipe(Layer.provide(exclusive), Layer.provide(PortClaims.layer))
  // What an embedder gets: the Bridge, the claimed port, the server's identity and config. The
  // secret, the lock service, the workspace and the port service stay inside.
  return Layer.mergeAll(WebSocketServer.layer, Heartbeat.layer, Mcp.layer).pipe(
    Layer.provide(Layer.merge(Workspace.layer, SnapshotChanges.layer)),
    Layer.provideMerge(bridgeLayer),
    Layer.provide(UserSecret.layer(config.dir)),
    Layer.provideMerge(listener),
    Layer.provideMerge(ServerIdentity.layer),
    Layer.provide(lockLayer),
    Layer.provideMerge(configLayer)
  )
}
