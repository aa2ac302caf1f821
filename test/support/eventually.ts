import { Effect } from "effect"

/** Re-runs `effect` in real time (every 10 ms, up to `ms`) until `done` holds; for work finished by real I/O. */
export const eventually = <A, E, R>(effect: Effect.Effect<A, E, R>, done: (a: A) => boolean, ms = 2000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + ms
    while (true) {
      const value = yield* effect
      if (done(value) || Date.now() > deadline) return value
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 10)))
    }
  })
