/**
 * Finds every tabmux server in the port range without a click: about once a second it
 * tries each port that has no connection yet (one attempt per port at a time). An idle
 * port refuses at once and costs nothing, so it is retried every scan; a port whose
 * server refused us (busy, other protocol) or that speaks something else backs off.
 */
import { Clock, Duration, Effect, FiberMap, Layer, Ref, Schedule } from "effect"
import { type ConnectionOptions, connect, type Outcome } from "./Connection.js"
import { Settings } from "./Settings.js"

/** When to try a port again after an attempt ended with `outcome` (`failures` in a row so far). */
export const retryDelay = (outcome: Outcome, failures: number): Duration.Duration => {
  switch (outcome._tag) {
    case "Refused":
    case "Closed":
      return Duration.zero
    case "Rejected":
      // A server that is still starting may fail once or twice: back off only after that.
      return failures <= 2 ? Duration.zero : Duration.min(Duration.seconds(10), Duration.millis(2000 * 2 ** (failures - 3)))
  }
}

export const layer = (options: ConnectionOptions & { readonly scanEvery: Duration.Duration }) =>
  Layer.scopedDiscard(Effect.gen(function*() {
    const settings = yield* Settings
    const attempts = yield* FiberMap.make<number>()
    const backoff = yield* Ref.make(new Map<number, { readonly failures: number; readonly notBefore: number }>())

    const attempt = (port: number) =>
      connect(port, options).pipe(
        Effect.flatMap((outcome) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Ref.update(backoff, (map) => {
              const failures = outcome._tag === "Rejected" ? (map.get(port)?.failures ?? 0) + 1 : 0
              return new Map(map).set(port, { failures, notBefore: now + Duration.toMillis(retryDelay(outcome, failures)) })
            }))
        )
      )

    const scan = Effect.gen(function*() {
      const { first, last } = yield* settings.ports
      const now = yield* Clock.currentTimeMillis
      const waits = yield* Ref.get(backoff)
      for (let port = first; port <= last; port++) {
        if ((waits.get(port)?.notBefore ?? 0) > now) continue
        yield* FiberMap.run(attempts, port, attempt(port), { onlyIfMissing: true })
      }
    })
    yield* Effect.forkScoped(Effect.repeat(scan, Schedule.spaced(options.scanEvery)))
  }))
