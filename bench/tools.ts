/**
 * Per-tool comparison with the peers, on the same machine, the same Chromium binary and
 * the same local pages: navigate, snapshot (time and bytes), click (with whatever settle
 * each tool does), type, screenshot. Systems are interleaved run by run (the order
 * rotates), so drift of this shared machine hits all alike. Each system is used as an
 * agent would use it out of the box: its default answers, its own browser.
 * Usage: node bench/run.mjs tools [reps=20]
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Chromium from "../src/server/Chromium.js"
import { launch } from "../test/support/chromium.js"
import { docPages, serveDocs } from "../test/support/docs.js"
import { serveFixtures } from "../test/support/fixtures.js"
import { type Agent, BENCH_PORTS, json, mcp, round, stats, table, tabmux, tempDir, text, timed } from "./lib.js"

const reps = Number(process.argv[2] ?? process.env.BENCH_REPS ?? 20)
const chrome = Chromium.find()
if (!chrome) throw new Error("no Chromium: apt-get install chromium, or set CHROME_PATH")

interface Target { readonly role: string; readonly name: string }
interface PageSpec { readonly path: string; readonly url: () => string; readonly click: Target; readonly type?: Target }
const fixturePage = (path: string, click: Target, type?: Target): PageSpec => ({ path, url: () => `${fixtures.base}/${path}`, click, ...(type ? { type } : {}) })
/** Real documentation pages (Debian's, see test/support/docs.ts), each with a table-of-contents link to click. */
const REAL: Record<string, Target> = {
  "nodejs/api/fs.html": { role: "link", name: "Promise example" },
  "nodejs/api/assert.html": { role: "link", name: "Strict assertion mode" },
  "valgrind/html/manual-core.html": { role: "link", name: "2.6. Debuginfod" },
  "libxslt1-dev/html/tutorial/libxslttutorial.html": { role: "link", name: "Cleanup" }
}

