/** The stdio server as an MCP client sees it, and invariant 8: stdout carries only MCP messages. */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js"
import { Ajv } from "ajv"
import WebSocket from "ws"
import { describe, expect, it } from "vitest"
import { BIN, portIsFree, readRegistry, spawnTabmux, tempRuntimeDir, waitFor } from "../support/server.js"

const connect = async (ports: string, dir: string, name = "test-agent", connectWait = "0.3") => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, "--ports", ports, "--connect-wait", connectWait],
    env: { ...process.env, TABMUX_DIR: dir } as Record<string, string>,
    stderr: "pipe"
  })
  const client = new Client({ name, version: "1.0.0" })
  await client.connect(transport)
  return { client, transport }
}

const text = (result: any) => result.content.map((c: any) => c.text).join("\n")

describe("MCP over stdio", () => {
  it("lists browser_tabs with a JSON Schema input, annotations and an output schema", async () => {
    const { client } = await connect("18300-18301", tempRuntimeDir())
    try {
      const { tools } = await client.listTools()
      const tabs = tools.find((t) => t.name === "browser_tabs")!
      expect(tabs.inputSchema.type).toBe("object")
      expect((tabs.inputSchema.properties as any).action.enum).toEqual(["list", "new", "select", "close"])
      expect(tabs.inputSchema.required).toEqual(["action"])
      expect(tabs.outputSchema?.type).toBe("object")
      expect(tabs.annotations).toMatchObject({ title: "Manage tabs", readOnlyHint: false, openWorldHint: true })
    } finally {
      await client.close()
    }
  })

  it("log lines reach the client as notifications once it sets a level, and only at that level or above", async () => {
    const dir = tempRuntimeDir()
    const { client, transport } = await connect("18314-18315", dir)
    try {
      const said: Array<{ level: string; data: unknown }> = []
      client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void said.push({ level: n.params.level, data: n.params.data }))
      const port = (await waitFor(() => readRegistry(dir).find((r) => r.pid === transport.pid))).port
      const refusedUpgrade = () =>
        new Promise<void>((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}`, { headers: { Origin: "https://page.example" } })
          ws.once("unexpected-response", () => resolve())
          ws.once("error", () => resolve())
        })
      // Before logging/setLevel nothing is sent.
      await refusedUpgrade()
      await new Promise((r) => setTimeout(r, 300))
      expect(said).toEqual([])
      await client.setLoggingLevel("warning")
      // Refusals are logged at most once a minute, so the next one is made at a second server, whose client asked first.
      const other = tempRuntimeDir()
      const second = await connect("18316-18317", other)
      try {
        const seen: Array<{ level: string; data: unknown }> = []
        second.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void seen.push({ level: n.params.level, data: n.params.data }))
        await second.client.setLoggingLevel("warning")
        const p = (await waitFor(() => readRegistry(other).find((r) => r.pid === second.transport.pid))).port
        await new Promise<void>((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${p}`, { headers: { Origin: "https://page.example" } })
          ws.once("unexpected-response", () => resolve())
          ws.once("error", () => resolve())
        })
        const line = await waitFor(() => seen.find((m) => String(m.data).includes("refused a WebSocket connection")), 5_000)
        expect(line.level).toBe("warning")
        await second.client.setLoggingLevel("error")
        seen.length = 0
        await second.client.callTool({ name: "browser_tabs", arguments: { action: "list" } })
        await new Promise((r) => setTimeout(r, 300))
        expect(seen.filter((m) => m.level === "info" || m.level === "warning")).toEqual([])
      } finally {
        await second.client.close()
      }
    } finally {
      await client.close()
    }
  })

  it("a tool call without an extension fails with an actionable isError result", async () => {
    const { client } = await connect("18302-18303", tempRuntimeDir(), "test-agent", "2")
    try {
      const result = await client.callTool({ name: "browser_tabs", arguments: { action: "list" } })
      expect(result.isError).toBe(true)
      const message = text(result)
      expect(message).toContain("not connected")
      expect(message).toMatch(/port 1830[23]/)
      expect(message).toContain("18302-18303")
      expect(message).toContain("tabmux status")
      // The first call waited; later ones, while still no browser, fail at once with the same advice.
      const started = Date.now()
      const again = await client.callTool({ name: "browser_snapshot", arguments: {} })
      const ms = Date.now() - started
      console.log(`no browser: a second call failed in ${ms} ms`)
      expect(again.isError).toBe(true)
      expect(text(again)).toContain("not connected")
      expect(ms).toBeLessThan(1_000) // waiting again would take the whole connect wait (2 s)
    } finally {
      await client.close()
    }
  })

  it("bad arguments name the argument and the expected shape", async () => {
    const { client } = await connect("18304-18305", tempRuntimeDir())
    try {
      const bad = await client.callTool({ name: "browser_tabs", arguments: { action: "explode" } })
      expect(bad.isError).toBe(true)
      expect(text(bad)).toContain("Invalid arguments for browser_tabs")
      expect(text(bad)).toContain("action: expected one of \"list\", \"new\", \"select\", \"close\", got \"explode\"")
      const select = await client.callTool({ name: "browser_tabs", arguments: { action: "select" } })
      expect(text(select)).toContain("needs \"tab\"")
      const handle = await client.callTool({ name: "browser_tabs", arguments: { action: "select", tab: 3 } })
      expect(text(handle)).toContain("tab: expected string, got 3")
      const extra = await client.callTool({ name: "browser_tabs", arguments: { action: "list", page: 1 } })
      expect(text(extra)).toContain("page: is not an argument of this tool")
      const misplaced = await client.callTool({ name: "browser_tabs", arguments: { action: "new", index: 1 } })
      expect(text(misplaced)).toContain("index is for select and close")
      // A number out of range names the range and the value, not the argument's description.
      const small = await client.callTool({ name: "browser_resize", arguments: { width: 800, height: 10 } })
      expect(text(small)).toContain("height: expected an integer from 100 to 10000, got 10")
      // The client's error says its code once.
      const unknown = await client.callTool({ name: "browser_nope", arguments: {} }).then(() => "", (e: Error) => e.message)
      expect(unknown).toMatch(/^MCP error -32602: Unknown tool "browser_nope"/)
    } finally {
      await client.close()
    }
  })

  it("the client's name becomes the instance's name; closing the client frees port and record", async () => {
    const dir = tempRuntimeDir()
    const { client, transport } = await connect("18306-18307", dir, "claude-test")
    const record = await waitFor(() => readRegistry(dir).find((r) => r.clientName === "claude-test"))
    expect(record.pid).toBe(transport.pid)
    await client.close()
    await waitFor(() => readRegistry(dir).length === 0)
    expect(await portIsFree(record.port)).toBe(true)
  })

  it("every byte on stdout is JSON-RPC, even with debug logging", async () => {
    const server = spawnTabmux(["--ports", "18308-18309", "--log-level", "debug", "--connect-wait", "0.2"], { TABMUX_DIR: tempRuntimeDir() })
    const send = (m: object) => server.child.stdin!.write(JSON.stringify(m) + "\n")
    send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } } })
    send({ jsonrpc: "2.0", method: "notifications/initialized" })
    send({ jsonrpc: "2.0", id: 2, method: "tools/list" })
    send({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "browser_tabs", arguments: { action: "list" } } })
    await waitFor(() => server.stdout().includes("\"id\":3"), 10_000)
    server.child.stdin!.end()
    expect((await server.exited).code).toBe(0)
    const lines = server.stdout().split("\n").filter((l) => l !== "")
    expect(lines.length).toBe(3)
    for (const line of lines) expect(JSON.parse(line).jsonrpc).toBe("2.0")
    expect(lines.map((l) => JSON.parse(l).id)).toEqual([1, 2, 3])
    expect(server.stderr()).toContain("DEBUG")
  })

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`exits cleanly on ${signal}: record removed, port freed`, async () => {
      const dir = tempRuntimeDir()
      const server = spawnTabmux(["--ports", signal === "SIGTERM" ? "18310" : "18311"], { TABMUX_DIR: dir })
      const port = await server.listening
      expect(readRegistry(dir).length).toBe(1)
      server.child.kill(signal)
      await server.exited
      expect(readRegistry(dir)).toEqual([])
      expect(await portIsFree(port)).toBe(true)
      expect(server.stdout()).toBe("")
    })
  }

  it("a second --exclusive server exits non-zero naming the holder", async () => {
    const dir = tempRuntimeDir()
    const first = spawnTabmux(["--ports", "18312-18313", "--exclusive"], { TABMUX_DIR: dir })
    await first.listening
    const second = spawnTabmux(["--ports", "18312-18313"], { TABMUX_DIR: dir, TABMUX_EXCLUSIVE: "1" })
    expect((await second.exited).code).toBe(1)
    expect(second.stderr()).toContain(`held by pid ${first.child.pid}`)
    expect(second.stderr()).toContain("tabmux doctor")
    first.child.stdin!.end()
    expect((await first.exited).code).toBe(0)
  })
})

describe("tool schemas, as a strict JSON Schema validator reads them", () => {
  it("every input and output schema compiles in strict mode; example arguments validate or are refused as the server would", async () => {
    const ajv = new Ajv({ strict: true, allErrors: true })
    const { client } = await connect("18310-18311", tempRuntimeDir())
    try {
      const { tools } = await client.listTools()
      expect(tools.length).toBeGreaterThan(20)
      for (const tool of tools) {
        expect(() => ajv.compile(tool.inputSchema), `${tool.name} input`).not.toThrow()
        if (tool.outputSchema) expect(() => ajv.compile(tool.outputSchema!), `${tool.name} output`).not.toThrow()
      }
      const resize = ajv.compile(tools.find((t) => t.name === "browser_resize")!.inputSchema)
      expect(resize({ width: 800, height: 600 })).toBe(true)
      expect(resize({ width: 50, height: 600 })).toBe(false)
      expect(resize({ width: "800", height: 600 })).toBe(false)
    } finally {
      await client.close()
    }
  })
})
