/**
 * OpenTelemetry export, for real: an OTLP/HTTP receiver in the test (JSON), a tabmux server
 * started with the standard variables, the extension in headless Chromium. One tool call
 * makes one trace holding the server's spans and the extension's, linked parent to child;
 * the lock metrics arrive; `tabmux status` shows the agent's lock figures. Own port range.
 */
import * as ChildProcess from "node:child_process"
import * as Http from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Agent, call, startAgent } from "../support/agent.js"
import { type Browser, launch } from "../support/chromium.js"
import { type Fixtures, serveFixtures } from "../support/fixtures.js"
import { BIN, spawnTabmux, tempRuntimeDir, waitFor } from "../support/server.js"

const PORTS = "18960-18963"

interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly attributes?: ReadonlyArray<{ readonly key: string; readonly value: Record<string, unknown> }>
}

let browser: Browser
let fixtures: Fixtures
let receiver: Http.Server
let endpoint: string
const received = { traces: [] as Array<any>, metrics: [] as Array<any>, contentTypes: new Set<string>() }
const agents: Array<Agent> = []

const spans = (): Array<OtlpSpan> =>
  received.traces.flatMap((t) => (t.resourceSpans ?? []).flatMap((r: any) => (r.scopeSpans ?? []).flatMap((s: any) => s.spans ?? [])))
const metricNames = (): Set<string> =>
  new Set(received.metrics.flatMap((m) => (m.resourceMetrics ?? []).flatMap((r: any) => (r.scopeMetrics ?? []).flatMap((s: any) => (s.metrics ?? []).map((x: any) => x.name)))))
const metric = (name: string): any =>
  received.metrics.flatMap((m) => (m.resourceMetrics ?? []).flatMap((r: any) => (r.scopeMetrics ?? []).flatMap((s: any) => s.metrics ?? []))).filter((x: any) => x.name === name).at(-1)
const attribute = (span: OtlpSpan, key: string) => span.attributes?.find((a) => a.key === key)?.value

