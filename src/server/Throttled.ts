/**
 * A warning that cannot flood the log: the first of a kind is written, then at most one
 * a minute, carrying the count of those not written meanwhile. For what strangers and
 * pages can cause at will (refused connections, refused upgrades, failed proofs).
 */
import { Clock, Effect, Option, Ref } from "effect"

export const warning = Effect.map(
  Ref.make({ loggedAt: Number.NEGATIVE_INFINITY, unlogged: 0 }),
  (state) => (message: string) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const unlogged = yield* Ref.modify(state, (s) =>
        now - s.loggedAt >= 60_000
          ? [Option.some(s.unlogged), { loggedAt: now, unlogged: 0 }] as const
          : [Option.none<number>(), { ...s, unlogged: s.unlogged + 1 }] as const)
      if (Option.isSome(unlogged)) {
        const more = unlogged.value > 0 ? ` (and ${unlogged.value} more not logged in the last minute)` : ""
        yield* Effect.logWarning(`${message}${more}`)
      }
    })
)
