/**
 * Real Chromium for end-to-end tests: headless, a fresh profile, the built extension
 * loaded, remote debugging on a free port (read from DevToolsActivePort). Started
 * detached and killed as a process group. `worker` evaluates in the extension's service
 * worker through CDP (which keeps the worker alive: never use it in a lifetime test).
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import WebSocket from "ws"
import * as Chromium from "../../src/server/Chromium.js"
import { waitFor } from "./server.js"

export const EXTENSION_DIR = Path.resolve("dist/extension")

export interface Browser {
  readonly cdpPort: number
  readonly evaluateInWorker: <A>(expression: string) => Promise<A>
  /** Evaluates in the first page whose URL starts with `urlPrefix` (one CDP session per call). */
  readonly evaluateInPage: <A>(urlPrefix: string, expression: string) => Promise<A>
  /** Terminates the extension's service worker, as Chrome does to an idle one; returns once it is gone. */
  readonly stopWorker: () => Promise<void>
  /** Opens a page in a new background tab (through CDP, as a user's click would). */
  readonly openPage: (url: string) => Promise<void>
  readonly close: () => Promise<void>
}

export const launch = async (): Promise<Browser> => {
  const binary = Chromium.find()
  if (!binary) throw new Error("no Chromium found: apt-get install chromium, or set CHROME_PATH")
  const profile = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-chromium-"))
  const child = ChildProcess.spawn(binary, [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    `--user-data-dir=${profile}`, `--load-extension=${EXTENSION_DIR}`, `--disable-extensions-except=${EXTENSION_DIR}`,
    "--remote-debugging-port=0", "about:blank"
  ], { detached: true, stdio: "ignore" })
  const activePort = Path.join(profile, "DevToolsActivePort")
  const cdpPort = await waitFor(() => Fs.existsSync(activePort) && Number(Fs.readFileSync(activePort, "utf8").split("\n")[0]), 20_000)
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
  return {
    cdpPort,
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
      const url = await waitFor(async () => {
        const targets = (await (await fetch(`http://127.0.0.1:${cdpPort}/json/list`)).json()) as Array<any>
        return targets.find((t) => t.type === "page" && t.url.startsWith(urlPrefix))?.webSocketDebuggerUrl
      }, 10_000)
      const page = new WebSocket(url)
      await new Promise((r) => page.once("open", r))
      const answer = new Promise<any>((r) => page.once("message", (d) => r(JSON.parse(String(d)))))
      page.send(JSON.stringify({ id: 1, method: "Runtime.evaluate", params: { expression, awaitPromise: true, returnByValue: true } }))
      const m = await answer
      page.close()
      return m.result.result.value
    },
    stopWorker: async () => {
      socket?.close()
      socket = undefined
      const worker = (await targets()).find(isWorker)
      if (!worker) throw new Error("no extension service worker to stop")
      const closed = await browserCommand("Target.closeTarget", { targetId: worker.id })
      if (closed?.success === false) throw new Error("could not stop the worker")
      await waitFor(async () => !(await targets()).some((t) => t.id === worker.id), 10_000)
    },
    close: async () => {
      socket?.close()
      try {
        process.kill(-child.pid!, "SIGKILL")
      } catch {}
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once("exit", r)))
      Fs.rmSync(profile, { recursive: true, force: true })
    }
  }
}
