/**
 * Strangers at a real server's port (invariant 15, and 9 across users): a peer that has
 * not proved itself is held to a few KiB and a few connections, and, when running as
 * root, another Unix user's process is cut off before it is read or answered.
 */
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import WebSocket from "ws"
import { defaultOrigin } from "../../src/server/Extension.js"
import { asOther, ATTACKER, otherDir, otherUser, readLines } from "../support/otherUser.js"
import { connectAsExtension, secretOf } from "../support/peer.js"
import { type Spawned, spawnTabmux, tempRuntimeDir, waitFor } from "../support/server.js"

const ORIGIN = defaultOrigin()
const dir = tempRuntimeDir()
let server: Spawned
let port: number
const cleanups: Array<() => void> = []

/** Resident and peak memory of a process, in MB (Linux). */
const memory = (pid: number) => {
  const status = Fs.readFileSync(`/proc/${pid}/status`, "utf8")
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)![1])
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 }
}

const dial = () =>
  new Promise<{ ws?: WebSocket; status?: number }>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { headers: { Origin: ORIGIN } })
    ws.once("open", () => resolve({ ws }))
    ws.once("unexpected-response", (_req, res) => resolve({ status: res.statusCode! }))
    ws.once("error", () => resolve({}))
  })

const closed = (ws: WebSocket) => new Promise<void>((resolve) => ws.readyState === ws.CLOSED ? resolve() : ws.once("close", () => resolve()))

/** The real extension's handshake succeeds: the server still serves its user. */
const servesItsUser = async () => {
  const { ws } = await dial()
  expect(ws, "the real extension could not even connect").toBeDefined()
  const peer = await connectAsExtension(ws!, { port, secret: await secretOf(dir) })
  expect(peer.welcome).toMatchObject({ type: "welcome" })
  ws!.close()
  await closed(ws!)
  await waitFor(() => /extension disconnected/.test(server.stderr()), 10_000)
}

beforeAll(async () => {
  server = spawnTabmux(["--ports", "18970-18973", "--log-level", "info"], { TABMUX_DIR: dir })
  port = await server.listening
})

afterAll(async () => {
  for (const f of cleanups) f()
  server?.child.kill("SIGKILL")
  await server?.exited
  Fs.rmSync(dir, { recursive: true, force: true })
})

describe.sequential("strangers before the proof", () => {
  it("huge frames before the proof are cut off as they arrive: the server's memory stays put", { timeout: 60_000 }, async () => {
    const before = memory(server.child.pid!)
    const frame = Buffer.alloc(32 * 1024 * 1024 - 1024, 0x61)
    const cut = await Promise.all(Array.from({ length: 6 }, async () => {
      const { ws } = await dial()
      if (!ws) return true
      ws.on("error", () => {})
      for (let i = 0; i < 4 && ws.readyState === ws.OPEN; i++) ws.send(frame)
      await closed(ws)
      return true
    }))
    const after = memory(server.child.pid!)
    console.log(`6 strangers × 4 frames of 32 MiB: server RSS ${before.rss.toFixed(0)} → ${after.rss.toFixed(0)} MB, peak ${after.peak.toFixed(0)} MB`)
    expect(cut.every(Boolean)).toBe(true)
    expect(after.peak - before.peak).toBeLessThan(64)
    await servesItsUser()
  })

  it("upgrades that never complete do not use up the places of peers proving themselves", { timeout: 30_000 }, async () => {
    // Twenty upgrade requests ws refuses (no key): none may keep a place.
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve) => {
        const socket = Net.connect({ port, host: "127.0.0.1" }, () => {
          socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: ${ORIGIN}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            "Sec-WebSocket-Version: 13\r\n\r\n")
          socket.destroy()
          resolve()
        })
        socket.on("error", () => resolve())
      })
    }
    await new Promise((r) => setTimeout(r, 300))
    await servesItsUser()
  })

  it("connections that never prove themselves are capped; the extension gets in once they go", { timeout: 60_000 }, async () => {
    const stalling = await Promise.all(Array.from({ length: 8 }, dial))
    expect(stalling.every((s) => s.ws !== undefined)).toBe(true)
    expect((await dial()).status).toBe(503)
    for (const s of stalling) s.ws!.terminate()
    await waitFor(async () => {
      const probe = await dial()
      probe.ws?.terminate()
      return probe.ws !== undefined
    }, 10_000)
    await servesItsUser()
  })

  it("300 refused upgrades (a page's WebSockets with its own Origin) write one log line, not 300", { timeout: 30_000 }, async () => {
    const before = server.stderr().split("\n").filter((l) => l.includes("refused a WebSocket connection")).length
    for (let i = 0; i < 300; i++) {
      await new Promise<void>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}`, { headers: { Origin: "https://evil.example" } })
        ws.once("unexpected-response", () => resolve())
        ws.once("error", () => resolve())
      })
    }
    await new Promise((r) => setTimeout(r, 200))
    const lines = server.stderr().split("\n").filter((l) => l.includes("refused a WebSocket connection"))
    console.log(`300 refused upgrades: ${lines.length - before} log line(s)`)
    expect(lines.length - before).toBeLessThanOrEqual(1)
  })

  it.skipIf(otherUser === undefined)("another user's process is cut off before it is read or answered", { timeout: 30_000 }, async () => {
    const attackerDir = otherDir("tabmux-stranger-")
    cleanups.push(() => Fs.rmSync(attackerDir, { recursive: true, force: true }))
    const out = Path.join(attackerDir, "seen.jsonl")
    const attacker = asOther([ATTACKER, "dial", String(port), ORIGIN, out])
    cleanups.push(() => attacker.kill("SIGKILL"))
    await new Promise((r) => attacker.once("exit", r))
    const seen = readLines(out)
    console.log(`another user's client saw: ${JSON.stringify(seen)}`)
    // Not even an HTTP answer: no upgrade, no challenge, no 403.
    expect(seen.some((s) => s.open || s.frame || s.http)).toBe(false)
    expect(server.stderr()).toMatch(/refused a connection from another user's process \(uid \d+, tabmux-other\)/)
    await servesItsUser()
  })
})
