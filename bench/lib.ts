/**
 * What every benchmark shares: MCP clients over stdio (tabmux and its peers are started
 * exactly as an AI client starts them), statistics, and the output format (a readable
 * table, then one JSON line with every figure). Benchmarks print figures; they never
 * pass or fail.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { readRegistry, waitFor } from "../test/support/server.js"

export const BIN = Path.resolve("dist/tabmux.mjs")

export interface Agent {
  readonly name: string
  readonly client: Client
  readonly transport: StdioClientTransport
  readonly call: (tool: string, args?: Record<string, unknown>) => Promise<any>
  readonly close: () => Promise<void>
}

const text = (result: any): string => (result.content ?? []).filter((c: any) => c.type === "text").map((c: any) => c.text).join("\n")

/** Starts an MCP server the way a client does (stdio), and wraps `callTool` so an `isError` result throws. */
export const mcp = async (name: string, args: ReadonlyArray<string>, options: { env?: Record<string, string>; cwd?: string } = {}): Promise<Agent> => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [...args],
    env: { ...process.env, ...options.env } as Record<string, string>,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stderr: "pipe"
  })
  const client = new Client({ name, version: "1.0.0" })
  await client.connect(transport)
  return {
    name,
    client,
    transport,
    call: async (tool, a = {}) => {
      const result: any = await client.callTool({ name: tool, arguments: a }, undefined, { timeout: 120_000 })
      if (result.isError) throw new Error(`${name} ${tool}: ${text(result).slice(0, 500)}`)
      return result
    },
    close: () => client.close().catch(() => undefined)
  }
}

export { text }

export const tempDir = (prefix: string) => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))
  Fs.chmodSync(dir, 0o700)
  return dir
}

/** A tabmux server as an MCP client starts it; resolves once the extension has connected to it. */
/**
 * The benchmarks' own port range, for their servers and browsers alike: never the default
 * one (8765-8796), where the user's real servers and extension live.
 */
export const BENCH_PORTS = "19100-19131"

export const tabmux = async (name: string, dir: string, env: Record<string, string> = {}) => {
  const agent = await mcp(name, [BIN], { env: { TABMUX_DIR: dir, TABMUX_CONNECT_WAIT: "30", TABMUX_PORTS: BENCH_PORTS, ...env } })
  await waitFor(() => readRegistry(dir).find((r: any) => r.pid === agent.transport.pid && r.extension), 60_000)
  return agent
}

export interface Stats {
  readonly n: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly mean: number
}

export const stats = (samples: ReadonlyArray<number>): Stats => {
  const xs = [...samples].sort((a, b) => a - b)
  const at = (q: number) => (xs.length === 0 ? NaN : xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!)
  return { n: xs.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), mean: xs.reduce((a, b) => a + b, 0) / (xs.length || 1) }
}

export const round = (x: number, digits = 1) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null)

export const timed = async <A>(f: () => Promise<A>): Promise<[A, number]> => {
  const t0 = performance.now()
  const a = await f()
  return [a, performance.now() - t0]
}

/** Prints rows as an aligned table under a title. */
export const table = (title: string, rows: ReadonlyArray<Record<string, unknown>>) => {
  console.log(`\n${title}`)
  if (rows.length === 0) return console.log("(no rows)")
  const keys = Object.keys(rows[0]!)
  const cells = rows.map((r) => keys.map((k) => (r[k] === null || r[k] === undefined ? "–" : String(r[k]))))
  const widths = keys.map((k, i) => Math.max(k.length, ...cells.map((c) => c[i]!.length)))
  const line = (c: ReadonlyArray<string>) => c.map((s, i) => s.padEnd(widths[i]!)).join("  ")
  console.log(line(keys))
  console.log(widths.map((w) => "-".repeat(w)).join("  "))
  for (const c of cells) console.log(line(c))
}

/** The last line: every figure, for machines. */
export const json = (bench: string, figures: unknown) =>
  console.log(JSON.stringify({ bench, node: process.version, cpus: Os.cpus().length, at: new Date().toISOString(), figures }))

export const rssMb = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(Fs.readFileSync(`/proc/${pid}/status`, "utf8"))
  return m ? Number(m[1]) / 1024 : NaN
}
