/** `tabmux status`: the servers in the registry (port, pid, client, uptime, extension, lock figures), with stale records swept. */
import { Clock, Console, Duration, Effect, Option } from "effect"
import { Locks } from "../protocol/index.js"
import * as PortRegistry from "../server/PortRegistry.js"
import { existingPrivateDir } from "../server/RuntimeDir.js"

export const table = (rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n")
}

export const status = (options: { readonly dir: string; readonly staleAfter: Duration.Duration; readonly json: boolean }) =>
  Effect.gen(function*() {
    // A folder that cannot be the runtime directory is said, as the server and doctor say it (not "no server").
    if (!(yield* existingPrivateDir(options.dir))) {
      return yield* Console.log(options.json
        ? JSON.stringify({ dir: options.dir, servers: [], swept: [] })
        : `No tabmux server is running (no runtime directory at ${options.dir}).`)
    }
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
            // Counted at the server's last heartbeat (every 5 s): their age is said.
            r.locks === undefined ? "" : `${Locks.describe(r.locks)} (as of ${PortRegistry.formatAge(now - r.heartbeatAt)} ago)`
          ]
        }))
      yield* Console.log(table([["PORT", "PID", "CLIENT", "UPTIME", "EXTENSION", "TOKEN", "STATE", "LOCKS (since the agent connected)"], ...rows]))
    }
    for (const e of swept) {
      const r = Option.getOrThrow(e.record)
      yield* Console.log(`swept stale record: port ${e.port}, pid ${r.pid} "${r.clientName}" (${Option.getOrElse(e.verdict, () => "?")})`)
    }
  })
