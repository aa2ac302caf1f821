/**
 * Footprint: start-up time to ready and RSS of a tabmux server process idle and busy;
 * InstanceLock acquire + release, both strategies; PortClaims claim + release with 0
 * and with 31 of 32 ports taken.
 * Usage: node bench/run.mjs footprint [starts=10]
 */
import { Duration, Effect, Layer, Logger, LogLevel } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import * as InstanceLock from "../src/server/InstanceLock.js"
import * as PortClaims from "../src/server/PortClaims.js"
import * as ServerConfig from "../src/server/Config.js"
import * as ServerIdentity from "../src/server/ServerIdentity.js"
import { launch } from "../test/support/chromium.js"
import { serveFixtures } from "../test/support/fixtures.js"
import { BENCH_PORTS, BIN, json, round, rssMb, stats, table, tabmux, tempDir, text } from "./lib.js"

const starts = Number(process.argv[2] ?? 10)
const rows: Array<Record<string, unknown>> = []
const figures: Record<string, unknown> = {}

// Start-up and idle memory, tabmux beside its peers, each spawned as an MCP client spawns
// it: "answered" = its answer to `initialize` (sent at spawn) arrived; tabmux's "listening" =
// ready for the extension. Idle RSS 1 s after start, and once V8's memory reducer has run
// (30 s idle; one server each).
{
  const dir = tempDir("tabmux-bench-")
  const cwd = tempDir("tabmux-bench-peers-")
  const servers: ReadonlyArray<{ readonly name: string; readonly args: ReadonlyArray<string> }> = [
    { name: "tabmux", args: [BIN, "--ports", "18750-18760"] },
    { name: "playwright-mcp", args: [Path.resolve("node_modules/@playwright/mcp/cli.js"), "--headless", "--isolated"] },
    { name: "chrome-devtools-mcp", args: [Path.resolve("node_modules/chrome-devtools-mcp/build/src/bin/chrome-devtools-mcp.js"), "--headless", "--isolated"] }
  ]
  const initialize = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "1" } } })
  const spawn = (args: ReadonlyArray<string>) => {
    const t0 = performance.now()
    const child = ChildProcess.spawn(process.execPath, args, { cwd, env: { ...process.env, TABMUX_DIR: dir }, stdio: ["pipe", "pipe", "pipe"] })
    child.stdin.write(`${initialize}\n`)
    let out = "", err = ""
    const answered = new Promise<number>((resolve, reject) => {
      child.stdout.on("data", (d) => {
        out += d
        if (out.includes(`"id":1`)) resolve(performance.now() - t0)
      })
      child.once("exit", () => reject(new Error(`exited before answering: ${err.slice(-500)}`)))
    })
    const listening = new Promise<number>((resolve) => {
      child.stderr.on("data", (d) => {
        err += d
        if (err.includes("listening on")) resolve(performance.now() - t0)
      })
    })
    const stop = async () => {
      child.stdin.end()
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000)
      if (child.exitCode === null) await new Promise((r) => child.once("exit", r))
      clearTimeout(timer)
    }
    return { child, answered, listening, stop }
  }
  for (const server of servers) {
    try {
      const answered: Array<number> = [], listening: Array<number> = [], idle: Array<number> = []
      for (let i = 0; i < starts; i++) {
        const s = spawn(server.args)
        answered.push(await s.answered)
        if (server.name === "tabmux") listening.push(await s.listening)
        await new Promise((r) => setTimeout(r, 1000))
        idle.push(rssMb(s.child.pid!))
        await s.stop()
      }
      const settled = spawn(server.args)
      await settled.answered
      await new Promise((r) => setTimeout(r, 30_000))
      const settledMb = rssMb(settled.child.pid!)
      await settled.stop()
      const a = stats(answered), m = stats(idle)
      rows.push({ figure: `${server.name}: spawn → initialize answered (${starts} starts)`, p50: `${round(a.p50, 0)} ms`, max: `${round(Math.max(...answered), 0)} ms` })
      if (listening.length > 0) {
        const l = stats(listening)
        rows.push({ figure: `${server.name}: spawn → listening for the extension`, p50: `${round(l.p50, 0)} ms`, max: `${round(Math.max(...listening), 0)} ms` })
        figures[`${server.name}_listeningMs`] = l
      }
      rows.push({ figure: `${server.name}: idle RSS, 1 s after start`, p50: `${round(m.p50)} MB`, max: `${round(Math.max(...idle))} MB` })
      rows.push({ figure: `${server.name}: idle RSS, 30 s after start`, p50: `${round(settledMb)} MB`, max: "(one server)" })
      figures[`${server.name}_answeredMs`] = a
      figures[`${server.name}_idleRssMb`] = m
      figures[`${server.name}_settledRssMb`] = settledMb
    } catch (e) {
      rows.push({ figure: `${server.name}: start-up`, p50: "unavailable", max: String((e as Error).message).slice(0, 120) })
    }
  }
  for (const d of [dir, cwd]) Fs.rmSync(d, { recursive: true, force: true })
}

