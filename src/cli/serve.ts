/**
 * `tabmux` (serve): the MCP server over stdio. Runs until stdin ends (the client went
 * away), SIGINT or SIGTERM; then everything is released in order: MCP closed, the
 * extension told, the registry record removed, the port freed, the lock released.
 */
import { Effect, Layer } from "effect"
import type { ServerConfig } from "../server/Config.js"
import * as Mcp from "../server/Mcp.js"
import * as NativeHost from "../server/NativeHost.js"
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

/**
 * Zero clicks: the extension learns the user's secret from the native host. A server on the
 * default directory installs it when missing (one with another directory leaves the user's
 * setup alone).
 */
const ensureHost = (config: ServerConfig) =>
  NativeHost.ensureInstalled(config.dir).pipe(
    Effect.flatMap((installed) =>
      installed.length === 0 ? Effect.void : Effect.logInfo(
        `installed the tabmux native-messaging host for ${installed.join("; ")} (reload the tabmux extension once if it says "not paired"; \`tabmux uninstall\` removes it)`
      )
    ),
    Effect.catchAll((e) => Effect.logWarning(`could not install the native-messaging host: ${e.message}; run \`tabmux install\`, or pair with \`tabmux pair\``))
  )

export const serve = (config: ServerConfig, options: { readonly installHost: boolean }) =>
  Effect.when(ensureHost(config), () => options.installHost).pipe(
    Effect.zipRight(Layer.build(TabmuxServer.layer(config).pipe(Layer.provide(Mcp.stdioTransport)))),
    Effect.zipRight(stdinEnded),
    Effect.zipRight(Effect.logInfo("stdin closed: shutting down")),
    Effect.scoped,
    Effect.asVoid
  )
