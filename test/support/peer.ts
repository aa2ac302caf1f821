/**
 * The extension's side of the handshake over a real WebSocket (the `ws` package), for
 * tests and benchmarks that play the extension: hello with a fresh nonce, check the
 * server's proof, answer with ours. `frames` is where the caller collects what arrives.
 */
import { Effect } from "effect"
import type WebSocket from "ws"
import { importSecret, PROTOCOL_VERSION, prove, randomHex32, verify } from "../../src/protocol/index.js"
import * as UserSecret from "../../src/server/UserSecret.js"
import { waitFor } from "./server.js"

/** The secret of the servers on `dir` (created when missing, as a server would). */
export const secretOf = (dir: string) => Effect.runPromise(UserSecret.readOrCreate(dir))

export const proveAsExtension = async (
  ws: WebSocket,
  frames: ReadonlyArray<any>,
  options: { readonly port: number; readonly secret: string; readonly browser?: string }
): Promise<any> => {
  const key = await Effect.runPromise(importSecret(options.secret))
  const extensionNonce = randomHex32()
  ws.send(JSON.stringify({ type: "hello", protocol: PROTOCOL_VERSION, extensionVersion: "0.1.0", browser: options.browser ?? "TestPeer 1", nonce: extensionNonce }))
  const challenge = await waitFor(() => frames.find((f) => f.type === "challenge" || f.type === "reject"))
  if (challenge.type === "reject") return challenge
  const transcript = { protocol: PROTOCOL_VERSION, port: options.port, extensionNonce, serverNonce: challenge.nonce }
  if (!(await Effect.runPromise(verify(key, "server", transcript, challenge.proof)))) {
    throw new Error(`the server on port ${options.port} did not prove it holds the secret`)
  }
  ws.send(JSON.stringify({ type: "auth", proof: await Effect.runPromise(prove(key, "extension", transcript)) }))
  return waitFor(() => frames.find((f) => f.type === "welcome" || f.type === "reject"))
}
