/** An in-memory extension peer for the Bridge: what the test sends arrives as frames, what the Bridge sends is queued. */
import { Effect, Exit, Mailbox, Queue } from "effect"
import { PROTOCOL_VERSION } from "../../src/protocol/index.js"
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

export const hello = { type: "hello", protocol: PROTOCOL_VERSION, extensionVersion: "0.1.0", browser: "Chromium 156" }
