/**
 * One process, many agents (`tabmux serve --http`): MCP Streamable HTTP clients of the SDK,
 * two sessions at once in one process, each its own instance in one real Chromium (its
 * own tabs, which the other never sees); a session that ends takes its tabs and port with
 * it; nothing is served without the bearer token, to a foreign Origin or Host (DNS
 * rebinding), or past the body limit. Own port range.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import * as ChildProcess from "node:child_process"
import * as Http from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Browser, launch } from "../support/chromium.js"
import { type Fixtures, serveFixtures } from "../support/fixtures.js"
import { inspector as runInspector } from "../support/inspector.js"
import { BIN, readRegistry, type Spawned, spawnTabmux, waitFor } from "../support/server.js"

const PORTS = "18954-18957"

let browser: Browser
let fixtures: Fixtures
let server: Spawned
let url: string
let token: string
const clients: Array<{ client: Client; transport: StreamableHTTPClientTransport }> = []

const session = async (name: string) => {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } })
  const client = new Client({ name, version: "1.0.0" })
  await client.connect(transport)
  clients.push({ client, transport })
  return { client, transport }
}
const text = (r: any) => r.content.map((c: any) => c.text).join("\n")
const call = async (client: Client, name: string, args: Record<string, unknown> = {}) => {
  const r: any = await client.callTool({ name, arguments: args })
  if (r.isError) throw new Error(`${name}: ${text(r)}`)
  return r
}

/** A raw request, headers as given (fetch would not let a test set Host). */
const raw = (o: { readonly headers?: Record<string, string>; readonly body?: string | Buffer; readonly method?: string }) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const u = new URL(url)
    const req = Http.request({ host: u.hostname, port: u.port, path: u.pathname, method: o.method ?? "POST", headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...o.headers
    } }, (res) => {
      let body = ""
      res.on("data", (d) => (body += d))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on("error", (e) => (/EPIPE|ECONNRESET/.test(e.message) ? resolve({ status: -1, body: e.message }) : reject(e)))
    req.end(o.body ?? JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } }))
  })

beforeAll(async () => {
  fixtures = await serveFixtures()
  browser = await launch({ ports: PORTS })
  token = ChildProcess.spawnSync(process.execPath, [BIN, "serve", "--print-token", "--dir", browser.dir], { encoding: "utf8" }).stdout.trim()
  server = spawnTabmux(["serve", "--http", "127.0.0.1:0", "--ports", PORTS], { TABMUX_DIR: browser.dir, TABMUX_CONNECT_WAIT: "15" })
  const port = await waitFor(() => /Streamable HTTP at http:\/\/127\.0\.0\.1:(\d+)\/mcp/.exec(server.stderr())?.[1], 15_000)
  url = `http://127.0.0.1:${port}/mcp`
}, 60_000)

afterAll(async () => {
  for (const c of clients) await c.client.close().catch(() => undefined)
  server?.child.kill("SIGTERM")
  if (server) await server.exited
  await browser?.close()
  fixtures?.close()
})

