/**
 * The extension's Connection against the server's real Bridge, over memory, under
 * TestClock: the handshake and sealed session end to end, calls, an `interrupt` that
 * frees the tab at once, and a silent server dropped at the silence limit (its tabs by
 * its policy). Nothing here is a fake of either end's logic: only the socket is memory.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Layer, Mailbox, Option, Ref, Stream, TestClock } from "effect"
import { connect, type ConnectionOptions } from "../../extension/src/Connection.js"
import { Credentials } from "../../extension/src/Credentials.js"
import * as Driver from "../../extension/src/Driver.js"
import * as Instances from "../../extension/src/Instances.js"
import * as TabSessions from "../../extension/src/TabSessions.js"
import { type Socket, Sockets } from "../../extension/src/Sockets.js"
import * as TabLocks from "../../extension/src/TabLocks.js"
import { importSecret } from "../../src/protocol/index.js"
import { Bridge, type Transport } from "../../src/server/Bridge.js"
import { SECRET, testBridge } from "../support/memory.js"
import * as MemoryBrowser from "../support/memoryBrowser.js"

const PORT = 18600
const options: ConnectionOptions = {
  extensionVersion: "0.1.0",
  browser: "MemoryChrome 1",
  handshakeTimeout: Duration.seconds(5),
  silenceLimit: Duration.seconds(60)
}

const server = testBridge({ port: PORT, clientName: "agent-m" })

/**
 * A socket pair in memory: the extension's end is `Sockets.open`'s answer, the server's a
 * `Transport` the Bridge serves. `mute` stops the server's frames reaching the extension.
 */
const memorySockets = Effect.gen(function*() {
  const bridge = yield* Bridge
  const muted = yield* Ref.make(false)
  const open = (_port: number) =>
    Effect.gen(function*() {
      const toExtension = yield* Mailbox.make<unknown>()
      const toServer = yield* Mailbox.make<unknown>()
      const hangUp = Effect.zipRight(toExtension.end, toServer.end)
      const transport: Transport = {
        incoming: toServer,
        send: (data) => Effect.flatMap(Ref.get(muted), (m) => (m ? Effect.void : Effect.asVoid(toExtension.offer(data)))),
        close: () => Effect.asVoid(hangUp)
      }
      yield* Effect.forkDaemon(bridge.serve(transport))
      return Option.some<Socket>({ incoming: toExtension, send: (data) => Effect.asVoid(toServer.offer(data)), close: Effect.asVoid(hangUp) })
    })
  return { layer: Layer.succeed(Sockets, { listening: () => Effect.succeed(true), open }), mute: Ref.set(muted, true) }
})

const extension = (memory: MemoryBrowser.MemoryBrowser, sockets: Layer.Layer<Sockets>) =>
  Instances.layer().pipe(
    Layer.provideMerge(TabLocks.layer),
    Layer.provideMerge(MemoryBrowser.layer(memory)),
    Layer.provideMerge(TabSessions.layer.pipe(Layer.provideMerge(Driver.unavailable))),
    Layer.provideMerge(Layer.effect(Credentials, Effect.map(importSecret(SECRET), (key) => {
      const state = { key: Option.some(key), source: "pairing" as const, hostProblem: undefined, ports: [], range: Option.none() }
      return { get: Effect.succeed(state), changes: Stream.make(state) }
    }))),
    Layer.provideMerge(sockets)
  )

/** A connected extension: the connection's fiber, the server's Bridge, and the extension's services. */
const connected = Effect.gen(function*() {
  const memory = yield* MemoryBrowser.make
  const serverContext = yield* Layer.build(server)
  const bridge = Effect.runSync(Effect.provide(Bridge, serverContext))
  const { layer, mute } = yield* Effect.provide(memorySockets, serverContext)
  const context = yield* Layer.build(extension(memory, layer))
  const connection = yield* Effect.fork(connect(PORT, options).pipe(Effect.provide(context)))
  yield* Stream.runHead(Stream.filter(bridge.extensionChanges, Option.isSome))
  return { bridge, connection, context, memory, mute }
})

/** Reads `read` until `done` says so (sealing is WebCrypto: real promises, not the test clock), for up to 2 s. */
const eventually = <A>(read: Effect.Effect<A>, done: (a: A) => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 200; i++) {
      const a = yield* read
      if (done(a)) return a
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 10)))
    }
    return yield* read
  })

describe("Connection (extension) with the Bridge (server), over memory", () => {
  it.scoped("proves both ways, is welcomed, and serves calls through the sealed session", () =>
    Effect.gen(function*() {
      const { bridge, context } = yield* connected
      expect(Option.map(yield* bridge.extension, (e) => e.hello.browser)).toEqual(Option.some("MemoryChrome 1"))
      const opened = yield* bridge.call("tabs.new", { url: "http://x/1" })
      expect(opened).toMatchObject({ tab: "t1", tabs: [{ tab: "t1", url: "http://x/1", current: true }] })
      expect((yield* bridge.call("tabs.list", {})).tabs.map((t) => t.tab)).toEqual(["t1"])
      const instances = yield* Effect.provide(Instances.Instances, context)
      expect((yield* instances.list).map((i) => [i.name, i.tabs, i.attached])).toEqual([["agent-m", 1, true]])
    }))

  it.scoped("a call the server gives up on is interrupted in the extension: its place in the tab's queue is gone at once", () =>
    Effect.gen(function*() {
      const { bridge, context } = yield* connected
      yield* bridge.call("tabs.new", { url: "http://x/1" })
      const locks = yield* Effect.provide(TabLocks.TabLocks, context)
      // Someone else holds the tab: the agent's lease waits in the queue.
      yield* locks.lease(100, { instanceId: "someone", name: "someone" }, Duration.minutes(10), { wait: Duration.zero, label: "t1" })
      const waiting = yield* Effect.fork(bridge.call("tab.lock", { tab: "t1", ttlSeconds: 60, waitSeconds: 120 }))
      const waiters = Effect.map(locks.view, (v) => v.find((x) => x.tab === 100)?.waiters.map((w) => w.who.name) ?? [])
      expect(yield* eventually(waiters, (w) => w.length > 0)).toEqual(["agent-m"])
      yield* Fiber.interrupt(waiting)
      expect(yield* eventually(waiters, (w) => w.length === 0)).toEqual([])
    }))

  it.scoped("a server silent for the silence limit is dropped then, and its tabs go by its policy", () =>
    Effect.gen(function*() {
      const { bridge, connection, memory, mute } = yield* connected
      yield* bridge.call("tabs.new", { url: "http://x/1" })
      yield* mute
      yield* TestClock.adjust("59 seconds")
      expect(connection.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.await(connection)).toEqual(Exit.succeed({ _tag: "Closed", served: true }))
      expect((yield* Ref.get(memory.log)).filter((l) => l.startsWith("close"))).toEqual(["close 100"])
    }))
})
