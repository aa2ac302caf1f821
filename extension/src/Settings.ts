/** The extension's settings (the port range to scan), read from `chrome.storage.local`, kept current. */
import { Context, Effect, Layer, Ref } from "effect"
import { DEFAULT_PORTS, parsePortRange, type PortRange } from "../../src/protocol/index.js"

export class Settings extends Context.Tag("tabmux/Settings")<Settings, {
  readonly ports: Effect.Effect<PortRange>
}>() {}

const fromStorage = (value: unknown): PortRange => {
  if (typeof value !== "string") return DEFAULT_PORTS
  const range = parsePortRange("ports", value)
  return "first" in range ? range : DEFAULT_PORTS
}

export const chromeLayer = Layer.scoped(
  Settings,
  Effect.gen(function*() {
    // Listen first, then read: a change made while the read is under way is not lost
    // (it was, when a page set the range just as the worker started).
    const ports = yield* Ref.make(DEFAULT_PORTS)
    let changed = false
    const onChanged = (changes: Record<string, chrome.storage.StorageChange>, area: string) => {
      if (area !== "local" || !changes.ports) return
      changed = true
      Effect.runSync(Ref.set(ports, fromStorage(changes.ports.newValue)))
    }
    chrome.storage.onChanged.addListener(onChanged)
    yield* Effect.addFinalizer(() => Effect.sync(() => chrome.storage.onChanged.removeListener(onChanged)))
    const stored = yield* Effect.promise(() => chrome.storage.local.get("ports"))
    if (!changed) yield* Ref.set(ports, fromStorage(stored.ports))
    return { ports: Ref.get(ports) }
  })
)

