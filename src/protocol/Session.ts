/**
 * The sealed session (invariant 14). The same-user proofs cover the port and both nonces,
 * not the connection: another user who holds the extension's hello on a port before the
 * user's server binds it could relay both proofs. So once both proofs checked out, each
 * side derives two keys from the secret and the whole handshake (HKDF, RFC 5869: the
 * extract step is HMAC keyed by the secret over the transcript, the expand step one
 * block per direction), and every later frame crosses as one binary message sealed with
 * AES-256-GCM under its direction's key, its 96-bit IV the direction's frame counter.
 * A relay carries ciphertext only; a frame replayed, dropped, reordered, reflected or
 * altered does not open, and the connection ends.
 *
 * The extension seals with WebCrypto (`webCipher`); the server with `node:crypto`,
 * synchronously (src/server/SessionCipher.ts). Both sides drive the same handshake
 * functions here, so there is one definition of what is proved and what is keyed.
 */
import { Data, Effect, Option } from "effect"
import { type BadFrame, decodeFrame, encodeFrame, type Frame, MAX_FRAME_BYTES, PROTOCOL_VERSION, type Welcome } from "./Frame.js"
import { type HmacKey, prove, randomHex32, verify } from "./Handshake.js"

/** The two keys of one session, 32 bytes each. */
export interface SessionKeys {
  readonly serverToExtension: Uint8Array
  readonly extensionToServer: Uint8Array
}

/** Everything both sides saw of the handshake, byte for byte, before the first sealed frame. */
export interface HandshakeRecord {
  readonly port: number
  readonly extensionNonce: string
  readonly serverNonce: string
  /** The hello, challenge and auth frames exactly as they were sent. */
  readonly frames: readonly [hello: string, challenge: string, auth: string]
}

const utf8 = new TextEncoder()

/** WebCrypto takes views of plain ArrayBuffers; ours never are shared. */
const view = (bytes: Uint8Array) => bytes as Uint8Array<ArrayBuffer>

const hmac = (key: HmacKey, data: Uint8Array) =>
  Effect.promise(() => crypto.subtle.sign("HMAC", key, view(data))).pipe(Effect.map((b) => new Uint8Array(b)))

const importHmac = (raw: Uint8Array) =>
  Effect.promise(() => crypto.subtle.importKey("raw", view(raw), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]))

/**
 * The session's keys: PRK = HMAC(secret, transcript), then one HKDF-Expand block per
 * direction, labelled with the role that sends. The transcript names the protocol
 * version, the dialled port, both nonces, and a digest of the three handshake frames.
 */
export const deriveKeys = (secret: HmacKey, record: HandshakeRecord): Effect.Effect<SessionKeys> =>
  Effect.gen(function*() {
    const digest = new Uint8Array(
      yield* Effect.promise(() => crypto.subtle.digest("SHA-256", utf8.encode(record.frames.join("\u0000"))))
    )
    const transcript = utf8.encode(
      `tabmux/${PROTOCOL_VERSION}/session/${record.port}/${record.extensionNonce}/${record.serverNonce}/` +
        Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")
    )
    const prk = yield* importHmac(yield* hmac(secret, transcript))
    const expand = (label: string) => hmac(prk, utf8.encode(`${label}\u0001`))
    return {
      serverToExtension: yield* expand("tabmux server to extension"),
      extensionToServer: yield* expand("tabmux extension to server")
    }
  })

/** The IV of frame `n` of a direction: 4 zero bytes, then n as a 64-bit big-endian integer. */
export const ivOf = (n: number): Uint8Array => {
  const iv = new Uint8Array(12)
  new DataView(iv.buffer).setBigUint64(4, BigInt(n))
  return iv
}

/** AES-256-GCM's tag length, appended to each sealed frame. */
export const TAG_BYTES = 16

/** One direction's sealing or opening, counter kept inside. Calls of one cipher must not overlap. */
export interface Cipher {
  /** Seals the next frame of this direction. */
  readonly seal: (plain: Uint8Array) => Effect.Effect<Uint8Array>
  /** Opens the next frame of this direction; `None` when it is not exactly that frame. */
  readonly open: (sealed: Uint8Array) => Effect.Effect<Option.Option<Uint8Array>>
}

