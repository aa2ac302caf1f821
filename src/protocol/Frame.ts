/**
 * The frames that cross the WebSocket between a tabmux server and the extension.
 * Every frame is one JSON text message with a `type`; nothing is acted on before
 * it decodes here, on either side.
 */
import { Effect, ParseResult, Schema } from "effect"
import { CallFailure, FrameRefused } from "./Errors.js"
import { Hex32 } from "./Handshake.js"

/** Bumped on any change a peer of the previous version could misread. */
export const PROTOCOL_VERSION = 5

const frame = <T extends string, F extends Schema.Struct.Fields>(type: T, fields: F) =>
  Schema.Struct({ type: Schema.Literal(type), ...fields })

const CallId = Schema.Int.pipe(Schema.nonNegative())

/** extension → server, first frame; `nonce` is the extension's half of the same-user proof (see Handshake.ts). */
export const Hello = frame("hello", {
  protocol: Schema.Int,
  extensionVersion: Schema.String,
  browser: Schema.String,
  profile: Schema.optional(Schema.String),
  nonce: Hex32
})

/** server → extension, answer to `hello`: the server's nonce and its proof. Nothing of value: no identity, no token. */
export const Challenge = frame("challenge", { nonce: Hex32, proof: Hex32 })

/** extension → server, once the server's proof checked out: the extension's proof. Only then is it welcomed. */
export const Auth = frame("auth", { proof: Hex32 })

/** The colours Chrome gives tab groups; an agent's group has one. */
export const GROUP_COLORS = ["blue", "red", "yellow", "green", "pink", "purple", "cyan", "orange", "grey"] as const
export const GroupColor = Schema.Literal(...GROUP_COLORS)
export type GroupColor = typeof GroupColor.Type

/** What happens to an instance's own tabs when its server goes: closed, released to the user, or kept for a while. */
export const DisconnectPolicy = Schema.Literal("close", "release", "keep")
export type DisconnectPolicy = typeof DisconnectPolicy.Type

/**
 * server → extension, once the extension has proved itself (`auth`): who this server is. `token` lets a user match
 * it with `tabmux status`, and proves identity when the same server reconnects;
 * `resume` names an earlier server's token whose kept tabs this one takes over.
 */
export const Welcome = frame("welcome", {
  protocol: Schema.Int,
  instanceId: Schema.String,
  clientName: Schema.String,
  pid: Schema.Int,
  serverVersion: Schema.String,
  token: Schema.String,
  onDisconnect: DisconnectPolicy,
  graceSeconds: Schema.Number,
  resume: Schema.optional(Schema.String),
  /** The user allowed this server's agent `file:` URLs (`--allow-file-urls`). */
  allowFileUrls: Schema.optional(Schema.Boolean),
  /** Where the user lets this agent go (`--allowed-origins`, `--blocked-origins`): origins, `scheme://host[:port]`. */
  origins: Schema.optional(Schema.Struct({ allowed: Schema.Array(Schema.String), blocked: Schema.Array(Schema.String) })),
  /** The colour the user chose for this agent's tab group (`--session-color`); else one no other agent uses. */
  sessionColor: Schema.optional(GroupColor),
  /**
   * The first handle number the extension may issue to this server's agent: one past
   * every handle it has seen, so a restarted browser or worker never hands out a handle
   * the agent already knows for another tab.
   */
  nextHandle: Schema.optional(Schema.Int.pipe(Schema.positive()))
})

/** Either side, before closing: why the peer is refused (version mismatch, a failed proof; sealed after the proofs: server busy with another browser). */
export const Reject = frame("reject", {
  reason: Schema.Literal("protocol", "busy", "handshake", "auth"),
  message: Schema.String
})

/** The server's span of a call, sent only while the server exports traces: the extension hangs its own spans under it. */
export const TraceContext = Schema.Struct({ traceId: Schema.String, spanId: Schema.String })

/**
 * A span the extension measured while it handled a traced call: start and end in ms since
 * the epoch; `parent` is the index of its parent in the list, or -1 for the call's span.
 */
export const SpanRecord = Schema.Struct({
  name: Schema.String,
  parent: Schema.Int,
  start: Schema.Number,
  end: Schema.Number,
  failed: Schema.Boolean,
  attributes: Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.Number, Schema.Boolean) })
})
export type SpanRecord = typeof SpanRecord.Type

