/**
 * The user in control (invariants 17 and 18), in real headless Chromium with real
 * servers: the status page's "Take back", "Disconnect" and "Pause all agents", pressed by
 * their names; a tab that leaves an agent (taken back, released on disconnect, a shared
 * tab's lease ended) is off the debugger, as the browser's own target list says; a shared
 * tab is driven only under a lease.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Agent, call, failure, startAgent } from "../support/agent.js"
import { type Browser, launch } from "../support/chromium.js"
import { type Fixtures, serveFixtures } from "../support/fixtures.js"
import { readRegistry, waitFor } from "../support/server.js"

const PORTS = "18976-18979"

let browser: Browser
let fixtures: Fixtures
let workspace: string
let statusUrl: string
const agents: Array<Agent> = []

const start = async (name: string, env: Record<string, string> = {}) => {
  const agent = await startAgent(name, { dir: browser.dir, ports: PORTS, roots: [workspace], env })
  agents.push(agent)
  return agent
}

/** Opens a tab for the agent; its handle. */
const open = async (agent: Agent, url: string): Promise<string> => {
  await call(agent, "browser_tabs", { action: "new", url })
  return (await call(agent, "browser_tabs", { action: "list" })).structuredContent.tabs.find((t: any) => t.url === url).tab
}

/** Whether a debugger (the extension's) is attached to the page showing `url`, as the browser lists its targets. */
const attached = async (url: string) => (await browser.targets()).find((t) => t.type === "page" && t.url === url)?.attached

/** Runs `body` in the status page, with `item(text)` (the list item holding a text) and `press(root, name)` (a button by its name). */
const onStatusPage = <A>(body: string) =>
  browser.evaluateInPage<A>(statusUrl, `(async () => {
    await new Promise((r) => setTimeout(r, 1200))
    const item = (text) => [...document.querySelectorAll("li")].find((e) => e.textContent.includes(text)) ?? document.querySelector("section[aria-label=" + JSON.stringify(text) + "]")
    const press = (root, name) => {
      const b = [...root.querySelectorAll("button")].find((b) => b.textContent === name)
      if (!b) throw new Error("no button " + name)
      b.click()
      return true
    }
    ${body}
  })()`)

beforeAll(async () => {
  fixtures = await serveFixtures()
  browser = await launch({ ports: PORTS })
  workspace = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-roots-"))
  // In front, as the user sees it: a page in a background tab is throttled, which held a press's request for seconds.
  statusUrl = await browser.evaluateInWorker<string>(`(async () => {
    const url = chrome.runtime.getURL("status.html")
    await chrome.tabs.create({ url, active: true })
    return url
  })()`)
}, 60_000)

afterAll(async () => {
  await Promise.all(agents.map((a) => a.client.close().catch(() => {})))
  await browser?.close()
  fixtures?.close()
  Fs.rmSync(workspace, { recursive: true, force: true })
})

