/**
 * A Chromium this process starts with the tabmux extension loaded, in a fresh profile
 * that is deleted on close: for the demo, the tests and the benchmarks. The tabmux
 * native-messaging host is installed into that profile for a runtime directory (`dir`,
 * a fresh one by default), so the extension pairs with the servers started on that
 * directory, and only those, with no clicks. DevTools goes over the browser's pipe
 * only (fd 3 and 4 of this process's child: no TCP port another user could reach), and
 * lets the caller evaluate in the extension's service worker (which keeps the worker
 * alive) and in pages. Started detached, killed as a process group.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Effect } from "effect"
import * as Chromium from "./Chromium.js"
import { extensionDir } from "./Extension.js"
import * as NativeHost from "./NativeHost.js"

export class NoBrowser extends Error {
  constructor() {
    super(Chromium.notFound())
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
  /** The browser's targets as DevTools lists them (`attached`: some debugger, the extension's included, is attached). */
  readonly targets: () => Promise<ReadonlyArray<{ readonly targetId: string; readonly type: string; readonly url: string; readonly attached: boolean }>>
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
  const spawn = async () => {
    // The extension goes in through the CDP pipe (as `tabmux browser` does: Google Chrome 137+
    // ignores --load-extension), and the helpers below use that pipe too.
    const running = Chromium.start(binary, [...Chromium.flags({ profile, extension: { by: "pipe" }, headless: options.headless ?? true }), "about:blank"], { detached: true })
    const loaded = await Effect.runPromise(Chromium.loadExtension(running, extensionDir))
    if ("error" in loaded) {
      try {
        if (running.child.exitCode === null && running.child.signalCode === null) process.kill(-running.child.pid!, "SIGKILL")
      } catch {}
      throw new Error(`${binary}: ${loaded.error}`)
    }
    const cdp = {
      attached: running.pipe.attached,
      send: (method: string, params: object = {}, sessionId?: string) =>
        Effect.runPromise(running.pipe.send(method, params, sessionId).pipe(
          Effect.timeoutFail({ duration: "15 seconds", onTimeout: () => new Error(`${method}: no answer within 15 s`) })
        ))
    }
    return { child: running.child, cdp }
  }
  const removeFolders = () => {
    Fs.rmSync(profile, { recursive: true, force: true })
    if (ownDir) Fs.rmSync(dir, { recursive: true, force: true })
  }
  // A browser that cannot start leaves nothing behind: not its profile, not the folder holding the secret.
  let { child, cdp } = await spawn().catch((e) => {
    removeFolders()
    throw e
  })
  // However this process ends, the browser it started ends with it.
  const killGroup = () => {
    // Once the browser is reaped its pid (and so its group's id) may be another's (pid_max can be 32,768).
    if (child.exitCode !== null || child.signalCode !== null) return
    try {
      process.kill(-child.pid!, "SIGKILL")
    } catch {}
  }
  const killed = async () => {
    killGroup()
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once("exit", r)))
  }
  process.once("exit", killGroup)
  const targets = async () => ((await cdp.send("Target.getTargets")).targetInfos as Array<{ targetId: string; type: string; url: string; attached: boolean }>)
  const isWorker = (t: { type: string; url: string }) => t.type === "service_worker" && t.url.endsWith("/background.js")
  /** A flat session on the worker, kept while it lives (attaching keeps the worker alive). */
  let workerSession: string | undefined
  const workerSessionId = async () => {
    if (workerSession !== undefined && cdp.attached.has(workerSession)) return workerSession
    const worker = await waitFor(async () => (await targets()).find(isWorker), 30_000)
    workerSession = (await cdp.send("Target.attachToTarget", { targetId: worker.targetId, flatten: true })).sessionId as string
    return workerSession
  }
  /** One CDP command to the first page whose URL starts with `urlPrefix` (one session per call). */
  const pageCommand = async (urlPrefix: string, method: string, params: object) => {
    const page = await waitFor(async () => (await targets()).find((t) => t.type === "page" && t.url.startsWith(urlPrefix)), 10_000)
    const { sessionId } = await cdp.send("Target.attachToTarget", { targetId: page.targetId, flatten: true })
    try {
      return await cdp.send(method, params, sessionId)
    } finally {
      await cdp.send("Target.detachFromTarget", { sessionId }).catch(() => undefined)
    }
  }
  const browser: Browser = {
    dir,
    profile,
    evaluateInWorker: async (expression) => {
      const evaluate = async () =>
        cdp.send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true }, await workerSessionId())
      // A worker that went away (stopped, restarted) is attached again once.
      const m = await evaluate().catch(() => {
        workerSession = undefined
        return evaluate()
      })
      if (m.exceptionDetails) throw new Error(JSON.stringify(m.exceptionDetails))
      return m.result.value
    },
    targets: () => targets(),
    openPage: async (url) => {
      await cdp.send("Target.createTarget", { url, background: true })
    },
    evaluateInPage: async (urlPrefix, expression) => {
      const m = await pageCommand(urlPrefix, "Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true })
      return m.result.value
    },
    pageCommand,
    stopWorker: async () => {
      if (workerSession !== undefined) await cdp.send("Target.detachFromTarget", { sessionId: workerSession }).catch(() => undefined)
      workerSession = undefined
      const worker = (await targets()).find(isWorker)
      if (!worker) throw new Error("no extension service worker to stop")
      const closed = await cdp.send("Target.closeTarget", { targetId: worker.targetId })
      if (closed?.success === false) throw new Error("could not stop the worker")
      await waitFor(async () => !(await targets()).some((t) => t.targetId === worker.targetId), 10_000)
    },
    restart: async () => {
      workerSession = undefined
      await killed()
      ;({ child, cdp } = await spawn())
    },
    close: async () => {
      process.off("exit", killGroup)
      await killed()
      removeFolders()
    }
  }
  if (options.ports !== undefined) {
    try {
      // Right after launch the worker's target can answer before its extension APIs are bound: retry.
      await waitFor(() => browser.evaluateInWorker<boolean>("typeof chrome === 'object' && !!chrome.storage").catch(() => false), 20_000)
      await browser.evaluateInWorker(`chrome.storage.local.set({ ports: ${JSON.stringify(options.ports)} }).then(() => true)`)
    } catch (e) {
      await browser.close()
      throw e
    }
  }
  return browser
}
