// A lock racer: one long-lived process that takes commands as JSON lines on stdin and
// answers on stdout. `acquire` waits until the given instant (so all racers start
// together), tries once, and holds on success until `release`.
import { Context, Duration, Effect, Exit, Layer, LogLevel, Scope } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Readline from "node:readline"
import * as InstanceLock from "../../dist/server/InstanceLock.js"
import * as Logging from "../../dist/server/Logging.js"

const dir = process.argv[2]
const layers = {}
/** The lock service of a strategy, built once for the process's life ("redis": the backend in TABMUX_LOCK_BACKEND). */
const lockFor = (strategy) => {
  const redis = strategy === "redis"
  layers[strategy] ??= Effect.runSync(Effect.cached(Layer.buildWithScope(
    InstanceLock.layer({
      dir,
      strategy: redis ? "auto" : strategy,
      backend: redis ? process.env.TABMUX_LOCK_BACKEND : undefined,
      heartbeatInterval: Duration.millis(Number(process.env.TABMUX_RACE_HEARTBEAT_MS ?? 60_000)),
      staleAfter: Duration.millis(Number(process.env.TABMUX_RACE_TTL_MS ?? 120_000))
    }),
    Effect.runSync(Scope.make())
  ).pipe(Effect.map((context) => Context.get(context, InstanceLock.InstanceLock)))))
  return layers[strategy]
}

/** The anti-pattern, for proving the test can fail: judge stale, unlink, then create. */
const naive = (name) => {
  const file = Path.join(dir, "locks", `${name}.naive`)
  try {
    const pid = Number(JSON.parse(Fs.readFileSync(file, "utf8")).pid)
    try {
      process.kill(pid, 0)
      return { won: false, error: `held by ${pid}` }
    } catch {}
    Fs.unlinkSync(file)
  } catch {}
  try {
    Fs.writeFileSync(file, JSON.stringify({ pid: process.pid }), { flag: "wx" })
    return { won: true, release: () => Fs.rmSync(file, { force: true }) }
  } catch (e) {
    return { won: false, error: String(e) }
  }
}

let held
const reply = (m) => process.stdout.write(JSON.stringify(m) + "\n")
const lines = Readline.createInterface({ input: process.stdin })
lines.on("line", async (line) => {
  const cmd = JSON.parse(line)
  if (cmd.op === "acquire") {
    while (Date.now() < cmd.at - 2) await new Promise((r) => setTimeout(r, 1))
    while (Date.now() < cmd.at) {}
    const started = Date.now()
    if (cmd.strategy === "naive") {
      const r = naive(cmd.name)
      held = r.won ? r.release : undefined
      return reply({ won: r.won, error: r.error, ms: Date.now() - started })
    }
    const scope = Effect.runSync(Scope.make())
    const exit = await Effect.runPromiseExit(
      Effect.flatMap(lockFor(cmd.strategy), (lock) => lock.acquire(cmd.name)).pipe(
        Scope.extend(scope),
        Effect.provide(Logging.layer({ level: LogLevel.Warning }))
      )
    )
    if (Exit.isSuccess(exit)) {
      held = () => Effect.runPromise(Scope.close(scope, Exit.void))
      return reply({ won: true, ms: Date.now() - started })
    }
    await Effect.runPromise(Scope.close(scope, Exit.void))
    const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
    return reply({ won: false, tag: error?._tag ?? "Defect", error: error?.message ?? String(exit.cause), ms: Date.now() - started })
  }
  if (cmd.op === "release") {
    await held?.()
    held = undefined
    return reply({ released: true })
  }
  if (cmd.op === "hang") {
    reply({ hanging: true })
    while (true) {}
  }
})
reply({ ready: true, pid: process.pid })