describe("MCP over Streamable HTTP", () => {
  it("two sessions in one process are two agents: each drives its own tab in the browser and never sees the other's; a session that ends takes its tab and port", { timeout: 90_000 }, async () => {
    expect(token).toMatch(/^[0-9a-f]{64}$/)
    const a = await session("http-agent-a")
    const b = await session("http-agent-b")
    await call(a.client, "browser_navigate", { url: `${fixtures.base}/form` })
    await call(b.client, "browser_navigate", { url: `${fixtures.base}/article` })
    const listA = (await call(a.client, "browser_tabs", { action: "list" })).structuredContent.tabs
    const listB = (await call(b.client, "browser_tabs", { action: "list" })).structuredContent.tabs
    expect(listA.map((t: any) => t.url)).toEqual([`${fixtures.base}/form`])
    expect(listB.map((t: any) => t.url)).toEqual([`${fixtures.base}/article`])
    // Each session is an agent of its own, as the extension sees them.
    const seen = (await call(a.client, "browser_instances")).structuredContent.instances.map((i: any) => [i.name, i.you])
    expect(seen).toEqual(expect.arrayContaining([["http-agent-a", true], ["http-agent-b", false]]))
    // Both records are this one process's, each on its own port.
    const records = readRegistry(browser.dir).filter((r) => r.pid === server.child.pid)
    expect(records.map((r) => r.clientName).sort()).toEqual(["http-agent-a", "http-agent-b"])
    // A session that ends: its tab is closed (its policy), its port and record go; the other goes on.
    await a.transport.terminateSession()
    await waitFor(async () => !(await browser.targets()).some((t) => t.url === `${fixtures.base}/form`), 15_000)
    await waitFor(() => readRegistry(browser.dir).filter((r) => r.pid === server.child.pid).length === 1, 10_000)
    expect((await call(b.client, "browser_snapshot")).structuredContent.snapshot).toContain("Why tabs matter")
    // Cancelled over HTTP (notifications/cancelled), a call frees its tab at once: the next call on it does not wait.
    const abort = new AbortController()
    const waiting = b.client.callTool({ name: "browser_wait_for", arguments: { text: "never there", timeoutSeconds: 30 } }, undefined, { signal: abort.signal }).catch((e: Error) => e)
    await new Promise((r) => setTimeout(r, 500))
    abort.abort()
    expect(await waiting).toBeInstanceOf(Error)
    const t0 = Date.now()
    await call(b.client, "browser_snapshot")
    expect(Date.now() - t0).toBeLessThan(3_000)
  })

  it("nothing is served without the token, to another Origin or Host, past the body limit, or to a session that is not open", { timeout: 30_000 }, async () => {
    const none = await raw({})
    expect(none.status).toBe(401)
    expect(none.body).toContain("bearer token")
    expect((await raw({ headers: { authorization: `Bearer ${"0".repeat(64)}` } })).status).toBe(401)
    const auth = { authorization: `Bearer ${token}` }
    const origin = await raw({ headers: { ...auth, origin: "https://evil.example" } })
    expect(origin.status).toBe(403)
    expect(origin.body).toContain("Origin https://evil.example is not allowed")
    // DNS rebinding: a page of evil.example whose name now points at 127.0.0.1.
    const host = await raw({ headers: { ...auth, host: `evil.example:${new URL(url).port}` } })
    expect(host.status).toBe(403)
    expect(host.body).toContain("is not this endpoint")
    const huge = await raw({ headers: auth, body: Buffer.alloc(5 * 1024 * 1024, 32) })
    expect([413, -1]).toContain(huge.status)
    const gone = await raw({ headers: { ...auth, "mcp-session-id": "no-such-session" }, body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }) })
    expect(gone.status).toBe(404)
    const notFirst = await raw({ headers: auth, body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }) })
    expect(notFirst.status).toBe(400)
    // An initialize the transport refuses (no Accept for its stream) opens no session: no server, port or record stays behind.
    const records = readRegistry(browser.dir).length
    const refused = await raw({ headers: { ...auth, accept: "text/html" } })
    expect(refused.status).toBeGreaterThanOrEqual(400)
    await new Promise((r) => setTimeout(r, 500))
    expect(readRegistry(browser.dir).length).toBe(records)
    // The server is fine after all that.
    const c = await session("http-agent-c")
    expect((await c.client.listTools()).tools.length).toBeGreaterThan(20)
  })

  it("the MCP Inspector CLI lists the tools and calls one over HTTP, with the token as a header", { timeout: 60_000 }, async () => {
    const inspector = (args: ReadonlyArray<string>) => runInspector([url, "--transport", "http", "--header", `Authorization: Bearer ${token}`, ...args])
    const listed = await inspector(["--method", "tools/list"])
    expect(listed.tools.map((t: any) => t.name)).toContain("browser_navigate")
    const navigated = await inspector(["--method", "tools/call", "--tool-name", "browser_navigate", "--tool-arg", `url=${fixtures.base}/form`])
    expect(navigated.isError ?? false).toBe(false)
    expect(navigated.content[0].text).toContain("textbox \"Name\"")
  })
})
