/**
 * The user's secret, as the extension learns it: from the tabmux native-messaging host
 * (no clicks: `tabmux install`, or any server, installs it), else from a one-time
 * pairing (the token `tabmux pair` prints, pasted into the options page). With neither,
 * the extension connects to nothing: there is no unauthenticated mode. The host also
 * names the ports of the user's live servers (the registry), so Discovery need not
 * scan, and its open port keeps the service worker alive.
 */
import { Clock, Context, Duration, Effect, Layer, Option, Schema, Stream, SubscriptionRef } from "effect"
import { HostMessage, type HmacKey, importSecret, isHex32, NATIVE_HOST_NAME, type PortRange } from "../../src/protocol/index.js"

export interface CredentialsState {
  readonly key: Option.Option<HmacKey>
  readonly source: "native host" | "pairing" | "none"
  /** Why the native host is not in use, when it is not. */
  readonly hostProblem: string | undefined
  /** Ports of the user's servers, from the host (empty without it). */
  readonly ports: ReadonlyArray<number>
  /** The range to scan that this browser was started with (`tabmux browser --ports`), from the host. */
  readonly range: Option.Option<PortRange>
}

export class Credentials extends Context.Tag("tabmux/Credentials")<Credentials, {
  readonly get: Effect.Effect<CredentialsState>
  readonly changes: Stream.Stream<CredentialsState>
}>() {}

const decodeHostMessage = Schema.decodeUnknownOption(HostMessage)

interface Sources {
  readonly host: Option.Option<HmacKey>
  readonly hostProblem: string | undefined
  readonly ports: ReadonlyArray<number>
  readonly range: Option.Option<PortRange>
  readonly pairing: Option.Option<HmacKey>
}

const derive = (s: Sources): CredentialsState => ({
  key: Option.orElse(s.host, () => s.pairing),
  source: Option.isSome(s.host) ? "native host" : Option.isSome(s.pairing) ? "pairing" : "none",
  hostProblem: s.hostProblem,
  ports: Option.isSome(s.host) ? s.ports : [],
  range: s.range
})

const keyOf = (token: unknown) =>
  typeof token === "string" && isHex32(token.trim()) ? Effect.map(importSecret(token.trim()), Option.some) : Effect.succeed(Option.none())

export const chromeLayer = Layer.scoped(
  Credentials,
  Effect.gen(function*() {
    const sources = yield* SubscriptionRef.make<Sources>({ host: Option.none(), hostProblem: "not tried yet", ports: [], range: Option.none(), pairing: Option.none() })
    const update = (f: (s: Sources) => Effect.Effect<Sources>) => SubscriptionRef.updateEffect(sources, f)

    // Pairing: listen first, then read (a change made meanwhile is not lost).
    const onChanged = (changes: Record<string, chrome.storage.StorageChange>, area: string) => {
      if (area === "local" && changes.pairing) {
        Effect.runFork(update((s) => Effect.map(keyOf(changes.pairing!.newValue), (pairing) => ({ ...s, pairing }))))
      }
    }
    chrome.storage.onChanged.addListener(onChanged)
    yield* Effect.addFinalizer(() => Effect.sync(() => chrome.storage.onChanged.removeListener(onChanged)))
    const stored = yield* Effect.promise(() => chrome.storage.local.get("pairing"))
    yield* update((s) => Effect.map(keyOf(stored.pairing), (pairing) => (Option.isSome(s.pairing) ? s : { ...s, pairing })))

    /** One session with the native host: ends when Chrome closes it (or cannot start it). */
    const session = Effect.async<void>((resume) => {
      let port: chrome.runtime.Port
      try {
        port = chrome.runtime.connectNative(NATIVE_HOST_NAME)
      } catch (e) {
        Effect.runFork(update((s) => Effect.succeed({ ...s, host: Option.none(), hostProblem: String(e) })))
        resume(Effect.void)
        return
      }
      port.onMessage.addListener((message: unknown) => {
        const decoded = decodeHostMessage(message)
        if (Option.isNone(decoded)) return
        const m = decoded.value
        Effect.runFork(update((s) => {
          switch (m.type) {
            case "secret":
              return Effect.map(importSecret(m.secret), (key) => ({ ...s, host: Option.some(key), hostProblem: undefined }))
            case "servers":
              return Effect.succeed({ ...s, ports: m.ports })
            case "range":
              return Effect.succeed({ ...s, range: m.first <= m.last ? Option.some({ first: m.first, last: m.last }) : Option.none() })
            case "error":
              return Effect.succeed({ ...s, host: Option.none(), hostProblem: m.message })
          }
        }))
      })
      port.onDisconnect.addListener(() => {
        const problem = chrome.runtime.lastError?.message ?? "the native host exited"
        Effect.runFork(update((s) => Effect.succeed({ ...s, host: Option.none(), ports: [], hostProblem: problem })))
        resume(Effect.void)
      })
      return Effect.sync(() => port.disconnect())
    })
    // Start the host again when it goes: soon after a session that ran a while, every 30 s
    // while it cannot start (a user may run `tabmux install` at any time).
    yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
      const started = yield* Clock.currentTimeMillis
      yield* session
      const lasted = (yield* Clock.currentTimeMillis) - started
      yield* Effect.sleep(lasted > 10_000 ? Duration.seconds(1) : Duration.seconds(30))
    })))

    return Credentials.of({
      get: Effect.map(SubscriptionRef.get(sources), derive),
      changes: sources.changes.pipe(Stream.map(derive))
    })
  })
)
