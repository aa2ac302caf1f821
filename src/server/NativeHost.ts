/**
 * Installs the tabmux native-messaging host for this user, so the extension can learn
 * the user's secret with no clicks. Chrome finds a host by its manifest: per browser, a
 * `NativeMessagingHosts/<name>.json` file in the browser's config folder (Linux, macOS;
 * also in any `--user-data-dir`), or a registry value under HKCU (Windows). The
 * manifest names a launcher script (private to the user) that runs
 * `node <tabmux> native-host`, and allows only the tabmux extension's origin.
 */
import { Effect } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { NATIVE_HOST_NAME } from "../protocol/index.js"
import { defaultOrigin, packageRoot } from "./Extension.js"
import { fileOp, removeFile, writeFileAtomic } from "./Files.js"

export interface Location {
  readonly browser: string
  /** The folder Chrome reads host manifests from (Linux, macOS), or where Windows keeps ours. */
  readonly dir: string
  /** Windows: the registry key whose default value names the manifest. */
  readonly registryKey?: string
}

const home = Os.homedir()

/** Where each Chromium-family browser looks for a user's host manifests. */
export const locations = (platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): ReadonlyArray<Location> => {
  if (platform === "win32") {
    const dir = Path.join(env.LOCALAPPDATA ?? Path.join(home, "AppData", "Local"), "tabmux")
    return [
      ["Google Chrome", "Google\\Chrome"],
      ["Chromium", "Chromium"],
      ["Microsoft Edge", "Microsoft\\Edge"],
      ["Brave", "BraveSoftware\\Brave-Browser"]
    ].map(([browser, key]) => ({ browser: browser!, dir, registryKey: `HKCU\\Software\\${key}\\NativeMessagingHosts\\${NATIVE_HOST_NAME}` }))
  }
  const base = platform === "darwin" ? Path.join(home, "Library", "Application Support") : (env.XDG_CONFIG_HOME || Path.join(home, ".config"))
  const folders: ReadonlyArray<[string, string]> = platform === "darwin"
    ? [["Google Chrome", "Google/Chrome"], ["Chromium", "Chromium"], ["Microsoft Edge", "Microsoft Edge"], ["Brave", "BraveSoftware/Brave-Browser"]]
    : [["Google Chrome", "google-chrome"], ["Google Chrome Beta", "google-chrome-beta"], ["Chromium", "chromium"], ["Microsoft Edge", "microsoft-edge"], [
      "Brave",
      "BraveSoftware/Brave-Browser"
    ]]
  return folders.map(([browser, folder]) => ({ browser, dir: Path.join(base, folder, "NativeMessagingHosts") }))
}

/** The built CLI the launcher runs. */
export const cliPath = () => Path.join(packageRoot, "dist", "tabmux.mjs")

/** Where `tabmux install` keeps the launcher: with the user's data, private. */
export const launcherDir = (env: NodeJS.ProcessEnv = process.env) =>
  process.platform === "win32"
    ? Path.join(env.LOCALAPPDATA ?? Path.join(home, "AppData", "Local"), "tabmux")
    : process.platform === "darwin"
    ? Path.join(home, "Library", "Application Support", "tabmux")
    : Path.join(env.XDG_DATA_HOME || Path.join(home, ".local", "share"), "tabmux")

const launcherName = process.platform === "win32" ? "native-host.bat" : "native-host.sh"

const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** The launcher's text: node, the CLI, `native-host`, and the runtime directory when one is fixed. */
const launcher = (runtimeDir: string, ports?: string) => {
  const args = ["native-host", "--dir", runtimeDir, ...(ports === undefined ? [] : ["--ports", ports])]
  return process.platform === "win32"
    ? `@echo off\r\n${[process.execPath, cliPath(), ...args].map((a) => `"${a}"`).join(" ")}\r\n`
    : `#!/bin/sh\n# tabmux native-messaging host: started by the browser for the tabmux extension.\nexec ${
      [process.execPath, cliPath(), ...args].map(shQuote).join(" ")
    }\n`
}

const manifest = (launcherPath: string) =>
  `${
    JSON.stringify(
      {
        name: NATIVE_HOST_NAME,
        description: "tabmux: tells the tabmux extension this user's secret and servers",
        path: launcherPath,
        type: "stdio",
        allowed_origins: [`${defaultOrigin()}/`]
      },
      null,
      2
    )
  }\n`

const manifestFile = (dir: string) => Path.join(dir, `${NATIVE_HOST_NAME}.json`)

const mkdirPrivate = (dir: string) => fileOp("create", dir, () => Fs.mkdir(dir, { recursive: true, mode: 0o700 }))

