/**
 * tabmux's metrics, as Effect metrics: always counted (it costs next to nothing), exported
 * only when OpenTelemetry export is on (see Telemetry.ts and docs/OBSERVABILITY.md). Lock
 * figures are the extension's (its TabLocks counts them); the server polls them with its
 * heartbeat and feeds what changed since the last poll into these metrics.
 */
import { Effect, Metric, MetricBoundaries } from "effect"
import type { Locks } from "../protocol/index.js"

type LockFigures = Locks.LockFigures

/** 1 ms to ~65 s, doubling. */
const millis = MetricBoundaries.exponential({ start: 1, factor: 2, count: 17 })

export const toolCalls = Metric.counter("tabmux.tool.calls", { description: "MCP tool calls, by tool and outcome (ok or error)", incremental: true })
export const toolDuration = Metric.histogram("tabmux.tool.duration", millis, "MCP tool call latency in ms, by tool")
export const lockWait = Metric.histogram("tabmux.lock.wait", millis, "How long an acquisition of a tab's lock waited, in ms (0 when the tab was free)")
export const leaseDuration = Metric.histogram("tabmux.lease.duration", millis, "How long a lease was held before it was released, dropped or expired, in ms")
export const lockAcquisitions = Metric.counter("tabmux.lock.acquisitions", { description: "Tab locks given to this server's agent", incremental: true })
export const lockHandoffs = Metric.counter("tabmux.lock.handoffs", { description: "Acquisitions that waited for another agent to let the tab go", incremental: true })
export const lockRecoveries = Metric.counter("tabmux.lock.recoveries", { description: "Leases that expired (stale) and were recovered", incremental: true })
export const instanceLockAcquire = Metric.histogram(
  "tabmux.instance_lock.acquire",
  millis,
  "How long acquiring a single-instance lock took in ms, retries included, by backend and outcome (acquired, held, error)"
)
export const instanceLockAttempts = Metric.counter("tabmux.instance_lock.attempts", { description: "Single-instance lock attempts, retries included", incremental: true })
export const portClaimAttempts = Metric.counter("tabmux.port.claim.attempts", { description: "Ports tried while claiming one at start-up", incremental: true })
export const instances = Metric.gauge("tabmux.instances", { description: "Agents (servers) connected to the extension" })

/** What is new in `next` since `previous` (all of it after a reconnection, when the counts start again). */
const fresh = (previous: LockFigures["waits"] | undefined, next: LockFigures["waits"]) => {
  const added = previous === undefined || next.count < previous.count ? next.count : next.count - previous.count
  return added === 0 ? [] : next.recent.slice(-added)
}
const delta = (previous: number | undefined, next: number) => (previous === undefined || next < previous ? next : next - previous)

/** Feeds one poll of the extension's figures into the metrics. */
export const recordLockFigures = (previous: LockFigures | undefined, next: LockFigures & { readonly instances: number }) =>
  Effect.all([
    Effect.forEach(fresh(previous?.waits, next.waits), (ms) => Metric.update(lockWait, ms), { discard: true }),
    Effect.forEach(fresh(previous?.leases, next.leases), (ms) => Metric.update(leaseDuration, ms), { discard: true }),
    Metric.incrementBy(lockAcquisitions, delta(previous?.acquisitions, next.acquisitions)),
    Metric.incrementBy(lockHandoffs, delta(previous?.handoffs, next.handoffs)),
    Metric.incrementBy(lockRecoveries, delta(previous?.recoveries, next.recoveries)),
    Metric.set(instances, next.instances)
  ], { discard: true })
