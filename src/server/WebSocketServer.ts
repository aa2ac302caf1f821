/**
 * The WebSocket endpoint on the claimed listener. An upgrade is accepted only from an
 * exact allowlisted `Origin` (by default the extension's own; no prefix match, no
 * missing Origin) and with a loopback `Host` (against DNS rebinding); everything else,
 * plain HTTP included, gets 403. Each accepted socket becomes a `Transport` that the
 * Bridge serves in its own fiber.
 */
import { Effect, Exit, FiberSet, Layer, Mailbox } from "effect"
import type * as Http from "node:http"
import type * as Net from "node:stream"
import { type WebSocket, WebSocketServer } from "ws"
import { MAX_FRAME_BYTES } from "../protocol/index.js"
import { Bridge, CloseCode, type Transport } from "./Bridge.js"
import { ServerConfig } from "./Config.js"
import { Listener } from "./PortClaims.js"
import * as Throttled from "./Throttled.js"

/** Why an upgrade is refused, or `undefined` when it may proceed. */
export const refusal = (
  headers: { readonly origin?: string | undefined; readonly host?: string | undefined },
  allowOrigins: ReadonlyArray<string>,
  port: number
): string | undefined => {
  const hosts = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]
  if (headers.host === undefined || !hosts.includes(headers.host.toLowerCase())) {
    return `Host ${JSON.stringify(headers.host ?? null)} is not this loopback server`
  }
  if (headers.origin === undefined) return "no Origin header"
  if (!allowOrigins.includes(headers.origin)) {
    return `Origin ${JSON.stringify(headers.origin)} is not allowed (allowed: ${allowOrigins.join(", ")}; add one with --allow-origin)`
  }
  return undefined
}

const respond = (socket: Net.Duplex, status: string) => {
  const body = `tabmux: ${status.slice(4).toLowerCase()}\n`
  socket.end(
    `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`
  )
}

/** What a peer may send before it has proved itself: a hello and an auth are well under 1 KiB each. */
export const UNPROVEN_BYTES = 16 * 1024
/** Connections that have not proved themselves yet, at once; more are answered 503 until some finish. */
export const UNPROVEN_CONNECTIONS = 8

/**
 * `ws` as a Transport. Until `proven`, every byte the peer sends counts against
 * `UNPROVEN_BYTES`, counted as it arrives (before `ws` gathers a message), and the
 * socket is destroyed past it; `settled` runs once, when it is proven or gone.
 */
export const fromWebSocket = (ws: WebSocket, raw: Net.Duplex, settled: () => void = () => {}): Effect.Effect<Transport> =>
  Effect.map(Mailbox.make<unknown>(), (incoming) => {
    let received = 0
    const count = (chunk: Buffer) => {
      received += chunk.length
      if (received > UNPROVEN_BYTES) raw.destroy()
    }
    let open = true
    const settle = () => {
      if (!open) return
      open = false
      raw.off("data", count)
      settled()
    }
    raw.on("data", count)
    ws.on("message", (data, isBinary) => {
      incoming.unsafeOffer(isBinary ? data : data.toString())
    })
    ws.on("close", () => {
      settle()
      incoming.unsafeDone(Exit.void)
    })
    ws.on("error", () => ws.terminate())
    return {
      incoming,
      send: (text) =>
        Effect.async<void>((resume) => {
          if (ws.readyState !== ws.OPEN) return resume(Effect.void)
          ws.send(text, () => resume(Effect.void))
        }),
      close: (code, reason) => Effect.sync(() => ws.close(code, reason)),
      proven: Effect.sync(settle)
    }
  })

export const layer = Layer.scopedDiscard(
  Effect.gen(function*() {
    const { port, serveUpgrades } = yield* Listener
    const config = yield* ServerConfig
    const bridge = yield* Bridge
    const run = yield* FiberSet.makeRuntime<never>()
    const warn = yield* Throttled.warning
    const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false })
    let unproven = 0

    const onUpgrade = (request: Http.IncomingMessage, socket: Net.Duplex, head: Buffer) => {
      const refused = refusal(request.headers, config.allowOrigins, port) ??
        (unproven >= UNPROVEN_CONNECTIONS ? `${UNPROVEN_CONNECTIONS} connections are already proving themselves` : undefined)
      if (refused !== undefined) {
        run(warn(`refused a WebSocket connection: ${refused}`))
        return respond(socket, refused.startsWith(String(UNPROVEN_CONNECTIONS)) ? "503 Service Unavailable" : "403 Forbidden")
      }
      // Counted until the peer proves itself or its socket closes (also when the upgrade never completes).
      unproven++
      let counted = true
      const settle = () => {
        if (!counted) return
        counted = false
        unproven--
      }
      socket.once("close", settle)
      wss.handleUpgrade(request, socket, head, (ws) => {
        run(Effect.flatMap(fromWebSocket(ws, socket, settle), bridge.serve))
      })
    }
    const detach = serveUpgrades(onUpgrade)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        detach()
        for (const ws of wss.clients) ws.close(CloseCode.ServerStopping, "server stopping")
        wss.close()
      })
    )
  })
)