beforeAll(async () => {
  receiver = Http.createServer((req, res) => {
    let body = ""
    req.on("data", (d) => (body += d))
    req.on("end", () => {
      const type = String(req.headers["content-type"])
      received.contentTypes.add(`${req.url} ${type}`)
      if (type === "application/json" && req.url === "/v1/traces") received.traces.push(JSON.parse(body))
      if (type === "application/json" && req.url === "/v1/metrics") received.metrics.push(JSON.parse(body))
      res.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
  endpoint = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`
  fixtures = await serveFixtures()
  browser = await launch({ ports: PORTS })
}, 60_000)

afterAll(async () => {
  await Promise.all(agents.map((a) => a.client.close().catch(() => {})))
  await browser?.close()
  fixtures?.close()
  receiver?.close()
})

describe.sequential("OpenTelemetry", () => {
  it("one tool call is one trace: the tool's span, its Bridge call, and the extension's handling under it", { timeout: 90_000 }, async () => {
    const agent = await startAgent("traced", {
      dir: browser.dir,
      ports: PORTS,
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_SERVICE_NAME: "tabmux-under-test",
        OTEL_BSP_SCHEDULE_DELAY: "200",
        OTEL_METRIC_EXPORT_INTERVAL: "500"
      }
    })
    agents.push(agent)
    await call(agent, "browser_tabs", { action: "new", url: `${fixtures.base}/form` })
    await call(agent, "browser_snapshot")

    const tool = await waitFor(() => spans().find((s) => s.name === "tool browser_snapshot"), 20_000)
    const bridge = await waitFor(() => spans().find((s) => s.name === "Bridge.call" && s.parentSpanId === tool.spanId), 10_000)
    expect(attribute(bridge, "method")).toEqual({ stringValue: "page.snapshot" })
    const handling = await waitFor(() => spans().find((s) => s.name === "extension page.snapshot" && s.parentSpanId === bridge.spanId), 10_000)
    expect(handling.traceId).toBe(tool.traceId)
    expect(attribute(handling, "tabmux.side")).toEqual({ stringValue: "extension" })
    // The extension's own steps hang under its span: DevTools commands at least.
    const inside = spans().filter((s) => s.traceId === tool.traceId && s.parentSpanId === handling.spanId)
    expect(inside.map((s) => s.name).some((n) => n.startsWith("cdp "))).toBe(true)
    const resource = received.traces[0].resourceSpans[0].resource.attributes
    expect(resource).toContainEqual({ key: "service.name", value: { stringValue: "tabmux-under-test" } })
    expect(received.contentTypes.has("/v1/traces application/json")).toBe(true)
    const trace = spans().filter((s) => s.traceId === tool.traceId) as Array<OtlpSpan & { startTimeUnixNano: string; endTimeUnixNano: string }>
    const depth = (s: OtlpSpan): number => {
      const up = trace.find((p) => p.spanId === s.parentSpanId)
      return up === undefined ? 0 : 1 + depth(up)
    }
    const t0 = BigInt(trace.find((s) => s.spanId === tool.spanId)!.startTimeUnixNano)
    const ms = (ns: bigint) => (Number(ns) / 1e6).toFixed(1)
    console.log(`one trace (${trace.length} spans), start offset and duration in ms:\n` + [...trace]
      .sort((a, b) => Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano)))
      .map((s) => `${"  ".repeat(depth(s))}${s.name}  +${ms(BigInt(s.startTimeUnixNano) - t0)}  ${ms(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano))}`)
      .join("\n"))
  })

  it("a client's trace goes on through tabmux and the extension: its traceparent in _meta is the tool span's parent", { timeout: 60_000 }, async () => {
    const agent = agents[0]!
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
    const clientSpan = "00f067aa0ba902b7"
    await agent.client.callTool({ name: "browser_snapshot", arguments: {}, _meta: { traceparent: `00-${traceId}-${clientSpan}-01` } })
    const tool = await waitFor(() => spans().find((s) => s.name === "tool browser_snapshot" && s.traceId === traceId), 20_000)
    expect(tool.parentSpanId).toBe(clientSpan)
    const bridge = await waitFor(() => spans().find((s) => s.name === "Bridge.call" && s.parentSpanId === tool.spanId), 10_000)
    await waitFor(() => spans().find((s) => s.name === "extension page.snapshot" && s.parentSpanId === bridge.spanId && s.traceId === traceId), 10_000)
  })

  it("what an agent types or runs is never exported (nor logged at the default level)", { timeout: 60_000 }, async () => {
    const agent = agents[0]!
    const snapshot = (await call(agent, "browser_snapshot")).content[0].text as string
    const ref = /textbox "Password" \[ref=(\w+)\]/.exec(snapshot)![1]
    await call(agent, "browser_type", { element: "a text box", ref, text: "hunter2-typed-secret" })
    await call(agent, "browser_evaluate", { function: "() => 'hunter2-evaluated' + '-secret'" })
    await waitFor(() => spans().find((s) => s.name === "tool browser_evaluate"), 20_000)
    const exported = JSON.stringify(received.traces)
    expect(exported).not.toContain("hunter2-typed-secret")
    expect(exported).not.toContain("hunter2-evaluated")
    const stderr = await new Promise<string>((resolve) => {
      let text = ""
      agent.transport.stderr!.on("data", (d) => (text += d))
      setTimeout(() => resolve(text), 500)
    })
    expect(stderr).not.toContain("hunter2")
  })

  it("metrics arrive: tool calls and latency, lock waits and acquisitions, instances, port claims", { timeout: 60_000 }, async () => {
    const wanted = ["tabmux.tool.calls", "tabmux.tool.duration", "tabmux.lock.wait", "tabmux.lock.acquisitions", "tabmux.instances", "tabmux.port.claim.attempts"]
    await waitFor(() => wanted.every((n) => metricNames().has(n)), 30_000).catch(() => undefined)
    expect([...metricNames()].filter((n) => n.startsWith("tabmux.")).sort()).toEqual(expect.arrayContaining(wanted))
    const waits = metric("tabmux.lock.wait")
    const points = waits.histogram?.dataPoints ?? []
    expect(points.reduce((n: number, p: any) => n + Number(p.count), 0)).toBeGreaterThanOrEqual(1)
  })

  it("tabmux status shows the agent's lock figures from the extension", { timeout: 30_000 }, async () => {
    const record = await waitFor(() => {
      const out = ChildProcess.spawnSync(process.execPath, [BIN, "status", "--json"], { env: { ...process.env, TABMUX_DIR: browser.dir }, encoding: "utf8" })
      const servers = JSON.parse(out.stdout).servers as Array<any>
      return servers.find((s) => s.record?.pid === agents[0]!.transport.pid && s.record.locks?.acquisitions >= 1)?.record
    }, 15_000)
    expect(record.locks).toMatchObject({ handoffs: 0, recoveries: 0, waitMs: { p50: expect.any(Number), p95: expect.any(Number) } })
    const table = ChildProcess.spawnSync(process.execPath, [BIN, "status"], { env: { ...process.env, TABMUX_DIR: browser.dir }, encoding: "utf8" }).stdout
    console.log(`tabmux status:\n${table}`)
    expect(table).toMatch(/LOCKS/)
    expect(table).toMatch(new RegExp(`^\\d+\\s+${agents[0]!.transport.pid}\\s.*\\s\\d+ acq`, "m"))
    // The figures are the last heartbeat's: their age is said.
    expect(table).toMatch(new RegExp(`^\\d+\\s+${agents[0]!.transport.pid}\\s.* expired \\(as of \\d+s ago\\)$`, "m"))
  })

  it("http/protobuf, the default protocol, is sent as protobuf", { timeout: 30_000 }, async () => {
    const server = spawnTabmux(["--ports", "18964-18965"], { TABMUX_DIR: tempRuntimeDir(), OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_METRIC_EXPORT_INTERVAL: "300" })
    await server.listening
    expect(server.stderr()).toContain(`exporting traces to ${endpoint}/v1/traces and metrics to ${endpoint}/v1/metrics (http/protobuf)`)
    await waitFor(() => received.contentTypes.has("/v1/metrics application/x-protobuf"), 15_000)
    server.child.stdin!.end()
    expect((await server.exited).code).toBe(0)
  })

  it("settings that cannot work are said once on stderr, and the server runs without export; without the variables nothing is said", async () => {
    const dir = tempRuntimeDir()
    for (const [env, said] of [
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, /OpenTelemetry export is off: OTEL_EXPORTER_OTLP_PROTOCOL "grpc" is not supported/],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: "localhost:4318" }, /OpenTelemetry export is off: OTEL_EXPORTER_OTLP_ENDPOINT must be an http\(s\) URL/],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: "" }, undefined]
    ] as const) {
      const server = spawnTabmux(["--ports", "18964-18965"], { TABMUX_DIR: dir, ...env })
      await server.listening
      if (said) expect(server.stderr()).toMatch(said)
      else expect(server.stderr()).not.toMatch(/OpenTelemetry|exporting traces/)
      server.child.stdin!.end()
      expect((await server.exited).code).toBe(0)
    }
  })
})
