/**
 * Real applications, side by side with Playwright MCP: the same scripted agent takes its
 * first approach on each task (navigate, act by the refs it was told, a snapshot only when
 * what it needs was not in what it was told; no waits, retries or workarounds), on the same
 * Chromium binary and the same local pages (applications from npm and Debian, served on
 * loopback; see test/support/fixtures.ts). Each task is checked through the application's
 * own state, after the run, by a call that is not counted. Reported per task and system:
 * done or not (and why), tool calls, wall time, and the bytes of text the agent received
 * (tokens ≈ bytes / 4). Every system gets the same arguments: tabmux takes Playwright MCP's
 * `target`/`element` names. tabmux runs twice: as it ships (an action's result tells what
 * changed) and with `--snapshot-after-action full` (whole snapshots, as Playwright MCP's).
 * Usage: node bench/run.mjs apps [reps=3]
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Chromium from "../src/server/Chromium.js"
import { launch } from "../test/support/chromium.js"
import { hasCodeMirror, serveFixtures } from "../test/support/fixtures.js"
import { type Agent, BENCH_PORTS, json, mcp, round, stats, table, tabmux, tempDir, text } from "./lib.js"

const reps = Number(process.argv[2] ?? process.env.BENCH_REPS ?? 3)
const chrome = Chromium.find()
if (!chrome) throw new Error("no Chromium: apt-get install chromium, or set CHROME_PATH")

/** The agent's side of one run: every call counted, what it was told kept (newest first). */
class Run {
  calls = 0
  bytes = 0
  known = ""
  constructor(readonly agent: Agent) {}
  async call(tool: string, args: Record<string, unknown> = {}) {
    this.calls++
    const t0 = performance.now()
    const told = text(await this.agent.call(tool, args))
    this.bytes += Buffer.byteLength(told)
    this.known = `${told}\n${this.known}`
    if (process.env.BENCH_VERBOSE) console.error(`--- ${tool} ${JSON.stringify(args)} ${Math.round(performance.now() - t0)} ms\n${told}`)
    return told
  }
  /**
   * The ref on the newest line it was told that matches (the first pattern that any line
   * matches); a snapshot first if it was never told one.
   */
  async ref(patterns: RegExp | ReadonlyArray<RegExp>, near?: RegExp): Promise<string> {
    const wanted = Array.isArray(patterns) ? patterns : [patterns as RegExp]
    const known = () => wanted.map((line) => this.told(line, near)).find((ref) => ref !== undefined)
    const ref = known() ?? (await this.call("browser_snapshot"), known())
    if (ref === undefined) throw new Error(`never told of an element matching ${wanted.join(" or ")}${near ? ` near ${near}` : ""}`)
    return ref
  }
  /** The ref on the newest line told that matches `line` (and, with `near`, sits within three lines of a snapshot line matching it). */
  private told(line: RegExp, near: RegExp | undefined) {
    const lines = this.known.split("\n")
    for (let i = 0; i < lines.length; i++) {
      if (!line.test(lines[i]!)) continue
      if (near && !lines.slice(Math.max(0, i - 3), i + 4).some((l) => /^\s*- /.test(l) && near.test(l))) continue
      const ref = /\[ref=([^\]]+)\]/.exec(lines[i]!)?.[1]
      if (ref) return ref
    }
    return undefined
  }
  /** An uncounted look at the application's state. */
  async check(fn: string): Promise<unknown> {
    const result = text(await this.agent.call("browser_evaluate", { function: fn }))
    // Playwright MCP says the code it ran, then "### Result"; tabmux answers the JSON alone.
    const json = /### Result\n(?:```(?:json)?\n)?([^\n]*)/.exec(result)?.[1] ?? result.split("\n")[0]!
    return JSON.parse(json)
  }
}

interface Task {
  readonly name: string
  /** Whether it can run here (a Debian package may be missing). */
  readonly available?: () => boolean
  /** Uncounted, before each run: the application's stored state cleared. */
  readonly setup?: (agent: Agent, base: string) => Promise<void>
  readonly run: (r: Run, base: string) => Promise<void>
  /** A function expression evaluated in the page after the run: true when the task is done. */
  readonly done: string
}

