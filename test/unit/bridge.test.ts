import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Option, Stream, SubscriptionRef, TestClock } from "effect"
import { Methods, PROTOCOL_VERSION } from "../../src/protocol/index.js"
import { Bridge } from "../../src/server/Bridge.js"
import { ServerIdentity } from "../../src/server/ServerIdentity.js"
import { handshake, hello, makePeer, OTHER_SECRET, testBridge } from "../support/memory.js"

const TestBridge = testBridge({ port: 18000, clientName: "test-client", connectWait: "2 seconds" })

/** A peer whose handshake is done: the welcome has been read. */
const connected = Effect.gen(function*() {
  const bridge = yield* Bridge
  const peer = yield* makePeer
  const serving = yield* Effect.fork(bridge.serve(peer.transport))
  const welcome = yield* handshake(peer, { port: 18000 })
  return { bridge, peer, serving, welcome }
})

describe("Bridge", () => {
  it.effect("welcomes a peer that proved itself, naming the server", () =>
    Effect.gen(function*() {
      const { bridge, welcome } = yield* connected
      expect(welcome).toEqual({
        type: "welcome",
        protocol: PROTOCOL_VERSION,
        instanceId: "i-1",
        clientName: "test-client",
        pid: 42,
        serverVersion: "0.0.0",
        token: "tok",
        onDisconnect: "close",
        graceSeconds: 60,
        allowFileUrls: false,
        nextHandle: 1
      })
      expect(Option.map(yield* bridge.extension, (e) => e.hello.browser)).toEqual(Option.some("Chromium 156"))
    }).pipe(Effect.provide(TestBridge)))

  it.effect("correlates results with calls by id, whatever the order", () =>
    Effect.gen(function*() {
      const { bridge, peer } = yield* connected
      const a = yield* Effect.fork(bridge.call("tabs.select", { tab: "t1" }))
      const b = yield* Effect.fork(bridge.call("tabs.select", { tab: "t2" }))
      const callA = yield* peer.next
      const callB = yield* peer.next
      expect(callA).toMatchObject({ type: "call", method: "tabs.select", params: { tab: "t1" } })
      const tab = (t: string) => ({ tab: t, tabs: [{ tab: t, url: `https://${t}.test/`, title: t, current: true, shared: false }] })
      yield* peer.send({ type: "result", id: callB.id, ok: true, value: tab("t2") })
      yield* peer.send({ type: "result", id: callA.id, ok: true, value: tab("t1") })
      expect((yield* Fiber.join(a)).tab).toBe("t1")
      expect((yield* Fiber.join(b)).tab).toBe("t2")
    }).pipe(Effect.provide(TestBridge)))

  it.effect("a call interrupted by its caller (an MCP cancel) tells the extension to stop it", () =>
    Effect.gen(function*() {
      const { bridge, peer } = yield* connected
      const call = yield* Effect.fork(bridge.call("page.wait", { text: "never", timeoutSeconds: 20 }))
      const sent = yield* peer.next
      expect(sent).toMatchObject({ type: "call", method: "page.wait" })
      yield* Fiber.interrupt(call)
      expect(yield* peer.next).toEqual({ type: "interrupt", id: sent.id })
      // A call that ends normally sends none.
      const done = yield* Effect.fork(bridge.call("tabs.list", {}))
      const listed = yield* peer.next
      yield* peer.send({ type: "result", id: listed.id, ok: true, value: { tabs: [] } })
      yield* Fiber.join(done)
      expect(yield* peer.pendingOut).toBe(0)
    }).pipe(Effect.provide(TestBridge)))

  it.effect("times out a call exactly at its method's timeout, and ignores a late result", () =>
    Effect.gen(function*() {
      const { bridge, peer } = yield* connected
      const call = yield* Effect.fork(bridge.call("tabs.list", {}))
      const sent = yield* peer.next
      const timeout = Duration.toMillis(Methods["tabs.list"].timeout({}))
      yield* TestClock.adjust(Duration.millis(timeout - 1))
      expect(call.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.await(call)
      expect(exit).toEqual(Exit.fail(expect.objectContaining({ _tag: "CallTimeout", method: "tabs.list" })))
      // The extension is told to stop it (and free its tab); keepalive pings went out meanwhile.
      const told = yield* peer.next.pipe(Effect.repeat({ until: (f: any) => f.type !== "ping" }))
      expect(told).toEqual({ type: "interrupt", id: sent.id })
      yield* peer.send({ type: "result", id: sent.id, ok: true, value: { tabs: [] } })
      // The connection survives the late result and serves the next call.
      const next = yield* Effect.fork(bridge.call("tabs.list", {}))
      const again = yield* peer.next.pipe(Effect.repeat({ until: (f: any) => f.type !== "ping" }))
      yield* peer.send({ type: "result", id: again.id, ok: true, value: { tabs: [] } })
      expect(yield* Fiber.join(next)).toEqual({ tabs: [] })
    }).pipe(Effect.provide(TestBridge)))

  it.effect("reports a failure from the extension with its tag and message", () =>
    Effect.gen(function*() {
      const { bridge, peer } = yield* connected
      const call = yield* Effect.fork(bridge.call("tabs.select", { tab: "t9" }))
      const sent = yield* peer.next
      yield* peer.send({ type: "result", id: sent.id, ok: false, error: { _tag: "TabNotFound", message: "no tab t9; yours: t1" } })
      const error = yield* Fiber.join(call).pipe(Effect.flip)
      expect(error._tag).toBe("ExtensionCallFailed")
      expect(error.message).toBe("no tab t9; yours: t1")
    }).pipe(Effect.provide(TestBridge)))

  it.effect("rejects a result that does not match the method's schema", () =>
    Effect.gen(function*() {
      const { bridge, peer } = yield* connected
      const call = yield* Effect.fork(bridge.call("tabs.list", {}))
      const sent = yield* peer.next
      yield* peer.send({ type: "result", id: sent.id, ok: true, value: { tabs: "none" } })
      const error = yield* Fiber.join(call).pipe(Effect.flip)
      expect(error._tag).toBe("ProtocolMismatch")
      expect(error.message).toContain("tabs.list")
    }).pipe(Effect.provide(TestBridge)))

  it.effect("fails every pending call with ExtensionDisconnected when the peer goes", () =>
    Effect.gen(function*() {
      const { bridge, peer, serving } = yield* connected
      const calls = yield* Effect.forEach(["t1", "t2", "t3"], (tab) => Effect.fork(bridge.call("tabs.select", { tab })))
      for (let i = 0; i < 3; i++) yield* peer.next
      yield* peer.hangUp
      yield* Fiber.join(serving)
      for (const call of calls) {
        const error = yield* Fiber.join(call).pipe(Effect.flip)
        expect(error._tag).toBe("ExtensionDisconnected")
      }
      expect(yield* bridge.extension).toEqual(Option.none())
    }).pipe(Effect.provide(TestBridge)))

  it.effect("fails pending calls and closes the socket when the server's scope closes", () =>
    Effect.gen(function*() {
      const { bridge, peer, serving } = yield* connected
      const call = yield* Effect.fork(bridge.call("tabs.list", {}))
      yield* peer.next
      yield* Fiber.interrupt(serving)
      expect((yield* Fiber.join(call).pipe(Effect.flip))._tag).toBe("ExtensionDisconnected")
      expect(yield* peer.closed).toEqual({ code: 1000, reason: "closed" })
    }).pipe(Effect.provide(TestBridge)))

  it.effect("pings every 20 s and closes after two unanswered pings", () =>
    Effect.gen(function*() {
      const { peer, serving } = yield* connected
      yield* TestClock.adjust("19999 millis")
      expect(yield* peer.pendingOut).toBe(0)
      yield* TestClock.adjust("1 millis")
      expect(yield* peer.next).toMatchObject({ type: "ping" })
      yield* TestClock.adjust("20 seconds")
      expect(yield* peer.next).toMatchObject({ type: "ping" })
      expect(yield* peer.isClosed).toBe(false)
      yield* TestClock.adjust("20 seconds")
      expect(yield* peer.closed).toEqual({ code: 4001, reason: "keepalive timeout" })
      yield* Fiber.join(serving)
    }).pipe(Effect.provide(TestBridge)))

  it.effect("keeps a connection whose pongs arrive", () =>
    Effect.gen(function*() {
      const { peer } = yield* connected
      for (let i = 0; i < 5; i++) {
        yield* TestClock.adjust("20 seconds")
        const ping = yield* peer.next
        yield* peer.send({ type: "pong", at: ping.at })
      }
      expect(yield* peer.isClosed).toBe(false)
    }).pipe(Effect.provide(TestBridge)))

  it.effect("answers the extension's own pings", () =>
    Effect.gen(function*() {
      const { peer } = yield* connected
      yield* peer.send({ type: "ping", at: 123 })
      expect(yield* peer.next).toEqual({ type: "pong", at: 123 })
    }).pipe(Effect.provide(TestBridge)))

  it.effect("answers bad frames with a typed error and keeps serving", () =>
    Effect.gen(function*() {
      const { bridge, peer } = yield* connected
      for (const bad of ["not json", "{\"type\":\"teleport\"}", "{\"type\":\"result\",\"id\":-1,\"ok\":true}", "[]"]) {
        yield* peer.send(bad)
        const answer = yield* peer.next
        expect(answer.type).toBe("error")
        expect(answer.error._tag).toBe("FrameRefused")
      }
      yield* peer.send({ ...hello, extensionVersion: "x" })
      expect((yield* peer.next).error.message).toContain("unexpected \"hello\"")
      const call = yield* Effect.fork(bridge.call("tabs.list", {}))
      const sent = yield* peer.next
      yield* peer.send({ type: "result", id: sent.id, ok: true, value: { tabs: [] } })
      expect(yield* Fiber.join(call)).toEqual({ tabs: [] })
    }).pipe(Effect.provide(TestBridge)))

  it.effect("rejects a peer that speaks another protocol version, saying which side to update", () =>
    Effect.gen(function*() {
      const bridge = yield* Bridge
      const peer = yield* makePeer
      const serving = yield* Effect.fork(bridge.serve(peer.transport))
      yield* peer.send({ ...hello, protocol: PROTOCOL_VERSION + 1 })
      const reject = yield* peer.next
      expect(reject).toMatchObject({ type: "reject", reason: "protocol" })
      expect(reject.message).toContain("update the server")
      yield* Fiber.join(serving)
      expect(yield* bridge.extension).toEqual(Option.none())
    }).pipe(Effect.provide(TestBridge)))

  it.effect("rejects a peer that does not say hello within the handshake timeout", () =>
    Effect.gen(function*() {
      const bridge = yield* Bridge
      const peer = yield* makePeer
      const serving = yield* Effect.fork(bridge.serve(peer.transport))
      yield* TestClock.adjust("5 seconds")
      expect(yield* peer.next).toMatchObject({ type: "reject", reason: "handshake" })
      yield* Fiber.join(serving)
    }).pipe(Effect.provide(TestBridge)))

  it.effect("refuses a second browser while one is connected", () =>
    Effect.gen(function*() {
      const { bridge } = yield* connected
      const second = yield* makePeer
      const serving = yield* Effect.fork(bridge.serve(second.transport))
      expect(yield* handshake(second, { port: 18000 })).toMatchObject({ _tag: "Rejected", reason: expect.stringMatching(/^busy: /) })
      yield* Fiber.join(serving)
      expect(Option.isSome(yield* bridge.extension)).toBe(true)
    }).pipe(Effect.provide(TestBridge)))

  it.effect("a call without an extension waits connectWait, then fails with advice", () =>
    Effect.gen(function*() {
      const bridge = yield* Bridge
      const call = yield* Effect.fork(bridge.call("tabs.list", {}))
      yield* TestClock.adjust("1999 millis")
      expect(call.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const error = yield* Fiber.join(call).pipe(Effect.flip)
      expect(error._tag).toBe("ExtensionNotConnected")
      expect(error.message).toContain("port 18000")
      expect(error.message).toContain("18000-18001")
      expect(error.message).toContain("tabmux status")
      expect(error.message).toContain("Load unpacked")
    }).pipe(Effect.provide(TestBridge)))

  it.effect("after one wait runs out, later calls fail at once until the extension connects", () =>
    Effect.gen(function*() {
      const bridge = yield* Bridge
      const first = yield* Effect.fork(bridge.call("tabs.list", {}))
      yield* TestClock.adjust("2 seconds")
      expect((yield* Fiber.join(first).pipe(Effect.flip))._tag).toBe("ExtensionNotConnected")
      // No time passes: the second call fails without waiting, with the same advice.
      const second = yield* bridge.call("tabs.list", {}).pipe(Effect.flip)
      expect(second._tag).toBe("ExtensionNotConnected")
      expect(second.message).toContain("Load unpacked")
      const peer = yield* makePeer
      yield* Effect.fork(bridge.serve(peer.transport))
      expect(yield* handshake(peer, { port: 18000 })).toMatchObject({ type: "welcome" })
      const third = yield* Effect.fork(bridge.call("tabs.list", {}))
      const sent = yield* peer.next
      yield* peer.send({ type: "result", id: sent.id, ok: true, value: { tabs: [] } })
      expect(yield* Fiber.join(third)).toEqual({ tabs: [] })
    }).pipe(Effect.provide(TestBridge)))

  it.effect("a call made while waiting runs as soon as the extension connects", () =>
    Effect.gen(function*() {
      const bridge = yield* Bridge
      const call = yield* Effect.fork(bridge.call("tabs.list", {}))
      yield* TestClock.adjust("1 second")
      const peer = yield* makePeer
      yield* Effect.fork(bridge.serve(peer.transport))
      expect(yield* handshake(peer, { port: 18000 })).toMatchObject({ type: "welcome" })
      const sent = yield* peer.next
      yield* peer.send({ type: "result", id: sent.id, ok: true, value: { tabs: [] } })
      expect(yield* Fiber.join(call)).toEqual({ tabs: [] })
    }).pipe(Effect.provide(TestBridge)))

  it.effect("publishes extension events", () =>
    Effect.gen(function*() {
      const { bridge, peer } = yield* connected
      const first = yield* Effect.fork(Stream.runHead(bridge.events))
      yield* Effect.yieldNow()
      yield* peer.send({ type: "event", name: "tab.closed", data: { tab: "t1" } })
      expect(yield* Fiber.join(first)).toEqual(Option.some({ type: "event", name: "tab.closed", data: { tab: "t1" } }))
    }).pipe(Effect.provide(TestBridge)))

  it.effect("tells the extension when the MCP client's name becomes known", () =>
    Effect.gen(function*() {
      const { peer } = yield* connected
      const identity = yield* ServerIdentity
      yield* Effect.yieldNow()
      yield* SubscriptionRef.set(identity.clientName, "claude-code")
      expect(yield* peer.next).toMatchObject({ type: "call", method: "instance.update", params: { clientName: "claude-code" } })
    }).pipe(Effect.provide(TestBridge)))

  describe("same-user proof", () => {
    it.effect("a peer with another user's secret gets a challenge, then a reject: no welcome, no token, no slot", () =>
      Effect.gen(function*() {
        const bridge = yield* Bridge
        const peer = yield* makePeer
        const serving = yield* Effect.fork(bridge.serve(peer.transport))
        const answer = yield* handshake(peer, { port: 18000, secret: OTHER_SECRET })
        // The server's proof does not check out with another secret: a real extension stops here.
        expect(answer).toMatchObject({ _tag: "Rejected", reason: expect.stringContaining("could not prove") })
        // A forger answers anyway, with a proof made with the wrong secret.
        yield* peer.send({ type: "auth", proof: "00".repeat(32) })
        const reject = yield* peer.next
        expect(reject).toMatchObject({ type: "reject", reason: "auth" })
        expect(JSON.stringify(reject)).not.toContain("tok")
        yield* Fiber.join(serving)
        expect(yield* peer.pendingOut).toBe(0)
        expect(yield* bridge.extension).toEqual(Option.none())
      }).pipe(Effect.provide(TestBridge)))

    it.effect("a proof is bound to the port: one made for another port is refused", () =>
      Effect.gen(function*() {
        const bridge = yield* Bridge
        const peer = yield* makePeer
        yield* Effect.fork(bridge.serve(peer.transport))
        const answer = yield* handshake(peer, { port: 18001 })
        expect(answer).toMatchObject({ _tag: "Rejected", reason: expect.stringContaining("could not prove") })
      }).pipe(Effect.provide(TestBridge)))

    it.effect("a peer that stalls in the handshake holds no slot: the real extension connects meanwhile", () =>
      Effect.gen(function*() {
        const bridge = yield* Bridge
        const squatter = yield* makePeer
        const squatting = yield* Effect.fork(bridge.serve(squatter.transport))
        yield* squatter.send(hello)
        expect((yield* squatter.next).type).toBe("challenge")
        const real = yield* makePeer
        yield* Effect.fork(bridge.serve(real.transport))
        expect(yield* handshake(real, { port: 18000 })).toMatchObject({ type: "welcome", token: "tok" })
        yield* TestClock.adjust("5 seconds")
        expect(yield* squatter.next).toMatchObject({ type: "reject", reason: "auth" })
        yield* Fiber.join(squatting)
        expect(Option.isSome(yield* bridge.extension)).toBe(true)
      }).pipe(Effect.provide(TestBridge)))

    describe("sealed session (invariant 14)", () => {
      /** Sends a sealed pong and returns the bytes that crossed, for a test to replay or alter. */
      const sealedPong = (peer: Effect.Effect.Success<typeof makePeer>, at: number) =>
        Effect.gen(function*() {
          const c = Option.getOrThrow(yield* peer.ciphers)
          return yield* c.out.seal(new TextEncoder().encode(JSON.stringify({ type: "pong", at })))
        })

      /** The connection ended: the Bridge closed it and has no extension. */
      const ended = (peer: Effect.Effect.Success<typeof makePeer>, serving: Fiber.RuntimeFiber<void>) =>
        Effect.gen(function*() {
          yield* Fiber.join(serving)
          expect(yield* peer.isClosed).toBe(true)
          expect(yield* Effect.flatMap(Bridge, (b) => b.extension)).toEqual(Option.none())
        })

      it.effect("a relay between the extension and the server carries only ciphertext after the proofs", () =>
        Effect.gen(function*() {
          const bridge = yield* Bridge
          const peer = yield* makePeer
          // Every message the server sends passes through the relay's hands (here: read raw, then handed on).
          const seen: Array<string | Uint8Array> = []
          const relayed = { ...peer, nextRaw: Effect.tap(peer.nextRaw, (m) => Effect.sync(() => seen.push(m))) }
          yield* Effect.fork(bridge.serve(peer.transport))
          expect(yield* handshake(relayed, { port: 18000 })).toMatchObject({ type: "welcome", token: "tok" })
          const call = yield* Effect.fork(bridge.call("tabs.select", { tab: "t4242" }))
          seen.push(yield* peer.nextRaw)
          yield* Fiber.interrupt(call)
          // The challenge is the last text; the welcome (token, pid) and the call are bytes that do not show them.
          expect(seen.map((m) => typeof m)).toEqual(["string", "object", "object"])
          const bytes = Buffer.concat(seen.slice(1).map((m) => Buffer.from(m as Uint8Array))).toString("latin1")
          for (const plain of ["welcome", "tok", "i-1", "test-client", "tabs.select", "t4242"]) expect(bytes).not.toContain(plain)
        }).pipe(Effect.provide(TestBridge)))

      it.effect("a replayed frame ends the connection", () =>
        Effect.gen(function*() {
          const bridge = yield* Bridge
          const peer = yield* makePeer
          const serving = yield* Effect.fork(bridge.serve(peer.transport))
          yield* handshake(peer, { port: 18000 })
          const pong = yield* sealedPong(peer, 1)
          yield* peer.sendRaw(pong)
          yield* peer.sendRaw(pong)
          yield* ended(peer, serving)
        }).pipe(Effect.provide(TestBridge)))

      it.effect("frames delivered out of order end the connection", () =>
        Effect.gen(function*() {
          const bridge = yield* Bridge
          const peer = yield* makePeer
          const serving = yield* Effect.fork(bridge.serve(peer.transport))
          yield* handshake(peer, { port: 18000 })
          const first = yield* sealedPong(peer, 1)
          const second = yield* sealedPong(peer, 2)
          yield* peer.sendRaw(second)
          yield* peer.sendRaw(first)
          yield* ended(peer, serving)
        }).pipe(Effect.provide(TestBridge)))

      it.effect("a frame of the server's reflected back to it ends the connection", () =>
        Effect.gen(function*() {
          const bridge = yield* Bridge
          const peer = yield* makePeer
          const serving = yield* Effect.fork(bridge.serve(peer.transport))
          yield* handshake(peer, { port: 18000 })
          yield* Effect.fork(bridge.call("tabs.list", {}))
          yield* peer.sendRaw(yield* peer.nextRaw)
          yield* ended(peer, serving)
        }).pipe(Effect.provide(TestBridge)))

      it.effect("an altered frame ends the connection, and so does a text frame after the proofs", () =>
        Effect.gen(function*() {
          for (const alter of [(b: Uint8Array) => { b[0] = b[0]! ^ 1; return b }, (_: Uint8Array) => "{\"type\":\"pong\",\"at\":1}"]) {
            const bridge = yield* Bridge
            const peer = yield* makePeer
            const serving = yield* Effect.fork(bridge.serve(peer.transport))
            yield* handshake(peer, { port: 18000 })
            yield* peer.sendRaw(alter(Uint8Array.from(yield* sealedPong(peer, 1))))
            yield* ended(peer, serving)
          }
        }).pipe(Effect.provide(TestBridge)))
    })

    it.effect("after a peer failed the proof, a call that finds no extension says the cause is pairing", () =>
      Effect.gen(function*() {
        const bridge = yield* Bridge
        const peer = yield* makePeer
        yield* Effect.fork(bridge.serve(peer.transport))
        yield* handshake(peer, { port: 18000, secret: OTHER_SECRET })
        yield* peer.send({ type: "auth", proof: "00".repeat(32) })
        expect((yield* peer.next).type).toBe("reject")
        const call = yield* Effect.fork(bridge.call("tabs.list", {}))
        yield* TestClock.adjust("2 seconds")
        const error = yield* Fiber.join(call).pipe(Effect.flip)
        expect(error.message).toContain("could not prove it belongs to this user")
        expect(error.message).toContain("tabmux install")
      }).pipe(Effect.provide(TestBridge)))

    it.effect("calls made before the proof are not sent to an unproven peer", () =>
      Effect.gen(function*() {
        const bridge = yield* Bridge
        const call = yield* Effect.fork(bridge.call("tabs.list", {}))
        const peer = yield* makePeer
        yield* Effect.fork(bridge.serve(peer.transport))
        yield* peer.send(hello)
        expect((yield* peer.next).type).toBe("challenge")
        yield* peer.send({ type: "auth", proof: "11".repeat(32) })
        expect((yield* peer.next).type).toBe("reject")
        expect(yield* peer.pendingOut).toBe(0)
        yield* TestClock.adjust("2 seconds")
        expect((yield* Fiber.join(call).pipe(Effect.flip))._tag).toBe("ExtensionNotConnected")
      }).pipe(Effect.provide(TestBridge)))
  })
})