/** How one side makes a cipher from a key: WebCrypto (`webCipher`) or node:crypto (the server). */
export type CipherFactory = (key: Uint8Array) => Effect.Effect<Cipher>

/** AES-256-GCM with WebCrypto (the extension's worker; tests that play the extension). */
export const webCipher: CipherFactory = (raw) =>
  Effect.map(
    Effect.promise(() => crypto.subtle.importKey("raw", view(raw), "AES-GCM", false, ["encrypt", "decrypt"])),
    (key) => {
      let sealed = 0
      let opened = 0
      return {
        seal: (plain) =>
          Effect.suspend(() => {
            const iv = ivOf(sealed++)
            return Effect.promise(() => crypto.subtle.encrypt({ name: "AES-GCM", iv: view(iv) }, key, view(plain)))
          }).pipe(Effect.map((b) => new Uint8Array(b))),
        open: (data) =>
          Effect.suspend(() => {
            const iv = ivOf(opened)
            return Effect.tryPromise(() => crypto.subtle.decrypt({ name: "AES-GCM", iv: view(iv) }, key, view(data))).pipe(
              Effect.map((b) => {
                opened++
                return Option.some(new Uint8Array(b))
              }),
              Effect.orElseSucceed(() => Option.none())
            )
          })
      }
    }
  )

/** A sealed frame did not open: altered, replayed, reordered, reflected, or not sealed at all. The connection ends. */
export class SessionBroken extends Data.TaggedError("SessionBroken")<{ readonly reason: string }> {
  override get message() {
    return `sealed session broken: ${this.reason}; the connection is closed`
  }
}

/** A frame larger than the wire carries (`MAX_FRAME_BYTES`): not sent; the call it answers fails alone. */
export class FrameTooLarge extends Data.TaggedError("FrameTooLarge")<{ readonly bytes: number }> {
  override get message() {
    return `the answer is ${(this.bytes / 1024 / 1024).toFixed(1)} MB, more than the ${MAX_FRAME_BYTES / 1024 / 1024} MB a frame may carry: ask for less (a part of the page, a smaller value, a file)`
  }
}

/** The sealed frames of one connection, as one side sees them. */
export interface Session {
  /** Seals and writes a frame; frames are written in the order their sends began. One too large is refused, not sent. */
  readonly send: (frame: Frame) => Effect.Effect<void, FrameTooLarge>
  /** Opens and decodes a message received after the handshake. */
  readonly receive: (data: unknown) => Effect.Effect<Frame, SessionBroken | BadFrame>
}

/** The bytes of a binary message, whatever the runtime delivered it as. */
const bytesOf = (data: unknown): Uint8Array | undefined =>
  data instanceof Uint8Array ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : undefined

const utf8Decoder = new TextDecoder("utf-8", { fatal: true })

/** A session over `write`, sealing with `outgoing` and opening with `incoming`. */
export const makeSession = (
  outgoing: Cipher,
  incoming: Cipher,
  write: (bytes: Uint8Array) => Effect.Effect<void>
): Effect.Effect<Session> =>
  Effect.map(Effect.makeSemaphore(1), (writing) => ({
    // The counter is taken and the frame written under one permit: the wire order is the counter order.
    send: (frame) => {
      const plain = utf8.encode(encodeFrame(frame))
      return plain.length + TAG_BYTES > MAX_FRAME_BYTES
        ? Effect.fail(new FrameTooLarge({ bytes: plain.length }))
        : writing.withPermits(1)(Effect.flatMap(outgoing.seal(plain), write))
    },
    receive: (data) => {
      const bytes = bytesOf(data)
      if (bytes === undefined) return Effect.fail(new SessionBroken({ reason: "a text frame arrived where only sealed frames may" }))
      if (bytes.length < TAG_BYTES) return Effect.fail(new SessionBroken({ reason: "a frame too short to be sealed" }))
      return incoming.open(bytes).pipe(
        Effect.flatMap(Option.match({
          onNone: () =>
            Effect.fail(new SessionBroken({ reason: "a frame did not open (altered, replayed, reordered, reflected, or not from the peer that proved itself)" })),
          onSome: (plain) => Effect.try({ try: () => utf8Decoder.decode(plain), catch: () => new SessionBroken({ reason: "a sealed frame is not UTF-8" }) })
        })),
        Effect.flatMap(decodeFrame)
      )
    }
  }))

