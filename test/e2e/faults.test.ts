/**
 * Faults on the extension's side, for real (headless Chromium, real servers, real MCP
 * clients): a cancelled call frees its tab at once; a server that goes silent is
 * dropped; a user closing the tab mid-call. Own port range, so it may run beside the
 * other browser tests.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { defaultOrigin } from "../../src/server/Extension.js"
import { type Browser, launch } from "../support/chromium.js"
import { type Fixtures, serveFixtures } from "../support/fixtures.js"
import { type Agent, call, startAgent, text } from "../support/agent.js"
import { readRegistry, waitFor } from "../support/server.js"

const PORTS = "18880-18887"

let browser: Browser
let fixtures: Fixtures
const agents: Array<Agent> = []

const start = async (name: string, env: Record<string, string> = {}) => {
  const agent = await startAgent(name, { dir: browser.dir, ports: PORTS, env })
  agents.push(agent)
  return agent
}

beforeAll(async () => {
  fixtures = await serveFixtures()
  browser = await launch({ ports: PORTS })
}, 60_000)

afterAll(async () => {
  await Promise.all(agents.map((a) => a.client.close().catch(() => {})))
  await browser?.close()
  fixtures?.close()
})

describe.sequential("faults", () => {
  it("a cancelled call stops in the extension: the next call on its tab runs at once", { timeout: 60_000 }, async () => {
    const agent = await start("agent-c")
    await call(agent, "browser_tabs", { action: "new", url: `${fixtures.base}/form` })
    const cancel = new AbortController()
    const waiting = agent.client.callTool({ name: "browser_wait_for", arguments: { text: "never appears", timeoutSeconds: 20 } }, undefined, {
      signal: cancel.signal
    }).catch((e) => e)
    await new Promise((r) => setTimeout(r, 1_000))
    cancel.abort()
    await waiting
    const started = Date.now()
    await call(agent, "browser_snapshot")
    const ms = Date.now() - started
    console.log(`after cancelling a 20 s wait_for at 1 s, the next call on the tab took ${ms} ms`)
    // Held, it would wait out the 19 s left; the margin is for a loaded machine, the figure is logged.
    expect(ms).toBeLessThan(5_000)
  })

  it("the user closes a tab mid-call: the running call and the one waiting behind it end within 1 s, naming the tab", { timeout: 60_000 }, async () => {
    const agent = agents.find((a) => a.name === "agent-c") ?? await start("agent-c")
    await call(agent, "browser_tabs", { action: "new", url: `${fixtures.base}/doomed-tab` })
    const tabs = (await call(agent, "browser_tabs", { action: "list" })).structuredContent.tabs
    const handle = tabs.find((t: any) => t.url.endsWith("/doomed-tab")).tab
    const running = agent.client.callTool({ name: "browser_wait_for", arguments: { tab: handle, text: "never", timeoutSeconds: 20 } })
    await new Promise((r) => setTimeout(r, 300))
    const queued = agent.client.callTool({ name: "browser_snapshot", arguments: { tab: handle } })
    await new Promise((r) => setTimeout(r, 300))
    const closedAt = Date.now()
    await browser.evaluateInWorker(`chrome.tabs.query({}).then((t) => chrome.tabs.remove(t.find((x) => x.url.endsWith("/doomed-tab")).id)).then(() => true)`)
    const [a, b]: Array<any> = await Promise.all([running, queued])
    const ms = Date.now() - closedAt
    console.log(`tab closed mid-call: both calls ended ${ms} ms after the close: "${text(a)}" / "${text(b)}"`)
    // Not noticed, both would run to their 20 s timeout.
    expect(ms).toBeLessThan(5_000)
    for (const r of [a, b]) {
      expect(r.isError).toBe(true)
      expect(text(r)).toContain(`${handle} was closed`)
    }
  })

  it("after the extension's service worker restarts, tabs driven before it are driven again", { timeout: 60_000 }, async () => {
    const agent = await start("agent-w")
    await call(agent, "browser_tabs", { action: "new", url: `${fixtures.base}/form` })
    await call(agent, "browser_snapshot")
    const record = readRegistry(browser.dir).find((r) => r.pid === agent.transport.pid)
    await new Promise((r) => setTimeout(r, 700)) // the state snapshot is written twice a second
    await browser.stopWorker()
    await browser.openPage(`${defaultOrigin()}/status.html`)
    await waitFor(() => readRegistry(browser.dir).find((r) => r.pid === agent.transport.pid && r.extension?.connectedAt > record.extension.connectedAt), 30_000)
    const again = await call(agent, "browser_snapshot")
    expect(text(again)).toContain("Sign up")
  })

  it("Playwright MCP's habit: browser_navigate as the first call opens a tab; so does a navigate after browser_close", { timeout: 60_000 }, async () => {
    const agent = await start("agent-first")
    const first = await call(agent, "browser_navigate", { url: `${fixtures.base}/form` })
    expect(text(first)).toContain("Form")
    // Navigate answers with the page's snapshot, and says a non-2xx status.
    expect(first.structuredContent).toMatchObject({ status: 200, loaded: true })
    expect(text(first)).toMatch(/Snapshot:\n[^]*textbox "Name"/)
    const missing = await call(agent, "browser_navigate", { url: `${fixtures.base}/missing` })
    expect(missing.structuredContent.status).toBe(404)
    expect(text(missing)).toContain("HTTP status 404.")
    // An image that never loads does not hold the agent: the document is ready, that is enough.
    const slowStarted = Date.now()
    const slow = await call(agent, "browser_navigate", { url: `${fixtures.base}/slow-image` })
    const slowMs = Date.now() - slowStarted
    console.log(`navigate to a page whose image never loads answered in ${slowMs} ms`)
    expect(slowMs).toBeLessThan(8_000)
    expect(slow.structuredContent.loaded).toBe(false)
    expect(text(slow)).toContain("heading \"Slow image\"")
    await call(agent, "browser_navigate", { url: `${fixtures.base}/form` })
    // Playwright MCP 0.0.83 names the ref `target`.
    const snapshot = text(await call(agent, "browser_snapshot"))
    const ref = /textbox "[^"]*" \[ref=(s\d+e\d+)\]/.exec(snapshot)![1]
    expect(text(await call(agent, "browser_hover", { target: ref }))).toContain("Hovered over")
    expect((await call(agent, "browser_tabs", { action: "list" })).structuredContent.tabs.map((t: any) => t.tab)).toEqual(["t1"])
    await call(agent, "browser_close")
    const again = await call(agent, "browser_navigate", { url: `${fixtures.base}/article` })
    expect(text(again)).toContain("t2")
  })

  it("after the browser is killed and started again, old handles say they are gone and new tabs get new handles", { timeout: 90_000 }, async () => {
    const agent = await start("agent-r")
    await call(agent, "browser_tabs", { action: "new", url: `${fixtures.base}/before-1` })
    const current = (result: any) => result.structuredContent.tabs.find((t: any) => t.current).tab as string
    const second = current(await call(agent, "browser_tabs", { action: "new", url: `${fixtures.base}/before-2` }))
    const record = readRegistry(browser.dir).find((r) => r.pid === agent.transport.pid)
    await browser.restart()
    await waitFor(() => readRegistry(browser.dir).find((r) => r.pid === agent.transport.pid && r.extension?.connectedAt > record.extension.connectedAt), 30_000)
    const gone: any = await agent.client.callTool({ name: "browser_snapshot", arguments: { tab: second } })
    expect(gone.isError).toBe(true)
    expect(text(gone)).toContain(`${second} is gone`)
    const fresh = current(await call(agent, "browser_tabs", { action: "new", url: `${fixtures.base}/after` }))
    console.log(`before the restart the agent had t1 and ${second}; after it, a new tab is ${fresh}`)
    expect(Number(fresh.slice(1))).toBeGreaterThan(Number(second.slice(1)))
  })

  it("a server SIGKILLed 0-40 ms after asking for a new tab leaves no orphan tab (12 rounds)", { timeout: 120_000 }, async () => {
    const rounds = 12
    for (let i = 0; i < rounds; i++) {
      const agent = await start(`doomed-${i}`)
      void agent.client.callTool({ name: "browser_tabs", arguments: { action: "new", url: `${fixtures.base}/orphan-${i}` } }).catch(() => undefined)
      await new Promise((r) => setTimeout(r, Math.round((40 * i) / (rounds - 1))))
      process.kill(agent.transport.pid!, "SIGKILL")
    }
    const orphans = () =>
      browser.evaluateInWorker<number>(`chrome.tabs.query({}).then((t) => t.filter((x) => (x.pendingUrl || x.url).includes("/orphan-")).length)`)
    await waitFor(async () => (await orphans()) === 0, 15_000).catch(() => undefined)
    expect(await orphans()).toBe(0)
  })

  it("a server stopped (SIGSTOP) is dropped after 60 s of silence, its tabs closed; resumed, it reconnects and works", { timeout: 150_000 }, async () => {
    const agent = await start("agent-s")
    await call(agent, "browser_tabs", { action: "new", url: `${fixtures.base}/stopped` })
    await call(agent, "browser_tab_lock", { ttlSeconds: 600 })
    const tabOpen = () =>
      browser.evaluateInWorker<boolean>(`chrome.tabs.query({}).then((t) => t.some((x) => (x.pendingUrl || x.url).endsWith("/stopped")))`)
    expect(await tabOpen()).toBe(true)
    const stopped = Date.now()
    const pid = agent.transport.pid!
    process.kill(pid, "SIGSTOP")
    try {
      await waitFor(async () => !(await tabOpen()), 75_000)
    } finally {
      try {
        process.kill(pid, "SIGCONT")
      } catch {
        // Gone already: said by the assertion below.
      }
    }
    // One loaded full run saw the server's process gone ~33 s after SIGSTOP: said plainly if it happens again.
    expect(agent.transport.pid, "the stopped server's process went away while it was stopped").toBe(pid)
    const dropped = Date.now() - stopped
    console.log(`a stopped server was dropped (its tab closed, its 600 s lease gone) ${dropped} ms after SIGSTOP`)
    expect(dropped).toBeGreaterThan(55_000)
    expect(dropped).toBeLessThan(70_000)
    // A new connection (the record still shows the old one until the server notices it is gone).
    await waitFor(() => readRegistry(browser.dir).find((r) => r.pid === agent.transport.pid && r.extension?.connectedAt > stopped + dropped), 30_000)
    expect((await call(agent, "browser_tabs", { action: "list" })).structuredContent.tabs).toEqual([])
  })
})
