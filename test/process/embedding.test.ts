/**
 * The server Layer built inside another Effect program (embedding), driven by an MCP
 * client over an in-memory transport, with a test peer over a real WebSocket playing
 * the extension: Origin and Host checks, handshake, calls routed to the peer, bad
 * frames, and a peer that vanishes mid-call.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js"
import { Duration, Effect, Exit, Layer, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import WebSocket from "ws"
import { Bridge, Config, Mcp, PortClaims, ServerIdentity, TabmuxServer, UserSecret } from "../../src/index.js"
import { PROTOCOL_VERSION } from "../../src/protocol/index.js"
import { handshake, makePeer, SECRET } from "../support/memory.js"
import { connectAsExtension, secretOf } from "../support/peer.js"
import { readRegistry, tempRuntimeDir, waitFor } from "../support/server.js"

const ORIGIN = "chrome-extension://abcdefghijklmnopabcdefghijklmnop"
const dir = tempRuntimeDir()
let scope: Scope.CloseableScope
let client: Client
let port: number
let token: string

const open = (headers: Record<string, string>) =>
  new Promise<{ ws?: WebSocket; status?: number }>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { headers })
    ws.once("open", () => resolve({ ws }))
    ws.once("unexpected-response", (_req, res) => resolve({ status: res.statusCode! }))
    ws.once("error", () => {})
  })

const noFigures = { acquisitions: 0, handoffs: 0, recoveries: 0, waits: { count: 0, recent: [] }, leases: { count: 0, recent: [] }, instances: 1 }

/** A fake extension: proves itself, then answers calls with `answer` (and the heartbeat's `locks.figures` with zeros, unrecorded). */
const peer = async (answer: (call: any) => object | undefined) => {
  const { ws } = await open({ Origin: ORIGIN })
  const extension = await connectAsExtension(ws!, {
    port,
    secret: await secretOf(dir),
    browser: "TestPeer 1",
    onFrame: (frame, self) => {
      if (frame.type === "call" && frame.method === "locks.figures") {
        self.frames.pop()
        void self.send({ type: "result", id: frame.id, ok: true, value: noFigures })
        return
      }
      if (frame.type === "call") {
        const reply = answer(frame)
        if (reply) void self.send({ type: "result", id: frame.id, ...reply })
      }
    }
  })
  expect(extension.welcome).toMatchObject({ type: "welcome" })
  return { ws: ws!, frames: extension.frames, send: extension.send, welcome: extension.welcome }
}

/** Closes a peer and waits until the server has seen it go (else the next peer would be refused as busy). */
const hangUp = async (ws: WebSocket) => {
  const closed = new Promise((resolve) => ws.once("close", resolve))
  ws.close()
  await closed
  await waitFor(() => readRegistry(dir).find((r) => r.extension === undefined))
}

const text = (result: any) => result.content.map((c: any) => c.text).join("\n")

beforeAll(async () => {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  const config = Config.make({
    ports: { first: 18400, last: 18403 },
    dir,
    allowOrigins: [ORIGIN],
    connectWait: Duration.millis(300)
  })
  const app = TabmuxServer.layer(config).pipe(Layer.provide(Layer.succeed(Mcp.McpTransport, serverSide)))
  scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(app, scope))
  port = (await Effect.runPromise(Effect.provide(PortClaims.Listener, context))).port
  token = (await Effect.runPromise(Effect.provide(ServerIdentity.ServerIdentity, context))).token
  client = new Client({ name: "embedded-agent", version: "1" })
  await client.connect(clientSide)
})

afterAll(async () => {
  await client?.close()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  expect(readRegistry(dir)).toEqual([])
})

