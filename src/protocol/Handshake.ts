/**
 * Same-user proof, both ways. Every server of a user and that user's extension share a
 * secret (32 random bytes, 0600, in the user's 0700 runtime directory; the extension
 * gets it from the native-messaging host, or from a one-time pairing). Each side proves
 * it holds the secret with HMAC-SHA256 over its role, the protocol version, the port the
 * extension dialled and both sides' fresh nonces, so a proof cannot be replayed, relayed
 * to another port, or turned around to the other role. WebCrypto on both sides (Node and
 * the MV3 worker), so there is one implementation.
 */
import { Effect, Schema } from "effect"

/** 32 random bytes, hex: the secret, nonces and proofs all have this form. */
export const Hex32 = Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/))

export type Role = "server" | "extension"

/** A WebCrypto HMAC key (named this way so Node's and the DOM's typings both fit). */
export type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>

export interface Transcript {
  readonly protocol: number
  readonly port: number
  readonly extensionNonce: string
  readonly serverNonce: string
}

const toHex = (bytes: ArrayBuffer | Uint8Array) =>
  Array.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("")

const fromHex = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16))

export const isHex32 = Schema.is(Hex32)

/** A fresh random value of 32 bytes, hex. */
export const randomHex32 = (): string => toHex(crypto.getRandomValues(new Uint8Array(32)))

/** The HMAC key for a secret (64 hex digits, already checked by whoever read it). */
export const importSecret = (secretHex: string): Effect.Effect<HmacKey> =>
  Effect.promise(() =>
    crypto.subtle.importKey("raw", fromHex(secretHex), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"])
  )

const message = (role: Role, t: Transcript) =>
  new TextEncoder().encode(`tabmux/${t.protocol}/${role}/${t.port}/${t.extensionNonce}/${t.serverNonce}`)

/** `role`'s proof for this transcript. */
export const prove = (key: HmacKey, role: Role, t: Transcript): Effect.Effect<string> =>
  Effect.promise(() => crypto.subtle.sign("HMAC", key, message(role, t))).pipe(Effect.map(toHex))

/** Whether `proof` is `role`'s proof for this transcript (constant-time: WebCrypto's verify). */
export const verify = (key: HmacKey, role: Role, t: Transcript, proof: string): Effect.Effect<boolean> =>
  isHex32(proof)
    ? Effect.promise(() => crypto.subtle.verify("HMAC", key, fromHex(proof), message(role, t)))
    : Effect.succeed(false)

/** The native-messaging host's name (`tabmux native-host`), as Chrome looks it up. */
export const NATIVE_HOST_NAME = "io.tabmux.host"

/**
 * What the native host tells the extension: the user's secret (again whenever it
 * changes), and the ports of the user's servers from the port registry.
 */
export const HostMessage = Schema.Union(
  Schema.Struct({ type: Schema.Literal("secret"), secret: Hex32 }),
  Schema.Struct({ type: Schema.Literal("servers"), ports: Schema.Array(Schema.Int.pipe(Schema.between(1, 65535))) }),
  /** The port range this browser's extension scans, when `tabmux browser --ports` chose one (a range saved in the options page wins). */
  Schema.Struct({ type: Schema.Literal("range"), first: Schema.Int.pipe(Schema.between(1, 65535)), last: Schema.Int.pipe(Schema.between(1, 65535)) }),
  Schema.Struct({ type: Schema.Literal("error"), message: Schema.String })
)
export type HostMessage = typeof HostMessage.Type
