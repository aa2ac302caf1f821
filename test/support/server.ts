/** Spawns the built `tabmux` CLI as a real process, the way an MCP client does. */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"

export const BIN = Path.resolve("dist/tabmux.mjs")

export const tempRuntimeDir = () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-test-"))
  Fs.chmodSync(dir, 0o700)
  return dir
}

export interface Spawned {
  readonly child: ChildProcess.ChildProcess
  readonly stderr: () => string
  readonly stdout: () => string
  /** The port from the "listening on" log line, or the exit code if it exited first. */
  readonly listening: Promise<number>
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export const spawnTabmux = (args: ReadonlyArray<string>, env: Record<string, string>): Spawned => {
  const child = ChildProcess.spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "pipe"]
  })
  let stderr = ""
  let stdout = ""
  child.stdout!.on("data", (d) => (stdout += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal }))
  )
  const listening = new Promise<number>((resolve, reject) => {
    child.stderr!.on("data", (d) => {
      stderr += d
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(stderr)
      if (m) resolve(Number(m[1]))
    })
    exited.then(({ code }) => reject(new Error(`tabmux exited (${code}) before listening:\n${stderr}`)))
  })
  listening.catch(() => {})
  return { child, stderr: () => stderr, stdout: () => stdout, listening, exited }
}

export const readRegistry = (dir: string): Array<any> => {
  const ports = Path.join(dir, "ports")
  if (!Fs.existsSync(ports)) return []
  return Fs.readdirSync(ports).filter((n) => n.endsWith(".json")).map((n) => JSON.parse(Fs.readFileSync(Path.join(ports, n), "utf8")))
}

/** True when 127.0.0.1:port can be bound (nobody holds it). */
export const portIsFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = Net.createServer()
    server.once("error", () => resolve(false))
    server.listen({ port, host: "127.0.0.1" }, () => server.close(() => resolve(true)))
  })


export { waitFor } from "../../src/server/ManagedBrowser.js"
