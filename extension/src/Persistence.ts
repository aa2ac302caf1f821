/**
 * Keeps the instances' state in `chrome.storage.session` (cleared when the browser
 * quits, kept across service worker restarts): written when it changes (checked twice
 * a second), read once at start-up.
 */
import { Duration, Effect, Layer, Option, Schedule, Schema } from "effect"
import { Instances, Snapshot } from "./Instances.js"

const KEY = "tabmux.state"
const SnapshotJson = Schema.parseJson(Snapshot)

export const load: Effect.Effect<Option.Option<Snapshot>> = Effect.promise(() => chrome.storage.session.get(KEY)).pipe(
  Effect.map((stored) => stored[KEY]),
  Effect.flatMap((text) => (text === undefined ? Effect.succeedNone : Effect.asSome(Schema.decodeUnknown(SnapshotJson)(text)))),
  Effect.catchAll((e) => Effect.logWarning(`saved state ignored (unreadable): ${e.message}`).pipe(Effect.as(Option.none())))
)

export const layer = (every: Duration.DurationInput = Duration.millis(500)) =>
  Layer.scopedDiscard(Effect.gen(function*() {
    const instances = yield* Instances
    let last = ""
    const save = Effect.gen(function*() {
      const text = Schema.encodeSync(SnapshotJson)(yield* instances.snapshot)
      if (text === last) return
      yield* Effect.promise(() => chrome.storage.session.set({ [KEY]: text }))
      last = text
    })
    yield* Effect.forkScoped(Effect.repeat(save, Schedule.spaced(every)))
  }))
