/**
 * `tabmux` (serve): the MCP server over stdio. Runs until stdin ends (the client went
 * away), SIGINT or SIGTERM; then everything is released in order: MCP closed, the
 * extension told, the registry record removed, the port freed, the lock released.
 */
import { Effect, Either, Layer } from "effect"
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

/**
 * OpenTelemetry export when the standard variables ask for it (its module is loaded only
 * then); settings that cannot work are said once, and the server runs without export.
 */
const telemetry = (config: ServerConfig, env: NodeJS.ProcessEnv = process.env) => {
  const wanted = !/^true$/i.test(env.OTEL_SDK_DISABLED ?? "") &&
    [env.OTEL_EXPORTER_OTLP_ENDPOINT, env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT].some((v) => (v ?? "") !== "")
  if (!wanted) return Effect.succeed(Layer.empty)
  return Effect.promise(() => import("../server/Telemetry.js")).pipe(
    Effect.flatMap((Telemetry) =>
      Either.match(Telemetry.settings(env), {
        onLeft: (problem) => Effect.as(Effect.logWarning(`OpenTelemetry export is off: ${problem}`), Layer.empty),
        onRight: (settings) =>
          Effect.as(
            Effect.logInfo(`exporting traces to ${settings.tracesUrl} and metrics to ${settings.metricsUrl} (${settings.protocol})`),
            Telemetry.layer(settings, config.serverVersion)
          )
      })
    )
  )
}

/** The HTTP endpoint's bearer token: a secret of the user's, kept beside theirs in the runtime directory. */
export const HTTP_TOKEN = "http-token"

/** Until the process is told to stop (Ctrl-C, SIGTERM): an HTTP server has no stdin to end it. */
const untilStopped = Effect.async<void>((resume) => {
  const stop = () => resume(Effect.void)
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
  return Effect.sync(() => {
    process.off("SIGINT", stop)
    process.off("SIGTERM", stop)
  })
})

/** Over Streamable HTTP: one tabmux server per MCP session, until stopped. */
const serveHttp = (config: ServerConfig, http: { readonly host: string; readonly port: number; readonly allowOrigins: ReadonlyArray<string> }) =>
  Effect.gen(function*() {
    const [HttpServer, UserSecret] = yield* Effect.promise(() => Promise.all([import("../server/HttpServer.js"), import("../server/UserSecret.js")]))
    const token = yield* UserSecret.readOrCreate(config.dir, HTTP_TOKEN)
    yield* HttpServer.serve(config, { ...HttpServer.DEFAULTS, ...http, token })
    yield* untilStopped
    yield* Effect.logInfo("stopping: ending every session")
  }).pipe(Effect.scoped)

export const serve = (
  config: ServerConfig,
  options: { readonly installHost: boolean; readonly http?: { readonly host: string; readonly port: number; readonly allowOrigins: ReadonlyArray<string> } | undefined }
) =>
  Effect.when(ensureHost(config), () => options.installHost).pipe(
    Effect.zipRight(telemetry(config)),
    Effect.flatMap((exported) =>
      Effect.provide<void, { readonly message: string }, never, never, never, never>(
        options.http !== undefined
          ? serveHttp(config, options.http)
          : Layer.build(TabmuxServer.layer(config).pipe(Layer.provide(Mcp.stdioTransport))).pipe(
            Effect.zipRight(stdinEnded),
            Effect.zipRight(Effect.logInfo("stdin closed: shutting down")),
            Effect.scoped
          ),
        exported
      )
    ),
    Effect.asVoid
  )
