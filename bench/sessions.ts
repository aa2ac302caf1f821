/**
 * One process for many agents, or one process per agent: N MCP sessions through one
 * `tabmux serve --http` process, against N stdio servers, each agent connected to the
 * same browser's extension. Figures: the memory of tabmux's processes together (RSS,
 * after the agents each made their calls) and the time of a routed call
 * (`browser_tabs list`: client → server → extension → back), p50 and p90.
 * Usage: node bench/run.mjs sessions [counts=1,4,8] [calls=50]
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import * as ChildProcess from "node:child_process"
import { launch } from "../test/support/chromium.js"
import { readRegistry, waitFor } from "../test/support/server.js"
import { BENCH_PORTS, BIN, json, round, rssMb, stats, table, tabmux } from "./lib.js"

const counts = (process.argv[2] ?? "1,4,8").split(",").map(Number)
const calls = Number(process.argv[3] ?? 50)

interface Session {
  readonly list: () => Promise<unknown>
  readonly close: () => Promise<void>
}

/** Routed calls, one agent after another (so the figure is a call's, not contention's). */
const latencies = async (sessions: ReadonlyArray<Session>) => {
  const ms: Array<number> = []
  for (let i = 0; i < calls; i++) {
    for (const s of sessions) {
      const t0 = performance.now()
      await s.list()
      ms.push(performance.now() - t0)
    }
  }
  return stats(ms)
}

const browser = await launch({ ports: BENCH_PORTS })
const rows: Array<Record<string, unknown>> = []
try {
  for (const n of counts) {
    // N stdio servers: one process each.
    const agents = await Promise.all(Array.from({ length: n }, (_, i) => tabmux(`stdio-${i + 1}`, browser.dir)))
    const stdio = await latencies(agents.map((a) => ({ list: () => a.call("browser_tabs", { action: "list" }), close: a.close })))
    const stdioRss = agents.reduce((sum, a) => sum + rssMb(a.transport.pid!), 0)
    for (const a of agents) await a.close()
    await waitFor(() => readRegistry(browser.dir).length === 0, 20_000)

    // The same N agents as sessions of one HTTP process.
    const token = ChildProcess.spawnSync(process.execPath, [BIN, "serve", "--print-token", "--dir", browser.dir], { encoding: "utf8" }).stdout.trim()
    const server = ChildProcess.spawn(process.execPath, [BIN, "serve", "--http", "127.0.0.1:0", "--ports", BENCH_PORTS], {
      env: { ...process.env, TABMUX_DIR: browser.dir, TABMUX_CONNECT_WAIT: "30" },
      stdio: ["ignore", "ignore", "pipe"]
    })
    let said = ""
    server.stderr!.on("data", (d) => (said += d))
    const port = await waitFor(() => /Streamable HTTP at http:\/\/127\.0\.0\.1:(\d+)\/mcp/.exec(said)?.[1], 20_000)
    const sessions = await Promise.all(Array.from({ length: n }, async (_, i) => {
      const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } })
      const client = new Client({ name: `http-${i + 1}`, version: "1.0.0" })
      await client.connect(transport)
      return {
        list: () => client.callTool({ name: "browser_tabs", arguments: { action: "list" } }),
        close: async () => {
          await transport.terminateSession().catch(() => undefined)
          await client.close()
        }
      }
    }))
    await waitFor(() => readRegistry(browser.dir).filter((r: any) => r.extension).length === n, 60_000)
    const http = await latencies(sessions)
    const httpRss = rssMb(server.pid!)
    for (const s of sessions) await s.close()
    server.kill("SIGTERM")
    await new Promise((r) => server.once("exit", r))
    await waitFor(() => readRegistry(browser.dir).length === 0, 20_000)

    rows.push(
      { agents: n, how: "stdio (a process each)", "rss MB (all)": round(stdioRss), "list p50 ms": round(stdio.p50, 2), "list p90 ms": round(stdio.p90, 2) },
      { agents: n, how: "HTTP (one process)", "rss MB (all)": round(httpRss), "list p50 ms": round(http.p50, 2), "list p90 ms": round(http.p90, 2) }
    )
  }
} finally {
  await browser.close()
}
table(`${calls} routed calls per agent (browser_tabs list), one agent after another`, rows)
json("sessions", { calls, rows })
