/** `tabmux status`: the servers in the registry (port, pid, client, uptime, extension, lock figures), with stale records swept. */
import { Clock, Console, Duration, Effect, Option } from "effect"
import * as PortRegistry from "../server/PortRegistry.js"

export const table = (rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n")
}

const ms = (n: number) => (n >= 10_000 ? `${Math.round(n / 1000)} s` : `${Math.round(n)} ms`)

/** An agent's lock figures in one cell: acquisitions, hand-offs, waits (p50/p95/max), expired leases. */
const locks = (l: NonNullable<PortRegistry.PortRecord["locks"]>) =>
  `${l.acquisitions} acq, ${l.handoffs} waited, wait p50 ${ms(l.waitMs.p50)} p95 ${ms(l.waitMs.p95)} max ${ms(l.waitMs.max)}, ` +
  `${l.leases} leases (p50 ${ms(l.leaseMs.p50)}), ${l.recoveries} expired`

export const status = (options: { readonly dir: string; readonly staleAfter: Duration.Duration; readonly json: boolean }) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const entries = yield* PortRegistry.list(options.dir, now, options.staleAfter)
    const swept = yield* PortRegistry.sweep(options.dir, entries)
    const kept = entries.filter((e) => !swept.includes(e))
    if (options.json) {
      yield* Console.log(JSON.stringify({
        dir: options.dir,
        servers: kept.map((e) => ({ port: e.port, verdict: Option.getOrNull(e.verdict), record: Option.getOrNull(e.record) })),
        swept: swept.map((e) => ({ port: e.port, record: Option.getOrNull(e.record) }))
      }))
      return
    }
    if (kept.length === 0) {
      yield* Console.log(`No tabmux server is running (registry: ${options.dir}).`)
    } else {
      const rows = kept.map((e) =>
        Option.match(e.record, {
          onNone: () => [String(e.port), "?", "?", "?", "?", "?", `unreadable record: ${e.path}`, ""],
          onSome: (r) => [
            String(r.port),
            String(r.pid),
            r.clientName,
            PortRegistry.formatAge(now - r.startedAt),
            r.extension ? `yes (${r.extension.browser})` : "no",
            r.token,
            Option.getOrElse(e.verdict, () => "?") === "hung"
              ? `hung (no heartbeat for ${PortRegistry.formatAge(now - r.heartbeatAt)})`
              : "live",
            r.locks === undefined ? "" : locks(r.locks)
          ]
        }))
      yield* Console.log(table([["PORT", "PID", "CLIENT", "UPTIME", "EXTENSION", "TOKEN", "STATE", "LOCKS (since the agent connected)"], ...rows]))
    }
    for (const e of swept) {
      const r = Option.getOrThrow(e.record)
      yield* Console.log(`swept stale record: port ${e.port}, pid ${r.pid} "${r.clientName}" (${Option.getOrElse(e.verdict, () => "?")})`)
    }
  })
