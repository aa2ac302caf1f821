/**
 * Agents for browser tests: a real tabmux server started by the MCP SDK's stdio client (as
 * an AI client starts it), declaring roots, returned once the extension has connected to
 * it; and the few ways the tests call tools.
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { expect } from "vitest"
import { clientWithRoots } from "./roots.js"
import { BIN, readRegistry, waitFor } from "./server.js"

export interface Agent {
  readonly name: string
  readonly client: Client
  readonly transport: StdioClientTransport
  readonly port: number
}

export const startAgent = async (
  name: string,
  o: { readonly dir: string; readonly ports: string; readonly roots?: ReadonlyArray<string>; readonly env?: Record<string, string> }
): Promise<Agent> => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN],
    env: { ...process.env, TABMUX_DIR: o.dir, TABMUX_PORTS: o.ports, TABMUX_CONNECT_WAIT: "15", ...o.env } as Record<string, string>,
    stderr: "pipe"
  })
  const { client } = clientWithRoots(name, o.roots ?? [])
  await client.connect(transport)
  const record = await waitFor(() => readRegistry(o.dir).find((r) => r.pid === transport.pid && r.extension), 20_000)
  return { name, client, transport, port: record.port }
}

export const text = (result: any) => result.content.map((c: any) => c.text).join("\n")

/** A tool call that must succeed; its result. */
export const call = async (agent: Agent, name: string, args: Record<string, unknown> = {}) => {
  const result: any = await agent.client.callTool({ name, arguments: args })
  if (result.isError) throw new Error(`${agent.name} ${name}: ${text(result)}`)
  return result
}

/** A tool call that must fail; its message. */
export const failure = async (agent: Agent, name: string, args: Record<string, unknown> = {}) => {
  const result: any = await agent.client.callTool({ name, arguments: args })
  expect(result.isError, `${name} ${JSON.stringify(args)} should fail, got: ${text(result)}`).toBe(true)
  return text(result)
}
