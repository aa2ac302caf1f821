/**
 * End to end: Debian's headless Chromium with the built extension, real tabmux servers
 * started by real MCP clients (the SDK's stdio client), fixture pages on 127.0.0.1.
 * Uses the default port range: no other test scans it.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Browser, launch } from "../support/chromium.js"
import { BIN, readRegistry, tempRuntimeDir, waitFor } from "../support/server.js"

interface Agent {
  readonly name: string
  readonly client: Client
  readonly transport: StdioClientTransport
  readonly port: number
}

const dir = tempRuntimeDir()
let browser: Browser
let fixtures: Http.Server
let base: string
const agents: Array<Agent> = []

const text = (result: any) => result.content.map((c: any) => c.text).join("\n")
const tabs = async (agent: Agent, args: Record<string, unknown>) => {
  const result: any = await agent.client.callTool({ name: "browser_tabs", arguments: args })
  if (result.isError) throw new Error(`${agent.name}: ${text(result)}`)
  return result.structuredContent.tabs as Array<{ tab: string; url: string; title: string; current: boolean }>
}

const start = async (name: string): Promise<Agent> => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN],
    env: { ...process.env, TABMUX_DIR: dir, TABMUX_CONNECT_WAIT: "10" } as Record<string, string>,
    stderr: "pipe"
  })
  const client = new Client({ name, version: "1.0.0" })
  await client.connect(transport)
  const record = await waitFor(() => readRegistry(dir).find((r) => r.pid === transport.pid))
  return { name, client, transport, port: record.port }
}

/** Tabs and groups as Chrome sees them, from inside the extension. */
const chromeTabs = () =>
  browser.evaluateInWorker<Array<{ url: string; group: string | undefined }>>(`
    (async () => {
      const groups = chrome.tabGroups ? await chrome.tabGroups.query({}) : []
      const title = new Map(groups.map((g) => [g.id, g.title]))
      return (await chrome.tabs.query({})).map((t) => ({ url: t.pendingUrl || t.url, group: title.get(t.groupId) }))
    })()`)

beforeAll(async () => {
  fixtures = Http.createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? "/").slice(1)) || "index"
    res.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html><title>${name}</title><h1>${name}</h1>`)
  })
  await new Promise<void>((r) => fixtures.listen(0, "127.0.0.1", r))
  base = `http://127.0.0.1:${(fixtures.address() as AddressInfo).port}`
  browser = await launch()
}, 60_000)

afterAll(async () => {
  await Promise.all(agents.map((a) => a.client.close().catch(() => {})))
  await browser?.close()
  fixtures?.close()
})

describe.sequential("extension in headless Chromium", () => {
  it("discovers three servers started at once by three MCP clients", { timeout: 60_000 }, async () => {
    const started = Date.now()
    agents.push(...await Promise.all(["agent-a", "agent-b", "agent-c"].map(start)))
    const found = await Promise.all(agents.map(async (a) => {
      const record = await waitFor(() => readRegistry(dir).find((r) => r.pid === a.transport.pid && r.extension), 15_000)
      return { total: Date.now() - started, discovery: record.extension.connectedAt - record.startedAt }
    }))
    console.log(`discovery: ${agents.map((a, i) =>
      `${a.name} (port ${a.port}) found ${found[i]!.discovery} ms after its server started, ${found[i]!.total} ms after its client was spawned`
    ).join("; ")}`)
    for (const f of found) expect(f.discovery).toBeLessThan(3_000)
    expect(new Set(agents.map((a) => a.port)).size).toBe(3)
  })

  it("each instance opens tabs and lists exactly its own, in a group titled with its name", { timeout: 60_000 }, async () => {
    for (const a of agents) {
      await tabs(a, { action: "new", url: `${base}/${a.name}-1` })
      await tabs(a, { action: "new", url: `${base}/${a.name}-2` })
    }
    for (const a of agents) {
      const own = await tabs(a, { action: "list" })
      expect(own.map((t) => t.tab)).toEqual(["t1", "t2"])
      expect(own.map((t) => t.url)).toEqual([`${base}/${a.name}-1`, `${base}/${a.name}-2`])
      expect(own.filter((t) => t.current).map((t) => t.tab)).toEqual(["t2"])
    }
    const seen = await chromeTabs()
    for (const a of agents) {
      expect(seen.filter((t) => t.url.startsWith(`${base}/${a.name}-`)).map((t) => t.group)).toEqual([a.name, a.name])
    }
  })

  it("a handle of another instance is not found, and the error lists only the caller's tabs", async () => {
    const [a, b] = agents
    await tabs(b!, { action: "new", url: `${base}/agent-b-3` })
    const result: any = await a!.client.callTool({ name: "browser_tabs", arguments: { action: "select", tab: "t3" } })
    expect(result.isError).toBe(true)
    expect(text(result)).toContain("No tab t3 among yours (your tabs: t1, t2)")
    expect(text(result)).not.toContain("agent-b")
  })

  it("select and close act on the caller's own tabs only; handles are never reused", async () => {
    const b = agents[1]!
    expect((await tabs(b, { action: "select", tab: "t1" })).find((t) => t.current)?.tab).toBe("t1")
    const left = await tabs(b, { action: "close", tab: "t1" })
    expect(left.map((t) => t.tab)).toEqual(["t2", "t3"])
    await tabs(b, { action: "new", url: `${base}/agent-b-4` })
    expect((await tabs(b, { action: "list" })).map((t) => t.tab)).toEqual(["t2", "t3", "t4"])
    expect((await chromeTabs()).some((t) => t.url === `${base}/agent-b-1`)).toBe(false)
  })

  it("SIGKILL of a server: its tabs are closed; the others keep working, calls in flight included", { timeout: 60_000 }, async () => {
    const [a, b, c] = agents
    const inFlight = Promise.all([tabs(b!, { action: "new", url: `${base}/agent-b-5` }), tabs(c!, { action: "list" })])
    const killedAt = Date.now()
    process.kill(a!.transport.pid!, "SIGKILL")
    await waitFor(async () => !(await chromeTabs()).some((t) => t.url.startsWith(`${base}/agent-a-`)), 15_000)
    console.log(`disconnect cleanup: agent-a's tabs closed ${Date.now() - killedAt} ms after SIGKILL`)
    await inFlight
    expect((await tabs(b!, { action: "list" })).length).toBe(4)
    expect((await tabs(c!, { action: "list" })).map((t) => t.tab)).toEqual(["t1", "t2"])
    const seen = await chromeTabs()
    expect(seen.filter((t) => t.group === "agent-b").length).toBe(4)
    expect(seen.filter((t) => t.group === "agent-c").length).toBe(2)
    agents.splice(0, 1)
  })
})
