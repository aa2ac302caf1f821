/**
 * Footprint: start-up time to ready and RSS of a tabmux server process idle and busy;
 * InstanceLock acquire + release, both strategies; PortClaims claim + release with 0
 * and with 31 of 32 ports taken.
 * Usage: node bench/run.mjs footprint [starts=10]
 */
import { Duration, Effect, Layer, Logger, LogLevel } from "effect"
import * as ChildProcess from "node:child_process"
import * as Net from "node:net"
import * as InstanceLock from "../src/server/InstanceLock.js"
import * as PortClaims from "../src/server/PortClaims.js"
import * as ServerConfig from "../src/server/Config.js"
import * as ServerIdentity from "../src/server/ServerIdentity.js"
import { launch } from "../test/support/chromium.js"
import { serveFixtures } from "../test/support/fixtures.js"
import { BIN, json, round, rssMb, stats, table, tabmux, tempDir, text } from "./lib.js"

const starts = Number(process.argv[2] ?? 10)
const rows: Array<Record<string, unknown>> = []
const figures: Record<string, unknown> = {}

// Start-up and idle memory: spawned as an MCP client spawns it; "ready" = listening for the extension.
{
  const dir = tempDir("tabmux-bench-")
  const ready: Array<number> = []
  const idle: Array<number> = []
  for (let i = 0; i < starts; i++) {
    const t0 = performance.now()
    const child = ChildProcess.spawn(process.execPath, [BIN, "--ports", "18750-18760"], { env: { ...process.env, TABMUX_DIR: dir }, stdio: ["pipe", "ignore", "pipe"] })
    let err = ""
    await new Promise<void>((resolve, reject) => {
      child.stderr.on("data", (d) => {
        err += d
        if (err.includes("listening on")) resolve()
      })
      child.once("exit", () => reject(new Error(err)))
    })
    ready.push(performance.now() - t0)
    await new Promise((r) => setTimeout(r, 1000))
    idle.push(rssMb(child.pid!))
    child.stdin.end()
    await new Promise((r) => child.once("exit", r))
  }
  const r = stats(ready), m = stats(idle)
  rows.push({ figure: `spawn → listening (${starts} starts)`, p50: `${round(r.p50, 0)} ms`, max: `${round(Math.max(...ready), 0)} ms` })
  rows.push({ figure: "idle server RSS, 1 s after start", p50: `${round(m.p50)} MB`, max: `${round(Math.max(...idle))} MB` })
  figures.readyMs = r
  figures.idleRssMb = m
}

// Busy memory: a server driving a real page through the extension, sampled while it works.
{
  const fixtures = await serveFixtures()
  const browser = await launch()
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
}

table("Footprint", rows)
json("footprint", figures)
