import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option, SubscriptionRef, TestClock } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as UserSecret from "../../src/server/UserSecret.js"
import * as BridgeModule from "../../src/server/Bridge.js"
import * as ServerConfig from "../../src/server/Config.js"
import * as Heartbeat from "../../src/server/Heartbeat.js"
import { Listener } from "../../src/server/PortClaims.js"
import * as PortRegistry from "../../src/server/PortRegistry.js"
import * as Process from "../../src/server/Process.js"
import { ensurePrivateDir, portsDir } from "../../src/server/RuntimeDir.js"
import { ServerIdentity } from "../../src/server/ServerIdentity.js"
import { eventually } from "../support/eventually.js"

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-registry-"))

const record = (over: Partial<PortRegistry.PortRecord>): PortRegistry.PortRecord => ({
  port: 18100,
  pid: process.pid,
  instanceId: "i",
  token: "t",
  clientName: "c",
  serverVersion: "0",
  startedAt: 0,
  heartbeatAt: 0,
  ...over
})

describe("PortRegistry", () => {
  it.effect("judges a live process's record hung exactly at staleAfter", () =>
    Effect.gen(function*() {
      const me = yield* Process.currentProcess
      const r = record({ heartbeatAt: 10_000, ...(me.startTime ? { processStartTime: me.startTime } : {}) })
      const staleAfter = Duration.seconds(15)
      expect(yield* PortRegistry.judge(r, 24_999, staleAfter)).toBe("live")
      expect(yield* PortRegistry.judge(r, 25_000, staleAfter)).toBe("hung")
    }))

  it.effect("judges a dead pid dead and a recycled pid reused, whatever the heartbeat", () =>
    Effect.gen(function*() {
      const staleAfter = Duration.seconds(15)
      expect(yield* PortRegistry.judge(record({ pid: 2 ** 22 + 12345 }), 0, staleAfter)).toBe("dead")
      expect(yield* PortRegistry.judge(record({ processStartTime: "not-my-start-time" }), 0, staleAfter)).toBe(
        process.platform === "win32" ? "live" : "reused"
      )
    }))

  it.effect("sweeps dead records only, and never a record that changed hands", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      yield* ensurePrivateDir(dir).pipe(Effect.zipRight(ensurePrivateDir(portsDir(dir))))
      yield* PortRegistry.write(dir, record({ port: 18101, pid: 2 ** 22 + 1 }))
      yield* PortRegistry.write(dir, record({ port: 18102 }))
      Fs.writeFileSync(Path.join(portsDir(dir), "18103.json"), "{ half")
      const entries = yield* PortRegistry.list(dir, 0, Duration.seconds(15))
      expect(entries.map((e) => [e.port, Option.getOrNull(e.verdict)])).toEqual([[18101, "dead"], [18102, "live"], [18103, null]])
      const swept = yield* PortRegistry.sweep(dir, entries)
      expect(swept.map((e) => e.port)).toEqual([18101])
      expect(Fs.readdirSync(portsDir(dir)).sort()).toEqual(["18102.json", "18103.json"])
      // A record rewritten by a new owner between list and sweep is left alone.
      yield* PortRegistry.write(dir, record({ port: 18104, pid: 2 ** 22 + 1, token: "old" }))
      const before = yield* PortRegistry.list(dir, 0, Duration.seconds(15))
      yield* PortRegistry.write(dir, record({ port: 18104, token: "new" }))
      yield* PortRegistry.sweep(dir, before)
      expect(Option.map(yield* PortRegistry.read(dir, 18104), (r) => r.token)).toEqual(Option.some("new"))
    }))

  it.effect("the heartbeat rewrites the record every interval and when the client's name changes", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      yield* ensurePrivateDir(dir).pipe(Effect.zipRight(ensurePrivateDir(portsDir(dir))))
      const config = ServerConfig.make({ allowOrigins: [], dir, heartbeatInterval: Duration.seconds(5) })
      const clientName = yield* SubscriptionRef.make("tabmux")
      const identity = {
        instanceId: "i",
        token: "t",
        pid: process.pid,
        processStartTime: undefined,
        startedAt: 0,
        serverVersion: "0",
        clientName
      }
      const layer = Heartbeat.layer.pipe(
        Layer.provideMerge(BridgeModule.layerWithoutListener({ port: 18110 })),
        Layer.provideMerge(UserSecret.layerFromHex("ab".repeat(32))),
        Layer.provideMerge(Layer.succeed(Listener, { port: 18110, server: undefined as never, serveUpgrades: undefined as never })),
        Layer.provideMerge(Layer.succeed(ServerIdentity, identity)),
        Layer.provideMerge(Layer.succeed(ServerConfig.ServerConfig, config))
      )
      const heartbeatAt = PortRegistry.read(dir, 18110).pipe(Effect.map(Option.map((r) => [r.heartbeatAt, r.clientName])))
      yield* Effect.gen(function*() {
        yield* TestClock.adjust("4999 millis")
        expect(yield* heartbeatAt).toEqual(Option.none())
        yield* TestClock.adjust("1 millis")
        expect(yield* eventually(heartbeatAt, Option.isSome)).toEqual(Option.some([5000, "tabmux"]))
        yield* TestClock.adjust("1 second")
        yield* SubscriptionRef.set(clientName, "cursor")
        expect(yield* eventually(heartbeatAt, Option.exists(([, name]) => name === "cursor"))).toEqual(Option.some([6000, "cursor"]))
      }).pipe(Effect.provide(layer))
    }))
})
