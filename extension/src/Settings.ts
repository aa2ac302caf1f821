/**
 * The extension's settings: the port range to scan. A range saved in the options page
 * (`chrome.storage.local`) wins; else the range this browser was started with (`tabmux
 * browser --ports`, told by the native host); else the default.
 */
import { Context, Effect, Layer, Option, Ref } from "effect"
import { DEFAULT_PORTS, parsePortRange, type PortRange } from "../../src/protocol/index.js"
import { Credentials } from "./Credentials.js"

export class Settings extends Context.Tag("tabmux/Settings")<Settings, {
  readonly ports: Effect.Effect<PortRange>
}>() {}

const fromStorage = (value: unknown): Option.Option<PortRange> => {
  if (typeof value !== "string") return Option.none()
  const range = parsePortRange("ports", value)
  return "first" in range ? Option.some(range) : Option.none()
}

export const chromeLayer = Layer.scoped(
  Settings,
  Effect.gen(function*() {
    const credentials = yield* Credentials
    // Listen first, then read: a change made while the read is under way is not lost
    // (it was, when a page set the range just as the worker started).
    const saved = yield* Ref.make(Option.none<PortRange>())
    let changed = false
    const onChanged = (changes: Record<string, chrome.storage.StorageChange>, area: string) => {
      if (area !== "local" || !changes.ports) return
      changed = true
      Effect.runSync(Ref.set(saved, fromStorage(changes.ports.newValue)))
    }
    chrome.storage.onChanged.addListener(onChanged)
    yield* Effect.addFinalizer(() => Effect.sync(() => chrome.storage.onChanged.removeListener(onChanged)))
    const stored = yield* Effect.promise(() => chrome.storage.local.get("ports"))
    if (!changed) yield* Ref.set(saved, fromStorage(stored.ports))
    return {
      ports: Effect.gen(function*() {
        const own = yield* Ref.get(saved)
        if (Option.isSome(own)) return own.value
        return Option.getOrElse((yield* credentials.get).range, () => DEFAULT_PORTS)
      })
    }
  })
)
