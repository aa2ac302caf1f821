/**
 * Finds every tabmux server of this user without a click. With the native host, the
 * registry's ports (the host names them) are tried as soon as they appear, and the
 * whole range only every tenth scan, as a fallback; without it, every port of the range
 * about once a second (one attempt per port at a time). An idle port refuses at once
 * and costs nothing; a port whose server refused us, or could not prove it is this
 * user's, backs off, and is logged once per streak of failures. Without a secret (no
 * host, no pairing) nothing is tried at all.
 */
import { Clock, Duration, Effect, FiberMap, Layer, Ref, Schedule, Stream } from "effect"
import { type ConnectionOptions, connect, type Outcome } from "./Connection.js"
import { Credentials } from "./Credentials.js"
import { Settings } from "./Settings.js"

/** When to try a port again after an attempt ended with `outcome` (`failures` in a row so far). */
export const retryDelay = (outcome: Outcome, failures: number): Duration.Duration => {
  switch (outcome._tag) {
    case "Refused":
    case "Closed":
    case "Unpaired":
      return Duration.zero
    case "Rejected":
      // A server that is still starting may fail once or twice: back off only after that.
      return failures <= 2 ? Duration.zero : Duration.min(Duration.seconds(10), Duration.millis(2000 * 2 ** (failures - 3)))
  }
}

/** Scans between two full scans of the range while the native host names the servers. */
const FULL_SCAN_EVERY = 10

export const layer = (options: ConnectionOptions & { readonly scanEvery: Duration.Duration }) =>
  Layer.scopedDiscard(Effect.gen(function*() {
    const settings = yield* Settings
    const credentials = yield* Credentials
    const attempts = yield* FiberMap.make<number>()
    const backoff = yield* Ref.make(new Map<number, { readonly failures: number; readonly notBefore: number }>())
    const scans = yield* Ref.make(0)

    const attempt = (port: number) =>
      connect(port, options).pipe(
        Effect.flatMap((outcome) =>
          Effect.gen(function*() {
            const now = yield* Clock.currentTimeMillis
            const failures = yield* Ref.modify(backoff, (map) => {
              const failures = outcome._tag === "Rejected" ? (map.get(port)?.failures ?? 0) + 1 : 0
              return [failures, new Map(map).set(port, { failures, notBefore: now + Duration.toMillis(retryDelay(outcome, failures)) })]
            })
            if (outcome._tag === "Rejected" && failures === 1) yield* Effect.logWarning(`port ${port}: ${outcome.reason}`)
          })
        )
      )

    const tryPorts = (ports: Iterable<number>) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const waits = yield* Ref.get(backoff)
        for (const port of ports) {
          if ((waits.get(port)?.notBefore ?? 0) > now) continue
          yield* FiberMap.run(attempts, port, attempt(port), { onlyIfMissing: true })
        }
      })

    const scan = Effect.gen(function*() {
      const state = yield* credentials.get
      if (state.source === "none") return
      const n = yield* Ref.getAndUpdate(scans, (k) => k + 1)
      const full = state.source !== "native host" || n % FULL_SCAN_EVERY === 0
      const { first, last } = yield* settings.ports
      const range = full ? Array.from({ length: last - first + 1 }, (_, i) => first + i) : []
      yield* tryPorts(new Set([...state.ports, ...range]))
    })
    yield* Effect.forkScoped(Effect.repeat(scan, Schedule.spaced(options.scanEvery)))
    // A server the host names is tried at once, not at the next scan.
    yield* Effect.forkScoped(credentials.changes.pipe(
      Stream.map((s) => s.ports),
      Stream.changesWith((a, b) => a.length === b.length && a.every((p, i) => p === b[i])),
      Stream.runForEach(tryPorts)
    ))
  }))
