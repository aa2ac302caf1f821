/** Invariant 1: no two live servers share a port; a killed server's port is reusable at once. */
import { afterAll, describe, expect, it } from "vitest"
import { portIsFree, readRegistry, type Spawned, spawnTabmux, tempRuntimeDir } from "../support/server.js"

const FIRST = 18200
const RANGE = `${FIRST}-${FIRST + 15}`
const dir = tempRuntimeDir()
const env = { TABMUX_DIR: dir, TABMUX_PORTS: RANGE }
const servers: Array<Spawned> = []

afterAll(() => {
  for (const s of servers) s.child.kill("SIGKILL")
})

describe.sequential("port claims with real processes", () => {
  it("16 servers started at once get 16 distinct ports of the 16-port range", { timeout: 120_000 }, async () => {
    const started = Date.now()
    servers.push(...Array.from({ length: 16 }, () => spawnTabmux([], env)))
    const ports = await Promise.all(servers.map((s) => s.listening))
    console.log(`16 servers listening ${Date.now() - started} ms after a simultaneous start`)
    expect(new Set(ports).size).toBe(16)
    expect([...ports].sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => FIRST + i))
    const records = readRegistry(dir)
    expect(records.map((r) => r.port).sort()).toEqual([...ports].sort())
    expect(new Set(records.map((r) => r.pid)).size).toBe(16)
  })

  it("a 17th server fails with an error naming the range and who holds each port", async () => {
    const extra = spawnTabmux([], env)
    const { code } = await extra.exited
    expect(code).toBe(1)
    const err = extra.stderr()
    expect(err).toContain(`no free port in ${RANGE} (16 in use)`)
    for (const s of servers) expect(err).toContain(`tabmux pid ${s.child.pid} "tabmux", up`)
    expect(err).toContain("--ports / TABMUX_PORTS")
    expect(extra.stdout()).toBe("")
  })

  it("SIGKILL of a server frees its port for the next server at once", async () => {
    const victim = servers[5]!
    const port = await victim.listening
    victim.child.kill("SIGKILL")
    await victim.exited
    const killedAt = Date.now()
    const next = spawnTabmux([], env)
    servers.push(next)
    expect(await next.listening).toBe(port)
    console.log(`port ${port} re-claimed ${Date.now() - killedAt} ms after SIGKILL (includes the new process's start-up)`)
    const record = readRegistry(dir).find((r) => r.port === port)
    expect(record.pid).toBe(next.child.pid)
  })

  it("servers release their port and record when their client goes away", { timeout: 60_000 }, async () => {
    const live = servers.filter((s) => s.child.exitCode === null && s.child.signalCode === null)
    const ports = await Promise.all(live.map((s) => s.listening))
    for (const s of live) s.child.stdin!.end()
    const exits = await Promise.all(live.map((s) => s.exited))
    expect(exits.every((e) => e.code === 0)).toBe(true)
    expect(readRegistry(dir)).toEqual([])
    for (const port of ports) expect(await portIsFree(port)).toBe(true)
  })
})
