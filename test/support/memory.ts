/** An in-memory extension peer for the Bridge: what the test sends arrives as frames, what the Bridge sends is queued. */
import { Effect, Exit, Mailbox, Queue } from "effect"
import { importSecret, PROTOCOL_VERSION, prove, randomHex32, verify } from "../../src/protocol/index.js"
import type { Transport } from "../../src/server/Bridge.js"

export const makePeer = Effect.gen(function*() {
  const incoming = yield* Mailbox.make<unknown>()
  const outgoing = yield* Queue.unbounded<any>()
  const closed = yield* Queue.unbounded<{ code: number; reason: string }>()
  const transport: Transport = {
    incoming,
    send: (text) => Queue.offer(outgoing, JSON.parse(text)),
    close: (code, reason) =>
      Queue.offer(closed, { code, reason }).pipe(Effect.zipRight(incoming.done(Exit.void)), Effect.asVoid)
  }
  return {
    transport,
    /** Sends a frame (an object is JSON-encoded; a string goes as is). */
    send: (frame: unknown) => incoming.offer(typeof frame === "string" ? frame : JSON.stringify(frame)),
    /** The next frame the Bridge sent. */
    next: Queue.take(outgoing),
    pendingOut: Queue.size(outgoing),
    closed: Queue.take(closed),
    isClosed: Queue.size(closed).pipe(Effect.map((n) => n > 0)),
    hangUp: incoming.done(Exit.void)
  }
})

export const hello = { type: "hello", protocol: PROTOCOL_VERSION, extensionVersion: "0.1.0", browser: "Chromium 156", nonce: "0".repeat(64) }

/** The user's secret the test Bridge holds (`UserSecret.layerFromHex(SECRET)`), and another user's. */
export const SECRET = "ab".repeat(32)
export const OTHER_SECRET = "cd".repeat(32)

type Peer = Effect.Effect.Success<typeof makePeer>

/**
 * The extension's side of the handshake, as the real extension does it: hello with a
 * fresh nonce, check the server's proof, answer with ours. Returns the server's answer
 * to that (welcome or reject), or the challenge when the server's proof was wrong.
 */
export const handshake = (peer: Peer, options: { readonly port: number; readonly secret?: string }) =>
  Effect.gen(function*() {
    const key = yield* importSecret(options.secret ?? SECRET)
    const extensionNonce = randomHex32()
    yield* peer.send({ ...hello, nonce: extensionNonce })
    const challenge = yield* peer.next
    if (challenge.type !== "challenge") return challenge
    const transcript = { protocol: PROTOCOL_VERSION, port: options.port, extensionNonce, serverNonce: challenge.nonce }
    if (!(yield* verify(key, "server", transcript, challenge.proof))) return { ...challenge, serverProofValid: false }
    yield* peer.send({ type: "auth", proof: yield* prove(key, "extension", transcript) })
    return yield* peer.next
  })
