/**
 * The spans of one traced call. When the server exports traces, a call frame carries the
 * server's span of the call; the worker then records its own spans of that call (the
 * handling, the wait for the tab's lock, each DevTools command) with a tracer of its own,
 * and sends them back with the result. The server re-creates them under its span, so one
 * trace shows both sides (src/server/Bridge.ts). Untraced calls run with tracing off: they
 * cost nothing.
 */
import { Effect, Exit, Option, Tracer } from "effect"
import type { SpanRecord } from "../../src/protocol/index.js"

/** A call sends back at most this many spans (a page of many frames makes many DevTools commands). */
const MAX_SPANS = 200

type Attribute = string | number | boolean

const millis = (nanos: bigint) => Number(nanos) / 1_000_000
const randomId = (bytes: number) => Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("")

export interface Recorder {
  /** Runs `effect` as the span `name`, under the server's span when the call is traced. */
  readonly run: <A, E, R>(name: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** The spans recorded so far, for the result frame (`{}` for an untraced call). */
  readonly spans: () => { readonly spans?: ReadonlyArray<SpanRecord> }
}

export const recorder = (trace: { readonly traceId: string; readonly spanId: string } | undefined): Recorder => {
  if (trace === undefined) return { run: (_, effect) => Effect.withTracerEnabled(effect, false), spans: () => ({}) }
  const records: Array<{ -readonly [K in keyof SpanRecord]: SpanRecord[K] } & { ended: boolean }> = []
  const index = new Map<Tracer.AnySpan, number>()
  const tracer = Tracer.make({
    span(name, parent, context, links, startTime, kind) {
      const at = records.length
      const record = {
        name,
        parent: Option.match(parent, { onNone: () => -1, onSome: (p) => index.get(p) ?? -1 }),
        start: millis(startTime),
        end: millis(startTime),
        failed: false,
        attributes: {} as Record<string, Attribute>,
        ended: false
      }
      if (at < MAX_SPANS) records.push(record)
      const attributes = new Map<string, unknown>()
      let status: Tracer.SpanStatus = { _tag: "Started", startTime }
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: randomId(8),
        traceId: trace.traceId,
        parent,
        context,
        get status() {
          return status
        },
        attributes,
        links: [...links],
        sampled: true,
        kind,
        end(endTime, exit) {
          status = { _tag: "Ended", startTime, endTime, exit }
          record.end = millis(endTime)
          record.failed = Exit.isFailure(exit)
          record.ended = true
        },
        attribute(key, value) {
          attributes.set(key, value)
          if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") record.attributes[key] = value
        },
        event() {},
        addLinks() {}
      }
      if (at < MAX_SPANS) index.set(span, at)
      return span
    },
    context: (f) => f()
  })
  return {
    run: (name, effect) =>
      effect.pipe(
        Effect.withSpan(name),
        Effect.withParentSpan(Tracer.externalSpan({ traceId: trace.traceId, spanId: trace.spanId })),
        Effect.withTracer(tracer)
      ),
    spans: () => {
      // A span still open (work left running in the background) ends with the call.
      const now = Math.max(...records.map((r) => r.end))
      return { spans: records.map(({ ended, ...r }) => (ended ? r : { ...r, end: now })) }
    }
  }
}
