/**
 * Invariant 2: at most one holder of an InstanceLock at any time, including racers
 * released at the same instant over a stale lock. `npm run stress` runs the same
 * test with 1,000 rounds per strategy (TABMUX_RACE_ROUNDS).
 */
import { describe, expect, it } from "vitest"
import { race, type Strategy } from "../support/lock-race.js"

const rounds = Number(process.env.TABMUX_RACE_ROUNDS ?? 100)
const scenarios = ["fresh", "killed-holder", "pid-reused", "empty-file"] as const

describe.sequential("InstanceLock under real process races", () => {
  for (const strategy of ["kernel", "directory"] as Array<Strategy>) {
    it(`${strategy}: exactly one of 8 processes wins each of ${rounds} rounds`, { timeout: 60_000 + rounds * 1_000 }, async () => {
      const report = await race({ strategy, rounds, racers: 8, scenarios })
      console.log(`lock race ${JSON.stringify(report)}`)
      expect(report.rounds).toBe(rounds)
      expect(report.winnerCounts).toEqual({ 1: rounds })
      // Losers are told who holds the lock; nothing else goes wrong.
      expect(Object.keys(report.loserErrors)).toEqual(["LockHeld"])
    })
  }

  it("the same harness catches a naive unlink-then-create lock (the test can fail)", { timeout: 120_000 }, async () => {
    const report = await race({ strategy: "naive", rounds: 200, racers: 8, scenarios: ["empty-file"], stopAtFirstDoubleWin: true })
    console.log(`lock race ${JSON.stringify(report)}`)
    const doubleWins = Object.entries(report.winnerCounts).filter(([n]) => Number(n) > 1)
    expect(doubleWins.length).toBeGreaterThan(0)
  })
})
