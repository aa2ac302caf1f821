/**
 * The extension's side of a connection over a real WebSocket (the `ws` package), for
 * tests and benchmarks that play the extension: the real extension's handshake
 * (`Session.asExtension`), then sealed frames both ways.
 */
import { Effect, Exit, Mailbox, Option } from "effect"
import type WebSocket from "ws"
import * as UserSecret from "../../src/server/UserSecret.js"
import { handshakeKeepingCiphers } from "./memory.js"

/** The secret of the servers on `dir` (created when missing, as a server would). */
export const secretOf = (dir: string) => Effect.runPromise(UserSecret.readOrCreate(dir))

export interface ExtensionPeer {
  /** The welcome, or `undefined` when refused (then `refused` says why). */
  readonly welcome: any
  readonly refused: string | undefined
  /** Every frame received after the welcome, opened and parsed, in order. */
  readonly frames: Array<any>
  /** Seals and sends a frame (an object is JSON-encoded; a string is sealed as it is). */
  readonly send: (frame: unknown) => Promise<void>
}

const utf8 = new TextDecoder()

/** Connects as the extension on an open `ws`; `onFrame` sees each frame after the welcome. */
export const connectAsExtension = async (
  ws: WebSocket,
  options: {
    readonly port: number
    readonly secret: string
    readonly browser?: string
    readonly onFrame?: (frame: any, peer: ExtensionPeer) => void
  }
): Promise<ExtensionPeer> => {
  const incoming = Effect.runSync(Mailbox.make<unknown>())
  ws.on("message", (data, isBinary) => incoming.unsafeOffer(isBinary ? new Uint8Array(data as Buffer) : String(data)))
  ws.on("close", () => incoming.unsafeDone(Exit.void))
  const write = (data: string | Uint8Array) => Effect.async<void>((resume) => ws.send(data, () => resume(Effect.void)))
  const { outcome, ciphers } = await Effect.runPromise(handshakeKeepingCiphers({
    send: write,
    next: incoming.take.pipe(Effect.timeout("5 seconds"), Effect.option)
  }, { port: options.port, secret: options.secret, ...(options.browser === undefined ? {} : { browser: options.browser }) }))
  const frames: Array<any> = []
  if (outcome._tag === "Rejected" || Option.isNone(ciphers)) {
    return { welcome: undefined, refused: outcome._tag === "Rejected" ? outcome.reason : "no session", frames, send: async () => {} }
  }
  const { out, in: opener } = ciphers.value
  const writing = Effect.runSync(Effect.makeSemaphore(1))
  const peer: ExtensionPeer = {
    welcome: outcome.welcome,
    refused: undefined,
    frames,
    send: (frame) =>
      Effect.runPromise(writing.withPermits(1)(
        Effect.flatMap(out.seal(new TextEncoder().encode(typeof frame === "string" ? frame : JSON.stringify(frame))), write)
      ))
  }
  Effect.runFork(incoming.take.pipe(
    Effect.flatMap((data) => data instanceof Uint8Array ? opener.open(data) : Effect.succeed(Option.none<Uint8Array>())),
    Effect.flatMap(Option.match({
      onNone: () => Effect.fail("a frame that did not open"),
      onSome: (plain) =>
        Effect.sync(() => {
          const frame = JSON.parse(utf8.decode(plain))
          frames.push(frame)
          options.onFrame?.(frame, peer)
        })
    })),
    Effect.forever,
    Effect.ignore
  ))
  return peer
}
