/**
 * `tabmux` (serve): the MCP server over stdio. Runs until stdin ends (the client went
 * away), SIGINT or SIGTERM; then everything is released in order: MCP closed, the
 * extension told, the registry record removed, the port freed, the lock released.
 */
import { Effect, Layer, Option } from "effect"
import type { ServerConfig } from "../server/Config.js"
import * as Mcp from "../server/Mcp.js"
import * as TabmuxServer from "../server/TabmuxServer.js"

const stdinEnded = Effect.async<void>((resume) => {
  const done = () => resume(Effect.void)
  process.stdin.once("end", done)
  process.stdin.once("close", done)
  return Effect.sync(() => {
    process.stdin.off("end", done)
    process.stdin.off("close", done)
  })
})

export const serve = (config: ServerConfig) =>
  Layer.build(TabmuxServer.layer(config).pipe(Layer.provide(Mcp.stdioTransport))).pipe(
    Effect.zipRight(stdinEnded),
    Effect.zipRight(Effect.logInfo("stdin closed: shutting down")),
    Effect.scoped,
    Effect.map(() => Option.none<string>())
  )
