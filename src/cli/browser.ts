/**
 * `tabmux browser`: Chromium or Chrome with the tabmux extension in a profile of its own,
 * for people who would rather not load the extension into their everyday profile. One
 * browser per profile, guarded by the InstanceLock (Chrome would otherwise hand the
 * second start to the first window without a word). Runs until the browser exits; an
 * interrupt (Ctrl-C) closes the browser.
 */
import { Console, Data, Duration, Effect, Option } from "effect"
import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Chromium from "../server/Chromium.js"
import { extensionDir } from "../server/Extension.js"
import * as InstanceLock from "../server/InstanceLock.js"
import { NoBrowser } from "../server/ManagedBrowser.js"
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

export const browser = (options: { readonly profile: string; readonly headless: boolean; readonly dir: string }) =>
  Effect.scoped(Effect.gen(function*() {
    const binary = Chromium.find()
    if (binary === undefined) return yield* new BrowserFailed({ message: new NoBrowser().message })
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
    // Paired with the servers of this runtime directory, with no clicks.
    yield* NativeHost.installIntoProfile(profile, options.dir).pipe(
      Effect.mapError((e) => new BrowserFailed({ message: `cannot install the native-messaging host into ${profile}: ${e.message}` }))
    )
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        ChildProcess.spawn(binary, [...Chromium.flags({ profile, extension: extensionDir, headless: options.headless }), "about:blank"], {
          stdio: "ignore"
        })
      ),
      (c) => Effect.sync(() => c.exitCode === null && c.signalCode === null && c.kill("SIGTERM"))
    )
    yield* Console.log(`started ${binary} (pid ${child.pid}) with the tabmux extension; profile ${profile}${options.headless ? "; headless" : ""}`)
    const code = yield* Effect.async<number | null>((resume) => {
      child.once("exit", (c) => resume(Effect.succeed(c)))
    })
    yield* Console.log(`the browser exited${code === null ? "" : ` (code ${code})`}`)
    if (code !== 0 && code !== null) process.exitCode = code
  }))

export const lockLayer = (dir: string) =>
  InstanceLock.layer({ dir, strategy: "auto", heartbeatInterval: Duration.seconds(5), staleAfter: Duration.seconds(15) })