interface System {
  readonly name: string
  readonly agent: Agent
  readonly navigate: (url: string) => Promise<unknown>
  /** The whole text an agent receives for a snapshot. */
  readonly snapshot: () => Promise<string>
  readonly ref: (snapshot: string, t: Target) => string | undefined
  readonly click: (ref: string, t: Target) => Promise<string>
  readonly type: (ref: string, t: Target, text: string) => Promise<string>
  readonly screenshot: () => Promise<unknown>
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
const find = (snapshot: string, re: RegExp) => re.exec(snapshot)?.[1]

const fixtures = await serveFixtures()
const docs = await serveDocs()
const PAGES: ReadonlyArray<PageSpec> = [
  fixturePage("form", { role: "checkbox", name: "Newsletter" }, { role: "textbox", name: "Name" }),
  fixturePage("article", { role: "heading", name: "Why tabs matter" }),
  fixturePage("big", { role: "button", name: "Open 500" }),
  ...docPages().filter((p) => REAL[p]).map((path) => ({ path, url: () => `${docs.base}/${path}`, click: REAL[path]! }))
]
const browser = await launch({ ports: BENCH_PORTS })
const runtime = browser.dir
/** Playwright MCP's working directory (it writes its snapshots and logs there). */
const cwd = tempDir("tabmux-bench-playwright-")
const systems: Array<System> = []
const unavailable: Record<string, string> = {}

try {
  const t = await tabmux("bench-tabmux", runtime)
  await t.call("browser_tabs", { action: "new" })
  systems.push({
    name: "tabmux",
    agent: t,
    navigate: (url) => t.call("browser_navigate", { url }),
    snapshot: async () => text(await t.call("browser_snapshot")),
    ref: (s, x) => find(s, new RegExp(`- ${x.role} "${esc(x.name)}"[^\\n]*\\[ref=(s\\d+e\\d+)\\]`)),
    click: async (ref) => text(await t.call("browser_click", { ref })),
    type: async (ref, _x, value) => text(await t.call("browser_type", { ref, text: value })),
    screenshot: () => t.call("browser_take_screenshot", {})
  })

  try {
    const p = await mcp("bench-playwright", [Path.resolve("node_modules/@playwright/mcp/cli.js"), "--headless", "--isolated", "--no-sandbox", "--executable-path", chrome], { cwd })
    await p.call("browser_navigate", { url: "about:blank" })
    systems.push({
      name: "playwright-mcp",
      agent: p,
      navigate: (url) => p.call("browser_navigate", { url }),
      snapshot: async () => text(await p.call("browser_snapshot")),
      ref: (s, x) => find(s, new RegExp(`- ${x.role} "${esc(x.name)}"[^\\n]*\\[ref=((?:f\\d+)?e\\d+)\\]`)),
      click: async (ref, x) => text(await p.call("browser_click", { target: ref, element: x.name })),
      type: async (ref, x, value) => text(await p.call("browser_type", { target: ref, element: x.name, text: value })),
      screenshot: () => p.call("browser_take_screenshot", { type: "png", scale: "css" })
    })
  } catch (e) {
    unavailable["playwright-mcp"] = String((e as Error).message).slice(0, 300)
  }

  try {
    const d = await mcp("bench-devtools", [
      Path.resolve("node_modules/chrome-devtools-mcp/build/src/bin/chrome-devtools-mcp.js"),
      "--headless", "--isolated", "--executablePath", chrome, "--usageStatistics=false", "--chromeArg=--no-sandbox"
    ], { env: { CI: "1", CHROME_DEVTOOLS_MCP_NO_USAGE_STATISTICS: "1" } })
    const pageId = Number(/(\d+):/.exec(text(await d.call("list_pages")))?.[1] ?? 1)
    systems.push({
      name: "chrome-devtools-mcp",
      agent: d,
      navigate: (url) => d.call("navigate_page", { pageId, type: "url", url }),
      snapshot: async () => text(await d.call("take_snapshot", { pageId })),
      ref: (s, x) => find(s, new RegExp(`uid=(\\S+) ${x.role} "${esc(x.name)}"`)),
      click: async (uid) => text(await d.call("click", { pageId, uid })),
      type: async (uid, _x, value) => text(await d.call("fill", { pageId, uid, value })),
      screenshot: () => d.call("take_screenshot", { pageId, format: "png" })
    })
  } catch (e) {
    unavailable["chrome-devtools-mcp"] = String((e as Error).message).slice(0, 300)
  }

  // samples[page][op][system] = ms; bytes[page][system] = snapshot bytes
  const samples: Record<string, Record<string, Record<string, Array<number>>>> = {}
  const bytes: Record<string, Record<string, number>> = {}
  const errors: Record<string, Array<string>> = {}
  const add = (page: string, op: string, system: string, ms: number) => {
    ((samples[page] ??= {})[op] ??= {})[system] ??= []
    samples[page]![op]![system]!.push(ms)
  }

  for (let rep = 0; rep < reps; rep++) {
    for (const page of PAGES) {
      const order = systems.map((_, i) => systems[(i + rep) % systems.length]!)
      for (const s of order) {
        try {
          const [, nav] = await timed(() => s.navigate(page.url()))
          add(page.path, "navigate", s.name, nav)
          const [snap, snapMs] = await timed(() => s.snapshot())
          add(page.path, "snapshot", s.name, snapMs)
          ;(bytes[page.path] ??= {})[s.name] = Buffer.byteLength(snap)
          const clickRef = s.ref(snap, page.click)
          if (clickRef === undefined) throw new Error(`no ${page.click.role} "${page.click.name}" in its snapshot`)
          const [clicked, clickMs] = await timed(() => s.click(clickRef, page.click))
          add(page.path, "click", s.name, clickMs)
          if (page.type) {
            const typeRef = s.ref(clicked, page.type) ?? s.ref(snap, page.type)
            if (typeRef === undefined) throw new Error(`no ${page.type.role} "${page.type.name}" in its snapshot`)
            const [, typeMs] = await timed(() => s.type(typeRef, page.type!, `run ${rep}`))
            add(page.path, "type", s.name, typeMs)
          }
          const [, shotMs] = await timed(() => s.screenshot())
          add(page.path, "screenshot", s.name, shotMs)
        } catch (e) {
          ;(errors[s.name] ??= []).push(`${page.path}: ${(e as Error).message.slice(0, 200)}`)
        }
      }
    }
    process.stderr.write(`run ${rep + 1}/${reps}\r`)
  }

  const peers = systems.filter((s) => s.name !== "tabmux").map((s) => s.name)
  const rows: Array<Record<string, unknown>> = []
  const figures: Array<Record<string, unknown>> = []
  for (const page of PAGES) {
    for (const op of ["navigate", "snapshot", "click", "type", "screenshot"]) {
      const bySystem = samples[page.path]?.[op]
      if (!bySystem) continue
      const st = Object.fromEntries(Object.entries(bySystem).map(([k, v]) => [k, stats(v)]))
      const row: Record<string, unknown> = { page: page.path, op }
      for (const s of systems) row[`${s.name} p50/p90 ms`] = st[s.name] ? `${round(st[s.name]!.p50, 0)}/${round(st[s.name]!.p90, 0)}` : null
      for (const peer of peers) row[`÷${peer}`] = st.tabmux && st[peer] ? round(st.tabmux.p50 / st[peer]!.p50, 2) : null
      rows.push(row)
      figures.push({ page: page.path, op, ...Object.fromEntries(Object.entries(st).map(([k, v]) => [k, { p50: round(v.p50), p90: round(v.p90), n: v.n }])) })
    }
  }
  table(`Per-tool latency, ${reps} runs, interleaved (ratio: tabmux p50 / peer p50; below 1 is faster)`, rows)
  table("Snapshot size (the whole text an agent receives; tokens ≈ bytes / 4)", PAGES.map((page) => {
    const row: Record<string, unknown> = { page: page.path }
    for (const s of systems) row[`${s.name} bytes`] = bytes[page.path]?.[s.name] ?? null
    for (const s of systems) row[`${s.name} ~tokens`] = bytes[page.path]?.[s.name] ? Math.round(bytes[page.path]![s.name]! / 4) : null
    for (const peer of peers) row[`÷${peer}`] = bytes[page.path]?.tabmux && bytes[page.path]?.[peer] ? round(bytes[page.path]!.tabmux! / bytes[page.path]![peer]!, 2) : null
    return row
  }))
  for (const [name, why] of Object.entries(unavailable)) console.log(`${name} could not run: ${why}`)
  for (const [name, list] of Object.entries(errors)) console.log(`${name}: ${list.length} errors:\n  ${[...new Set(list)].join("\n  ")}`)
  json("tools", { reps, chromium: chrome, latency: figures, snapshotBytes: bytes, errors: Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, v.length])), unavailable })
} finally {
  await Promise.all(systems.map((s) => s.agent.close()))
  await browser.close()
  fixtures.close()
  docs.close()
  Fs.rmSync(runtime, { recursive: true, force: true })
  Fs.rmSync(cwd, { recursive: true, force: true })
}
