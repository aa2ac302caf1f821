/**
 * An in-memory extension peer for the Bridge: what the test sends arrives as frames, what
 * the Bridge sends is queued. Before the handshake frames cross as text; after it, `send`
 * seals and `next` opens with the session's keys, as the real extension does.
 */
import { Duration, Effect, Exit, Layer, Mailbox, Option, Queue, Ref, SubscriptionRef } from "effect"
import { importSecret, PROTOCOL_VERSION, Session } from "../../src/protocol/index.js"
import * as BridgeModule from "../../src/server/Bridge.js"
import type { Transport } from "../../src/server/Bridge.js"
import * as ServerConfig from "../../src/server/Config.js"
import { ServerIdentity } from "../../src/server/ServerIdentity.js"
import * as UserSecret from "../../src/server/UserSecret.js"

export interface Ciphers {
  readonly out: Session.Cipher
  readonly in: Session.Cipher
}

const text = new TextEncoder()
const utf8 = new TextDecoder()

export const makePeer = Effect.gen(function*() {
  const incoming = yield* Mailbox.make<unknown>()
  const outgoing = yield* Queue.unbounded<string | Uint8Array>()
  const closed = yield* Queue.unbounded<{ code: number; reason: string }>()
  const ciphers = yield* Ref.make(Option.none<Ciphers>())
  const transport: Transport = {
    incoming,
    send: (data) => Queue.offer(outgoing, data),
    close: (code, reason) =>
      Queue.offer(closed, { code, reason }).pipe(Effect.zipRight(incoming.done(Exit.void)), Effect.asVoid)
  }
  /** Delivers a message to the Bridge exactly as given (text, or bytes). */
  const sendRaw = (data: string | Uint8Array) => incoming.offer(data)
  /** The next message the Bridge sent, exactly as it went (sealed frames are bytes). */
  const nextRaw = Queue.take(outgoing)
  return {
    transport,
    sendRaw,
    nextRaw,
    /** Sends a frame (an object is JSON-encoded; a string goes as is), sealed once the session is. */
    send: (frame: unknown) =>
      Effect.flatMap(Ref.get(ciphers), (c) => {
        const json = typeof frame === "string" ? frame : JSON.stringify(frame)
        return Option.match(c, {
          onNone: () => sendRaw(json),
          onSome: (c) => Effect.flatMap(c.out.seal(text.encode(json)), sendRaw)
        })
      }).pipe(Effect.asVoid),
    /** The next frame the Bridge sent, opened when sealed. */
    next: Effect.flatMap(nextRaw, (data): Effect.Effect<any> =>
      typeof data === "string"
        ? Effect.succeed(JSON.parse(data))
        : Effect.flatMap(Ref.get(ciphers), (c) =>
          Option.isNone(c)
            ? Effect.die("a sealed frame before the session")
            : Effect.map(c.value.in.open(data), (plain) => JSON.parse(utf8.decode(Option.getOrThrow(plain)))))),
    pendingOut: Queue.size(outgoing),
    closed: Queue.take(closed),
    isClosed: Queue.size(closed).pipe(Effect.map((n) => n > 0)),
    hangUp: incoming.done(Exit.void),
    /** Used by `handshake`: the session's ciphers, once derived. */
    ciphers
  }
})

export const hello = { type: "hello", protocol: PROTOCOL_VERSION, extensionVersion: "0.1.0", browser: "Chromium 156", nonce: "0".repeat(64) }

/** The user's secret the test Bridge holds (`UserSecret.layerFromHex(SECRET)`), and another user's. */
export const SECRET = "ab".repeat(32)
export const OTHER_SECRET = "cd".repeat(32)

type Peer = Effect.Effect.Success<typeof makePeer>

/**
 * The server's real Bridge on `port` (the range is `port`-`port + 1`), with the test secret and
 * a fixed identity (instance "i-1", token "tok", pid 42), its services merged for the test.
 */
export const testBridge = (options: { readonly port: number; readonly clientName: string; readonly connectWait?: Duration.DurationInput }) =>
  BridgeModule.layerWithoutListener({ port: options.port }).pipe(
    Layer.provideMerge(Layer.effect(ServerIdentity, Effect.map(SubscriptionRef.make(options.clientName), (clientName) => ({
      instanceId: "i-1",
      token: "tok",
      pid: 42,
      processStartTime: undefined,
      startedAt: 0,
      serverVersion: "0.0.0",
      clientName
    })))),
    Layer.provideMerge(UserSecret.layerFromHex(SECRET)),
    Layer.provideMerge(Layer.succeed(ServerConfig.ServerConfig, ServerConfig.make({
      allowOrigins: [],
      ports: { first: options.port, last: options.port + 1 },
      ...(options.connectWait === undefined ? {} : { connectWait: Duration.decode(options.connectWait) })
    })))
  )

/**
 * The extension's side of the handshake, the real extension's own code
 * (`Session.asExtension`), keeping the session's two ciphers so a test can seal and
 * open frames by hand (malformed ones, replays).
 */
export const handshakeKeepingCiphers = (channel: Session.Channel, options: { readonly port: number; readonly secret?: string; readonly browser?: string }) =>
  Effect.gen(function*() {
    const made: Array<Session.Cipher> = []
    const outcome = yield* Session.asExtension(channel, {
      secret: yield* importSecret(options.secret ?? SECRET),
      port: options.port,
      extensionVersion: "0.1.0",
      browser: options.browser ?? "Chromium 156",
      // The first cipher made seals what the extension sends, the second opens what it receives.
      cipher: (key) => Effect.tap(Session.webCipher(key), (c) => made.push(c))
    })
    return { outcome, ciphers: made.length === 2 ? Option.some<Ciphers>({ out: made[0]!, in: made[1]! }) : Option.none<Ciphers>() }
  })

/** The handshake over a memory peer: the welcome, or how it was refused; from then on the peer's `send` and `next` seal and open. */
export const handshake = (peer: Peer, options: { readonly port: number; readonly secret?: string }) =>
  Effect.gen(function*() {
    const { outcome, ciphers } = yield* handshakeKeepingCiphers({ send: peer.sendRaw, next: Effect.map(peer.nextRaw, Option.some) }, options)
    yield* Ref.set(peer.ciphers, ciphers)
    return outcome._tag === "Welcomed" ? outcome.welcome : outcome
  })
