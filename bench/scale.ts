/**
 * Many agents on one browser: N tabmux servers (each its own process with its own SDK
 * client), each looping navigate + snapshot + click on its own tab for a fixed time;
 * then all N leasing one shared tab in turn. Servers are started once for the largest N;
 * each smaller N uses the first N of them (the others stay connected and idle).
 * Usage: node bench/run.mjs scale [seconds=10] [counts=1,8,32,64]
 */
import { launch } from "../test/support/chromium.js"
import { serveFixtures } from "../test/support/fixtures.js"
import { type Agent, json, round, stats, table, tabmux, text } from "./lib.js"

const seconds = Number(process.argv[2] ?? 10)
const counts = (process.argv[3] ?? "1,8,32,64").split(",").map(Number)
const max = Math.max(...counts)
// Its own range, wide enough for every server (never the default one, where a user's real servers live).
const PORTS = `19100-${19100 + Math.max(31, max + 3)}`

const fixtures = await serveFixtures()
// The extension scans the widened range; servers claim ports from it.
const browser = await launch({ ports: PORTS })
const runtime = browser.dir
const agents: Array<Agent> = []
const ref = (snapshot: string) => /checkbox "Newsletter"[^\n]*\[ref=(s\d+e\d+)\]/.exec(snapshot)?.[1]

try {
  const startedAt = performance.now()
  for (let i = 0; i < max; i += 8) {
    agents.push(...await Promise.all(Array.from({ length: Math.min(8, max - i) }, (_, k) => tabmux(`agent-${i + k + 1}`, runtime, { TABMUX_PORTS: PORTS }))))
  }
  // Each agent opens its tab, eight at a time as the servers started: 64 first navigations at
  // the same instant (each tab's debugger attached and its domains enabled) overload two cores.
  for (let i = 0; i < agents.length; i += 8) {
    await Promise.all(agents.slice(i, i + 8).map(async (a) => {
      await a.call("browser_tabs", { action: "new" })
      await a.call("browser_navigate", { url: `${fixtures.base}/form` })
    }))
  }
  console.error(`${max} servers up, connected, each with a tab, in ${Math.round(performance.now() - startedAt)} ms`)

  const rows: Array<Record<string, unknown>> = []
  const figures: Array<Record<string, unknown>> = []
  for (const n of counts) {
    const latencies: Array<number> = []
    const errors: Array<string> = []
    let waits = 0
    const until = performance.now() + seconds * 1000
    const loop = async (a: Agent) => {
      const call = async (tool: string, args: Record<string, unknown>) => {
        const t0 = performance.now()
        try {
          const r: any = await a.client.callTool({ name: tool, arguments: args }, undefined, { timeout: 120_000, onprogress: (p: { message?: string | undefined }) => void (p.message?.startsWith("waiting for") && waits++) })
          if (r.isError) throw new Error(text(r))
          latencies.push(performance.now() - t0)
          return text(r)
        } catch (e) {
          errors.push(`${a.name} ${tool}: ${(e as Error).message.slice(0, 160)}`)
          return ""
        }
      }
      while (performance.now() < until) {
        await call("browser_navigate", { url: `${fixtures.base}/form` })
        const snap = await call("browser_snapshot", {})
        const r = ref(snap)
        if (r) await call("browser_click", { ref: r })
      }
    }
    const t0 = performance.now()
    await Promise.all(agents.slice(0, n).map(loop))
    const elapsed = (performance.now() - t0) / 1000
    const st = stats(latencies)
    rows.push({ instances: n, calls: latencies.length, "calls/s": round(latencies.length / elapsed), "p50 ms": round(st.p50, 0), "p99 ms": round(st.p99, 0), errors: errors.length, "lock waits": waits })
    figures.push({ instances: n, calls: latencies.length, callsPerSecond: round(latencies.length / elapsed), p50: round(st.p50), p99: round(st.p99), errors: errors.length, lockWaits: waits, firstErrors: [...new Set(errors)].slice(0, 3) })
    for (const e of [...new Set(errors)].slice(0, 3)) console.error(`  error: ${e}`)
  }
  table(`Own tabs: each instance loops navigate + snapshot + click for ${seconds} s (Chromium and all servers on this 2-core machine)`, rows)

  // One shared tab, leased by every instance in turn.
  await browser.evaluateInWorker(`(async () => {
    const tab = await chrome.tabs.create({ url: ${JSON.stringify(`${fixtures.base}/shared-page`)}, active: false })
    const group = await chrome.tabs.group({ tabIds: [tab.id] })
    await chrome.tabGroups.update(group, { title: "tabmux · shared" })
    return true
  })()`)
  const shareRows: Array<Record<string, unknown>> = []
  const shareFigures: Array<Record<string, unknown>> = []
  for (const n of counts.filter((c) => c > 1)) {
    const events: Array<{ kind: "granted" | "released"; at: number }> = []
    const errors: Array<string> = []
    const rounds = 3
    await Promise.all(agents.slice(0, n).map(async (a) => {
      const list = await a.call("browser_tabs", { action: "list" })
      const shared = list.structuredContent.tabs.find((t: any) => t.shared)?.tab
      if (!shared) return void errors.push(`${a.name}: no shared tab`)
      for (let i = 0; i < rounds; i++) {
        try {
          await a.call("browser_tab_lock", { tab: shared, ttlSeconds: 60, waitSeconds: 600 })
          events.push({ kind: "granted", at: performance.now() })
          events.push({ kind: "released", at: performance.now() })
          await a.call("browser_tab_unlock", { tab: shared })
          events[events.length - 1] = { kind: "released", at: performance.now() }
        } catch (e) {
          errors.push(`${a.name}: ${(e as Error).message.slice(0, 160)}`)
        }
      }
    }))
    // Hand-off: from a holder's unlock returning to the next holder's lock returning.
    const sorted = events.sort((x, y) => x.at - y.at)
    const handoffs: Array<number> = []
    for (let i = 1; i < sorted.length; i++) if (sorted[i]!.kind === "granted" && sorted[i - 1]!.kind === "released") handoffs.push(sorted[i]!.at - sorted[i - 1]!.at)
    const st = stats(handoffs)
    shareRows.push({ instances: n, leases: events.filter((e) => e.kind === "granted").length, "hand-off p50 ms": round(st.p50, 1), "p99 ms": round(st.p99, 1), errors: errors.length })
    shareFigures.push({ instances: n, leases: events.filter((e) => e.kind === "granted").length, handoffP50: round(st.p50, 2), handoffP99: round(st.p99, 2), errors: errors.length })
  }
  table("One shared tab: every instance leases it 3 times in turn (hand-off: holder's unlock returned → next holder's lock returned)", shareRows)
  json("scale", { seconds, ports: PORTS, ownTabs: figures, sharedTab: shareFigures })
} finally {
  await Promise.all(agents.map((a) => a.close()))
  await browser.close()
  fixtures.close()
}
