/**
 * `tabmux browser`: Chromium or Chrome with the tabmux extension in a profile of its own,
 * for people who would rather not load the extension into their everyday profile. One
 * browser per profile, guarded by the InstanceLock (Chrome would otherwise hand the
 * second start to the first window without a word). The extension is loaded through CDP's
 * `Extensions.loadUnpacked` over `--remote-debugging-pipe`, which Google Chrome 137 and
 * later still allow (they ignore `--load-extension`); the pipe also ties the browser to
 * this process: when tabmux ends, killed or not, the pipe closes and the browser exits.
 * Runs until the browser exits; an interrupt (Ctrl-C) closes the browser.
 */
import { Console, Data, Duration, Effect, Option } from "effect"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Chromium from "../server/Chromium.js"
import { extensionDir } from "../server/Extension.js"
import * as InstanceLock from "../server/InstanceLock.js"
import { directoryProblem } from "../server/OwnedPath.js"
import * as NativeHost from "../server/NativeHost.js"

export class BrowserFailed extends Data.TaggedError("BrowserFailed")<{ readonly message: string }> {}

/** Where the dedicated profile lives by default: with the user's data, not in a temporary or runtime folder (logins persist). */
export const defaultProfile = (env: NodeJS.ProcessEnv = process.env) =>
  process.platform === "win32" && env.LOCALAPPDATA
    ? Path.join(env.LOCALAPPDATA, "tabmux", "browser-profile")
    : process.platform === "darwin"
    ? Path.join(Os.homedir(), "Library", "Application Support", "tabmux", "browser-profile")
    : Path.join(env.XDG_DATA_HOME || Path.join(Os.homedir(), ".local", "share"), "tabmux", "browser-profile")

/** The lock that keeps one browser per profile: named after the profile's full path. */
export const profileLock = (profile: string) => `browser-${Crypto.createHash("sha256").update(Path.resolve(profile)).digest("hex").slice(0, 16)}`

export const browser = (options: {
  readonly profile: string
  readonly headless: boolean
  readonly window?: { readonly width: number; readonly height: number }
  readonly dir: string
  readonly ports: string
}) =>
  Effect.scoped(Effect.gen(function*() {
    const binary = Chromium.find()
    if (binary === undefined) return yield* new BrowserFailed({ message: Chromium.notFound() })
    if (!Fs.existsSync(Path.join(extensionDir, "manifest.json"))) {
      return yield* new BrowserFailed({ message: `the extension is not built at ${extensionDir}: run npm run build` })
    }
    const profile = Path.resolve(options.profile)
    const lock = yield* InstanceLock.InstanceLock
    yield* lock.acquire(profileLock(profile)).pipe(
      Effect.catchTag("LockHeld", (held) => {
        const pid = Option.getOrUndefined(Option.orElse(Option.map(held.holder, (h) => h.pid), () => held.pid))
        return new BrowserFailed({
          message: `a tabmux browser already runs with the profile ${profile}${pid === undefined ? "" : ` (tabmux pid ${pid})`}: ` +
            `use its window, or close it first${pid === undefined ? "" : ` (kill ${pid})`}; or pass another --profile`
        })
      })
    )
    Fs.mkdirSync(profile, { recursive: true, mode: 0o700 })
    // The native host's launcher goes in there, and the browser runs it as the user.
    const problem = directoryProblem(profile)
    if (problem !== undefined) {
      return yield* new BrowserFailed({ message: `the profile ${profile} is not safely yours: ${problem}. Use a profile folder only you can change (--profile)` })
    }
    // Paired with the servers of this runtime directory, with no clicks, and scanning their range.
    yield* NativeHost.installIntoProfile(profile, options.dir, options.ports).pipe(
      Effect.mapError((e) => new BrowserFailed({ message: `cannot install the native-messaging host into ${profile}: ${e.message}` }))
    )
    if (!options.headless && process.platform === "linux" && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
      return yield* new BrowserFailed({ message: "no display here (DISPLAY and WAYLAND_DISPLAY are unset): run `tabmux browser --headless`, or set DISPLAY" })
    }
    const running = yield* Effect.acquireRelease(
      Effect.sync(() => Chromium.start(binary, [...Chromium.flags({ profile, extension: { by: "pipe" }, headless: options.headless, window: options.window }), "about:blank"])),
      ({ child }) => Effect.sync(() => child.exitCode === null && child.signalCode === null && child.kill("SIGTERM"))
    )
    const { child } = running
    const loaded = yield* Chromium.loadExtension(running, extensionDir)
    if ("error" in loaded) return yield* new BrowserFailed({ message: `${binary}: ${loaded.error}` })
    yield* Console.log(`started ${binary} (pid ${child.pid}) with the tabmux extension (${loaded.id}); profile ${profile}${options.headless ? "; headless" : ""}`)
    const code = yield* running.exited
    yield* Console.log(`the browser exited${code === null ? "" : ` (code ${code})`}`)
    if (code !== 0 && code !== null) process.exitCode = code
  }))

export const lockLayer = (dir: string) =>
  InstanceLock.layer({ dir, strategy: "auto", heartbeatInterval: Duration.seconds(5), staleAfter: Duration.seconds(15) })
