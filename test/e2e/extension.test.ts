/**
 * End to end: Debian's headless Chromium with the built extension, real tabmux servers
 * started by real MCP clients (the SDK's stdio client), fixture pages on 127.0.0.1.
 * Uses the default port range: no other test scans it.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { extensionIdFromKey, readManifest } from "../../src/server/Extension.js"
import { type Browser, launch } from "../support/chromium.js"
import { type Fixtures, hasCodeMirror, PIXEL, serveFixtures } from "../support/fixtures.js"
import { clientWithRoots } from "../support/roots.js"
import { BIN, readRegistry, tempRuntimeDir, waitFor } from "../support/server.js"

interface Agent {
  readonly name: string
  readonly client: Client
  readonly transport: StdioClientTransport
  readonly port: number
}

const dir = tempRuntimeDir()
/** A range of its own: never the default one (8765-8796), where a user's real servers and extension live. */
const PORTS = "18900-18919"
/** The agents' MCP root: uploads come from here, PDFs go here. */
const workspace = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-workspace-"))
let browser: Browser
let fixtures: Fixtures
let base: string
const agents: Array<Agent> = []

const text = (result: any) => result.content.map((c: any) => c.text).join("\n")
const tabs = async (agent: Agent, args: Record<string, unknown>) => {
  const result: any = await agent.client.callTool({ name: "browser_tabs", arguments: args })
  if (result.isError) throw new Error(`${agent.name}: ${text(result)}`)
  return result.structuredContent.tabs as Array<{ tab: string; url: string; title: string; current: boolean; shared: boolean; leasedBy?: string }>
}

const call = async (agent: Agent, name: string, args: Record<string, unknown>) => {
  const result: any = await agent.client.callTool({ name, arguments: args })
  if (result.isError) throw new Error(`${agent.name} ${name}: ${text(result)}`)
  return result
}

const sharedHandle = async (agent: Agent) => (await tabs(agent, { action: "list" })).find((t) => t.shared)!.tab

const start = async (name: string, env: Record<string, string> = {}): Promise<Agent> => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN],
    env: { ...process.env, TABMUX_DIR: dir, TABMUX_PORTS: PORTS, TABMUX_CONNECT_WAIT: "10", ...env } as Record<string, string>,
    stderr: "pipe"
  })
  const { client } = clientWithRoots(name, [workspace])
  await client.connect(transport)
  const record = await waitFor(() => readRegistry(dir).find((r) => r.pid === transport.pid))
  return { name, client, transport, port: record.port }
}

/** Opens one of the extension's pages in a background tab, as a user would; returns its URL. */
const openExtensionPage = (page: string) =>
  browser.evaluateInWorker<string>(`(async () => {
    const url = chrome.runtime.getURL(${JSON.stringify(page)})
    await chrome.tabs.create({ url, active: false })
    return url
  })()`)

/** Tabs and groups as Chrome sees them, from inside the extension. */
const chromeTabs = () =>
  browser.evaluateInWorker<Array<{ url: string; group: string | undefined }>>(`
    (async () => {
      const groups = chrome.tabGroups ? await chrome.tabGroups.query({}) : []
      const title = new Map(groups.map((g) => [g.id, g.title]))
      return (await chrome.tabs.query({})).map((t) => ({ url: t.pendingUrl || t.url, group: title.get(t.groupId) }))
    })()`)

beforeAll(async () => {
  fixtures = await serveFixtures()
  base = fixtures.base
  browser = await launch({ dir, ports: PORTS })
}, 60_000)

afterAll(async () => {
  await Promise.all(agents.map((a) => a.client.close().catch(() => {})))
  await browser?.close()
  fixtures?.close()
})

