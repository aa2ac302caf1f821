/**
 * Keeps this server's registry record current: a heartbeat every interval (so `tabmux
 * status` can tell a hung server from a live one), and at once when the client's name
 * or the extension connection changes.
 */
import { Clock, Effect, Layer, Option, Schedule, Stream } from "effect"
import { Bridge } from "./Bridge.js"
import { ServerConfig } from "./Config.js"
import { Listener } from "./PortClaims.js"
import * as PortRegistry from "./PortRegistry.js"
import { ServerIdentity } from "./ServerIdentity.js"

export const layer = Layer.scopedDiscard(
  Effect.gen(function*() {
    const config = yield* ServerConfig
    const identity = yield* ServerIdentity
    const bridge = yield* Bridge
    const { port } = yield* Listener

    const write = Effect.gen(function*() {
      const extension = Option.map(yield* bridge.extension, (e) => ({
        browser: e.hello.browser,
        extensionVersion: e.hello.extensionVersion,
        connectedAt: e.connectedAt
      }))
      const record = PortRegistry.recordOf(identity, port, {
        clientName: yield* identity.clientName.get,
        now: yield* Clock.currentTimeMillis,
        extension
      })
      yield* PortRegistry.write(config.dir, record)
    }).pipe(Effect.catchAll((e) => Effect.logWarning(`port record not updated: ${e.message}`)))

    const triggers = Stream.merge(
      Stream.fromSchedule(Schedule.spaced(config.heartbeatInterval)),
      Stream.merge(Stream.drop(identity.clientName.changes, 1), Stream.drop(bridge.extensionChanges, 1))
    )
    yield* Effect.forkScoped(Stream.runForEach(triggers, () => write))
  })
)