/** server → extension. */
export const Call = frame("call", {
  id: CallId,
  method: Schema.String,
  params: Schema.Unknown,
  trace: Schema.optional(TraceContext)
})

/**
 * server → extension: stop call `id` (its caller cancelled it or gave up). The call's
 * fiber is interrupted, which frees its tab at once; no result follows.
 */
export const Interrupt = frame("interrupt", { id: CallId })

/** extension → server, exactly one per call (none after an `interrupt`). */
export const Result = Schema.Union(
  frame("result", { id: CallId, ok: Schema.Literal(true), value: Schema.Unknown, spans: Schema.optional(Schema.Array(SpanRecord)) }),
  // Both sides share one catalogue of failures per protocol version (checked at the handshake).
  frame("result", { id: CallId, ok: Schema.Literal(false), error: CallFailure, spans: Schema.optional(Schema.Array(SpanRecord)) })
)

const event = <N extends string, D extends Schema.Struct.Fields>(name: N, data: D) =>
  frame("event", { name: Schema.Literal(name), data: Schema.Struct(data) })

/**
 * extension → server: something happened that no call asked about, or progress of a call
 * still running (e.g. waiting for a tab another agent leases). Tabs are named by handle.
 */
export const Event = Schema.Union(
  event("call.progress", { call: CallId, message: Schema.String }),
  /** The user closed one of the agent's tabs. */
  event("tab.closed", { tab: Schema.String }),
  /** A page of the agent opened a tab (a popup, a link to a new tab): it is the agent's too. */
  event("tab.opened", { tab: Schema.String, from: Schema.String }),
  /** The agent's lease on a tab ran out. */
  event("lease.expired", { tab: Schema.String }),
  /** The user disconnected the agent (tabmux popup): its connection ends next. */
  event("instance.disconnected", {})
)
export type Event = typeof Event.Type

/** Keepalive, either direction. JSON on purpose: protocol-level ping frames do not keep an MV3 worker alive. */
export const Ping = frame("ping", { at: Schema.Number })
export const Pong = frame("pong", { at: Schema.Number })

/** Either side: the frame you sent could not be decoded. Never closes the connection by itself. */
export const ErrorFrame = frame("error", { error: FrameRefused })

export const Frame = Schema.Union(Hello, Challenge, Auth, Welcome, Reject, Call, Interrupt, Result, Event, Ping, Pong, ErrorFrame)
export type Frame = typeof Frame.Type
export type Hello = typeof Hello.Type
export type Welcome = typeof Welcome.Type
export type Call = typeof Call.Type
export type Result = typeof Result.Type

/** A frame that is not JSON, or not one of ours. `excerpt` is the start of what arrived, for the log. */
export class BadFrame extends Schema.TaggedError<BadFrame>()("BadFrame", {
  reason: Schema.String,
  excerpt: Schema.String
}) {
  override get message() {
    return `bad frame: ${this.reason} (received: ${this.excerpt})`
  }
}

const FrameFromJson = Schema.parseJson(Frame)
const decodeFrameText = Schema.decodeUnknown(FrameFromJson, { errors: "first", onExcessProperty: "ignore" })
const encodeFrameText = Schema.encodeSync(FrameFromJson)

export const MAX_FRAME_BYTES = 32 * 1024 * 1024

/** Decode one text frame; anything else (binary, oversize, not JSON, unknown type) is a `BadFrame`. */
export const decodeFrame = (data: unknown): Effect.Effect<Frame, BadFrame> => {
  const excerpt = (s: string) => (s.length > 120 ? `${s.slice(0, 120)}…` : s)
  if (typeof data !== "string") {
    return Effect.fail(new BadFrame({ reason: "expected a JSON text frame", excerpt: `<${typeof data}>` }))
  }
  if (data.length > MAX_FRAME_BYTES) {
    return Effect.fail(new BadFrame({ reason: `frame larger than ${MAX_FRAME_BYTES} bytes`, excerpt: excerpt(data) }))
  }
  return decodeFrameText(data).pipe(
    Effect.mapError((e) =>
      new BadFrame({ reason: ParseResult.TreeFormatter.formatErrorSync(e), excerpt: excerpt(data) })
    )
  )
}

export const encodeFrame = (frame: Frame): string => encodeFrameText(frame)
