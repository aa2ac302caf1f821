/**
 * The single-instance lock on a real Redis (Debian's redis-server, started here on a
 * loopback port and stopped after): races between processes, a holder killed, Redis
 * frozen past the TTL (the holder gives up before anyone else is granted, and fencing
 * tokens grow), Redis restarted, bad URLs and a wrong password, and `--exclusive` servers.
 * `npm run stress` runs the race with 500 rounds (TABMUX_RACE_ROUNDS).
 */
import { Duration, Effect, Exit, Layer, Scope } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as InstanceLock from "../../src/server/InstanceLock.js"
import { race } from "../support/lock-race.js"
import { spawnTabmux, tempRuntimeDir, waitFor } from "../support/server.js"

const REDIS = ["/usr/bin/redis-server", "/usr/sbin/redis-server"].find((p) => Fs.existsSync(p))
const PORT = 18940
const URL = `redis://127.0.0.1:${PORT}`
const rounds = Number(process.env.TABMUX_RACE_ROUNDS ?? 100)

interface Redis {
  readonly child: ChildProcess.ChildProcess
  readonly stop: () => Promise<void>
}

const startRedis = async (port: number, extra: ReadonlyArray<string> = []): Promise<Redis> => {
  const child = ChildProcess.spawn(REDIS!, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...extra], {
    stdio: ["ignore", "pipe", "pipe"]
  })
  let out = ""
  child.stdout!.on("data", (d) => (out += d))
  await waitFor(() => out.includes("Ready to accept connections"), 10_000)
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once("exit", () => resolve())
      child.kill("SIGKILL")
    })
  return { child, stop }
}

