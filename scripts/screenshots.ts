/**
 * The pictures in README, taken for real: headless Chromium with the extension, three
 * agents (tabmux servers started by MCP clients) with their tabs, one shared tab leased
 * by one of them, and the extension's status page (its toolbar popup) showing all that.
 * Headless Chromium draws no tab strip, so the tab groups themselves cannot be pictured
 * here; the status page lists the same groups. Usage: npm run screenshots
 */
import * as Fs from "node:fs"
import * as Http from "node:http"
import { extensionIdFromKey, readManifest } from "../src/server/Extension.js"
import { launch } from "../src/server/ManagedBrowser.js"
import { tabmux } from "../bench/lib.js"

const PORTS = "18780-18787"
// Pages served on loopback (Chrome loads no data: URL for an extension): each titled as its path says.
const pages = Http.createServer((req, res) => {
  const title = decodeURIComponent((req.url ?? "/").slice(1)).replace(/[<>&"]/g, "")
  res.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html><title>${title}</title><h1>${title}</h1>`)
})
await new Promise<void>((r) => pages.listen(0, "127.0.0.1", r))
const page = (title: string) => `http://127.0.0.1:${(pages.address() as { port: number }).port}/${encodeURIComponent(title)}`
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
  await browser.pageCommand(status, "Emulation.setDeviceMetricsOverride", { width: 460, height: 720, deviceScaleFactor: 2, mobile: false })
  const shot = await browser.pageCommand(status, "Page.captureScreenshot", { format: "png" })
  Fs.writeFileSync("docs/images/status-page.png", Buffer.from(shot.data, "base64"))
  console.log("wrote docs/images/status-page.png")
} finally {
  await Promise.all(agents.map((a) => a.close()))
  await browser.close()
  pages.close()
}