describe.sequential("extension in headless Chromium", () => {
  it("discovers three servers started at once by three MCP clients", { timeout: 60_000 }, async () => {
    const started = Date.now()
    agents.push(...await Promise.all(["agent-a", "agent-b", "agent-c"].map((name) => start(name))))
    const found = await Promise.all(agents.map(async (a) => {
      const record = await waitFor(() => readRegistry(dir).find((r) => r.pid === a.transport.pid && r.extension), 15_000)
      return { total: Date.now() - started, discovery: record.extension.connectedAt - record.startedAt }
    }))
    console.log(`discovery: ${agents.map((a, i) =>
      `${a.name} (port ${a.port}) found ${found[i]!.discovery} ms after its server started, ${found[i]!.total} ms after its client was spawned`
    ).join("; ")}`)
    // Found before a first tool call's wait for the extension (TABMUX_CONNECT_WAIT, 10 s here) runs
    // out: that call succeeds. How fast is a figure for bench/discovery.ts, not a test.
    for (const f of found) expect(f.discovery).toBeLessThan(10_000)
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
    // Playwright MCP's way: a tab by its place in the list.
    expect((await tabs(b, { action: "select", index: 1 })).find((t) => t.current)?.tab).toBe("t3")
    const bad: any = await b.client.callTool({ name: "browser_tabs", arguments: { action: "close", index: 3 } })
    expect(bad.isError && bad.content[0].text).toContain("index 3: you have 3 tabs (index 0 to 2)")
  })

  it("a tab the user drags into an agent's group becomes that agent's", async () => {
    const c = agents[2]!
    await browser.evaluateInWorker(`(async () => {
      const [group] = await chrome.tabGroups.query({ title: "agent-c" })
      const t = await chrome.tabs.create({ url: ${JSON.stringify(`${base}/dragged`)}, active: false })
      await chrome.tabs.group({ tabIds: [t.id], groupId: group.id })
    })()`)
    const own = await waitFor(async () => {
      const list = await tabs(c, { action: "list" })
      return list.some((t) => t.url === `${base}/dragged`) && list
    }, 10_000)
    expect(own.map((t) => [t.tab, t.url])).toEqual([["t1", `${base}/agent-c-1`], ["t2", `${base}/agent-c-2`], ["t3", `${base}/dragged`]])
  })

  it("a shared tab is visible to every agent under its own handle, and not closable by them", async () => {
    await browser.evaluateInWorker(`(async () => {
      const t = await chrome.tabs.create({ url: ${JSON.stringify(`${base}/shared-page`)}, active: false })
      const g = await chrome.tabs.group({ tabIds: [t.id] })
      await chrome.tabGroups.update(g, { title: "tabmux · shared" })
    })()`)
    for (const agent of agents) {
      const shared = (await tabs(agent, { action: "list" })).filter((t) => t.shared)
      expect(shared.map((t) => t.url)).toEqual([`${base}/shared-page`])
    }
    const [a] = agents
    const handle = await sharedHandle(a!)
    const close: any = await a!.client.callTool({ name: "browser_tabs", arguments: { action: "close", tab: handle } })
    expect(text(close)).toContain("only the user closes it")
  })

  it("leases: a waiter gets progress and runs after unlock; waitSeconds fails naming the holder; a lease expires at its TTL", { timeout: 60_000 }, async () => {
    const [a, b] = agents
    const [ha, hb] = [await sharedHandle(a!), await sharedHandle(b!)]
    await call(a!, "browser_tab_lock", { tab: ha, ttlSeconds: 30 })
    expect((await tabs(b!, { action: "list" })).find((t) => t.tab === hb)?.leasedBy).toBe("agent-a")

    const refused: any = await b!.client.callTool({ name: "browser_tab_lock", arguments: { tab: hb, waitSeconds: 1 } })
    expect(refused.isError).toBe(true)
    expect(text(refused)).toContain("agent-a holds it")

    const progress: Array<string> = []
    const waiting = b!.client.callTool({ name: "browser_tab_lock", arguments: { tab: hb, waitSeconds: 30 } }, undefined, {
      onprogress: (p) => void progress.push(String(p.message)),
      timeout: 60_000
    })
    await waitFor(() => progress.length > 0, 10_000)
    expect(progress[0]).toContain("held by agent-a")
    await call(a!, "browser_tab_unlock", { tab: ha })
    const unlockedAt = Date.now()
    const granted: any = await waiting
    console.log(`lease hand-off: agent-b got the shared tab ${Date.now() - unlockedAt} ms after agent-a's unlock returned`)
    expect(granted.isError).toBeFalsy()
    expect((await tabs(a!, { action: "list" })).find((t) => t.tab === ha)?.leasedBy).toBe("agent-b")
    await call(b!, "browser_tab_unlock", { tab: hb })

    await call(a!, "browser_tab_lock", { tab: ha, ttlSeconds: 2 })
    const lockedAt = Date.now()
    await call(b!, "browser_tab_lock", { tab: hb, waitSeconds: 20 })
    const after = Date.now() - lockedAt
    console.log(`lease expiry: agent-a's 2 s lease, unused, was recovered; agent-b got the tab ${after} ms after agent-a locked it`)
    expect(after).toBeGreaterThanOrEqual(1_900)
    await call(b!, "browser_tab_unlock", { tab: hb })
  })

  it("agents see each other's names, tab counts and shared leases, never their pages", async () => {
    const [a, b] = agents
    await call(a!, "browser_tab_lock", { tab: await sharedHandle(a!) })
    const seen: any = await call(b!, "browser_instances", {})
    const byName = new Map(seen.structuredContent.instances.map((i: any) => [i.name, i]))
    expect(byName.get("agent-a")).toEqual({ name: "agent-a", you: false, ownedTabs: 2, leases: ["shared-page"] })
    expect((byName.get("agent-b") as any).you).toBe(true)
    expect(JSON.stringify(seen)).not.toContain(`${base}/agent-a`)
    const resource = await b!.client.readResource({ uri: "tabmux://instances" })
    expect(JSON.parse(String((resource.contents[0] as any).text)).instances.length).toBe(3)
  })

  it("the status page shows instances, their tabs and the shared tab's lease", async () => {
    const url = await openExtensionPage("status.html")
    const shown = await waitFor(async () => {
      const text = await browser.evaluateInPage<string | undefined>(url, "document.body ? document.body.innerText : \"\"")
      return text?.includes("leased by agent-a") && text
    }, 10_000)
    expect(shown).toContain("tabmux: 3 agents connected")
    for (const a of agents) expect(shown).toContain(a.name)
    expect(shown).toContain("agent-a-1")
    expect(shown).toMatch(/shared-page: leased by agent-a \(\d+ s left\)/)
    // Each agent's lock figures since it connected: agent-a took the shared tab's lease.
    expect(shown).toMatch(/Locks since it connected: [1-9]\d* acq, \d+ waited, wait p50 \d+ ms p95 \d+ ms max \d+ m?s/)
  })

  it("SIGKILL of a server: its tabs are closed, then its lease released; the others keep working, calls in flight included", { timeout: 60_000 }, async () => {
    const [a, b, c] = agents
    // agent-a leases the shared tab (previous test); agent-b waits for it.
    const waiting = b!.client.callTool({ name: "browser_tab_lock", arguments: { tab: await sharedHandle(b!), waitSeconds: 30 } }, undefined, { timeout: 60_000 })
    const inFlight = Promise.all([tabs(b!, { action: "new", url: `${base}/agent-b-5` }), tabs(c!, { action: "list" })])
    const killedAt = Date.now()
    process.kill(a!.transport.pid!, "SIGKILL")
    const granted: any = await waiting
    const grantedAt = Date.now()
    expect(granted.isError).toBeFalsy()
    // The lease reached agent-b only after agent-a's tabs were closed.
    expect((await chromeTabs()).some((t) => t.url.startsWith(`${base}/agent-a-`))).toBe(false)
    console.log(`disconnect cleanup: agent-a's tabs closed and its lease handed to agent-b ${grantedAt - killedAt} ms after SIGKILL`)
    await call(b!, "browser_tab_unlock", { tab: await sharedHandle(b!) })
    await inFlight
    expect((await tabs(b!, { action: "list" })).filter((t) => !t.shared).length).toBe(4)
    expect((await tabs(c!, { action: "list" })).filter((t) => !t.shared).map((t) => t.tab)).toEqual(["t1", "t2", "t3"])
    const seen = await chromeTabs()
    expect(seen.filter((t) => t.group === "agent-b").length).toBe(4)
    expect(seen.filter((t) => t.group === "tabmux · shared").length).toBe(1)
    expect(seen.filter((t) => t.group === "agent-c").length).toBe(3)
    agents.splice(0, 1)
  })

  it("policies: release leaves the tabs to the user; keep holds them for --resume, and closes them after the grace", { timeout: 60_000 }, async () => {
    const connected = async (agent: Agent) => waitFor(() => readRegistry(dir).find((r) => r.pid === agent.transport.pid && r.extension), 15_000)
    const released = await start("agent-r", { TABMUX_ON_DISCONNECT: "release" })
    const kept = await start("agent-k", { TABMUX_ON_DISCONNECT: "keep", TABMUX_KEEP_GRACE: "30" })
    const brief = await start("agent-g", { TABMUX_ON_DISCONNECT: "keep", TABMUX_KEEP_GRACE: "2" })
    const { token } = await connected(kept)
    await Promise.all([connected(released), connected(brief)])
    await tabs(released, { action: "new", url: `${base}/agent-r-1` })
    await tabs(kept, { action: "new", url: `${base}/agent-k-1` })
    await tabs(kept, { action: "new", url: `${base}/agent-k-2` })
    await tabs(brief, { action: "new", url: `${base}/agent-g-1` })
    const keptBefore = (await tabs(kept, { action: "list" })).filter((t) => !t.shared).map((t) => [t.tab, t.url])
    const killedAt = Date.now()
    for (const a of [released, kept, brief]) process.kill(a.transport.pid!, "SIGKILL")

    await waitFor(async () => (await chromeTabs()).find((t) => t.url === `${base}/agent-r-1`)?.group === undefined, 10_000)
    await waitFor(async () => !(await chromeTabs()).some((t) => t.url === `${base}/agent-g-1`), 15_000)
    console.log(`keep with a 2 s grace: agent-g's tab closed ${Date.now() - killedAt} ms after SIGKILL`)
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1_900)
    const seen = await chromeTabs()
    expect(seen.filter((t) => t.url.startsWith(`${base}/agent-k-`)).map((t) => t.group)).toEqual(["agent-k", "agent-k"])
    expect(seen.find((t) => t.url === `${base}/agent-r-1`)).toEqual({ url: `${base}/agent-r-1`, group: undefined })

    const heir = await start("agent-k", { TABMUX_RESUME: token })
    await connected(heir)
    const back = await waitFor(async () => {
      const list = (await tabs(heir, { action: "list" })).filter((t) => !t.shared)
      return list.length === 2 && list
    }, 10_000)
    expect(back.map((t) => [t.tab, t.url])).toEqual(keptBefore)
    expect(keptBefore.map(([, url]) => url)).toEqual([`${base}/agent-k-1`, `${base}/agent-k-2`])
    agents.push(heir)
  })

  it("a terminated and restarted service worker rebuilds ownership and leases; servers reconnect", { timeout: 90_000 }, async () => {
    const [b, c] = agents
    const before = await tabs(b!, { action: "list" })
    const shared = before.find((t) => t.shared)!.tab
    await call(b!, "browser_tab_lock", { tab: shared, ttlSeconds: 120 })
    const connectedAt = readRegistry(dir).find((r) => r.pid === b!.transport.pid).extension.connectedAt
    await new Promise((r) => setTimeout(r, 700)) // the state snapshot is written twice a second
    const stoppedAt = Date.now()
    await browser.stopWorker()
    // Anything that wakes the worker restarts it (its alarm would within 30 s). Wake it as a
    // user would: open the status page, whose message to the worker starts it.
    await browser.openPage(`chrome-extension://${extensionIdFromKey(readManifest().key)}/status.html`)
    await waitFor(() => readRegistry(dir).find((r) => r.pid === b!.transport.pid && r.extension && r.extension.connectedAt > connectedAt), 30_000)
    console.log(`worker restart: agent-b reconnected ${Date.now() - stoppedAt} ms after the worker was stopped`)
    const after = await tabs(b!, { action: "list" })
    expect(after.map((t) => [t.tab, t.url])).toEqual(before.map((t) => [t.tab, t.url]))
    expect(after.find((t) => t.tab === shared)?.leasedBy).toBe("you")
    const refused: any = await c!.client.callTool({ name: "browser_tab_lock", arguments: { tab: await sharedHandle(c!), waitSeconds: 0 } })
    expect(text(refused)).toContain("agent-b holds it")
    await call(b!, "browser_tab_unlock", { tab: shared })
  })

  it("the options page checks and saves the port range, and turns 'share all tabs' on and off", async () => {
    const url = await openExtensionPage("options.html")
    await waitFor(() => browser.evaluateInPage<boolean>(url, "document.readyState === 'complete' && document.getElementById('ports').value !== ''"), 10_000)
    const typed = (value: string) =>
      browser.evaluateInPage<string>(url, `(async () => {
        document.getElementById("ports").value = ${JSON.stringify("")} + ${JSON.stringify(value)}
        document.getElementById("save").click()
        await new Promise((r) => setTimeout(r, 200))
        return document.getElementById("message").textContent
      })()`)
    expect(await typed("99-1")).toContain("invalid port range")
    expect(await browser.evaluateInWorker("chrome.storage.local.get('ports').then((s) => s.ports ?? null)")).toBe(PORTS)
    expect(await typed(PORTS)).toBe(`Saved: scanning ${PORTS}.`)
    expect(await browser.evaluateInWorker("chrome.storage.local.get('ports').then((s) => s.ports)")).toBe(PORTS)

    // "Share all my tabs": off by default; on, a plain user tab becomes visible to agents as shared.
    const b = agents[0]!
    const userTab = `${base}/users-own-tab`
    await browser.evaluateInWorker(`chrome.tabs.create({ url: ${JSON.stringify(userTab)}, active: false }).then(() => 1)`)
    expect((await tabs(b, { action: "list" })).some((t) => t.url === userTab)).toBe(false)
    const toggle = () => browser.evaluateInPage(url, "(document.getElementById('shareAll').click(), true)")
    await toggle()
    const shared = await waitFor(async () => (await tabs(b, { action: "list" })).find((t) => t.url === userTab), 5_000)
    expect(shared.shared).toBe(true)
    expect((await tabs(b, { action: "list" })).filter((t) => t.url.startsWith("chrome-extension://"))).toEqual([])
    await toggle()
    await waitFor(async () => !(await tabs(b, { action: "list" })).some((t) => t.url === userTab), 5_000)
  })
})

