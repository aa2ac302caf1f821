/**
 * An agent's lock figures: counted by the extension's TabLocks for each instance since it
 * connected, polled by its server (metrics, the registry record behind `tabmux status`) and
 * shown on the status page, summarised the same way everywhere.
 */
import { Schema } from "effect"

/** Durations in ms: how many were recorded in all, and the latest of them (a bounded window), oldest first. */
const Samples = Schema.Struct({ count: Schema.Int, recent: Schema.Array(Schema.Number) })

export const LockFigures = Schema.Struct({
  /** Tabs' locks given to the agent (for an operation or a lease). */
  acquisitions: Schema.Int,
  /** Of those, the ones it had to wait for while another agent held the tab. */
  handoffs: Schema.Int,
  /** Its leases that ran out (not renewed within their TTL), whose tabs went to the next waiter. */
  recoveries: Schema.Int,
  /** How long each acquisition waited (0 when the tab was free). */
  waits: Samples,
  /** How long each of its ended leases was held. */
  leases: Samples
})
export type LockFigures = typeof LockFigures.Type

/** The figures as people read them: counts, and quantiles over the latest samples. */
export const LockSummary = Schema.Struct({
  acquisitions: Schema.Int,
  handoffs: Schema.Int,
  recoveries: Schema.Int,
  waitMs: Schema.Struct({ p50: Schema.Number, p95: Schema.Number, max: Schema.Number }),
  leases: Schema.Int,
  leaseMs: Schema.Struct({ p50: Schema.Number, p95: Schema.Number })
})
export type LockSummary = typeof LockSummary.Type

const quantile = (sorted: ReadonlyArray<number>, q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!)

export const summarise = (f: LockFigures): LockSummary => {
  const waits = [...f.waits.recent].sort((a, b) => a - b)
  const leases = [...f.leases.recent].sort((a, b) => a - b)
  return {
    acquisitions: f.acquisitions,
    handoffs: f.handoffs,
    recoveries: f.recoveries,
    waitMs: { p50: quantile(waits, 0.5), p95: quantile(waits, 0.95), max: waits.length === 0 ? 0 : waits[waits.length - 1]! },
    leases: f.leases.count,
    leaseMs: { p50: quantile(leases, 0.5), p95: quantile(leases, 0.95) }
  }
}

const ms = (n: number) => (n >= 10_000 ? `${Math.round(n / 1000)} s` : `${Math.round(n)} ms`)

/** One line: acquisitions, hand-offs, waits (p50/p95/max), leases, expired leases. */
export const describe = (l: LockSummary) =>
  `${l.acquisitions} acq, ${l.handoffs} waited, wait p50 ${ms(l.waitMs.p50)} p95 ${ms(l.waitMs.p95)} max ${ms(l.waitMs.max)}, ` +
  `${l.leases} leases (p50 ${ms(l.leaseMs.p50)}), ${l.recoveries} expired`
