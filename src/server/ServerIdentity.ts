/**
 * Who this server is: a fresh instance id and token per run, the process identity, and
 * the MCP client's name (known only after `initialize`, so it is a SubscriptionRef the
 * registry and the extension follow).
 */
import { Clock, Context, Effect, Layer, SubscriptionRef } from "effect"
import * as Crypto from "node:crypto"
import * as Process from "./Process.js"
import { ServerConfig } from "./Config.js"

export class ServerIdentity extends Context.Tag("tabmux/ServerIdentity")<ServerIdentity, {
  readonly instanceId: string
  /** Shown in the welcome and by `tabmux status`, so a user can match a browser connection to a server. */
  readonly token: string
  readonly pid: number
  readonly processStartTime: string | undefined
  readonly startedAt: number
  readonly serverVersion: string
  readonly clientName: SubscriptionRef.SubscriptionRef<string>
}>() {}

export const DEFAULT_CLIENT_NAME = "tabmux"

export const layer = Layer.effect(
  ServerIdentity,
  Effect.gen(function*() {
    const config = yield* ServerConfig
    const me = yield* Process.currentProcess
    return {
      instanceId: Crypto.randomUUID(),
      token: Crypto.randomBytes(12).toString("base64url"),
      pid: me.pid,
      processStartTime: me.startTime,
      startedAt: yield* Clock.currentTimeMillis,
      serverVersion: config.serverVersion,
      clientName: yield* SubscriptionRef.make(DEFAULT_CLIENT_NAME)
    }
  })
)