describe.sequential("page tools in headless Chromium", () => {
  let agent: Agent

  it("browser_navigate loads a page and waits for it; refuses other schemes; reports load failures", { timeout: 60_000 }, async () => {
    agent = await start("agent-p")
    agents.push(agent)
    await waitFor(() => readRegistry(dir).find((r) => r.pid === agent.transport.pid && r.extension), 15_000)
    await tabs(agent, { action: "new" })
    const page: any = await call(agent, "browser_navigate", { url: `${base}/page-one` })
    expect(page.structuredContent).toEqual({
      tab: "t1",
      url: `${base}/page-one`,
      title: "page-one",
      loaded: true,
      status: 200,
      snapshot: expect.stringContaining("heading \"page-one\""),
      snapshotIs: "whole"
    })
    expect((await tabs(agent, { action: "list" })).find((t) => t.tab === "t1")?.url).toBe(`${base}/page-one`)

    const script: any = await agent.client.callTool({ name: "browser_navigate", arguments: { url: "javascript:alert(1)" } })
    expect(script.isError).toBe(true)
    expect(text(script)).toContain("javascript: pages are not web content")
    const unreachable: any = await agent.client.callTool({ name: "browser_navigate", arguments: { url: "http://127.0.0.1:1/" } })
    expect(unreachable.isError).toBe(true)
    expect(text(unreachable)).toContain("could not load http://127.0.0.1:1/")
  })

  it("browser_evaluate passes arguments as values, returns JSON, and reports what the function threw", async () => {
    await call(agent, "browser_navigate", { tab: "t1", url: `${base}/page-one` })
    const tricky = `"); alert("injected"); ("` + "`${1}`"
    const echo: any = await call(agent, "browser_evaluate", { tab: "t1", function: "(s, n) => ({ s, n: n + 1, title: document.title })", args: [tricky, 41] })
    expect(JSON.parse(echo.structuredContent.json)).toEqual({ s: tricky, n: 42, title: "page-one" })
    const awaited: any = await call(agent, "browser_evaluate", { tab: "t1", function: "async () => { await new Promise((r) => setTimeout(r, 50)); return [1, 2] }" })
    expect(awaited.structuredContent.json).toBe("[1,2]")
    const thrown: any = await agent.client.callTool({ name: "browser_evaluate", arguments: { tab: "t1", function: "() => { throw new Error('nope') }" } })
    expect(thrown.isError).toBe(true)
    expect(text(thrown)).toContain("the function threw: Error: nope")
    const big: any = await call(agent, "browser_evaluate", { tab: "t1", function: "() => 'x'.repeat(100000)" })
    expect(big.structuredContent.truncated).toBe(true)
    // Expressions, as Playwright MCP takes them.
    expect((await call(agent, "browser_evaluate", { tab: "t1", function: "document.title" })).structuredContent.json).toBe('"page-one"')
    expect((await call(agent, "browser_evaluate", { tab: "t1", function: "(1+1)" })).structuredContent.json).toBe("2")
    expect((await call(agent, "browser_evaluate", { tab: "t1", function: "({ a: [1, 'b'] })" })).structuredContent.json).toBe('{"a":[1,"b"]}')
    expect((await call(agent, "browser_evaluate", { tab: "t1", function: "Promise.resolve(7)" })).structuredContent.json).toBe("7")
    const thrownExpression: any = await agent.client.callTool({ name: "browser_evaluate", arguments: { tab: "t1", function: "nope.nope" } })
    expect(text(thrownExpression)).toContain("the code threw: ReferenceError")
    // A function declaration, as Playwright MCP takes it: called, with its arguments.
    expect((await call(agent, "browser_evaluate", { tab: "t1", function: "function foo() { return 1; }" })).structuredContent.json).toBe("1")
    expect((await call(agent, "browser_evaluate", { tab: "t1", function: "async function twice(n) { return { n: n * 2, t: document.title } }", args: [21] })).structuredContent.json)
      .toBe('{"n":42,"t":"page-one"}')
    const declaredThrow: any = await agent.client.callTool({ name: "browser_evaluate", arguments: { tab: "t1", function: "function () { throw new Error('nope') }" } })
    expect(text(declaredThrow)).toContain("Error: nope")
  })

  it("browser_navigate_back, browser_navigate_forward and browser_reload move through the tab's history", async () => {
    await call(agent, "browser_navigate", { tab: "t1", url: `${base}/page-two` })
    const back: any = await call(agent, "browser_navigate_back", { tab: "t1" })
    expect(back.structuredContent).toMatchObject({ url: `${base}/page-one`, title: "page-one", loaded: true })
    const forward: any = await call(agent, "browser_navigate_forward", { tab: "t1" })
    expect(forward.structuredContent).toMatchObject({ url: `${base}/page-two`, loaded: true })
    await call(agent, "browser_evaluate", { tab: "t1", function: "() => { window.marker = 1 }" })
    const reloaded: any = await call(agent, "browser_reload", { tab: "t1" })
    expect(reloaded.structuredContent).toMatchObject({ url: `${base}/page-two`, loaded: true })
    const marker: any = await call(agent, "browser_evaluate", { tab: "t1", function: "() => typeof window.marker" })
    expect(marker.structuredContent.json).toBe("\"undefined\"")
    const none: any = await agent.client.callTool({ name: "browser_navigate_forward", arguments: { tab: "t1" } })
    expect(text(none)).toContain("no page to go forward to")
  })
})

if (!hasCodeMirror()) console.log("the CodeMirror 5 case is skipped: it needs Debian's libjs-codemirror (apt-get install libjs-codemirror; .ci/run installs it)")

/** The ref on the first snapshot line matching `line` (a regex), or a failure showing the snapshot. */
const refIn = (snapshot: string, line: RegExp) => {
  const found = snapshot.split("\n").find((l) => line.test(l))
  const ref = found && /\[ref=(s[0-9]+e[0-9]+)\]/.exec(found)?.[1]
  if (!ref) throw new Error(`no line matching ${line} with a ref in:\n${snapshot}`)
  return ref
}