describe.sequential("embedded server with a WebSocket peer", () => {
  it("refuses foreign, prefix-matching and missing Origins and non-loopback Hosts with 403", async () => {
    expect((await open({ Origin: "https://evil.example" })).status).toBe(403)
    expect((await open({ Origin: `${ORIGIN}x` })).status).toBe(403)
    expect((await open({})).status).toBe(403)
    expect((await open({ Origin: ORIGIN, Host: `evil.example:${port}` })).status).toBe(403)
    const plain = await fetch(`http://127.0.0.1:${port}/`)
    expect(plain.status).toBe(403)
  })

  it("welcomes the extension with the server's identity, and shows the connection in the registry", async () => {
    const { ws, welcome } = await peer(() => undefined)
    expect(welcome).toMatchObject({ protocol: PROTOCOL_VERSION, clientName: "embedded-agent", pid: process.pid, token })
    const record = await waitFor(() => readRegistry(dir).find((r) => r.extension?.browser === "TestPeer 1"))
    expect(record.token).toBe(token)
    await hangUp(ws)
  })

  it("routes a tool call to the extension and returns its answer as text and structure", async () => {
    const tabs = [{ tab: "t1", url: "http://127.0.0.1/a", title: "A", current: true, shared: false }]
    const { ws, frames } = await peer((call) => (call.method === "tabs.list" ? { ok: true, value: { tabs } } : undefined))
    const result: any = await client.callTool({ name: "browser_tabs", arguments: { action: "list" } })
    expect(result.isError).toBeFalsy()
    expect(text(result)).toContain("t1 (current): A — http://127.0.0.1/a")
    expect(result.structuredContent).toEqual({ tabs })
    expect(frames.filter((f) => f.type === "call").map((f) => f.method)).toEqual(["tabs.list"])
    await hangUp(ws)
  })

  it("passes the extension's error through as an isError result", async () => {
    const { ws } = await peer(() => ({ ok: false, error: { _tag: "TabNotFound", message: "No tab t7. Your tabs: t1." } }))
    const result: any = await client.callTool({ name: "browser_tabs", arguments: { action: "select", tab: "t7" } })
    expect(result.isError).toBe(true)
    expect(text(result).split("\nNote: ")[0]).toBe("No tab t7. Your tabs: t1.")
    await hangUp(ws)
  })

  it("a tab closed by the user and an expired lease are told at the end of the agent's next result, once", async () => {
    const { ws, send } = await peer((call) => ({ ok: true, value: { tabs: [] }, id: call.id }))
    await send({ type: "event", name: "tab.closed", data: { tab: "t3" } })
    await send({ type: "event", name: "lease.expired", data: { tab: "t4" } })
    await new Promise((r) => setTimeout(r, 100))
    const told: any = await client.callTool({ name: "browser_tabs", arguments: { action: "list" } })
    expect(text(told)).toMatch(/\nNote: .*t3 was closed by the user. Your lease on t4 expired/)
    const again: any = await client.callTool({ name: "browser_tabs", arguments: { action: "list" } })
    expect(text(again)).not.toContain("Note:")
    await hangUp(ws)
  })

  it("a long call sends progress every 5 s to a client that asked for it", { timeout: 20_000 }, async () => {
    const { ws, send } = await peer((call) => {
      setTimeout(() => void send({ type: "result", id: call.id, ok: true, value: { tabs: [] } }), 5_600)
      return undefined
    })
    const seen: Array<string> = []
    const result: any = await client.callTool({ name: "browser_tabs", arguments: { action: "list" } }, undefined, {
      onprogress: (p) => seen.push(String(p.message))
    })
    expect(result.isError).toBeFalsy()
    expect(seen).toEqual(["browser_tabs still running (5 s)"])
    await hangUp(ws)
  })

  it("answers a bad sealed frame with a typed error and keeps the connection; a frame not sealed ends it", async () => {
    const { ws, frames, send } = await peer((call) => ({ ok: true, value: { tabs: [] }, id: call.id }))
    await send("{not json")
    await send("{\"type\":\"teleport\"}")
    await waitFor(() => frames.filter((f) => f.type === "error").length === 2)
    expect(frames.filter((f) => f.type === "error").every((f) => f.error._tag === "FrameRefused")).toBe(true)
    const result: any = await client.callTool({ name: "browser_tabs", arguments: { action: "list" } })
    expect(result.isError).toBeFalsy()
    const closed = new Promise((resolve) => ws.once("close", resolve))
    ws.send(JSON.stringify({ type: "event", name: "tab.closed", data: { tab: "t1" } }))
    await closed
    await waitFor(() => readRegistry(dir).find((r) => r.extension === undefined))
  })

  it("a peer that vanishes mid-call ends the call with a clear error, and a new peer is served", async () => {
    const first = await peer(() => undefined)
    const pending = client.callTool({ name: "browser_tabs", arguments: { action: "new", url: "http://127.0.0.1/" } })
    await waitFor(() => first.frames.some((f) => f.type === "call"))
    first.ws.terminate()
    const result: any = await pending
    await waitFor(() => readRegistry(dir).find((r) => r.extension === undefined))
    expect(result.isError).toBe(true)
    expect(text(result)).toContain("disconnected during tabs.new")
    expect(text(result)).toContain("not retried")
    const second = await peer(() => ({ ok: true, value: { tabs: [] } }))
    const after: any = await client.callTool({ name: "browser_tabs", arguments: { action: "list" } })
    expect(after.isError).toBeFalsy()
    await hangUp(second.ws)
  })

  it("an embedder's own transport: Bridge.layerWithoutListener with what the package exports serves a proven peer", async () => {
    const layer = Bridge.layerWithoutListener({ port: 18500 }).pipe(
      Layer.provide(UserSecret.layerFromHex(SECRET)),
      Layer.provide(ServerIdentity.layer),
      Layer.provide(Layer.succeed(Config.ServerConfig, Config.make({ allowOrigins: [], dir })))
    )
    const welcome = await Effect.runPromise(Effect.gen(function*() {
      const bridge = yield* Bridge.Bridge
      const peer = yield* makePeer
      yield* Effect.fork(bridge.serve(peer.transport))
      return yield* handshake(peer, { port: 18500 })
    }).pipe(Effect.provide(layer), Effect.scoped))
    expect(welcome).toMatchObject({ type: "welcome", protocol: PROTOCOL_VERSION })
  })

  it("without an extension, a call fails after connect-wait with advice", async () => {
    const result: any = await client.callTool({ name: "browser_tabs", arguments: { action: "list" } })
    expect(result.isError).toBe(true)
    expect(text(result)).toContain(`port ${port}`)
  })
})
