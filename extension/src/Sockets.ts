/**
 * The extension's way to a server's port: whether anything listens there, and a WebSocket
 * to it. A service, so the connection's logic runs in unit tests against the server's
 * real Bridge over memory (test/unit/connection.test.ts) and in the browser over
 * `WebSocket` (`browserLayer`).
 */
import { Context, Duration, Effect, Exit, Layer, Mailbox, Option } from "effect"

export interface Socket {
  readonly incoming: Mailbox.ReadonlyMailbox<unknown>
  readonly send: (data: string | Uint8Array) => Effect.Effect<void>
  readonly close: Effect.Effect<void>
}

/**
 * Whether anything listens on the port. A plain request, not a WebSocket: Chromium
 * reports a refused WebSocket only after 1-4 s (measured, headless Chromium 156), a
 * refused fetch in under 10 ms; the server answers it with 403, which is enough.
 */
const listening = (port: number): Effect.Effect<boolean> =>
  Effect.promise((signal) =>
    fetch(`http://127.0.0.1:${port}/`, { mode: "no-cors", cache: "no-store", credentials: "omit", signal }).then(() => true, () => false)
  ).pipe(Effect.timeoutTo({ duration: Duration.seconds(2), onTimeout: () => false, onSuccess: (up) => up }))

/** Opens ws://127.0.0.1:port; `None` when the upgrade fails. */
const open = (port: number): Effect.Effect<Option.Option<Socket>> =>
  Effect.flatMap(Mailbox.make<unknown>(), (incoming) =>
    Effect.async<Option.Option<Socket>>((resume) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`)
      ws.binaryType = "arraybuffer"
      let opened = false
      ws.onopen = () => {
        opened = true
        resume(Effect.succeed(Option.some({
          incoming,
          send: (data) =>
            Effect.sync(() => {
              if (ws.readyState === WebSocket.OPEN) ws.send(data as string | Uint8Array<ArrayBuffer>)
            }),
          close: Effect.sync(() => ws.close(1000))
        })))
      }
      ws.onmessage = (event) => {
        incoming.unsafeOffer(event.data)
      }
      ws.onclose = () => {
        incoming.unsafeDone(Exit.void)
        if (!opened) resume(Effect.succeed(Option.none()))
      }
      return Effect.sync(() => ws.close())
    }))


export class Sockets extends Context.Tag("tabmux/Sockets")<Sockets, {
  readonly listening: (port: number) => Effect.Effect<boolean>
  /** Opens ws://127.0.0.1:port; `None` when the upgrade fails. */
  readonly open: (port: number) => Effect.Effect<Option.Option<Socket>>
}>() {}

export const browserLayer = Layer.succeed(Sockets, { listening, open })