describe.sequential("browser tools on fixture pages", () => {
  let agent: Agent
  const snap = async (args: Record<string, unknown> = {}) => (await call(agent, "browser_snapshot", args)).structuredContent
  const open = async (path: string) => {
    await call(agent, "browser_navigate", { url: `${base}/${path}` })
    return (await snap()).snapshot as string
  }
  const evaluate = async (fn: string) => JSON.parse((await call(agent, "browser_evaluate", { function: fn })).structuredContent.json)
  const out = () => evaluate("() => document.getElementById('out').textContent")
  const failure = async (name: string, args: Record<string, unknown>) => {
    const result: any = await agent.client.callTool({ name, arguments: args })
    expect(result.isError, `${name} should have failed`).toBe(true)
    return text(result)
  }
  const timed = async <A>(label: string, f: () => Promise<A>) => {
    const t0 = performance.now()
    const a = await f()
    latencies.push(`${label} ${Math.round(performance.now() - t0)} ms`)
    return a
  }
  const latencies: Array<string> = []
  afterAll(() => console.log(`tool latencies: ${latencies.join("; ")}`))

  it("browser_snapshot shows roles, names, states and refs; sizes of the fixture pages", { timeout: 90_000 }, async () => {
    agent = await start("agent-t")
    agents.push(agent)
    await waitFor(() => readRegistry(dir).find((r) => r.pid === agent.transport.pid && r.extension), 15_000)
    await tabs(agent, { action: "new" })
    const form = await open("form")
    expect(form).toMatch(/- heading "Sign up" \[level=1\] \[ref=s\d+e\d+\]/)
    expect(form).toMatch(/- textbox "Name" \[ref=s\d+e\d+\]/)
    expect(form).toMatch(/- checkbox "Newsletter" \[ref=/)
    expect(form).toMatch(/- radio "Free" \[checked\] \[ref=/)
    expect(form).toMatch(/- combobox "Country" \[ref=s\d+e\d+\]: France/)
    expect(form).toMatch(/- button "Disabled" \[disabled\] \[ref=/)
    // With boxes, each element's box follows its ref, as the page measures it.
    const boxed = (await snap({ boxes: true })).snapshot as string
    const box = /- textbox "Name" \[ref=s\d+e\d+\] \[box=(\d+),(\d+),(\d+),(\d+)\]/.exec(boxed)
    expect(box, boxed).not.toBeNull()
    const rect = await evaluate("() => { const r = document.querySelector('input[name=name]').getBoundingClientRect(); return [r.x, r.y, r.width, r.height].map(Math.round) }")
    expect(box!.slice(1).map(Number)).toEqual(rect)
    const sizes: Array<string> = []
    for (const path of ["form", "article", "frames", "shadow", "big"]) {
      await call(agent, "browser_navigate", { url: `${base}/${path}` })
      const shot = await timed(`snapshot(${path})`, snap)
      sizes.push(`${path} ${Buffer.byteLength(shot.snapshot)} B / ${shot.elements} refs`)
    }
    console.log(`snapshot sizes: ${sizes.join("; ")}`)
    const big = await snap()
    expect(big.snapshot).toContain(`button "Open 999"`)
    // depth and subtree
    const shallow = await snap({ depth: 1 })
    expect(shallow.snapshot.split("\n").every((l: string) => !l.startsWith("  "))).toBe(true)
    const table = refIn(shallow.snapshot, /- table/)
    const sub = await snap({ ref: table, depth: 2 })
    expect(sub.snapshot.split("\n")[0]).toMatch(/^- table/)
    // depth counts as Playwright's does: the page's body (a block of several parts, shown by
    // Playwright and not here) is a level, and a line that holds only text shows it at the limit.
    await call(agent, "browser_navigate", { url: `${base}/article` })
    const lines = async (depth: number) => ((await snap({ depth })).snapshot as string).split("\n").map((l) => l.replace(/ \[ref=\w+\]/, ""))
    expect(await lines(1)).toEqual(["- banner …", "- main …", "- contentinfo …"])
    expect(await lines(2)).toEqual([
      "- banner", "  - navigation …", "- main", "  - article …", "  - complementary …", "- contentinfo", "  - paragraph: © 2026 Example"
    ])
    // browser_find (Playwright MCP's): the matching line with the lines around it and what holds it.
    const found: any = await call(agent, "browser_find", { text: "related story 3" })
    expect(found.structuredContent.matches).toBe(1)
    expect(found.structuredContent.found).toMatch(/^Found 1 match for "related story 3":\n\n- main \[ref=\w+\]\n  - complementary \[ref=\w+\]\n    - list/)
    expect(found.structuredContent.found).toMatch(/link "Related story 3" \[ref=\w+\]/)
    expect(found.structuredContent.found).not.toContain("Section 1")
    expect((await call(agent, "browser_find", { regex: "/^\\s*- heading \"section 1[0-2]\"/i" })).structuredContent.matches).toBe(3)
    expect(await failure("browser_find", { text: "x", regex: "x" })).toContain('Provide only one of "text" or "regex", not both.')
  })

  it("iframes (same- and cross-origin) and shadow roots are in the snapshot; typing and clicking work inside them", async () => {
    const frames = await open("frames")
    expect(frames).toMatch(/- iframe "same origin" \[ref=[^\]]+\]\n\s+- textbox "Inner field"/)
    expect(frames).toMatch(/- iframe "cross origin" \[ref=[^\]]+\]\n\s+- textbox "Inner field"/)
    const lines = frames.split("\n")
    const crossAt = lines.findIndex((l) => l.includes(`iframe "cross origin"`))
    const crossField = refIn(lines.slice(crossAt).join("\n"), /textbox "Inner field"/)
    const typed: any = await timed("type(cross-origin iframe)", () => call(agent, "browser_type", { ref: crossField, element: "inner field", text: "hello iframe" }))
    const after = typed.structuredContent.snapshot as string
    expect(after.split("\n").slice(after.split("\n").findIndex((l) => l.includes(`iframe "cross origin"`))).join("\n")).toContain("hello iframe")
    // The same-origin frame did not change, so the result leaves it out: its ref is the first snapshot's.
    expect(after).not.toContain(`iframe "same origin"`)
    const sameField = refIn(frames, /textbox "Inner field"/)
    await call(agent, "browser_type", { ref: sameField, text: "same too" })
    const inner = await evaluate("() => document.querySelector('iframe').contentDocument.getElementById('inner').value")
    expect(inner).toBe("same too")
    const now = (await snap()).snapshot as string
    const crossButton = refIn(now.split("\n").slice(now.split("\n").findIndex((l) => l.includes(`iframe "cross origin"`))).join("\n"), /button "Inner button"/)
    const clicked: any = await call(agent, "browser_click", { ref: crossButton })
    expect(clicked.structuredContent.snapshot).toContain(`button "Inner clicked"`)

    // A frameset's frames are read as iframes are.
    const frameset = await open("frameset")
    expect(frameset).toMatch(/- iframe "left" \[ref=[^\]]+\]\n\s+- textbox "Inner field"/)
    expect(frameset).toMatch(/- iframe "right" \[ref=[^\]]+\]\n\s+- heading "Sign up"/)
    // A srcdoc frame is its parent's content, and is read.
    expect(await open("srcdoc-frame")).toMatch(/- iframe "inline" \[ref=[^\]]+\]\n\s+- button "Srcdoc button" \[ref=/)
    // A page that embeds an extension's page cannot be driven (Chrome's rule): said plainly, in its own tab.
    await tabs(agent, { action: "new", url: `${base}/extension-frame` })
    const hostage = (await tabs(agent, { action: "list" })).find((t) => t.url.endsWith("/extension-frame"))!.tab
    try {
      // Refused once the extension's frame is in the page (it may come a moment after the tab opened).
      const refused = await waitFor(async () => {
        const r: any = await agent.client.callTool({ name: "browser_snapshot", arguments: { tab: hostage } })
        return r.isError === true && text(r)
      }, 10_000)
      expect(refused).toContain("embeds another extension's page")
      // Every call says so (a snapshot once answered "the page shows nothing", a click "not ready").
      expect(await failure("browser_click", { tab: hostage, ref: "iframe" })).toContain("embeds another extension's page")
      expect(await failure("browser_snapshot", { tab: hostage })).toContain("embeds another extension's page")
    } finally {
      // Closed whatever happened, so the tests after this one do not inherit it as the current tab.
      await tabs(agent, { action: "close", tab: hostage })
      const current = (await tabs(agent, { action: "list" }))[0]!.tab
      await tabs(agent, { action: "select", tab: current })
    }

    const shadow = await open("shadow")
    expect(shadow).toContain("Inside the shadow")
    await call(agent, "browser_click", { ref: refIn(shadow, /button "Shadow button"/) })
    expect(await out()).toBe("shadow clicked")
  })

  it("a form is filled, typed into, chosen from and submitted; the page shows what was sent", async () => {
    const form = await open("form")
    const r = (re: RegExp) => refIn(form, re)
    const filled: any = await timed("fill_form(9 fields)", () => call(agent, "browser_fill_form", {
      fields: [
        { name: "Name", type: "textbox", ref: r(/textbox "Name"/), value: "Ada" },
        { name: "Email", type: "textbox", ref: r(/textbox "Email"/), value: "ada@example.com" },
        { name: "Password", type: "textbox", ref: r(/textbox "Password"/), value: "s3cret" },
        { name: "Age", type: "textbox", ref: r(/spinbutton "Age"/), value: "36" },
        { name: "Bio", type: "textbox", ref: r(/textbox "Bio"/), value: "Line one" },
        { name: "Newsletter", type: "checkbox", ref: r(/checkbox "Newsletter"/), value: "true" },
        { name: "Pro", type: "radio", ref: r(/radio "Pro"/), value: "true" },
        { name: "Volume", type: "slider", ref: r(/slider "Volume"/), value: "8" },
        { name: "Country", type: "combobox", ref: r(/combobox "Country"/), value: "Japan" }
      ]
    }))
    expect(filled.structuredContent.did).toContain("checked Newsletter")
    expect(filled.structuredContent.snapshotIs).toBe("changes")
    await timed("select_option(multiple)", () => call(agent, "browser_select_option", { ref: r(/listbox "Colours"/), values: ["Red", "Blue"] }))
    const submit = refIn((await snap()).snapshot, /button "Submit"/)
    const done: any = await timed("click(submit)", () => call(agent, "browser_click", { ref: submit, element: "Submit button" }))
    expect(done.structuredContent.title).toBe("Submitted")
    expect(JSON.parse(await out())).toMatchObject({
      name: "Ada",
      email: "ada@example.com",
      password: "s3cret",
      age: "36",
      bio: "Line one",
      news: "yes",
      plan: "pro",
      volume: "8",
      country: "jp",
      colours: ["Red", "Blue"]
    })
    expect(await failure("browser_click", { ref: r(/button "Disabled"/) })).toContain("is disabled")
    expect(await failure("browser_select_option", { ref: r(/combobox "Country"/), values: ["Mars"] })).toContain(`no option "Mars"`)
  })

  it("one snapshot, several actions: a ref stays its element's while it lives; then it is stale, never another's", async () => {
    const first = await open("form")
    const name = refIn(first, /textbox "Name"/)
    const email = refIn(first, /textbox "Email"/)
    // Actions answer with fresh snapshots; the first snapshot's refs still work, and are the same.
    const typed: any = await call(agent, "browser_type", { ref: name, text: "Ada" })
    expect(refIn(typed.structuredContent.snapshot, /textbox "Name"/)).toBe(name)
    await call(agent, "browser_type", { ref: email, text: "ada@example.com" })
    expect(refIn((await snap()).snapshot, /textbox "Email"/)).toBe(email)
    // The element removed: its ref is stale, and no other element takes it.
    await call(agent, "browser_evaluate", { function: "() => document.querySelector('input[name=email], input[type=email]').remove()" })
    expect(await failure("browser_type", { ref: email, text: "x" })).toMatch(/stale ref .*no longer in the page/)
    expect((await snap()).snapshot).not.toContain(`[ref=${email}]`)
    await call(agent, "browser_navigate", { url: `${base}/link` })
    expect(await failure("browser_type", { ref: name, text: "x" })).toMatch(/stale ref .*new document/)
    expect(await failure("browser_click", { ref: "e12" })).toContain("is not a ref")
    // A CSS selector is taken where a ref is, as Playwright MCP does, if it names exactly one element.
    await open("form")
    const bySelector: any = await call(agent, "browser_type", { ref: "input[name=name]", text: "Grace" })
    expect(bySelector.structuredContent.snapshot).toMatch(/textbox "Name" [^\n]*\[ref=s\d+e\d+\]: Grace/)
    expect(await failure("browser_click", { ref: "button" })).toMatch(/"button" matches \d+ elements/)
    expect(await failure("browser_click", { ref: "#nothing-here" })).toContain("matches no element")
    expect(await failure("browser_click", { ref: "[[" })).toContain("neither a ref")
  })

  it("a navigation waits for what the page fetched once loaded, so its snapshot shows the page as it came up", async () => {
    const went: any = await timed("navigate(render after load)", () => call(agent, "browser_navigate", { url: `${base}/render-after-load` }))
    expect(went.structuredContent.snapshot).toContain(`button "Item 3"`)
    // A page with nothing in flight once loaded is answered at once.
    const t0 = Date.now()
    await call(agent, "browser_navigate", { url: `${base}/link` })
    expect(Date.now() - t0).toBeLessThan(1_500)
  })

  it("a click that navigates waits for the new page; a covered button is reported; a far button is scrolled to", async () => {
    const link = await open("link")
    const went: any = await timed("click(navigates)", () => call(agent, "browser_click", { ref: refIn(link, /link "Go to the form"/) }))
    expect(went.structuredContent).toMatchObject({ url: `${base}/form`, title: "Form", settled: true })
    expect(went.structuredContent.snapshot).toContain(`heading "Sign up"`)
    const download = await open("download")
    const got: any = await call(agent, "browser_click", { ref: refIn(download, /link "Get the report"/) })
    expect(got.structuredContent.downloads).toEqual([{ filename: "report.csv", url: `${base}/report.csv` }])
    expect(text(got)).toContain("Downloads started")
    // Navigating to the file itself is the same download, said as one (not net::ERR_ABORTED); the tab stays.
    const fetched: any = await call(agent, "browser_navigate", { url: `${base}/report.csv` })
    expect(fetched.structuredContent).toMatchObject({ url: `${base}/download`, download: { filename: "report.csv", url: `${base}/report.csv` } })
    expect(text(fetched)).toContain("the browser downloaded it as report.csv")
    // A link to another application is refused (its prompt would block the page); the page stays usable.
    const apps = await open("app-links")
    expect(await failure("browser_click", { ref: refIn(apps, /link "Write to us"/) })).toContain("links to a mailto: URL")
    expect(await failure("browser_click", { ref: refIn(apps, /link "Files"/) })).toContain("links to a ftp: URL")
    expect((await call(agent, "browser_click", { ref: refIn(apps, /link "The form"/) })).structuredContent.url).toBe(`${base}/form`)
    const late = await open("late-navigation")
    const later: any = await call(agent, "browser_click", { ref: refIn(late, /button "Go later"/) })
    expect(later.structuredContent).toMatchObject({ url: `${base}/form`, title: "Form", settled: true })
    expect(later.structuredContent.snapshot).toContain(`heading "Sign up"`)

    const covered = await open("covered")
    const refusedAt = Date.now()
    expect(await failure("browser_click", { ref: refIn(covered, /button "Covered button"/) })).toContain(`covered by another element, <div.overlay> "Cookie banner"`)
    // What stays covered is refused only after the action's wait (5 s), as Playwright does.
    expect(Date.now() - refusedAt).toBeGreaterThanOrEqual(4_500)
    // Covered for a moment (a toast over the button): the click waits for it to go, then lands.
    const toast = await open("toast")
    await call(agent, "browser_click", { ref: refIn(toast, /button "Import"/) })
    const waited = Date.now()
    const progress: Array<string> = []
    const deployed: any = await agent.client.callTool({ name: "browser_click", arguments: { ref: refIn(toast, /button "Deploy"/) } }, undefined, {
      onprogress: (p) => void progress.push(String(p.message))
    })
    expect(deployed.isError ?? false).toBe(false)
    console.log(`a toast over the button: the click landed ${Date.now() - waited} ms later, once it was gone`)
    expect(await out()).toBe("deployed")
    // The wait was said as the call's progress, naming what covered the button.
    expect(progress.some((m) => /is covered by <div#toast>.*waiting up to 5s/.test(m)), progress.join(" | ")).toBe(true)

    // A link inside a closed off-canvas menu is marked [offscreen] and refused at once, naming the menu; the page's own one works.
    const offcanvas = await open("offcanvas")
    expect(offcanvas).toMatch(/link "Docs" \[offscreen\] \[ref=/)
    const hidden = /link "Docs" \[offscreen\] \[ref=(\w+)\]/.exec(offcanvas)![1]!
    const refusedFast = Date.now()
    expect(await failure("browser_click", { ref: hidden })).toContain("off-screen, inside <nav#menu.offcanvas>")
    expect(Date.now() - refusedFast).toBeLessThan(3_000)
    const reachable = /link "Docs" \[ref=(\w+)\]/.exec(offcanvas)![1]!
    await call(agent, "browser_click", { ref: reachable })
    expect(await out()).toBe("page docs")

    // A fixed header, a sticky sidebar and a scrolled container do not keep a click from its element.
    const layout = await open("layout")
    for (const [name, said] of [["Button 7", "section 7"], ["Deep inside", "inner clicked"], ["Side nine", "side 9"], ["Button 0", "section 0"], ["Side one", "side 1"]]) {
      await call(agent, "browser_click", { ref: refIn(layout, new RegExp(`(button|link) "${name}"`)) })
      expect(await out(), name).toBe(said)
    }

    const long = await open("long")
    const bottom: any = await call(agent, "browser_click", { ref: refIn(long, /button "Bottom button"/) })
    expect(bottom.structuredContent.snapshot).toContain(`button "Bottom clicked"`)
  })

  it("hostile pages: a lying elementFromPoint, an element slipped under the pointer, focus moved into another frame are refused; nothing lands", async () => {
    // The page's overrides do not apply to tabmux's checks: the frame over the button is named.
    const lying = await open("lying-cover")
    expect(await failure("browser_click", { ref: refIn(lying, /button "Covered target"/) })).toMatch(/covered by another element, <iframe/)
    expect(await out()).toBe("")

    // The trap appears under the pointer as it arrives: the press is stopped and the trap named.
    const bait = await open("bait-and-switch")
    expect(await failure("browser_click", { ref: refIn(bait, /button "Bait"/) })).toMatch(/landed on <div#trap> "Trap" instead/)
    expect(await out()).toBe("")

    // Focusing the field sends focus into a cross-origin frame: nothing is typed, there or here.
    const secret = refIn(await open("bait-and-switch"), /textbox "Secret"/)
    for (const slowly of [false, true]) {
      expect(await failure("browser_type", { ref: secret, text: "hunter2", slowly })).toMatch(/focus moved from .* to <iframe>/)
    }
    expect(await evaluate("() => document.getElementById('secret').value")).toBe("")
    const inner: any = await call(agent, "browser_snapshot", {})
    expect(inner.structuredContent.snapshot).not.toContain("hunter2")
  })

  it.skipIf(!hasCodeMirror())("a code editor (CodeMirror 5) takes typing through its hidden textarea, key by key as a person's: brackets close, lines indent; the result says what it shows", async () => {
    const page = await open("code-editor")
    // Its textarea is a pixel wide inside a clipped box, under the editor's own lines.
    const input = refIn(page, /- textbox \[ref=/)
    const typed: any = await timed("type(code editor)", () => call(agent, "browser_type", { ref: input, text: "\nif (x) {\nreturn [1, \"a\"" }))
    const want = "// notes\nif (x) {\n  return [1, \"a\"]\n}"
    expect(await evaluate("() => editor.getValue()")).toBe(want)
    expect(text(typed)).toContain(`the editor now shows: ${JSON.stringify(want)}`)
    expect(typed.structuredContent.snapshot).toMatch(/- generic \[ref=\w+\]: return \[1, "a"\]/)
    // Typing aimed at one of the editor's lines (what the snapshot shows of it) goes to its input too.
    const line = refIn(typed.structuredContent.snapshot, /- generic \[ref=\w+\]: \/\/ notes/)
    await call(agent, "browser_type", { ref: line, text: "ok" })
    expect(await evaluate("() => editor.getValue()")).toContain("ok")
    // An ordinary field beside it is typed into as before (replacing what it held).
    await call(agent, "browser_type", { ref: refIn(page, /textbox "File name"/), text: "app.js" })
    expect(await evaluate("() => document.getElementById('name').value")).toBe("app.js")
  })

  it("Ace and Monaco (npm) take typing through their inputs too (transparent; next to no size), and say what they show", async () => {
    for (const editor of ["ace-editor", "monaco-editor"]) {
      await call(agent, "browser_navigate", { url: `${base}/${editor}` })
      const page = await waitFor(async () => {
        const shot = (await snap()).snapshot as string
        return /- textbox[^\n]*\[ref=/.test(shot) && (editor !== "monaco-editor" || await evaluate("() => document.title") === "Monaco editor ready") && shot
      }, 10_000)
      const typed: any = await timed(`type(${editor})`, () => call(agent, "browser_type", { ref: refIn(page, /- textbox/), text: "\nif (x) {\nreturn [1, \"a\"" }))
      const value = await evaluate("() => editor.getValue()") as string
      // The keys arrived as a person's: Ace closed the brackets and indented; Monaco does its own
      // closing and indenting as its background tokenizer has caught up, so only the typed text is sure.
      if (editor === "ace-editor") expect(value).toBe("// notes\nif (x) {\n    return [1, \"a\"]\n}")
      else expect(value).toMatch(/^\/\/ notes\nif \(x\) \{\}?\n\s*return \[1, "a"/)
      expect(text(typed), text(typed)).toContain(`the editor now shows: ${JSON.stringify(value)}`)
    }
  })

  it("a real application (Swagger UI from npm, an OpenAPI console) takes an agent's first approach: five calls, no waits, checked by what the app shows", async () => {
    // What the agent knows of the page: each result's changes, the newest first.
    let known = ""
    const act = async (tool: string, args: Record<string, unknown>) => {
      const page = (await call(agent, tool, args)).structuredContent.snapshot as string
      known = `${page}\n${known}`
      return page
    }
    await act("browser_navigate", { url: `${base}/openapi-console` })
    await act("browser_click", { ref: refIn(known, /button "GET \/api\/greet/) })
    await act("browser_click", { ref: refIn(known, /button "Try it out"/) })
    await act("browser_type", { ref: refIn(known, /textbox "name"/), text: "Ada" })
    const page = await act("browser_click", { ref: refIn(known, /button "Execute"/) })
    expect(page).toContain(`generic [ref=`)
    expect(page).toMatch(/- generic \[ref=\w+\]: \{ "greeting": "Hello, Ada!"\}/)
    expect(page).toContain("/api/greet?name=Ada")
  })

  it("real applications from npm take an agent's first approach: TodoMVC (React) and a flow editor's drag from its palette", async () => {
    // What the agent knows of the page: each result's snapshot or changes, the newest first.
    let known = ""
    const act = async (tool: string, args: Record<string, unknown>) => {
      const result = await call(agent, tool, args)
      known = `${result.structuredContent.snapshot ?? ""}\n${known}`
      return result
    }
    // The application renders after its page loaded: as an agent does, a snapshot when what it needs is not in what it was told.
    const ref = async (line: RegExp) => {
      if (!known.split("\n").some((l) => line.test(l))) known = `${(await snap()).snapshot}\n${known}`
      return refIn(known, line)
    }
    await call(agent, "browser_navigate", { url: `${base}/storage-reset` })
    await evaluate("() => (localStorage.clear(), true)")
    await act("browser_navigate", { url: `${base}/vendor/todomvc/react/index.html` })
    await act("browser_type", { ref: await ref(/textbox "What needs to be done\?"/), text: "Buy milk", submit: true })
    const second: any = await act("browser_type", { ref: await ref(/textbox "What needs to be done\?"/), text: "Walk the dog", submit: true })
    // Only what changed comes back: the new item, the count; not the header or the first item.
    expect(second.structuredContent.snapshotIs).toBe("changes")
    expect(second.structuredContent.snapshot).toContain("Walk the dog")
    expect(second.structuredContent.snapshot).not.toContain("Buy milk")
    const lines = known.split("\n")
    const milk = lines.findIndex((l) => l.includes(": Buy milk"))
    await act("browser_click", { ref: refIn(lines.slice(milk - 1, milk).join("\n"), /- checkbox/) })
    await act("browser_click", { ref: refIn(known, /link "Active"/) })
    expect(await evaluate(`() => [...document.querySelectorAll("#todo-list li")].map((li) => li.innerText.trim())`)).toEqual(["Walk the dog"])

    // The canvas is taller than the viewport: finding it scrolls the page, which must not move the drag's start.
    const flow = (await call(agent, "browser_navigate", { url: `${base}/flow-editor` })).structuredContent.snapshot as string
    await call(agent, "browser_drag", { startRef: refIn(flow, /listitem [^\n]*: Source/), endRef: "#drawflow" })
    expect(await evaluate(`() => Object.values(editor.export().drawflow.Home.data).map((n) => n.name)`)).toEqual(["source"])
  })

  it("hover, drag and drop, keys", async () => {
    const hover = await open("hover")
    await call(agent, "browser_hover", { ref: refIn(hover, /Hover me/) })
    expect(await evaluate("() => document.getElementById('h').textContent")).toBe("Hovered!")

    const drag = await open("drag")
    await timed("drag", () => call(agent, "browser_drag", { startRef: refIn(drag, /Card/), endRef: refIn(drag, /Drop zone/) }))
    expect(await out()).toBe("dropped card")

    const keys = await open("keys")
    await call(agent, "browser_click", { ref: refIn(keys, /textbox "Keys"/) })
    for (const key of ["a", "Shift+B", "Enter", "Backspace", "ArrowLeft"]) await call(agent, "browser_press_key", { key })
    expect(await evaluate("() => document.getElementById('log').textContent")).toBe("a B Enter Backspace ArrowLeft ")
    expect(await evaluate("() => document.getElementById('k').value")).toBe("a")
    expect(await failure("browser_press_key", { key: "Hyper+x" })).toContain(`"Hyper" is not a modifier`)
  })

  it("double, right, middle and modified clicks; typing key by key and submitting; evaluating on an element", async () => {
    const page = await open("clicks")
    for (const args of [{ doubleClick: true }, { button: "right" }, { button: "middle" }, { modifiers: ["Shift", "Alt"] }]) {
      await call(agent, "browser_click", { ref: refIn(page, /button "Target"/), ...args })
    }
    expect(await evaluate("() => document.getElementById('log').textContent")).toBe("click click dblclick contextmenu auxclick1 click+shift+alt ")

    const search = await open("search")
    const field = refIn(search, /textbox "Query"/)
    const sent: any = await timed("type(slowly, submit)", () => call(agent, "browser_type", { ref: field, text: "tabs", slowly: true, submit: true }))
    expect(await out()).toBe("searched tabs after 5 keys")
    const value: any = await call(agent, "browser_evaluate", { ref: refIn(sent.structuredContent.snapshot, /textbox "Query"/), function: "(el, suffix) => el.value + suffix", args: ["!"] })
    expect(JSON.parse(value.structuredContent.json)).toBe("tabs!")
    // Punctuation typed key by key arrives exactly (it used to turn "." into Delete); Shift+1 types "!".
    const again = await open("search")
    const query = refIn(again, /textbox "Query"/)
    const exact = "ada.lovelace@example.com (50%) <b>&amp; `x` ~{|}"
    await call(agent, "browser_type", { ref: query, text: exact, slowly: true })
    await call(agent, "browser_press_key", { key: "Shift+1" })
    await call(agent, "browser_press_key", { key: "Comma" })
    const read: any = await call(agent, "browser_evaluate", { function: "document.activeElement.value" })
    expect(JSON.parse(read.structuredContent.json)).toBe(`${exact}!,`)
    // Typing into a read-only field is refused, not reported as done.
    const readonly = await open("readonly")
    expect(await failure("browser_type", { ref: refIn(readonly, /textbox "Code"/), text: "Z9" })).toContain("is read-only")
    expect(JSON.parse((await call(agent, "browser_evaluate", { function: "document.querySelector('[name=code]').value" })).structuredContent.json)).toBe("X1")
    // A page that moves focus elsewhere as the field is focused: refused, nothing typed anywhere.
    expect(await failure("browser_type", { ref: refIn(readonly, /textbox "Trap"/), text: "secret" })).toMatch(/focus moved .* to <input> before typing/)
    expect(JSON.parse((await call(agent, "browser_evaluate", { function: "document.querySelector('[name=note]').value" })).structuredContent.json)).toBe("")
  })

  it("dialogs are reported as modal state and answered with browser_handle_dialog", async () => {
    const page = await open("dialogs")
    const alerted: any = await call(agent, "browser_click", { ref: refIn(page, /button "Alert"/) })
    expect(alerted.structuredContent.modal).toContain(`an alert dialog is open: "Hello from alert"`)
    expect(await failure("browser_snapshot", {})).toContain("answer it with browser_handle_dialog first")
    // Reading a request's body while the dialog blocks the page answers at once too.
    const requestId = (await call(agent, "browser_network_requests", {})).structuredContent.requests[0]?.id ?? "1"
    const askedAt = Date.now()
    expect(await failure("browser_network_request", { id: requestId })).toContain("answer it with browser_handle_dialog first")
    expect(Date.now() - askedAt).toBeLessThan(2_000)
    expect(await failure("browser_click", { ref: refIn(page, /button "Confirm"/) })).toContain("answer it with browser_handle_dialog first")
    const closed: any = await call(agent, "browser_handle_dialog", { accept: true })
    expect(closed.structuredContent.modal).toBeUndefined()
    expect(await out()).toBe("alert closed")
    const fresh = (await snap()).snapshot as string
    await call(agent, "browser_click", { ref: refIn(fresh, /button "Confirm"/) })
    await call(agent, "browser_handle_dialog", { accept: false })
    expect(await out()).toBe("cancelled")
    const again = (await snap()).snapshot as string
    const prompted: any = await call(agent, "browser_click", { ref: refIn(again, /button "Prompt"/) })
    expect(prompted.structuredContent.modal).toContain(`prompt dialog is open: "Your name?" (default "nobody")`)
    await call(agent, "browser_handle_dialog", { accept: true, promptText: "Ada" })
    expect(await out()).toBe("name: Ada")
    expect(await failure("browser_handle_dialog", { accept: true })).toContain("No dialog is open")
    // Back to back: answering the first reports the second, every time.
    for (let round = 0; round < 5; round++) {
      await call(agent, "browser_click", { ref: refIn(again, /button "Two alerts"/) })
      const first: any = await call(agent, "browser_handle_dialog", { accept: true })
      expect(first.structuredContent.modal, `round ${round}`).toContain(`alert dialog is open: "second"`)
      const second: any = await call(agent, "browser_handle_dialog", { accept: true })
      expect(second.structuredContent.modal).toBeUndefined()
      expect(await out()).toBe("both closed")
    }
  })

  it("console messages (with uncaught exceptions) and network requests since the page loaded", async () => {
    await open("errors")
    await waitFor(async () => (await call(agent, "browser_console_messages", {})).structuredContent.messages.length >= 4, 5_000)
    const all = (await call(agent, "browser_console_messages", {})).structuredContent.messages.map((m: any) => `${m.level} ${m.text}`)
    expect(all).toEqual(expect.arrayContaining(["info hello log", "warning a warning", "error an error 42", expect.stringMatching(/^error Uncaught Error: thrown later/)]))
    const errorsOnly: any = await call(agent, "browser_console_messages", { level: "error" })
    expect(errorsOnly.structuredContent.messages.every((m: any) => m.level === "error")).toBe(true)
    // Written as Playwright MCP writes them: the count of all, then each as [TYPE] text @ where.
    expect(text(errorsOnly)).toMatch(/^Total messages: \d+ \(Errors: \d+, Warnings: 1\)\nReturning \d+ messages for level "error"\n/)
    expect(text(await call(agent, "browser_console_messages", {}))).toMatch(/^\[LOG\] hello log @ http:\/\/127\.0\.0\.1:\d+\/errors:\d+$/m)
    // filename (Playwright MCP's) also saves the answer, as for evaluate.
    const answer = Path.join(workspace, `tabmux-test-${process.pid}-console.txt`)
    expect((await call(agent, "browser_console_messages", { filename: answer })).structuredContent.path).toBe(Fs.realpathSync(answer))
    expect(Fs.readFileSync(answer, "utf8")).toMatch(/^Total messages: \d+ [^]*\[WARNING\] a warning/)
    await call(agent, "browser_evaluate", { function: "() => document.title", filename: answer })
    expect(Fs.readFileSync(answer, "utf8")).toBe(`"Errors"\n`)
    Fs.rmSync(answer)
    const failed: any = await call(agent, "browser_click", { ref: refIn((await snap()).snapshot, /button "Fail"/) })
    expect(failed.structuredContent.consoleMessages).toEqual([
      { level: "error", type: "error", text: "clicked error" },
      { level: "error", type: "error", text: expect.stringMatching(/Uncaught TypeError: Cannot read properties of null/) }
    ])
    expect(text(failed)).toContain("New console messages:\n- [ERROR] clicked error")

    const page = await open("fetch")
    const loaded: any = await timed("click(fetch 400 ms)", () => call(agent, "browser_click", { ref: refIn(page, /button "Load"/) }))
    expect(loaded.structuredContent.snapshot).toContain("loaded 3 items")
    const requests = (await call(agent, "browser_network_requests", { filter: "api/slow" })).structuredContent.requests
    // Its size is its body's, as the page got it (the list once said "0 bytes" for a small response).
    expect(requests).toEqual([expect.objectContaining({ method: "GET", url: `${base}/api/slow?ms=400`, status: 200, finished: true, size: JSON.stringify({ items: [1, 2, 3] }).length })])
    const detail = (await call(agent, "browser_network_request", { id: requests[0].id })).structuredContent.request
    expect(detail.body).toBe(JSON.stringify({ items: [1, 2, 3] }))
    // Playwright MCP's ways: a filter that is a regular expression, and a request by its number in the list.
    const byRegex: any = await call(agent, "browser_network_requests", { filter: "/api/sl[o]w\\?ms=\\d+" })
    expect(byRegex.structuredContent.requests.map((q: any) => q.id)).toEqual([requests[0].id])
    expect(text(byRegex)).toMatch(new RegExp(`^${requests[0].index}\\. \\[GET\\] ${base}/api/slow\\?ms=400 → 200`))
    expect((await call(agent, "browser_network_request", { index: requests[0].index })).structuredContent.request.body).toBe(detail.body)
    expect(detail.responseHeaders["content-type"]).toBe("application/json")
    const everything = (await call(agent, "browser_network_requests", {})).structuredContent.requests
    expect(everything.map((r: any) => r.url)).toContain(`${base}/fetch`)

    // What the errors page logged belongs to it: gone by default after the navigation, there with `all`.
    expect((await call(agent, "browser_console_messages", {})).structuredContent.messages.map((m: any) => m.text)).not.toContain("hello log")
    expect((await call(agent, "browser_console_messages", { all: true })).structuredContent.messages.map((m: any) => m.text)).toContain("hello log")

    // A static resource that failed is listed without includeStatic; one that loaded is not. A binary body is saved whole.
    await open("assets")
    await waitFor(async () => (await call(agent, "browser_network_requests", { includeStatic: true })).structuredContent.requests.filter((r: any) => r.finished).length >= 3, 5_000)
    const listed = (await call(agent, "browser_network_requests", {})).structuredContent.requests.map((r: any) => `${r.url} ${r.status}`)
    expect(listed).toContain(`${base}/missing 404`)
    expect(listed).not.toContain(`${base}/pixel.png 200`)
    const pixel = (await call(agent, "browser_network_requests", { includeStatic: true, filter: "pixel" })).structuredContent.requests[0]
    const saved: any = await call(agent, "browser_network_request", { id: pixel.id, filename: "pixel.png" })
    expect(saved.structuredContent.request.body).toMatch(/^\(binary, \d+ bytes\)$/)
    expect(Fs.readFileSync(saved.structuredContent.path)).toEqual(PIXEL)
  })

  it("browser_file_upload answers the file chooser with files that exist; missing files are named", async () => {
    const dirOf = Fs.mkdtempSync(Path.join(workspace, "upload-"))
    Fs.writeFileSync(Path.join(dirOf, "a.txt"), "hello")
    Fs.writeFileSync(Path.join(dirOf, "b.txt"), "abc")
    const page = await open("upload")
    // A file input without a label is the button Chrome draws, by its words (as Playwright names it).
    expect(page).toMatch(/- button "Choose File" \[ref=/)
    expect(await failure("browser_file_upload", { paths: [Path.join(dirOf, "a.txt")] })).toContain("No file chooser is open")
    const opened: any = await call(agent, "browser_click", { ref: refIn(page, /button "Attachment"/) })
    expect(opened.structuredContent.modal).toContain("file chooser is open")
    // While it is open, other actions are refused (as Playwright MCP does), saying how to answer it.
    expect(await failure("browser_click", { ref: refIn(page, /button "Attachment"/) })).toMatch(/file chooser is open.*browser_file_upload/)
    expect(await failure("browser_file_upload", { paths: [Path.join(dirOf, "nope.txt")] })).toContain(`paths.0: ${Path.join(dirOf, "nope.txt")} does not exist`)
    await timed("file_upload", () => call(agent, "browser_file_upload", { paths: [Path.join(dirOf, "a.txt"), Path.join(dirOf, "b.txt")] }))
    expect(await out()).toBe("a.txt:5,b.txt:3")
    // Files and data dropped onto an element, as if dragged from outside the page.
    const zone = await open("drop-zone")
    await call(agent, "browser_drop", { ref: refIn(zone, /region "Drop zone"/), paths: [Path.join(dirOf, "a.txt")] })
    expect(await out()).toBe("files a.txt:5 text ")
    await call(agent, "browser_drop", { ref: refIn(zone, /region "Drop zone"/), data: { "text/plain": "hello drop" } })
    expect(await out()).toBe("files  text hello drop")
    expect(await failure("browser_drop", { ref: refIn(zone, /region "Drop zone"/) })).toContain("nothing to drop")
    expect(await failure("browser_drop", { ref: refIn(zone, /region "Drop zone"/), paths: ["/etc/passwd"] })).toContain("/etc/passwd")
    Fs.rmSync(dirOf, { recursive: true, force: true })
  })

  it("browser_wait_for waits for text to come and go, and says when it gave up", async () => {
    await open("fetch")
    await call(agent, "browser_evaluate", { function: "() => { setTimeout(() => out('ready now'), 500); setTimeout(() => out(''), 1200) }" })
    const came: any = await call(agent, "browser_wait_for", { text: "ready now" })
    expect(came.structuredContent.ms).toBeGreaterThan(200)
    await call(agent, "browser_wait_for", { textGone: "ready now" })
    expect(await out()).toBe("")
    expect(await failure("browser_wait_for", { text: "never there", timeoutSeconds: 1 })).toContain(`"never there" did not appear after 1 s`)
    expect(await failure("browser_wait_for", {})).toContain("give text, textGone or time")
  })

  it("screenshots of a background tab (another tab active), full page and one element; resize; PDF", { timeout: 90_000 }, async () => {
    await browser.openPage(`${base}/someone-elses-active-tab`)
    // A fixed header, a sticky sidebar and a scrolled container do not keep a click from its element.
    const layout = await open("layout")
    for (const [name, said] of [["Button 7", "section 7"], ["Deep inside", "inner clicked"], ["Side nine", "side 9"], ["Button 0", "section 0"], ["Side one", "side 1"]]) {
      await call(agent, "browser_click", { ref: refIn(layout, new RegExp(`(button|link) "${name}"`)) })
      expect(await out(), name).toBe(said)
    }

    const long = await open("long")
    const isPng = (data: string) => Buffer.from(data, "base64").subarray(1, 4).toString() === "PNG"
    for (let i = 0; i < 4; i++) {
      const shot: any = await timed(`screenshot #${i + 1}`, () => call(agent, "browser_take_screenshot", {}))
      const image = shot.content.find((c: any) => c.type === "image")
      expect(isPng(image.data)).toBe(true)
      expect(shot.structuredContent.width).toBeGreaterThan(100)
    }
    // The image is as large as the result says, in CSS pixels by default and in the display's with scale "device" (Playwright MCP's).
    const pngSize = (data: string) => { const b = Buffer.from(data, "base64"); return [b.readUInt32BE(16), b.readUInt32BE(20)] }
    const dpr = await evaluate("() => devicePixelRatio") as number
    for (const scale of ["css", "device"]) {
      const shot: any = await call(agent, "browser_take_screenshot", { scale })
      const [w, h] = pngSize(shot.content.find((c: any) => c.type === "image").data)
      expect([w, h], scale).toEqual([shot.structuredContent.width, shot.structuredContent.height])
      expect(w).toBe(Math.round((await evaluate("() => document.documentElement.clientWidth") as number) * (scale === "device" ? dpr : 1)))
    }
    const full: any = await call(agent, "browser_take_screenshot", { fullPage: true, type: "jpeg", quality: 50 })
    // The 5,000 px page, scaled to 2,000 px on its longest side.
    expect(full.structuredContent.height).toBe(2000)
    expect(full.structuredContent.width).toBeLessThan(500)
    expect(full.content[1].mimeType).toBe("image/jpeg")
    const one: any = await call(agent, "browser_take_screenshot", { ref: refIn(long, /button "Bottom button"/) })
    expect(one.structuredContent.height).toBeLessThan(100)
    const active = await browser.evaluateInWorker<string>("chrome.tabs.query({ active: true }).then((t) => t.map((x) => x.url).join(' '))")
    expect(active).not.toContain(`${base}/long`)

    await call(agent, "browser_resize", { width: 640, height: 480 })
    expect(await evaluate("() => [innerWidth, innerHeight]")).toEqual([640, 480])
    const pdfPath = Path.join(workspace, `tabmux-test-${process.pid}.pdf`)
    const pdf: any = await call(agent, "browser_pdf_save", { path: pdfPath })
    expect(Fs.readFileSync(pdfPath).subarray(0, 5).toString()).toBe("%PDF-")
    expect(pdf.structuredContent.bytes).toBe(Fs.statSync(pdfPath).size)
    Fs.rmSync(pdfPath)
  })

  it("two instances fill their own forms in parallel without disturbing each other (one without snapshots after actions); browser_close closes only your tabs", { timeout: 90_000 }, async () => {
    // This one answers actions without a snapshot (--snapshot-after-action none).
    const other = await start("agent-u", { TABMUX_SNAPSHOT_AFTER_ACTION: "none" })
    agents.push(other)
    await waitFor(() => readRegistry(dir).find((r) => r.pid === other.transport.pid && r.extension), 15_000)
    await tabs(other, { action: "new" })
    const run = async (who: Agent, name: string) => {
      await call(who, "browser_navigate", { url: `${base}/form` })
      for (let i = 0; i < 5; i++) {
        const page = (await call(who, "browser_snapshot", {})).structuredContent.snapshot
        await call(who, "browser_type", { ref: refIn(page, /textbox "Name"/), text: `${name}-${i}` })
      }
      const page = (await call(who, "browser_snapshot", {})).structuredContent.snapshot
      const clicked = await call(who, "browser_click", { ref: refIn(page, /button "Submit"/) })
      expect(clicked.structuredContent.snapshotIs === undefined).toBe(who === other)
      expect(text(clicked).includes("Snapshot")).toBe(who !== other)
      return JSON.parse((await call(who, "browser_evaluate", { function: "() => document.getElementById('out').textContent" })).structuredContent.json)
    }
    const [mine, theirs] = await Promise.all([run(agent, "tee"), run(other, "you")])
    expect(JSON.parse(mine).name).toBe("tee-4")
    expect(JSON.parse(theirs).name).toBe("you-4")
    const closed: any = await call(other, "browser_close", {})
    expect(closed.structuredContent.closed).toEqual(["t1"])
    expect((await tabs(other, { action: "list" })).filter((t) => !t.shared)).toEqual([])
    expect((await tabs(agent, { action: "list" })).filter((t) => !t.shared).length).toBe(1)
  })
})
