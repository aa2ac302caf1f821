/**
 * A client nobody here wrote: the MCP Inspector's CLI (pinned devDependency), which starts
 * the server itself over stdio for every call, as scripts and CI jobs do. Its tools/list
 * must show plain JSON Schemas (no `$ref`/`$defs`, no generated titles), and tools/call
 * with integer arguments must work against the real extension in headless Chromium.
 */
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startAgent } from "../support/agent.js"
import { inspector as runInspector } from "../support/inspector.js"
import { clientWithRoots } from "../support/roots.js"
import { type Browser, launch } from "../support/chromium.js"
import { type Fixtures, serveFixtures } from "../support/fixtures.js"
import { BIN, tempRuntimeDir } from "../support/server.js"

const PORTS = "18895-18896"
let browser: Browser
let fixtures: Fixtures

/** One Inspector CLI run that starts tabmux over stdio itself, as scripts and CI jobs do. */
const inspector = (args: ReadonlyArray<string>) =>
  runInspector(["-e", `TABMUX_DIR=${browser.dir}`, "-e", `TABMUX_PORTS=${PORTS}`, "-e", "TABMUX_CONNECT_WAIT=15", process.execPath, BIN, ...args])

beforeAll(async () => {
  fixtures = await serveFixtures()
  browser = await launch({ dir: tempRuntimeDir(), ports: PORTS })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  fixtures?.close()
})

describe("the MCP Inspector CLI as a client", () => {
  it("lists every tool with self-contained schemas", { timeout: 60_000 }, async () => {
    const { tools } = await inspector(["--method", "tools/list"])
    expect(tools.map((t: any) => t.name)).toEqual(expect.arrayContaining(["browser_navigate", "browser_snapshot", "browser_click", "browser_drop"]))
    for (const tool of tools) {
      const schemas = JSON.stringify([tool.inputSchema, tool.outputSchema ?? {}])
      expect(schemas, tool.name).not.toMatch(/\$ref|\$defs|"title":"(between|greaterThan|int)/i)
    }
    const resize = tools.find((t: any) => t.name === "browser_resize")
    expect(resize.inputSchema.properties.width).toMatchObject({ type: "integer", minimum: 100, maximum: 10000 })
  })

  it("calls tools with integer arguments: navigate answers with the page, resize and a shallow snapshot work", { timeout: 90_000 }, async () => {
    const went = await inspector(["--method", "tools/call", "--tool-name", "browser_navigate", "--tool-arg", `url=${fixtures.base}/form`])
    expect(went.isError, JSON.stringify(went)).toBeFalsy()
    expect(went.content[0].text).toContain(`heading "Sign up"`)
    const resized = await inspector(["--method", "tools/call", "--tool-name", "browser_resize", "--tool-arg", "width=800", "--tool-arg", "height=600"])
    expect(resized.isError, JSON.stringify(resized)).toBeFalsy()
    expect(resized.structuredContent).toMatchObject({ width: 800, height: 600 })
    const shallow = await inspector(["--method", "tools/call", "--tool-name", "browser_snapshot", "--tool-arg", "depth=1"])
    expect(shallow.isError, JSON.stringify(shallow)).toBeFalsy()
    const wrong = await inspector(["--method", "tools/call", "--tool-name", "browser_resize", "--tool-arg", "width=50", "--tool-arg", "height=600"])
    expect(wrong.isError).toBe(true)
    expect(wrong.content[0].text).toMatch(/width/)
    // Arguments of the other types: a boolean, an array of objects, a string enum.
    const typed = await inspector(["--method", "tools/call", "--tool-name", "browser_tabs", "--tool-arg", "action=list"])
    expect(typed.isError, JSON.stringify(typed)).toBeFalsy()
    const shot = await inspector(["--method", "tools/call", "--tool-name", "browser_take_screenshot", "--tool-arg", "fullPage=true"])
    expect(shot.isError, JSON.stringify(shot).slice(0, 500)).toBeFalsy()
  })

  it("follows MCP's conventions: empty prompts and resource templates, logging/setLevel, resources/read, -32002 for an unknown resource", { timeout: 60_000 }, async () => {
    expect(await inspector(["--method", "prompts/list"])).toEqual({ prompts: [] })
    expect(await inspector(["--method", "resources/templates/list"])).toEqual({ resourceTemplates: [] })
    expect(await inspector(["--method", "logging/setLevel", "--log-level", "debug"])).toEqual({})
    const read = await inspector(["--method", "resources/read", "--uri", "tabmux://instances"])
    expect(JSON.parse(read.contents[0].text).instances.length).toBeGreaterThanOrEqual(1)
    const { client } = clientWithRoots("conventions", [])
    await client.connect(new StdioClientTransport({
      command: process.execPath,
      args: [BIN],
      env: { ...process.env, TABMUX_DIR: browser.dir, TABMUX_PORTS: PORTS } as Record<string, string>,
      stderr: "ignore"
    }))
    try {
      expect(client.getServerVersion()).toMatchObject({ name: "tabmux", title: expect.stringContaining("tabmux") })
      expect(client.getServerCapabilities()).toMatchObject({ resources: { subscribe: true }, prompts: {}, logging: {} })
      const missing = await client.readResource({ uri: "tabmux://nothing" }).catch((e) => e)
      expect(missing.code).toBe(-32002)
      // A subscriber hears when an agent comes.
      const updated = new Promise<string>((resolve) =>
        client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => resolve(n.params.uri)))
      await client.subscribeResource({ uri: "tabmux://instances" })
      await new Promise((r) => setTimeout(r, 2_500))
      const other = await startAgent("newcomer", { dir: browser.dir, ports: PORTS })
      expect(await Promise.race([updated, new Promise((r) => setTimeout(() => r("no notification"), 10_000))])).toBe("tabmux://instances")
      await other.client.close()
    } finally {
      await client.close()
    }
  })
})