// Busy memory: a server driving a real page through the extension, sampled while it works.
{
  const fixtures = await serveFixtures()
  const browser = await launch({ ports: BENCH_PORTS })
  try {
    const agent = await tabmux("bench-busy", browser.dir)
    await agent.call("browser_tabs", { action: "new" })
    const samples: Array<number> = []
    const sampler = setInterval(() => samples.push(rssMb(agent.transport.pid!)), 100)
    for (let i = 0; i < 100; i++) {
      await agent.call("browser_navigate", { url: `${fixtures.base}/${i % 2 ? "form" : "article"}` })
      const snap = text(await agent.call("browser_snapshot"))
      const ref = /\[ref=(s\d+e\d+)\]/.exec(snap)?.[1]
      if (ref) await agent.call("browser_click", { ref })
    }
    clearInterval(sampler)
    const after = rssMb(agent.transport.pid!)
    rows.push({ figure: "busy server RSS (300 calls: navigate, snapshot, click)", p50: `${round(stats(samples).p50)} MB`, max: `${round(Math.max(...samples))} MB (after: ${round(after)} MB)` })
    figures.busyRssMb = { ...stats(samples), max: Math.max(...samples), after }
    await agent.close()
  } finally {
    await browser.close()
    fixtures.close()
  }
}

// InstanceLock: acquire + release of an uncontended lock.
for (const strategy of ["kernel", "directory"] as const) {
  const dir = tempDir("tabmux-bench-lock-")
  const times = await Effect.runPromise(Effect.gen(function*() {
    const lock = yield* InstanceLock.InstanceLock
    const out: Array<number> = []
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now()
      yield* Effect.scoped(lock.acquire("bench"))
      out.push(performance.now() - t0)
    }
    return out
  }).pipe(Effect.provide(InstanceLock.layer({ dir, strategy, heartbeatInterval: Duration.seconds(5), staleAfter: Duration.seconds(15) }))))
  const s = stats(times.slice(20))
  rows.push({ figure: `InstanceLock acquire + release (${strategy})`, p50: `${round(s.p50, 2)} ms`, max: `p99 ${round(s.p99, 2)} ms` })
  figures[`lock_${strategy}`] = s
  Fs.rmSync(dir, { recursive: true, force: true })
}

// PortClaims: claim + release with none, and with 31 of the 32 ports held by others.
for (const taken of [0, 31]) {
  const dir = tempDir("tabmux-bench-ports-")
  const first = 18800
  const blockers = await Promise.all(Array.from({ length: taken }, (_, i) => new Promise<Net.Server>((resolve) => {
    const s = Net.createServer()
    s.listen(first + i, "127.0.0.1", () => resolve(s))
  })))
  const config = ServerConfig.make({ ports: { first, last: first + 31 }, dir, allowOrigins: [] })
  const times = await Effect.runPromise(Effect.gen(function*() {
    const claims = yield* PortClaims.PortClaims
    const out: Array<number> = []
    for (let i = 0; i < 100; i++) {
      const t0 = performance.now()
      yield* Effect.scoped(claims.claim)
      out.push(performance.now() - t0)
    }
    return out
  }).pipe(
    Effect.provide(PortClaims.layer.pipe(Layer.provideMerge(ServerIdentity.layer), Layer.provideMerge(Layer.succeed(ServerConfig.ServerConfig, config)))),
    Effect.provide(Logger.minimumLogLevel(LogLevel.None))
  ))
  for (const b of blockers) b.close()
  const s = stats(times.slice(10))
  rows.push({ figure: `PortClaims claim + release, ${taken} of 32 ports taken`, p50: `${round(s.p50, 2)} ms`, max: `p99 ${round(s.p99, 2)} ms` })
  figures[`claim_${taken}_taken`] = s
  Fs.rmSync(dir, { recursive: true, force: true })
}

table("Footprint", rows)
json("footprint", figures)
