/**
 * The pictures in README, taken for real: headless Chromium with the extension, three
 * agents (tabmux servers started by MCP clients) with their tabs, one shared tab leased
 * by one of them, and the extension's status page (its toolbar popup) showing all that.
 * Headless Chromium draws no tab strip, so the tab groups themselves cannot be pictured
 * here; the status page lists the same groups. Usage: npm run screenshots
 */
import * as Fs from "node:fs"
import { extensionIdFromKey, readManifest } from "../src/server/Extension.js"
import { launch } from "../src/server/ManagedBrowser.js"
import { tabmux } from "../bench/lib.js"

const PORTS = "18780-18787"
const page = (title: string) => `data:text/html,<title>${encodeURIComponent(title)}</title><h1>${encodeURIComponent(title)}</h1>`
const browser = await launch({ ports: PORTS })
const agents = []
try {
  const dir = browser.dir
  for (const [name, titles] of [
    ["Claude Desktop", ["Flight search", "Hotel reviews"]],
    ["Claude Code", ["Pull request #42", "CI run 1187"]],
    ["Cursor", ["API docs"]]
  ] as const) {
    const agent = await tabmux(name, dir, { TABMUX_PORTS: PORTS })
    agents.push(agent)
    for (const title of titles) await agent.call("browser_tabs", { action: "new", url: page(title) })
  }
  await browser.evaluateInWorker(`(async () => {
    const tab = await chrome.tabs.create({ url: ${JSON.stringify(page("Team calendar"))}, active: false })
    const group = await chrome.tabs.group({ tabIds: [tab.id] })
    await chrome.tabGroups.update(group, { title: "tabmux · shared" })
    return true
  })()`)
  const shared = (await agents[1]!.call("browser_tabs", { action: "list" })).structuredContent.tabs.find((t: any) => t.shared).tab
  await agents[1]!.call("browser_tab_lock", { tab: shared, ttlSeconds: 300 })
  const status = `chrome-extension://${extensionIdFromKey(readManifest().key)}/status.html`
  await browser.evaluateInWorker(`chrome.tabs.create({ url: ${JSON.stringify(status)}, active: true }).then(() => true)`)
  await new Promise((r) => setTimeout(r, 1500))
  await browser.pageCommand(status, "Emulation.setDeviceMetricsOverride", { width: 420, height: 520, deviceScaleFactor: 2, mobile: false })
  const shot = await browser.pageCommand(status, "Page.captureScreenshot", { format: "png" })
  Fs.writeFileSync("docs/images/status-page.png", Buffer.from(shot.data, "base64"))
  console.log("wrote docs/images/status-page.png")
} finally {
  await Promise.all(agents.map((a) => a.close()))
  await browser.close()
}