/** The session of one side, once the proofs checked out. */
export const openSession = (
  role: "server" | "extension",
  secret: HmacKey,
  record: HandshakeRecord,
  cipher: CipherFactory,
  write: (bytes: Uint8Array) => Effect.Effect<void>
): Effect.Effect<Session> =>
  Effect.gen(function*() {
    const keys = yield* deriveKeys(secret, record)
    const [mine, theirs] = role === "server"
      ? [keys.serverToExtension, keys.extensionToServer]
      : [keys.extensionToServer, keys.serverToExtension]
    return yield* makeSession(yield* cipher(mine), yield* cipher(theirs), write)
  })

/** The largest frame either side reads before the peer has proved itself (a hello, a challenge, an auth: well under 1 KiB). */
export const UNPROVEN_FRAME_CHARS = 4 * 1024

/** A message channel before the session is sealed. */
export interface Channel {
  readonly send: (data: string | Uint8Array) => Effect.Effect<void>
  /** The next message within the handshake's deadline; `None` when none came or the peer left. */
  readonly next: Effect.Effect<Option.Option<unknown>>
}

/** How the extension's side of a handshake ended. */
export type ExtensionHandshake =
  | { readonly _tag: "Welcomed"; readonly welcome: Welcome; readonly session: Session }
  | { readonly _tag: "Rejected"; readonly reason: string }

/**
 * The extension's side of the handshake: hello with a fresh nonce; check the server's
 * proof (until it checks out nothing it says is obeyed, and nothing is proved to it);
 * answer with ours; from then on, sealed frames only, the first of them the welcome.
 */
export const asExtension = (
  channel: Channel,
  options: {
    readonly secret: HmacKey
    readonly port: number
    readonly extensionVersion: string
    readonly browser: string
    readonly cipher: CipherFactory
  }
): Effect.Effect<ExtensionHandshake> =>
  Effect.gen(function*() {
    const rejected = (reason: string): ExtensionHandshake => ({ _tag: "Rejected", reason })
    const extensionNonce = randomHex32()
    const hello = encodeFrame({
      type: "hello",
      protocol: PROTOCOL_VERSION,
      extensionVersion: options.extensionVersion,
      browser: options.browser,
      nonce: extensionNonce
    })
    yield* channel.send(hello)
    // Before the proof a peer is a stranger: its answer is a small text frame, or nothing is read of it.
    const challengeText = Option.filter(yield* channel.next, (d): d is string => typeof d === "string" && d.length <= UNPROVEN_FRAME_CHARS)
    const challenge = yield* Option.match(challengeText, {
      onNone: () => Effect.succeedNone,
      onSome: (text) => Effect.option(decodeFrame(text))
    })
    if (Option.isSome(challenge) && challenge.value.type === "reject") {
      return rejected(`${challenge.value.reason}: ${challenge.value.message}`)
    }
    if (Option.isNone(challengeText) || Option.isNone(challenge) || challenge.value.type !== "challenge") {
      return rejected("no challenge (not a tabmux server?)")
    }
    const transcript = { protocol: PROTOCOL_VERSION, port: options.port, extensionNonce, serverNonce: challenge.value.nonce }
    if (!(yield* verify(options.secret, "server", transcript, challenge.value.proof))) {
      return rejected("it could not prove it is one of this user's tabmux servers (another user's, or a server with another secret): ignored")
    }
    const auth = encodeFrame({ type: "auth", proof: yield* prove(options.secret, "extension", transcript) })
    yield* channel.send(auth)
    const session = yield* openSession(
      "extension",
      options.secret,
      { port: options.port, extensionNonce, serverNonce: transcript.serverNonce, frames: [hello, challengeText.value, auth] },
      options.cipher,
      channel.send
    )
    // Everything after the proofs is sealed, the server's answer (welcome, or a busy reject) included.
    const answer = yield* channel.next
    if (Option.isNone(answer)) return rejected("no welcome after the proof")
    const first = yield* Effect.either(session.receive(answer.value))
    if (first._tag === "Left") return rejected(first.left.message)
    if (first.right.type === "reject") return rejected(`${first.right.reason}: ${first.right.message}`)
    if (first.right.type !== "welcome") return rejected(`expected a welcome, got "${first.right.type}"`)
    return { _tag: "Welcomed", welcome: first.right, session }
  })