/** An InstanceLock on Redis in this process, with its own scope. */
const lockOn = async (url: string, ttlMs: number, heartbeatMs: number) => {
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(
    InstanceLock.layer({ dir: tempRuntimeDir(), strategy: "auto", backend: url, heartbeatInterval: Duration.millis(heartbeatMs), staleAfter: Duration.millis(ttlMs) }),
    scope
  ))
  return { lock: Effect.runSync(Effect.provide(InstanceLock.InstanceLock, context)), close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

const acquire = async (lock: InstanceLock.InstanceLock["Type"], name: string, wait?: Duration.DurationInput) => {
  const scope = Effect.runSync(Scope.make())
  const exit = await Effect.runPromiseExit(Scope.extend(lock.acquire(name, wait === undefined ? {} : { wait }), scope))
  return { exit, release: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

const failureOf = (exit: Exit.Exit<unknown, { message: string; _tag: string }>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined

let redis: Redis

beforeAll(async () => {
  if (REDIS === undefined) return
  redis = await startRedis(PORT)
}, 20_000)

afterAll(async () => {
  await redis?.stop()
})

describe.skipIf(REDIS === undefined)("InstanceLock on Redis", () => {
  if (REDIS === undefined) console.log("skipped: no redis-server (apt-get install redis-server; .ci/run installs it)")

  it(`8 processes race for the lock over ${rounds} rounds: exactly one holder each round`, { timeout: 60_000 + rounds * 500 }, async () => {
    process.env.TABMUX_LOCK_BACKEND = URL
    try {
      const report = await race({ strategy: "redis", rounds, racers: 8, scenarios: ["fresh"] })
      console.log(`redis lock race ${JSON.stringify(report)}`)
      expect(report.winnerCounts).toEqual({ 1: rounds })
      expect(Object.keys(report.loserErrors)).toEqual(["LockHeld"])
    } finally {
      delete process.env.TABMUX_LOCK_BACKEND
    }
  })

  it("a holder SIGKILLed is taken over within its TTL plus a heartbeat; the new grant has a larger fencing token", { timeout: 30_000 }, async () => {
    const holder = ChildProcess.spawn(process.execPath, ["test/support/lock-worker.mjs", tempRuntimeDir()], {
      stdio: ["pipe", "pipe", "inherit"],
      env: { ...process.env, TABMUX_LOCK_BACKEND: URL, TABMUX_RACE_TTL_MS: "1500", TABMUX_RACE_HEARTBEAT_MS: "300" }
    })
    const lines: Array<any> = []
    holder.stdout!.on("data", (d) => String(d).split("\n").filter(Boolean).forEach((l) => lines.push(JSON.parse(l))))
    await waitFor(() => lines.some((l) => l.ready), 10_000)
    holder.stdin!.write(JSON.stringify({ op: "acquire", strategy: "redis", name: "killed", at: Date.now() }) + "\n")
    await waitFor(() => lines.some((l) => l.won === true), 10_000)
    const { lock, close } = await lockOn(URL, 1500, 300)
    try {
      const before = await Effect.runPromise(lock.inspect("killed"))
      expect(before._tag).toBe("Held")
      const fenceBefore = before._tag === "Held" ? before.error.holder.pipe((o) => (o._tag === "Some" ? (o.value as any).fence : 0)) : 0
      holder.kill("SIGKILL")
      const killedAt = Date.now()
      const taken = await acquire(lock, "killed", "10 seconds")
      const ms = Date.now() - killedAt
      console.log(`redis: SIGKILLed holder taken over after ${ms} ms (TTL 1500 ms, heartbeat 300 ms)`)
      expect(Exit.isSuccess(taken.exit)).toBe(true)
      expect(ms).toBeLessThan(1500 + 300 + 1000)
      if (Exit.isSuccess(taken.exit)) expect(taken.exit.value.owner.fence!).toBeGreaterThan(fenceBefore)
      await taken.release()
    } finally {
      await close()
    }
  })

  it("Redis frozen past the TTL: the holder counts the lock lost before anyone else is granted it; fencing tokens grow", { timeout: 30_000 }, async () => {
    const a = await lockOn(URL, 1500, 300)
    const b = await lockOn(URL, 1500, 300)
    try {
      const first = await acquire(a.lock, "frozen")
      expect(Exit.isSuccess(first.exit)).toBe(true)
      if (!Exit.isSuccess(first.exit)) return
      const handle = first.exit.value
      let lostAt = 0
      void Effect.runPromise(handle.lost).then(() => (lostAt = Date.now()))
      redis.child.kill("SIGSTOP")
      const frozenAt = Date.now()
      await new Promise((r) => setTimeout(r, 3_000))
      redis.child.kill("SIGCONT")
      const second = await acquire(b.lock, "frozen", "5 seconds")
      const grantedAt = Date.now()
      console.log(`redis frozen at 0 ms: holder gave up at ${lostAt - frozenAt} ms, the next holder was granted at ${grantedAt - frozenAt} ms`)
      expect(lostAt).toBeGreaterThan(0)
      expect(lostAt).toBeLessThan(grantedAt)
      expect(Exit.isSuccess(second.exit)).toBe(true)
      if (Exit.isSuccess(second.exit)) expect(second.exit.value.owner.fence!).toBeGreaterThan(handle.owner.fence!)
      await second.release()
      await first.release()
    } finally {
      redis.child.kill("SIGCONT")
      await a.close()
      await b.close()
    }
  })

  it("Redis restarted: the holder's grant is gone, so it counts the lock lost; the lock works again", { timeout: 30_000 }, async () => {
    const port = PORT + 1
    let server = await startRedis(port)
    const url = `redis://127.0.0.1:${port}`
    const a = await lockOn(url, 1500, 300)
    try {
      const first = await acquire(a.lock, "restarted")
      expect(Exit.isSuccess(first.exit)).toBe(true)
      if (!Exit.isSuccess(first.exit)) return
      const lost = Effect.runPromise(first.exit.value.lost)
      await server.stop()
      server = await startRedis(port)
      const why = await Promise.race([lost, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5_000))])
      expect(why?.message).toMatch(/was lost/)
      const b = await lockOn(url, 1500, 300)
      const again = await acquire(b.lock, "restarted", "3 seconds")
      expect(Exit.isSuccess(again.exit)).toBe(true)
      await again.release()
      await b.close()
    } finally {
      await a.close()
      await server.stop()
    }
  })

  it("bad URLs and a wrong password are refused with what to do", { timeout: 30_000 }, async () => {
    for (const [url, said] of [
      ["http://127.0.0.1:6379", "unknown scheme http"],
      ["redis://", "no host"],
      [`redis://127.0.0.1:${PORT}/x`, "the database must be a number"],
      ["redis://127.0.0.1:1", "Check that Redis runs at redis://127.0.0.1:1"]
    ] as const) {
      const exit = await Effect.runPromiseExit(Layer.build(InstanceLock.layer({
        dir: tempRuntimeDir(), strategy: "auto", backend: url, heartbeatInterval: Duration.seconds(1), staleAfter: Duration.seconds(3)
      })).pipe(Effect.scoped))
      expect(failureOf(exit as any)?.message, url).toContain(said)
    }
    const secured = await startRedis(PORT + 2, ["--requirepass", "right-one"])
    try {
      const exit = await Effect.runPromiseExit(Layer.build(InstanceLock.layer({
        dir: tempRuntimeDir(), strategy: "auto", backend: `redis://:wrong-one@127.0.0.1:${PORT + 2}`, heartbeatInterval: Duration.seconds(1), staleAfter: Duration.seconds(3)
      })).pipe(Effect.scoped))
      const message = failureOf(exit as any)?.message ?? ""
      expect(message).toContain("refused the credentials")
      expect(message).not.toContain("wrong-one")
      // A password with an unencoded "/" or "@" is not printed, whole or in part.
      for (const password of ["wr/ong-one", "wr@ong@one"]) {
        const odd = await Effect.runPromiseExit(Layer.build(InstanceLock.layer({
          dir: tempRuntimeDir(), strategy: "auto", backend: `redis://:${password}@127.0.0.1:${PORT + 2}`, heartbeatInterval: Duration.seconds(1), staleAfter: Duration.seconds(3)
        })).pipe(Effect.scoped))
        const said = failureOf(odd as any)?.message ?? ""
        expect(said.length).toBeGreaterThan(0)
        for (const part of password.split(/[/@]/)) expect(said).not.toContain(part)
      }
    } finally {
      await secured.stop()
    }
  })

  it("the password stays off the command line: from the environment or a private file; on the command line it works with a warning", { timeout: 30_000 }, async () => {
    const secured = await startRedis(PORT + 3, ["--requirepass", "s3cret/pass@word"])
    const dirs: Array<string> = []
    const server = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
      const dir = tempRuntimeDir()
      dirs.push(dir)
      return spawnTabmux(["--exclusive", "--ports", "18950-18953", ...args], { TABMUX_DIR: dir, ...env })
    }
    try {
      const onCommandLine = server(["--lock-backend", `redis://:${encodeURIComponent("s3cret/pass@word")}@127.0.0.1:${PORT + 3}`])
      await onCommandLine.listening
      expect(onCommandLine.stderr()).toContain("every user of this machine can read in the process list")
      expect(onCommandLine.stderr()).not.toMatch(/s3cret|pass%40word/)
      onCommandLine.child.stdin!.end()
      await onCommandLine.exited
      const fromEnv = server([], { TABMUX_LOCK_BACKEND: `redis://127.0.0.1:${PORT + 3}`, TABMUX_LOCK_BACKEND_PASSWORD: "s3cret/pass@word" })
      await fromEnv.listening
      expect(fromEnv.stderr()).not.toContain("process list")
      fromEnv.child.stdin!.end()
      await fromEnv.exited
      const file = Path.join(dirs[0]!, "redis-password")
      Fs.writeFileSync(file, "s3cret/pass@word\n", { mode: 0o600 })
      const fromFile = server(["--lock-backend", `redis://127.0.0.1:${PORT + 3}`, "--lock-backend-password-file", file])
      await fromFile.listening
      fromFile.child.stdin!.end()
      await fromFile.exited
      Fs.chmodSync(file, 0o644)
      const readable = server(["--lock-backend", `redis://127.0.0.1:${PORT + 3}`, "--lock-backend-password-file", file])
      expect((await readable.exited).code).not.toBe(0)
      expect(readable.stderr()).toContain("other users could read it")
    } finally {
      await secured.stop()
      for (const dir of dirs) Fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("--exclusive servers share the lock through Redis: a second is refused naming the holder; losing the lock stops the holder", { timeout: 40_000 }, async () => {
    const env = { TABMUX_LOCK_BACKEND: URL, TABMUX_STALE_AFTER: "2" }
    const first = spawnTabmux(["--exclusive", "--ports", "18946-18947"], { ...env, TABMUX_DIR: tempRuntimeDir() })
    await first.listening.catch((e) => {
      throw new Error(`${e.message}\n${first.stderr()}`)
    })
    const second = spawnTabmux(["--exclusive", "--ports", "18948-18949"], { ...env, TABMUX_DIR: tempRuntimeDir() })
    const refused = await second.exited
    expect(refused.code).not.toBe(0)
    expect(second.stderr()).toContain(`pid ${first.child.pid}`)
    expect(second.stderr()).toContain("tabmux:lock:server")
    // Renewed in time, the holder keeps the lock past several TTLs.
    await new Promise((r) => setTimeout(r, 5_000))
    expect(first.child.exitCode).toBe(null)
    redis.child.kill("SIGSTOP")
    try {
      const ended = await Promise.race([first.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000))])
      expect(ended, "the holder should stop").toBeDefined()
      expect(first.stderr()).toMatch(/lock "server" .* was lost/)
    } finally {
      redis.child.kill("SIGCONT")
      first.child.kill("SIGKILL")
    }
  })
})
