/**
 * Keeps the agents' state and their leases in `chrome.storage.session` (cleared when the
 * browser quits, kept across service worker restarts): written after each change (changes
 * that come while one is written are written together, once), read once at start-up.
 */
import { Duration, Effect, Layer, Option, Schema, Stream } from "effect"
import { Instances, Snapshot } from "./Instances.js"
import { TabLocks } from "./TabLocks.js"

const KEY = "tabmux.state"
const SnapshotJson = Schema.parseJson(Snapshot)

export const load: Effect.Effect<Option.Option<Snapshot>> = Effect.promise(() => chrome.storage.session.get(KEY)).pipe(
  Effect.map((stored) => stored[KEY]),
  Effect.flatMap((text) => (text === undefined ? Effect.succeedNone : Effect.asSome(Schema.decodeUnknown(SnapshotJson)(text)))),
  Effect.catchAll((e) => Effect.logWarning(`saved state ignored (unreadable): ${e.message}`).pipe(Effect.as(Option.none())))
)

export const layer = (gather: Duration.DurationInput = Duration.millis(50)) =>
  Layer.scopedDiscard(Effect.gen(function*() {
    const instances = yield* Instances
    const locks = yield* TabLocks
    yield* Stream.merge(instances.changes, locks.changes).pipe(
      // One pending change stands for all that come meanwhile.
      Stream.buffer({ capacity: 1, strategy: "sliding" }),
      Stream.tap(() => Effect.sleep(gather)),
      Stream.mapEffect(() => Effect.map(instances.snapshot, Schema.encodeSync(SnapshotJson))),
      Stream.changes,
      Stream.runForEach((text) => Effect.promise(() => chrome.storage.session.set({ [KEY]: text }))),
      Effect.forkScoped
    )
  }))
