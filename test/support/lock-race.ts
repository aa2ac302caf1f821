/**
 * The lock race harness: a pool of worker processes, rounds in which 8 of them try the
 * same lock at the same instant, and scenarios that leave the lock fresh or stale in
 * the ways a real machine does. Counts the winners of each round.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Readline from "node:readline"

export type Strategy = "kernel" | "directory" | "naive" | "redis"
export type Scenario = "fresh" | "killed-holder" | "pid-reused" | "empty-file"

export interface Worker {
  readonly pid: number
  readonly child: ChildProcess.ChildProcess
  readonly ask: (cmd: object) => Promise<any>
}

export const spawnWorker = (dir: string): Promise<Worker> =>
  new Promise((resolve, reject) => {
    const child = ChildProcess.spawn(process.execPath, [Path.resolve("test/support/lock-worker.mjs"), dir], {
      stdio: ["pipe", "pipe", "inherit"]
    })
    const waiting: Array<(m: any) => void> = []
    Readline.createInterface({ input: child.stdout! }).on("line", (line) => waiting.shift()?.(JSON.parse(line)))
    const ask = (cmd: object) =>
      new Promise<any>((res) => {
        waiting.push(res)
        if (Object.keys(cmd).length > 0) child.stdin!.write(JSON.stringify(cmd) + "\n")
      })
    child.once("error", reject)
    ask({}).then((ready) => resolve({ pid: ready.pid, child, ask }))
  })

export const kill = (w: Worker) =>
  new Promise<void>((resolve) => {
    if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve()
    w.child.once("exit", () => resolve())
    w.child.kill("SIGKILL")
  })

/** A pid that cannot exist (above the kernel's pid_max). */
const DEAD_PID = 4_194_304 + 4242

/** Leaves the lock as the scenario says, for strategies where that state is made by hand. */
const prepare = (dir: string, strategy: Strategy, name: string, scenario: Scenario) => {
  const locks = Path.join(dir, "locks")
  const owner = (pid: number, content: string) => {
    const lockd = Path.join(locks, `${name}.lockd`)
    Fs.rmSync(lockd, { recursive: true, force: true })
    Fs.mkdirSync(lockd, { mode: 0o700 })
    Fs.writeFileSync(Path.join(lockd, `owner.${pid}.${Math.random().toString(16).slice(2, 10)}`), content, { mode: 0o600 })
  }
  const record = (pid: number, processStartTime: string) =>
    JSON.stringify({ name, pid, processStartTime, hostname: Os.hostname(), token: "x", strategy, acquiredAt: 0, heartbeatAt: 0 })
  if (scenario === "pid-reused") {
    // Our own (live) pid with another start time: the pid was reused.
    if (strategy === "directory") owner(process.pid, record(process.pid, "1"))
    if (strategy === "kernel") Fs.writeFileSync(Path.join(locks, `${name}.lock`), record(process.pid, "1"), { mode: 0o600 })
  }
  if (scenario === "empty-file") {
    if (strategy === "directory") owner(DEAD_PID, "")
    if (strategy === "kernel") Fs.writeFileSync(Path.join(locks, `${name}.lock`), "", { mode: 0o600 })
    if (strategy === "naive") Fs.writeFileSync(Path.join(locks, `${name}.naive`), JSON.stringify({ pid: DEAD_PID }))
  }
}

export interface RaceReport {
  readonly strategy: Strategy
  readonly rounds: number
  readonly racers: number
  /** How many rounds had 0, 1, 2, ... winners. */
  readonly winnerCounts: Record<number, number>
  readonly byScenario: Record<string, number>
  /** Slowest single attempt (from the common start to the answer), ms. */
  readonly slowestAttemptMs: number
  readonly medianAttemptMs: number
  readonly elapsedMs: number
  readonly loserErrors: Record<string, number>
}

export const race = async (options: {
  readonly strategy: Strategy
  readonly rounds: number
  readonly racers: number
  readonly scenarios: ReadonlyArray<Scenario>
  readonly stopAtFirstDoubleWin?: boolean
}): Promise<RaceReport> => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-race-"))
  Fs.chmodSync(dir, 0o700)
  Fs.mkdirSync(Path.join(dir, "locks"), { mode: 0o700 })
  const name = "race"
  const spares = 4
  let pool = await Promise.all(Array.from({ length: options.racers + spares }, () => spawnWorker(dir)))
  const refills: Array<Promise<void>> = []
  const winnerCounts: Record<number, number> = {}
  const byScenario: Record<string, number> = {}
  const loserErrors: Record<string, number> = {}
  const times: Array<number> = []
  const started = Date.now()
  let rounds = 0
  try {
    for (let round = 0; round < options.rounds; round++) {
      const scenario = options.scenarios[round % options.scenarios.length]!
      const next = options.scenarios[(round + 1) % options.scenarios.length]!
      prepare(dir, options.strategy, name, scenario)
      if (pool.length < options.racers) await Promise.all(refills.splice(0))
      const racers = pool.slice(0, options.racers)
      const at = Date.now() + 40
      const answers = await Promise.all(racers.map((w) => w.ask({ op: "acquire", strategy: options.strategy, name, at })))
      rounds++
      const winners = racers.filter((_, i) => answers[i].won)
      winnerCounts[winners.length] = (winnerCounts[winners.length] ?? 0) + 1
      byScenario[scenario] = (byScenario[scenario] ?? 0) + 1
      for (const a of answers) {
        times.push(a.ms)
        if (!a.won) loserErrors[a.tag ?? "error"] = (loserErrors[a.tag ?? "error"] ?? 0) + 1
      }
      if (options.stopAtFirstDoubleWin && winners.length > 1) break
      if (next === "killed-holder" && winners.length > 0) {
        // The next round races over a lock whose holder died without cleaning up.
        for (const w of winners) {
          await kill(w)
          pool = pool.filter((p) => p !== w)
          refills.push(spawnWorker(dir).then((fresh) => void pool.push(fresh)))
        }
      } else {
        await Promise.all(winners.map((w) => w.ask({ op: "release" })))
      }
      if (next === "killed-holder" && winners.length === 0) prepare(dir, options.strategy, name, "empty-file")
    }
  } finally {
    await Promise.all(refills)
    await Promise.all(pool.map(kill))
    Fs.rmSync(dir, { recursive: true, force: true })
  }
  const sorted = [...times].sort((a, b) => a - b)
  return {
    strategy: options.strategy,
    rounds,
    racers: options.racers,
    winnerCounts,
    byScenario,
    slowestAttemptMs: sorted[sorted.length - 1] ?? 0,
    medianAttemptMs: sorted[Math.floor(sorted.length / 2)] ?? 0,
    elapsedMs: Date.now() - started,
    loserErrors
  }
}
