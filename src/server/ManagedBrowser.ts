/**
 * A Chromium this process starts with the tabmux extension loaded, in a fresh profile
 * that is deleted on close: for the demo, the tests and the benchmarks. The tabmux
 * native-messaging host is installed into that profile for a runtime directory (`dir`,
 * a fresh one by default), so the extension pairs with the servers started on that
 * directory, and only those, with no clicks. Remote
 * debugging on a free loopback port (read from DevToolsActivePort) lets the caller
 * evaluate in the extension's service worker (which keeps the worker alive) and in
 * pages. Started detached, killed as a process group.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import WebSocket from "ws"
import { Effect } from "effect"
import * as Chromium from "./Chromium.js"
import { extensionDir } from "./Extension.js"
import * as NativeHost from "./NativeHost.js"

export class NoBrowser extends Error {
  constructor() {
    super(`no Chromium or Chrome found (looked at ${Chromium.candidates().join(", ")}): install one (Debian/Ubuntu: apt-get install chromium), or set CHROME_PATH to its binary`)
  }
}

/** Polls `f` every 20 ms until it returns something truthy; fails after `ms`. */
export const waitFor = async <A>(f: () => A | undefined | false | Promise<A | undefined | false>, ms = 5000): Promise<A> => {
  const deadline = Date.now() + ms
  while (true) {
    const v = await f()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting (${ms} ms)`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

export interface Browser {
  readonly cdpPort: number
  /** The runtime directory whose servers the extension pairs with (`TABMUX_DIR` for them). */
  readonly dir: string
  /** The profile (`--user-data-dir`). */
  readonly profile: string
  readonly evaluateInWorker: <A>(expression: string) => Promise<A>
  /** One CDP command to the first page whose URL starts with `urlPrefix`; its result. */
  readonly pageCommand: (urlPrefix: string, method: string, params: object) => Promise<any>
  /** Evaluates in the first page whose URL starts with `urlPrefix` (one CDP session per call). */
  readonly evaluateInPage: <A>(urlPrefix: string, expression: string) => Promise<A>
  /** Kills the browser (as a crash would) and starts it again on the same profile. */
  readonly restart: () => Promise<void>
  /** Terminates the extension's service worker, as Chrome does to an idle one; returns once it is gone. */
  readonly stopWorker: () => Promise<void>
  /** Opens a page in a new background tab (through CDP, as a user's click would). */
  readonly openPage: (url: string) => Promise<void>
  readonly close: () => Promise<void>
}

export interface LaunchOptions {
  /** Without a window (default true). */
  readonly headless?: boolean
  /** The extension's port range, set before it scans (default: its own default). */
  readonly ports?: string
  /** The servers' runtime directory (default: a fresh private one, removed on close). */
  readonly dir?: string
  /** Install the native-messaging host into the profile (default true); without it the extension must be paired by hand. */
  readonly nativeHost?: boolean
}

export const launch = async (options: LaunchOptions = {}): Promise<Browser> => {
  const binary = Chromium.find()
  if (!binary) throw new NoBrowser()
  const profile = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-chromium-"))
  const ownDir = options.dir === undefined
  const dir = options.dir ?? Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-run-"))
  Fs.chmodSync(dir, 0o700)
  if (options.nativeHost ?? true) await Effect.runPromise(NativeHost.installIntoProfile(profile, dir))
  // Downloads stay in the profile (removed with it), not in the user's own folder.
  Fs.mkdirSync(Path.join(profile, "Default"), { recursive: true })
  Fs.writeFileSync(Path.join(profile, "Default", "Preferences"), JSON.stringify({
    download: { default_directory: Path.join(profile, "Downloads"), prompt_for_download: false }
  }))
  const activePort = Path.join(profile, "DevToolsActivePort")
  const spawn = async () => {
    Fs.rmSync(activePort, { force: true })
    // The extension goes in through the CDP pipe (as `tabmux browser` does: Google Chrome 137+
    // ignores --load-extension); the port is for the tests' own CDP helpers.
    const child = ChildProcess.spawn(binary, [
      ...Chromium.flags({ profile, extension: { by: "pipe" }, headless: options.headless ?? true }),
      "--remote-debugging-port=0", "about:blank"
    ], { detached: true, stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"] })
    const loaded = await Effect.runPromise(Chromium.loadUnpacked(child, extensionDir).pipe(Effect.timeout("30 seconds"), Effect.option))
    const refused = loaded._tag === "None" ? "no answer within 30 s" : "error" in loaded.value ? loaded.value.error : undefined
    if (refused !== undefined) {
      child.kill("SIGKILL")
      throw new Error(`${binary} did not load the extension: ${refused}`)
    }
    const port = await waitFor(() => Fs.existsSync(activePort) && Number(Fs.readFileSync(activePort, "utf8").split("\n")[0]), 20_000)
    return { child, port }
  }
  let { child, port: cdpPort } = await spawn()
  // However this process ends, the browser it started ends with it.
  const killGroup = () => {
    try {
      process.kill(-child.pid!, "SIGKILL")
    } catch {}
  }
  const killed = async () => {
    killGroup()
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once("exit", r)))
  }
  process.once("exit", killGroup)
  let socket: WebSocket | undefined
  let nextId = 1
  const pending = new Map<number, (m: any) => void>()
  const targets = async () => (await (await fetch(`http://127.0.0.1:${cdpPort}/json/list`)).json()) as Array<any>
  const isWorker = (t: any) => t.type === "service_worker" && t.url.endsWith("/background.js")
  /** Opens a CDP socket, or `undefined` if it does not open within 5 s (a target that just went away). */
  const connect = (url: string) =>
    new Promise<WebSocket | undefined>((resolve) => {
      const ws = new WebSocket(url)
      const timer = setTimeout(() => {
        ws.terminate()
        resolve(undefined)
      }, 5_000)
      ws.once("open", () => {
        clearTimeout(timer)
        resolve(ws)
      })
      ws.once("error", () => {
        clearTimeout(timer)
        resolve(undefined)
      })
    })
  const workerSocket = async () => {
    if (socket?.readyState === WebSocket.OPEN) return socket
    socket = await waitFor(async () => {
      const url = (await targets()).find(isWorker)?.webSocketDebuggerUrl
      return url === undefined ? undefined : await connect(url)
    }, 30_000)
    socket.on("message", (d) => {
      const m = JSON.parse(String(d))
      pending.get(m.id)?.(m)
      pending.delete(m.id)
    })
    return socket
  }
  /** One command on the browser-level CDP session. */
  const browserCommand = async (method: string, params: object) => {
    const version = (await (await fetch(`http://127.0.0.1:${cdpPort}/json/version`)).json()) as { webSocketDebuggerUrl: string }
    const session = await connect(version.webSocketDebuggerUrl)
    if (session === undefined) throw new Error("cannot reach the browser's CDP endpoint")
    const answer = await new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: no answer within 10 s`)), 10_000)
      session.once("message", (d) => {
        clearTimeout(timer)
        resolve(JSON.parse(String(d)))
      })
      session.send(JSON.stringify({ id: 1, method, params }))
    })
    session.close()
    if (answer.error) throw new Error(`${method}: ${JSON.stringify(answer.error)}`)
    return answer.result
  }
  /** One CDP command to the first page whose URL starts with `urlPrefix` (one session per call). */
  const pageCommand = async (urlPrefix: string, method: string, params: object) => {
    const url = await waitFor(async () => {
      const targets = (await (await fetch(`http://127.0.0.1:${cdpPort}/json/list`)).json()) as Array<any>
      return targets.find((t) => t.type === "page" && t.url.startsWith(urlPrefix))?.webSocketDebuggerUrl
    }, 10_000)
    const page = new WebSocket(url)
    await new Promise((r) => page.once("open", r))
    const answer = new Promise<any>((r) => page.once("message", (d) => r(JSON.parse(String(d)))))
    page.send(JSON.stringify({ id: 1, method, params }))
    const m = await answer
    page.close()
    if (m.error) throw new Error(`${method}: ${JSON.stringify(m.error)}`)
    return m.result
  }
  const browser: Browser = {
    get cdpPort() {
      return cdpPort
    },
    dir,
    profile,
    evaluateInWorker: async (expression) => {
      const ws = await workerSocket()
      const id = nextId++
      const answer = new Promise<any>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer from the worker within 15 s to ${expression.slice(0, 80)}`)), 15_000)
        pending.set(id, (m) => {
          clearTimeout(timer)
          resolve(m)
        })
      })
      ws.send(JSON.stringify({ id, method: "Runtime.evaluate", params: { expression, awaitPromise: true, returnByValue: true } }))
      const m = await answer
      if (m.result?.exceptionDetails) throw new Error(JSON.stringify(m.result.exceptionDetails))
      return m.result.result.value
    },
    openPage: async (url) => {
      await browserCommand("Target.createTarget", { url, background: true })
    },
    evaluateInPage: async (urlPrefix, expression) => {
      const m = await pageCommand(urlPrefix, "Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true })
      return m.result.value
    },
    pageCommand,
    stopWorker: async () => {
      socket?.close()
      socket = undefined
      const worker = (await targets()).find(isWorker)
      if (!worker) throw new Error("no extension service worker to stop")
      const closed = await browserCommand("Target.closeTarget", { targetId: worker.id })
      if (closed?.success === false) throw new Error("could not stop the worker")
      await waitFor(async () => !(await targets()).some((t) => t.id === worker.id), 10_000)
    },
    restart: async () => {
      socket?.close()
      socket = undefined
      await killed()
      ;({ child, port: cdpPort } = await spawn())
    },
    close: async () => {
      socket?.close()
      process.off("exit", killGroup)
      await killed()
      Fs.rmSync(profile, { recursive: true, force: true })
      if (ownDir) Fs.rmSync(dir, { recursive: true, force: true })
    }
  }
  if (options.ports !== undefined) {
    // Right after launch the worker's target can answer before its extension APIs are bound: retry.
    await waitFor(() => browser.evaluateInWorker<boolean>("typeof chrome === 'object' && !!chrome.storage").catch(() => false), 20_000)
    await browser.evaluateInWorker(`chrome.storage.local.set({ ports: ${JSON.stringify(options.ports)} }).then(() => true)`)
  }
  return browser
}