describe.sequential("the user in control", () => {
  it("\"Take back\": the tab leaves the agent and the debugger; the agent's next call on it says the user took it back", { timeout: 60_000 }, async () => {
    const agent = await start("agent-take")
    const url = `${fixtures.base}/form?take`
    const tab = await open(agent, url)
    await call(agent, "browser_snapshot", { tab })
    expect(await attached(url)).toBe(true)
    await onStatusPage(`return press(item("Form"), "Take back")`)
    await waitFor(async () => (await attached(url)) === false, 10_000)
    expect(await failure(agent, "browser_snapshot", { tab })).toContain(`The user took ${tab} back`)
    const listed = (await call(agent, "browser_tabs", { action: "list" })).structuredContent.tabs
    expect(listed.some((t: any) => t.url === url)).toBe(false)
    // It is the user's tab now: still open, out of the agent's group.
    const inGroup = await browser.evaluateInWorker<boolean>(`chrome.tabs.query({ url: ${JSON.stringify(url)} }).then((t) => t.length === 1 && t[0].groupId === -1)`)
    expect(inGroup).toBe(true)
  })

  it("\"Pause all agents\": every page call fails at once saying so, and no lease runs out; off again, calls work", { timeout: 60_000 }, async () => {
    const agent = agents[0]!
    const tab = await open(agent, `${fixtures.base}/start`)
    await onStatusPage(`
      const toggle = [...document.querySelectorAll("label")].find((l) => l.textContent === "Pause all agents").control
      toggle.click()
      return true`)
    const started = Date.now()
    expect(await failure(agent, "browser_snapshot", { tab })).toContain("paused all agents")
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(await failure(agent, "browser_tab_lock", { tab })).toContain("paused all agents")
    await onStatusPage(`
      const toggle = [...document.querySelectorAll("label")].find((l) => l.textContent === "Pause all agents").control
      if (!toggle.checked) throw new Error("the switch does not show the pause")
      toggle.click()
      return true`)
    await call(agent, "browser_snapshot", { tab })
  })

  it("a shared tab is driven only under a lease, and leaves the debugger when the lease ends", { timeout: 60_000 }, async () => {
    const agent = agents[0]!
    const url = `${fixtures.base}/shared-page?control`
    await browser.evaluateInWorker(`(async () => {
      const t = await chrome.tabs.create({ url: ${JSON.stringify(url)}, active: false })
      const g = await chrome.tabs.group({ tabIds: [t.id] })
      await chrome.tabGroups.update(g, { title: "tabmux · shared" })
    })()`)
    const shared = await waitFor(async () =>
      (await call(agent, "browser_tabs", { action: "list" })).structuredContent.tabs.find((t: any) => t.url === url), 10_000)
    expect(await failure(agent, "browser_evaluate", { tab: shared.tab, function: "() => document.title" })).toContain("lease it first")
    expect(await attached(url)).toBe(false)
    await call(agent, "browser_tab_lock", { tab: shared.tab, ttlSeconds: 30 })
    await call(agent, "browser_evaluate", { tab: shared.tab, function: "() => document.title" })
    expect(await attached(url)).toBe(true)
    await call(agent, "browser_tab_unlock", { tab: shared.tab })
    await waitFor(async () => (await attached(url)) === false, 10_000)
  })

  it("--on-disconnect release: the tabs handed back are off the debugger", { timeout: 60_000 }, async () => {
    const agent = await start("agent-release", { TABMUX_ON_DISCONNECT: "release" })
    const url = `${fixtures.base}/form?released`
    const tab = await open(agent, url)
    await call(agent, "browser_snapshot", { tab })
    expect(await attached(url)).toBe(true)
    await agent.client.close()
    agents.splice(agents.indexOf(agent), 1)
    await waitFor(async () => (await attached(url)) === false, 15_000)
    expect((await browser.targets()).some((t) => t.url === url)).toBe(true)
  })

  it("--session-name and --session-color title and colour the agent's tab group, and name it in the popup", { timeout: 60_000 }, async () => {
    const agent = await start("agent-named", { TABMUX_SESSION_NAME: "Research bot", TABMUX_SESSION_COLOR: "purple" })
    const url = `${fixtures.base}/form?named`
    await open(agent, url)
    const group = await browser.evaluateInWorker<{ title: string; color: string }>(`(async () => {
      const [t] = await chrome.tabs.query({ url: ${JSON.stringify(url)} })
      const g = await chrome.tabGroups.get(t.groupId)
      return { title: g.title, color: g.color }
    })()`)
    expect(group).toEqual({ title: "Research bot", color: "purple" })
    expect(await onStatusPage<boolean>(`return !!item("Research bot")`)).toBe(true)
    // The managed browser's window is Playwright's default, 1280×720: pages lay out for a desktop.
    expect((await call(agent, "browser_evaluate", { function: "() => innerWidth" })).content[0].text).toBe("1280")
    await call(agent, "browser_tabs", { action: "close" })
  })

  it("--allowed-origins holds every navigation of the agent's tabs: its own, a redirect, a link, a page's script, a frame", { timeout: 90_000 }, async () => {
    const agent = await start("agent-fenced", { TABMUX_ALLOWED_ORIGINS: fixtures.base })
    const elsewhere = new URL(fixtures.crossBase).origin
    const refusal = (said: string) => {
      expect(said).toContain(elsewhere)
      expect(said).toContain("--allowed-origins")
    }
    refusal(await failure(agent, "browser_navigate", { url: `${fixtures.crossBase}/elsewhere-secret` }))
    refusal(await failure(agent, "browser_navigate", { url: `${fixtures.base}/redirect?to=${encodeURIComponent(`${fixtures.crossBase}/elsewhere-secret`)}` }))
    for (const way of ["Elsewhere", "Go by script"]) {
      const page = (await call(agent, "browser_navigate", { url: `${fixtures.base}/links-out` })).content[0].text as string
      const ref = new RegExp(`(?:link|button) "${way}" \\[ref=(\\w+)\\]`).exec(page)![1]
      await agent.client.callTool({ name: "browser_click", arguments: { element: way, ref } })
      await new Promise((r) => setTimeout(r, 500))
      const after: any = await agent.client.callTool({ name: "browser_snapshot", arguments: {} })
      expect(JSON.stringify(after.content)).not.toContain("elsewhere-secret</")
      if (after.isError) refusal(after.content[0].text)
      else expect(after.content[0].text).not.toMatch(/heading "elsewhere-secret"/)
    }
    // A tab the agent's page opens (a link to a new tab, a popup) is the agent's, and held to its origins too.
    for (const way of ["Elsewhere in a new tab", "Pop up"]) {
      const page = (await call(agent, "browser_navigate", { url: `${fixtures.base}/links-out` })).content[0].text as string
      const ref = new RegExp(`(?:link|button) "${way}" \\[ref=(\\w+)\\]`).exec(page)![1]
      let told = JSON.stringify((await call(agent, "browser_click", { element: way, ref })).content)
      const opened = await waitFor(async () => {
        const list = await call(agent, "browser_tabs", { action: "list" })
        told += JSON.stringify(list.content)
        return list.structuredContent.tabs.find((t: any) => !t.current)?.tab as string | undefined
      }, 10_000)
      told += JSON.stringify((await call(agent, "browser_tabs", { action: "list" })).content)
      expect(told).toContain(`opened a new tab, ${opened}`)
      const inPopup: any = await agent.client.callTool({ name: "browser_snapshot", arguments: { tab: opened } })
      expect(JSON.stringify(inPopup.content)).not.toContain("elsewhere-secret</")
      if (inPopup.isError) refusal(inPopup.content[0].text)
      else expect(inPopup.content[0].text).not.toMatch(/heading "elsewhere-secret"/)
      await call(agent, "browser_tabs", { action: "close", tab: opened })
    }
    // Of the page's two frames of /inner, the one of another origin loads nothing.
    await call(agent, "browser_navigate", { url: `${fixtures.base}/frames` })
    await new Promise((r) => setTimeout(r, 500))
    const snapshot = (await call(agent, "browser_snapshot", {})).content[0].text as string
    expect(snapshot.split("Inner field").length - 1).toBe(1)
    await agent.client.close()
    agents.splice(agents.indexOf(agent), 1)
    const blocked = await start("agent-blocked", { TABMUX_BLOCKED_ORIGINS: fixtures.crossBase })
    expect(await failure(blocked, "browser_navigate", { url: `${fixtures.crossBase}/elsewhere-secret` })).toContain("--blocked-origins")
    await call(blocked, "browser_navigate", { url: `${fixtures.base}/start` })
  })

  it("\"Disconnect\": the agent's tabs go by its policy, its next call says the user disconnected it, and it is not connected again", { timeout: 60_000 }, async () => {
    const agent = await start("agent-kick")
    const url = `${fixtures.base}/form?kick`
    await call(agent, "browser_tabs", { action: "new", url })
    await onStatusPage(`return press(item("agent-kick"), "Disconnect")`)
    await waitFor(async () => !(await browser.targets()).some((t) => t.url === url), 10_000)
    // (A call in flight as the connection ends fails as a disconnection; the next ones say why.)
    const said = await waitFor(async () => {
      const result: any = await agent.client.callTool({ name: "browser_tabs", arguments: { action: "list" } })
      return result.isError && String(result.content[0].text).includes("The user disconnected this agent") && result.content[0].text
    }, 15_000)
    expect(said).toContain("restarting this MCP server")
    await new Promise((r) => setTimeout(r, 3_000))
    expect(readRegistry(browser.dir).find((r) => r.pid === agent.transport.pid)?.extension).toBeUndefined()
  })
})
