/**
 * Routing overhead: what tabmux adds between an agent and the browser.
 * 1. In process: an MCP tool call through the whole server Layer (MCP SDK → tool →
 *    Bridge → WebSocket → a peer that answers at once → back), no browser.
 * 2. Real: an MCP call over stdio to a tabmux process whose work is one protocol call
 *    answered by the extension in headless Chromium from memory (`browser_instances`).
 * 3. The real path again with traces exported to a receiver here: each call split, from its
 *    spans, into the server's part, the way to the extension and back, and the worker's part.
 * Both against the floor measured in the same run: a bare loopback WebSocket round trip.
 * Usage: node bench/run.mjs routing [calls=1000]
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js"
import { Duration, Effect, Exit, Layer, Scope } from "effect"
import * as Fs from "node:fs"
import * as Http from "node:http"
import WebSocket, { WebSocketServer } from "ws"
import { Config, Mcp, PortClaims, TabmuxServer } from "../src/index.js"
import { launch } from "../test/support/chromium.js"
import { connectAsExtension, secretOf } from "../test/support/peer.js"
import { BENCH_PORTS, json, round, stats, table, tabmux, tempDir } from "./lib.js"

const calls = Number(process.argv[2] ?? 1000)
const ORIGIN = "chrome-extension://abcdefghijklmnopabcdefghijklmnop"
const tabs = [{ tab: "t1", url: "http://127.0.0.1/", title: "Bench", current: true, shared: false }]

const time = async (n: number, f: () => Promise<unknown>) => {
  for (let i = 0; i < Math.min(200, n); i++) await f() // warm-up
  const out: Array<number> = []
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    await f()
    out.push(performance.now() - t)
  }
  return out
}

// The floor: a bare ws round trip with a typical payload.
const floorServer = new WebSocketServer({ host: "127.0.0.1", port: 0 })
await new Promise((r) => floorServer.once("listening", r))
floorServer.on("connection", (ws) => ws.on("message", (d) => ws.send(d)))
const floorWs = new WebSocket(`ws://127.0.0.1:${(floorServer.address() as { port: number }).port}`)
await new Promise((r) => floorWs.once("open", r))
const payload = JSON.stringify({ type: "result", id: 1, ok: true, value: { tabs } })
const floor = await time(calls, () => new Promise((r) => { floorWs.once("message", r); floorWs.send(payload) }))
floorWs.close()
floorServer.close()

// 1. In process.
const dir = tempDir("tabmux-bench-")
const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
const config = Config.make({ ports: { first: 18700, last: 18731 }, dir, allowOrigins: [ORIGIN], connectWait: Duration.seconds(5) })
const scope = Effect.runSync(Scope.make())
const context = await Effect.runPromise(Layer.buildWithScope(TabmuxServer.layer(config).pipe(Layer.provide(Layer.succeed(Mcp.McpTransport, serverSide))), scope))
const { port } = await Effect.runPromise(Effect.provide(PortClaims.Listener, context))
const peer = new WebSocket(`ws://127.0.0.1:${port}`, { headers: { Origin: ORIGIN } })
await new Promise((r) => peer.once("open", r))
await connectAsExtension(peer, {
  port,
  secret: await secretOf(dir),
  browser: "bench",
  onFrame: (f, self) => {
    self.frames.length = 0
    if (f.type === "call") void self.send({ type: "result", id: f.id, ok: true, value: { tabs } })
  }
})
const client = new Client({ name: "bench", version: "1" })
await client.connect(clientSide)
const inProcess = await time(calls, () => client.callTool({ name: "browser_tabs", arguments: { action: "list" } }))
await client.close()
peer.close()
await Effect.runPromise(Scope.close(scope, Exit.void))

// 2. Real: stdio, a tabmux process, the extension in Chromium.
// 3. The same, traced (OTLP/JSON to a receiver here): each call split into the server's part,
//    the way to the extension and back, and the extension's own handling, from the spans.
const spans: Array<any> = []
const receiver = Http.createServer((req, res) => {
  let body = ""
  req.on("data", (d) => (body += d))
  req.on("end", () => {
    if (req.url === "/v1/traces") {
      for (const r of JSON.parse(body).resourceSpans ?? []) for (const sc of r.scopeSpans ?? []) spans.push(...(sc.spans ?? []))
    }
    res.writeHead(200).end("{}")
  })
})
await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r))
const browser = await launch({ ports: BENCH_PORTS })
let real: Array<number> = []
let ping: Array<number> = []
const split: Record<string, Array<number>> = { tool: [], bridge: [], extension: [], transit: [] }
try {
  const agent = await tabmux("bench-routing", browser.dir)
  ping = await time(calls, () => agent.client.ping())
  real = await time(calls, () => agent.call("browser_instances"))
  await agent.close()
  const traced = await tabmux("bench-routing-traced", browser.dir, {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as { port: number }).port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_BSP_SCHEDULE_DELAY: "200"
  })
  await time(Math.min(calls, 300), () => traced.call("browser_instances"))
  await traced.close()
  await new Promise((r) => setTimeout(r, 1000))
  const ms = (s: any) => Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) / 1e6
  for (const tool of spans.filter((s) => s.name === "tool browser_instances")) {
    const bridge = spans.find((s) => s.name === "Bridge.call" && s.parentSpanId === tool.spanId)
    const extension = bridge && spans.find((s) => s.parentSpanId === bridge.spanId && s.name === "extension instances.list")
    if (!extension) continue
    split.tool!.push(ms(tool) - ms(bridge))
    split.bridge!.push(ms(bridge))
    split.extension!.push(ms(extension))
    split.transit!.push(ms(bridge) - ms(extension))
  }
} finally {
  await browser.close()
  receiver.close()
}
Fs.rmSync(dir, { recursive: true, force: true })

const f = stats(floor), a = stats(inProcess), b = stats(real), p = stats(ping)
table(`Routing, ${calls} calls each (ms)`, [
  { path: "bare loopback WebSocket round trip (floor)", p50: round(f.p50, 3), p99: round(f.p99, 3) },
  { path: "in process: MCP → tabmux → WebSocket → instant peer", p50: round(a.p50, 3), p99: round(a.p99, 3) },
  { path: "MCP ping over stdio (answered by tabmux itself)", p50: round(p.p50, 3), p99: round(p.p99, 3) },
  { path: "real: MCP stdio → tabmux → extension (no-op) → back", p50: round(b.p50, 3), p99: round(b.p99, 3) },
  { path: "overhead over the floor, real", p50: round(b.p50 - f.p50, 3), p99: round(b.p99 - f.p99, 3) },
  ...(split.bridge!.length === 0 ? [] : [
    { path: `traced (${split.bridge!.length} calls): the tool in the server, outside its Bridge call`, p50: round(stats(split.tool!).p50, 3), p99: round(stats(split.tool!).p99, 3) },
    { path: "traced: Bridge call, server to extension and back", p50: round(stats(split.bridge!).p50, 3), p99: round(stats(split.bridge!).p99, 3) },
    { path: "traced: of which the extension's handling (in the worker)", p50: round(stats(split.extension!).p50, 3), p99: round(stats(split.extension!).p99, 3) },
    { path: "traced: of which the way there and back (WebSocket, frames)", p50: round(stats(split.transit!).p50, 3), p99: round(stats(split.transit!).p99, 3) }
  ])
])
json("routing", {
  calls,
  floor: f,
  inProcess: a,
  stdioPing: p,
  real: b,
  overheadP50: round(b.p50 - f.p50, 3),
  traced: Object.fromEntries(Object.entries(split).map(([k, v]) => [k, v.length === 0 ? null : stats(v)]))
})
