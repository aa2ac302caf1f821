/**
 * Keeps this server's registry record current: a heartbeat every interval (so `tabmux
 * status` can tell a hung server from a live one), and at once when the client's name
 * or the extension connection changes. Each beat also asks the extension for this agent's
 * lock figures: the record carries their summary, the metrics what changed.
 */
import { Clock, Duration, Effect, Layer, Option, Ref, Schedule, Stream } from "effect"
import { Locks } from "../protocol/index.js"
import { Bridge } from "./Bridge.js"
import { ServerConfig } from "./Config.js"
import * as Metrics from "./Metrics.js"
import { Listener } from "./PortClaims.js"
import * as PortRegistry from "./PortRegistry.js"
import { ServerIdentity } from "./ServerIdentity.js"

export const layer = Layer.scopedDiscard(
  Effect.gen(function*() {
    const config = yield* ServerConfig
    const identity = yield* ServerIdentity
    const bridge = yield* Bridge
    const { port } = yield* Listener

    /** The extension's lock figures at the last poll: what the metrics have been told. */
    const figures = yield* Ref.make<Locks.LockFigures | undefined>(undefined)
    const pollLocks = bridge.call("locks.figures", {}).pipe(
      Effect.tap((next) => Effect.flatMap(Ref.getAndSet(figures, next), (previous) => Metrics.recordLockFigures(previous, next))),
      Effect.map(Locks.summarise),
      // A stalled extension must not hold the heartbeat back (the record would look hung).
      Effect.timeout(Duration.seconds(2)),
      Effect.withTracerEnabled(false),
      Effect.option
    )

    const write = Effect.gen(function*() {
      const connected = yield* bridge.extension
      const extension = Option.map(connected, (e) => ({
        browser: e.hello.browser,
        extensionVersion: e.hello.extensionVersion,
        connectedAt: e.connectedAt
      }))
      const locks = Option.isSome(connected) ? Option.getOrUndefined(yield* pollLocks) : undefined
      const record = PortRegistry.recordOf(identity, port, {
        clientName: yield* identity.clientName.get,
        now: yield* Clock.currentTimeMillis,
        extension,
        locks
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
