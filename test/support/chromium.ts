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
  /** Terminates the extension's service worker, as Chrome does to an idle one. */
  readonly stopWorker: () => Promise<void>
  readonly close: () => Promise<void>
}

export const chromiumPath = () => Chromium.find()

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
  const workerSocket = async () => {
    if (socket?.readyState === WebSocket.OPEN) return socket
    const url = await waitFor(async () => {
      const targets = (await (await fetch(`http://127.0.0.1:${cdpPort}/json/list`)).json()) as Array<any>
      return targets.find((t) => t.type === "service_worker" && t.url.endsWith("/background.js"))?.webSocketDebuggerUrl
    }, 20_000)
    socket = new WebSocket(await url)
    socket.on("message", (d) => {
      const m = JSON.parse(String(d))
      pending.get(m.id)?.(m)
      pending.delete(m.id)
    })
    await new Promise((r) => socket!.once("open", r))
    return socket
  }
  return {
    cdpPort,
    evaluateInWorker: async (expression) => {
      const ws = await workerSocket()
      const id = nextId++
      const answer = new Promise<any>((r) => pending.set(id, r))
      ws.send(JSON.stringify({ id, method: "Runtime.evaluate", params: { expression, awaitPromise: true, returnByValue: true } }))
      const m = await answer
      if (m.result?.exceptionDetails) throw new Error(JSON.stringify(m.result.exceptionDetails))
      return m.result.result.value
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
      const version = (await (await fetch(`http://127.0.0.1:${cdpPort}/json/version`)).json()) as { webSocketDebuggerUrl: string }
      const session = new WebSocket(version.webSocketDebuggerUrl)
      await new Promise((r) => session.once("open", r))
      const send = (id: number, method: string, params: object) =>
        new Promise<any>((resolve) => {
          const onMessage = (d: unknown) => {
            const m = JSON.parse(String(d))
            if (m.id === id) {
              session.off("message", onMessage)
              resolve(m)
            }
          }
          session.on("message", onMessage)
          session.send(JSON.stringify({ id, method, params }))
        })
      const { result } = await send(1, "Target.getTargets", {})
      const worker = result.targetInfos.find((t: any) => t.type === "service_worker" && t.url.endsWith("/background.js"))
      if (!worker) throw new Error("no extension service worker to stop")
      const closed = await send(2, "Target.closeTarget", { targetId: worker.targetId })
      session.close()
      if (closed.error || closed.result?.success === false) throw new Error(`could not stop the worker: ${JSON.stringify(closed)}`)
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
