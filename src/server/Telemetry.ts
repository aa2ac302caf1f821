/**
 * OpenTelemetry export of traces and metrics over OTLP/HTTP, with @effect/opentelemetry's
 * own exporters (no OpenTelemetry SDK). Off unless the standard variables ask for it; the
 * server imports this module only then (src/cli/serve.ts), so an ordinary server loads
 * none of it. What is exported: docs/OBSERVABILITY.md.
 *
 * Variables (the OpenTelemetry specification's): OTEL_EXPORTER_OTLP_ENDPOINT (base URL;
 * `/v1/traces` and `/v1/metrics` are appended), OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and
 * OTEL_EXPORTER_OTLP_METRICS_ENDPOINT (full URLs), OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf,
 * the default, or http/json), OTEL_EXPORTER_OTLP_HEADERS (`key=value,...`), OTEL_SERVICE_NAME
 * (default tabmux), OTEL_BSP_SCHEDULE_DELAY and OTEL_METRIC_EXPORT_INTERVAL (ms),
 * OTEL_SDK_DISABLED=true.
 */
import * as OtlpMetrics from "@effect/opentelemetry/OtlpMetrics"
import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Duration, Either, Layer } from "effect"
import { ExportSpans } from "./Bridge.js"

export interface Settings {
  readonly tracesUrl: string
  readonly metricsUrl: string
  readonly protocol: "http/protobuf" | "http/json"
  readonly headers: Readonly<Record<string, string>>
  readonly serviceName: string
  readonly traceDelay: Duration.Duration
  readonly metricInterval: Duration.Duration
}

const httpUrl = (name: string, value: string): Either.Either<string, string> => {
  try {
    const url = new URL(value)
    return url.protocol === "http:" || url.protocol === "https:"
      ? Either.right(url.href)
      : Either.left(`${name} must be an http(s) URL, not "${value}"`)
  } catch {
    return Either.left(`${name} is not a URL: "${value}"`)
  }
}

const millis = (name: string, value: string | undefined, fallback: number): Either.Either<Duration.Duration, string> => {
  if (value === undefined || value === "") return Either.right(Duration.millis(fallback))
  const n = Number(value)
  return Number.isFinite(n) && n > 0 ? Either.right(Duration.millis(n)) : Either.left(`${name} must be a number of milliseconds, not "${value}"`)
}

/** The export settings the variables describe, or what is wrong with them (naming the variable). */
export const settings = (env: NodeJS.ProcessEnv): Either.Either<Settings, string> =>
  Either.gen(function*() {
    const base = env.OTEL_EXPORTER_OTLP_ENDPOINT ?? ""
    const signal = (name: string, path: string) => {
      const own = env[name] ?? ""
      if (own !== "") return httpUrl(name, own)
      if (base === "") return Either.left(`${name} or OTEL_EXPORTER_OTLP_ENDPOINT is needed`)
      return Either.map(httpUrl("OTEL_EXPORTER_OTLP_ENDPOINT", base), (url) => `${url.replace(/\/+$/, "")}${path}`)
    }
    const protocol = env.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf"
    if (protocol !== "http/protobuf" && protocol !== "http/json") {
      return yield* Either.left(`OTEL_EXPORTER_OTLP_PROTOCOL "${protocol}" is not supported: use http/protobuf or http/json`)
    }
    const headers: Record<string, string> = {}
    for (const pair of (env.OTEL_EXPORTER_OTLP_HEADERS ?? "").split(",").filter((p) => p.trim() !== "")) {
      const at = pair.indexOf("=")
      if (at <= 0) return yield* Either.left(`OTEL_EXPORTER_OTLP_HEADERS must be key=value pairs separated by commas`)
      headers[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim())
    }
    return {
      tracesUrl: yield* signal("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "/v1/traces"),
      metricsUrl: yield* signal("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "/v1/metrics"),
      protocol,
      headers,
      serviceName: (env.OTEL_SERVICE_NAME ?? "") || "tabmux",
      traceDelay: yield* millis("OTEL_BSP_SCHEDULE_DELAY", env.OTEL_BSP_SCHEDULE_DELAY, 5_000),
      metricInterval: yield* millis("OTEL_METRIC_EXPORT_INTERVAL", env.OTEL_METRIC_EXPORT_INTERVAL, 60_000)
    }
  })

/** Traces and metrics exported as `settings` say; calls carry their trace to the extension. */
export const layer = (settings: Settings, serviceVersion: string) => {
  const resource = { serviceName: settings.serviceName, serviceVersion }
  return Layer.mergeAll(
    OtlpTracer.layer({ url: settings.tracesUrl, resource, headers: settings.headers, exportInterval: settings.traceDelay }),
    OtlpMetrics.layer({ url: settings.metricsUrl, resource, headers: settings.headers, exportInterval: settings.metricInterval }),
    Layer.succeed(ExportSpans, true)
  ).pipe(
    Layer.provide(settings.protocol === "http/json" ? OtlpSerialization.layerJson : OtlpSerialization.layerProtobuf),
    Layer.provide(FetchHttpClient.layer)
  )
}
