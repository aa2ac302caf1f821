/**
 * The extension's service worker: an Effect program. Discovery finds servers, each
 * connection becomes an instance with its own tabs, every tab operation runs under
 * that tab's lock. Nothing here is global but what Chrome itself demands.
 */
import { Duration, Effect, Layer, Logger, LogLevel } from "effect"
import * as ChromeBrowser from "./ChromeBrowser.js"
import * as Credentials from "./Credentials.js"
import * as Discovery from "./Discovery.js"
import * as Driver from "./Driver.js"
import * as Instances from "./Instances.js"
import * as TabSessions from "./TabSessions.js"
import * as Persistence from "./Persistence.js"
import * as Settings from "./Settings.js"
import * as Sockets from "./Sockets.js"
import * as Status from "./Status.js"
import * as TabLocks from "./TabLocks.js"

// Chrome wakes a suspended worker only for listeners registered in the first turn: the
// alarm (every 30 s) restarts discovery if the worker was suspended anyway.
chrome.alarms.onAlarm.addListener(() => {})
chrome.alarms.create("tabmux-wake", { periodInMinutes: 0.5 }).catch(() => undefined)

const browserName = (() => {
  const brands = (navigator as { userAgentData?: { brands?: Array<{ brand: string; version: string }> } }).userAgentData?.brands ?? []
  const main = brands.find((b) => !/Not.A.Brand/i.test(b.brand) && b.brand !== "Chromium") ?? brands.find((b) => b.brand === "Chromium")
  return main ? `${main.brand} ${main.version}` : navigator.userAgent
})()

const program = Effect.gen(function*() {
  const saved = yield* Persistence.load
  const App = Layer.mergeAll(
    Discovery.layer({
      extensionVersion: chrome.runtime.getManifest().version,
      browser: browserName,
      handshakeTimeout: Duration.seconds(5),
      silenceLimit: Duration.seconds(60),
      scanEvery: Duration.seconds(1)
    }),
    Status.layer,
    Persistence.layer()
  ).pipe(
    Layer.provideMerge(Instances.layer(saved)),
    Layer.provideMerge(TabLocks.layer),
    Layer.provideMerge(ChromeBrowser.layer),
    Layer.provideMerge(TabSessions.layer),
    Layer.provideMerge(Driver.chromeLayer),
    Layer.provideMerge(Settings.chromeLayer),
    Layer.provideMerge(Credentials.chromeLayer),
    Layer.provideMerge(Sockets.browserLayer)
  )
  return yield* Layer.launch(App)
})

Effect.runFork(program.pipe(Effect.provide(Logger.minimumLogLevel(LogLevel.Info))))
