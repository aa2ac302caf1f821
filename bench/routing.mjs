// Routing overhead: an MCP tool call through the whole server (MCP SDK → tool → Bridge →
// WebSocket → a peer that answers at once → back), against the floor of a bare
// WebSocket round trip on the same machine. Prints a table, then one JSON line.
// Usage: npm run build && node bench/routing.mjs [calls]
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js"
import { Duration, Effect, Exit, Layer, Scope } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import WebSocket, { WebSocketServer } from "ws"
import { Config, Mcp, PortClaims, Protocol, TabmuxServer } from "../dist/index.js"

const calls = Number(process.argv[2] ?? 2000)
const ORIGIN = "chrome-extension://abcdefghijklmnopabcdefghijklmnop"
const tabs = [{ tab: "t1", url: "http://127.0.0.1/", title: "Bench", current: true, shared: false }]
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]
const time = async (n, f) => {
  for (let i = 0; i < 200; i++) await f() // warm-up
  const out = []
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint()
    await f()
    out.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  return out
}

// 1. The floor: a bare ws round trip with the same payload.
const floorServer = new WebSocketServer({ host: "127.0.0.1", port: 0 })
await new Promise((r) => floorServer.once("listening", r))
floorServer.on("connection", (ws) => ws.on("message", (d) => ws.send(d)))
const floorWs = new WebSocket(`ws://127.0.0.1:${floorServer.address().port}`)
await new Promise((r) => floorWs.once("open", r))
const payload = JSON.stringify({ type: "result", id: 1, ok: true, value: { tabs } })
const floor = await time(calls, () => new Promise((r) => { floorWs.once("message", r); floorWs.send(payload) }))
floorWs.close()
floorServer.close()

// 2. The full path through a real tabmux server Layer.
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-bench-"))
const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
const config = Config.make({ ports: { first: 18700, last: 18731 }, dir, allowOrigins: [ORIGIN], connectWait: Duration.seconds(5) })
const scope = Effect.runSync(Scope.make())
const context = await Effect.runPromise(Layer.buildWithScope(
  TabmuxServer.layer(config).pipe(Layer.provide(Layer.succeed(Mcp.McpTransport, serverSide))), scope))
const { port } = await Effect.runPromise(Effect.provide(PortClaims.Listener, context))
const peer = new WebSocket(`ws://127.0.0.1:${port}`, { headers: { Origin: ORIGIN } })
await new Promise((r) => peer.once("open", r))
peer.on("message", (d) => {
  const f = JSON.parse(String(d))
  if (f.type === "call") peer.send(JSON.stringify({ type: "result", id: f.id, ok: true, value: { tabs } }))
})
peer.send(JSON.stringify({ type: "hello", protocol: Protocol.PROTOCOL_VERSION, extensionVersion: "bench", browser: "bench" }))
const client = new Client({ name: "bench", version: "1" })
await client.connect(clientSide)
const full = await time(calls, () => client.callTool({ name: "browser_tabs", arguments: { action: "list" } }))
await client.close()
peer.close()
await Effect.runPromise(Scope.close(scope, Exit.void))
Fs.rmSync(dir, { recursive: true, force: true })

const row = (name, xs) => `${name.padEnd(34)} ${pct(xs, 0.5).toFixed(3).padStart(8)} ${pct(xs, 0.95).toFixed(3).padStart(8)} ${pct(xs, 0.99).toFixed(3).padStart(8)}`
console.log(`routing overhead, ${calls} calls each (ms)`)
console.log(`${"".padEnd(34)} ${"p50".padStart(8)} ${"p95".padStart(8)} ${"p99".padStart(8)}`)
console.log(row("bare WebSocket round trip", floor))
console.log(row("MCP tool call through tabmux", full))
console.log(row("overhead (difference)", full.map((x, i) => x - (floor[i] ?? 0))))
console.log(JSON.stringify({
  bench: "routing", calls, node: process.version, cores: Os.cpus().length,
  floorP50: pct(floor, 0.5), fullP50: pct(full, 0.5), fullP95: pct(full, 0.95), overheadP50: pct(full, 0.5) - pct(floor, 0.5)
}))
