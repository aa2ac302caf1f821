/**
 * Discovery and cleanup: how long after a server starts listening the extension
 * connects to it (30 starts, one after another), and how long after a server is killed
 * (SIGKILL, no goodbye) its tabs are closed.
 * Usage: node bench/run.mjs discovery [starts=30] [kills=5]
 */
import { launch } from "../test/support/chromium.js"
import { serveFixtures } from "../test/support/fixtures.js"
import { readRegistry, waitFor } from "../test/support/server.js"
import { BENCH_PORTS, json, round, stats, table, tabmux } from "./lib.js"

const starts = Number(process.argv[2] ?? 30)
const kills = Number(process.argv[3] ?? 5)
const fixtures = await serveFixtures()
const browser = await launch({ ports: BENCH_PORTS })
try {
  const dir = browser.dir
  const found: Array<number> = []
  for (let i = 0; i < starts; i++) {
    const agent = await tabmux(`discover-${i}`, dir)
    const record = readRegistry(dir).find((r: any) => r.pid === agent.transport.pid)
    found.push(record.extension.connectedAt - record.startedAt)
    await agent.close()
  }
  const cleanup: Array<number> = []
  for (let i = 0; i < kills; i++) {
    const agent = await tabmux(`doomed-${i}`, dir)
    const urls = [`${fixtures.base}/doomed-${i}-a`, `${fixtures.base}/doomed-${i}-b`]
    for (const url of urls) await agent.call("browser_tabs", { action: "new", url })
    const t0 = performance.now()
    process.kill(agent.transport.pid!, "SIGKILL")
    await waitFor(async () => {
      const open = await browser.evaluateInWorker<Array<string>>("chrome.tabs.query({}).then((t) => t.map((x) => x.pendingUrl || x.url))")
      return !open.some((u) => urls.includes(u))
    }, 30_000)
    cleanup.push(performance.now() - t0)
    await agent.close()
  }
  const d = stats(found), c = stats(cleanup)
  table("Discovery and cleanup (ms)", [
    { figure: `server listening → extension connected (${starts} starts)`, p50: round(d.p50, 0), p95: round(found.length ? [...found].sort((x, y) => x - y)[Math.floor(found.length * 0.95)]! : NaN, 0), max: round(Math.max(...found), 0) },
    { figure: `SIGKILL of a server → its 2 tabs closed (${kills} kills)`, p50: round(c.p50, 0), p95: null, max: round(Math.max(...cleanup), 0) }
  ])
  json("discovery", { starts, discoveryMs: found.map((x) => round(x, 0)), discoveryP50: d.p50, discoveryP95: [...found].sort((x, y) => x - y)[Math.floor(found.length * 0.95)], cleanupMs: cleanup.map((x) => round(x, 0)) })
} finally {
  await browser.close()
  fixtures.close()
}