const writeLauncher = (dir: string, runtimeDir: string, ports?: string) =>
  Effect.gen(function*() {
    yield* mkdirPrivate(dir)
    const path = Path.join(dir, launcherName)
    yield* writeFileAtomic(path, launcher(runtimeDir, ports))
    yield* fileOp("chmod", path, () => Fs.chmod(path, 0o700))
    return path
  })

const reg = (args: ReadonlyArray<string>) =>
  Effect.async<boolean>((resume) => {
    ChildProcess.execFile("reg", [...args], { windowsHide: true }, (error) => resume(Effect.succeed(error === null)))
  })

/**
 * Installs the host for every browser this user may run. The runtime directory is
 * written into the launcher, so the host reads the servers' secret whatever environment
 * the browser was started with.
 */
export const install = (options: { readonly runtimeDir: string }) =>
  Effect.gen(function*() {
    const launcherPath = yield* writeLauncher(launcherDir(), options.runtimeDir)
    const installed: Array<string> = []
    /** Browsers that never ran as this user (no config folder): nothing is written for them. */
    const absent: Array<string> = []
    for (const location of locations()) {
      if (!(yield* present(location))) {
        absent.push(location.browser)
        continue
      }
      yield* mkdirPrivate(location.dir)
      yield* writeFileAtomic(manifestFile(location.dir), manifest(launcherPath))
      if (location.registryKey !== undefined) {
        const ok = yield* reg(["add", location.registryKey, "/ve", "/t", "REG_SZ", "/d", manifestFile(location.dir), "/f"])
        if (!ok) continue
      }
      installed.push(`${location.browser}: ${location.registryKey ?? manifestFile(location.dir)}`)
    }
    return { launcher: launcherPath, installed, absent }
  })

/** Whether the browser has run as this user: its config folder exists (on Windows, tabmux's own folder holds the manifests). */
const present = (location: Location) => location.registryKey !== undefined ? Effect.succeed(true) : exists(Path.dirname(location.dir))

/** Installs the host into one browser profile (`--user-data-dir`): the demo's, the tests', `tabmux browser`'s. */
/** Installs the host into one browser profile only (`tabmux browser`, tests); with `ports`, it also tells that browser's extension the range to scan. */
export const installIntoProfile = (profile: string, runtimeDir: string, ports?: string) =>
  Effect.gen(function*() {
    const dir = Path.join(profile, "NativeMessagingHosts")
    const launcherPath = yield* writeLauncher(dir, runtimeDir, ports)
    yield* writeFileAtomic(manifestFile(dir), manifest(launcherPath))
    return manifestFile(dir)
  })

export const uninstall = Effect.gen(function*() {
  const removed: Array<string> = []
  for (const location of locations()) {
    if (location.registryKey !== undefined) yield* reg(["delete", location.registryKey, "/f"])
    const file = manifestFile(location.dir)
    if (yield* exists(file)) {
      yield* removeFile(file)
      removed.push(`${location.browser}: ${file}`)
    }
  }
  yield* removeFile(Path.join(launcherDir(), launcherName))
  return removed
})

const exists = (path: string) => Effect.promise(() => Fs.lstat(path).then(() => true, () => false))

/** What is installed: for each browser, whether its manifest is there and names a launcher that runs an existing tabmux. */
export const check = Effect.gen(function*() {
  const launcherPath = Path.join(launcherDir(), launcherName)
  const launcherText = yield* Effect.promise(() => Fs.readFile(launcherPath, "utf8").catch(() => undefined))
  const launcherOk = launcherText !== undefined && launcherText.includes(cliPath()) && (yield* exists(cliPath()))
  const browsers = yield* Effect.forEach(locations(), (l) => Effect.all({ installed: exists(manifestFile(l.dir)), present: present(l) }).pipe(Effect.map((s) => ({ ...l, ...s }))))
  /** The runtime directory the launcher hands the host. */
  const runtimeDir = /native-host["']? ["']?--dir["']? ["'](.*)["']\s*$/m.exec(launcherText ?? "")?.[1]?.replace(/'\\''/g, "'")
  // Every browser that has run as this user has the host (one started since the last install gets it too).
  return { launcher: launcherPath, launcherOk, runtimeDir, browsers, ok: launcherOk && browsers.some((b) => b.installed) && browsers.every((b) => b.installed || !b.present) }
})

/**
 * Installs the host when it is missing, or runs a tabmux that is gone; returns where it
 * installed it (nothing when it was in place already), for the server to say on stderr.
 */
export const ensureInstalled = (runtimeDir: string) =>
  Effect.flatMap(check, (state) =>
    state.ok ? Effect.succeed<ReadonlyArray<string>>([]) : Effect.map(install({ runtimeDir }), (r) => r.installed))