const CODE = `if (x) {\nreturn [1, "a"`
/** Typing code into an editor: aimed at its text box (no name, or the name the editor gives it), else at the line it shows. */
const editor = (name: string, path: string, value: string): Task => ({
  name,
  ...(name === "codemirror" ? { available: hasCodeMirror } : {}),
  run: async (r, base) => {
    await r.call("browser_navigate", { url: `${base}/${path}` })
    const target = await r.ref([/- textbox \[/, /- textbox "(Cursor at|Editor content)/, /\/\/ notes/])
    await r.call("browser_type", { target, element: "code editor", text: CODE })
  },
  done: `() => (${value}).replace(/\\s+/g, " ").includes('if (x) { return [1, "a"')`
})

const TASKS: ReadonlyArray<Task> = [
  {
    name: "openapi-console",
    run: async (r, base) => {
      await r.call("browser_navigate", { url: `${base}/openapi-console` })
      await r.call("browser_click", { target: await r.ref(/button "GET \/api\/greet/), element: "GET /api/greet" })
      await r.call("browser_click", { target: await r.ref(/button "Try it out"/), element: "Try it out" })
      await r.call("browser_type", { target: await r.ref(/textbox "name"/), element: "name", text: "Ada" })
      await r.call("browser_click", { target: await r.ref(/button "Execute"/), element: "Execute" })
    },
    done: `() => document.body.innerText.includes("Hello, Ada!")`
  },
  {
    name: "todomvc-react",
    setup: async (agent, base) => {
      await agent.call("browser_navigate", { url: `${base}/vendor/todomvc/react/index.html` })
      await agent.call("browser_evaluate", { function: "() => (localStorage.clear(), true)" })
    },
    run: async (r, base) => {
      await r.call("browser_navigate", { url: `${base}/vendor/todomvc/react/index.html` })
      await r.call("browser_type", { target: await r.ref(/textbox "What needs to be done\?"/), element: "new todo", text: "Buy milk", submit: true })
      await r.call("browser_type", { target: await r.ref(/textbox "What needs to be done\?"/), element: "new todo", text: "Walk the dog", submit: true })
      await r.call("browser_click", { target: await r.ref(/- checkbox/, /Buy milk/), element: "Buy milk's checkbox" })
      await r.call("browser_click", { target: await r.ref(/link "Active"/), element: "Active filter" })
    },
    done: `() => [...document.querySelectorAll("#todo-list li")].map((li) => li.innerText.trim()).join("|") === "Walk the dog" && location.hash === "#/active"`
  },
  {
    name: "flow-editor-drag",
    run: async (r, base) => {
      await r.call("browser_navigate", { url: `${base}/flow-editor` })
      await r.call("browser_drag", {
        startTarget: await r.ref(/listitem[^\n]*Source|- text: Source/),
        startElement: "Source in the palette",
        endTarget: "#drawflow",
        endElement: "the canvas"
      })
    },
    done: `() => JSON.stringify(Object.values(editor.export().drawflow.Home.data).map((n) => n.name)) === '["source"]' || JSON.stringify(editor.export().drawflow.Home.data)`
  },
  editor("codemirror", "code-editor", "editor.getValue()"),
  editor("ace", "ace-editor", "editor.getValue()"),
  editor("monaco", "monaco-editor", "editor.getValue()")
]

const fixtures = await serveFixtures()
const browser = await launch({ ports: BENCH_PORTS })
const runtime = browser.dir
/** Playwright MCP's working directory (it writes its snapshots and logs there). */
const cwd = tempDir("tabmux-bench-playwright-")
const systems: Array<{ readonly name: string; readonly agent: Agent; readonly fresh: () => Promise<void> }> = []

try {
  // tabmux as it ships (action results tell what changed), and with whole snapshots after actions, as Playwright MCP's.
  for (const [name, after] of [["tabmux", "diff"], ["tabmux-full", "full"]] as const) {
    const t = await tabmux(`bench-${name}`, runtime, { TABMUX_SNAPSHOT_AFTER_ACTION: after })
    systems.push({
      name,
      agent: t,
      // Each run in a tab of its own, as a new task would be.
      fresh: async () => {
        for (const tab of (await t.call("browser_tabs", { action: "list" })).structuredContent.tabs) await t.call("browser_tabs", { action: "close", tab: tab.tab })
      }
    })
  }
  try {
    const p = await mcp("bench-playwright", [Path.resolve("node_modules/@playwright/mcp/cli.js"), "--headless", "--isolated", "--no-sandbox", "--executable-path", chrome], { cwd })
    systems.push({ name: "playwright-mcp", agent: p, fresh: async () => void await p.call("browser_navigate", { url: "about:blank" }) })
  } catch (e) {
    console.log(`playwright-mcp could not run: ${(e as Error).message.slice(0, 300)}`)
  }

  const results: Record<string, Record<string, Array<{ done: boolean; why?: string; calls: number; ms: number; bytes: number }>>> = {}
  for (let rep = 0; rep < reps; rep++) {
    for (const task of TASKS) {
      if (task.available && !task.available()) continue
      if (process.env.BENCH_TASKS && !process.env.BENCH_TASKS.split(",").includes(task.name)) continue
      const order = systems.map((_, i) => systems[(i + rep) % systems.length]!)
      for (const s of order) {
        await s.fresh()
        await task.setup?.(s.agent, fixtures.base)
        const r = new Run(s.agent)
        const t0 = performance.now()
        let why: string | undefined
        try {
          await task.run(r, fixtures.base)
        } catch (e) {
          why = (e as Error).message.split("\n").filter((l) => l.trim() !== "").slice(0, 2).join(" ").slice(0, 240)
        }
        const ms = performance.now() - t0
        const state = why === undefined ? await r.check(task.done).catch((e) => (why = `check: ${(e as Error).message.slice(0, 120)}`, false)) : false
        const done = state === true
        if (process.env.BENCH_VERBOSE) console.error(`--- check: ${JSON.stringify(state)}`)
        if (!done && why === undefined) why = "ran, but the application does not show it done"
        ;((results[task.name] ??= {})[s.name] ??= []).push({ done, ...(why ? { why } : {}), calls: r.calls, ms, bytes: r.bytes })
      }
    }
    process.stderr.write(`run ${rep + 1}/${reps}\r`)
  }

  const rows = Object.entries(results).map(([task, bySystem]) => {
    const row: Record<string, unknown> = { task }
    for (const s of systems) {
      const runs = bySystem[s.name] ?? []
      const ok = runs.filter((x) => x.done)
      row[`${s.name} done`] = `${ok.length}/${runs.length}`
      row[`${s.name} calls`] = runs.length ? round(stats(runs.map((x) => x.calls)).p50, 0) : null
      row[`${s.name} ms p50`] = runs.length ? round(stats(runs.map((x) => x.ms)).p50, 0) : null
      row[`${s.name} bytes`] = runs.length ? round(stats(runs.map((x) => x.bytes)).p50, 0) : null
    }
    return row
  })
  table(`Real applications, an agent's first approach, ${reps} runs each (calls and bytes received per task; p50)`, rows)
  for (const [task, bySystem] of Object.entries(results)) {
    for (const [system, runs] of Object.entries(bySystem)) {
      const whys = [...new Set(runs.flatMap((x) => (x.why ? [x.why] : [])))]
      if (whys.length) console.log(`${task} / ${system}: ${whys.join("; ")}`)
    }
  }
  json("apps", { reps, chromium: chrome, results })
} finally {
  await Promise.all(systems.map((s) => s.agent.close()))
  await browser.close()
  fixtures.close()
  Fs.rmSync(runtime, { recursive: true, force: true })
  Fs.rmSync(cwd, { recursive: true, force: true })
}
