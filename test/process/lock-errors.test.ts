/** Bad states around a lock get clear, typed errors; a hung holder is reported as hung, not taken over. */
import { Duration, Effect, Exit, Option, Scope } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import * as InstanceLock from "../../src/server/InstanceLock.js"
import { kill, spawnWorker } from "../support/lock-race.js"

const dirs: Array<string> = []
const tempDir = () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-lockerr-"))
  dirs.push(dir)
  return dir
}
afterEach(() => {
  for (const d of dirs.splice(0)) Fs.rmSync(d, { recursive: true, force: true })
})

const withLock = <A, E>(dir: string, strategy: "kernel" | "directory", f: (lock: typeof InstanceLock.InstanceLock.Service) => Effect.Effect<A, E, Scope.Scope>) =>
  Effect.runPromiseExit(
    Effect.flatMap(InstanceLock.InstanceLock, f).pipe(
      Effect.scoped,
      Effect.provide(InstanceLock.layer({ dir, strategy, heartbeatInterval: Duration.seconds(5), staleAfter: Duration.seconds(15) }))
    )
  )

const failure = (exit: Exit.Exit<unknown, unknown>) => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (!error) throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return error as { _tag: string; message: string }
}

describe.each(["kernel", "directory"] as const)("%s lock: bad states", (strategy) => {
  it("refuses a runtime directory that is a symlink", async () => {
    const real = tempDir()
    const link = Path.join(tempDir(), "link")
    Fs.symlinkSync(real, link)
    const error = failure(await withLock(link, strategy, (lock) => lock.acquire("a")))
    expect(error._tag).toBe("LockError")
    expect(error.message).toContain("symbolic link")
  })

  it("refuses a runtime directory open to other users", async () => {
    const dir = tempDir()
    Fs.chmodSync(dir, 0o755)
    const error = failure(await withLock(dir, strategy, (lock) => lock.acquire("a")))
    expect(error.message).toContain("chmod 700")
  })

  it("refuses a directory it cannot create, naming the remedy", async () => {
    const file = Path.join(tempDir(), "file")
    Fs.writeFileSync(file, "")
    const error = failure(await withLock(Path.join(file, "tabmux"), strategy, (lock) => lock.acquire("a")))
    expect(error._tag).toBe("LockError")
    expect(error.message).toContain("--dir")
  })

  it("refuses a lock path that is a symlink, and writes nothing through it", async () => {
    const dir = tempDir()
    const target = Path.join(tempDir(), "target")
    Fs.mkdirSync(Path.join(dir, "locks"), { recursive: true, mode: 0o700 })
    Fs.chmodSync(dir, 0o700)
    Fs.symlinkSync(target, Path.join(dir, "locks", strategy === "kernel" ? "a.lock" : "a.lockd"))
    const error = failure(await withLock(dir, strategy, (lock) => lock.acquire("a")))
    expect(error._tag).toBe("LockError")
    expect(error.message).toContain("symbolic link")
    expect(Fs.existsSync(target)).toBe(false)
  })
})

describe("kernel lock", () => {
  it("ignores a corrupted leftover lock file and replaces it", async () => {
    const dir = tempDir()
    Fs.mkdirSync(Path.join(dir, "locks"), { recursive: true, mode: 0o700 })
    Fs.chmodSync(dir, 0o700)
    Fs.writeFileSync(Path.join(dir, "locks", "a.lock"), "\u0000garbage{", { mode: 0o600 })
    const exit = await withLock(dir, "kernel", (lock) =>
      Effect.map(lock.acquire("a"), () => JSON.parse(Fs.readFileSync(Path.join(dir, "locks", "a.lock"), "utf8")).pid))
    expect(exit).toEqual(Exit.succeed(process.pid))
  })

  it("tells a hung holder (alive, not answering) from a live one, and never takes it over", async () => {
    const dir = tempDir()
    const holder = await spawnWorker(dir)
    try {
      expect((await holder.ask({ op: "acquire", strategy: "kernel", name: "a", at: 0 })).won).toBe(true)
      const live = failure(await withLock(dir, "kernel", (lock) => lock.acquire("a")))
      expect(live.message).toContain(`pid ${holder.pid}`)
      expect(live.message).toContain("it is running")
      await holder.ask({ op: "hang" })
      const hung = failure(await withLock(dir, "kernel", (lock) => lock.acquire("a")))
      expect(hung._tag).toBe("LockHeld")
      expect(hung.message).toContain("not responding (hung?)")
      expect(hung.message).toContain(`kill ${holder.pid}`)
    } finally {
      await kill(holder)
    }
    // Dead now: the kernel freed the name, the lock is ours at once.
    expect(Exit.isSuccess(await withLock(dir, "kernel", (lock) => lock.acquire("a")))).toBe(true)
  })
})

describe("directory lock", () => {
  const ownerFile = (dir: string, pid: number, content: string) => {
    Fs.mkdirSync(Path.join(dir, "locks", "a.lockd"), { recursive: true, mode: 0o700 })
    Fs.chmodSync(dir, 0o700)
    Fs.writeFileSync(Path.join(dir, "locks", "a.lockd", `owner.${pid}.abcd`), content, { mode: 0o600 })
  }

  it("never judges a live pid's empty or corrupted owner file stale", async () => {
    for (const content of ["", "{\"pid\": 1, \"na"]) {
      const dir = tempDir()
      ownerFile(dir, process.ppid, content)
      const error = failure(await withLock(dir, "directory", (lock) => lock.acquire("a")))
      expect(error._tag).toBe("LockHeld")
      expect(error.message).toContain(`pid ${process.ppid}`)
    }
  })

  it("takes over a dead pid's owner file, whatever its content", async () => {
    const dir = tempDir()
    ownerFile(dir, 4_194_304 + 7, "garbage")
    const exit = await withLock(dir, "directory", (lock) => Effect.map(lock.acquire("a"), (h) => h.path))
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(Fs.readdirSync(Path.join(dir, "locks")).filter((n) => !n.startsWith("."))).toEqual([])
  })

  it("reports unexpected entries instead of guessing", async () => {
    const dir = tempDir()
    ownerFile(dir, process.ppid, "")
    Fs.writeFileSync(Path.join(dir, "locks", "a.lockd", "stray"), "")
    const error = failure(await withLock(dir, "directory", (lock) => lock.acquire("a")))
    expect(error._tag).toBe("LockError")
    expect(error.message).toContain("unexpected entries")
  })

  it("inspect names the holder without taking the lock", async () => {
    const dir = tempDir()
    ownerFile(dir, process.ppid, "")
    const exit = await withLock(dir, "directory", (lock) => lock.inspect("a"))
    expect(Exit.isSuccess(exit) && exit.value._tag === "Held" && Option.getOrNull(exit.value.error.pid)).toBe(process.ppid)
  })
})
