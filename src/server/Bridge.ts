/**
 * The server's side of the extension connection. One extension connection at a time
 * (a second browser is refused with a `busy` reject); each connection runs in its own
 * Scope: handshake (hello, then a same-user proof both ways: see protocol/Handshake.ts),
 * welcome, keepalive, frame dispatch. Nothing of value (identity, token, calls) is sent,
 * and the one extension slot is not given, before the peer has proved it holds the
 * user's secret. Calls are correlated by id
 * with a `Deferred` per call in a `Ref`; when the connection closes, the map is
 * closed and every pending call fails with `ExtensionDisconnected`, so every call ends.
 */
import {
  Cause,
  Clock,
  Context,
  Duration,
  Deferred,
  Effect,
  Exit,
  HashMap,
  Layer,
  type Mailbox,
  Option,
  ParseResult,
  PubSub,
  Ref,
  Schema,
  Stream,
  SubscriptionRef,
  type Tracer
} from "effect"
import { nodeCipher } from "./SessionCipher.js"
import * as Throttled from "./Throttled.js"
import {
  BadParams,
  type Call,
  decodeFrame,
  encodeFrame,
  type Event,
  type Frame,
  FrameRefused,
  Hello,
  type MethodName,
  type MethodSpec,
  Methods,
  type ParamsOf,
  PROTOCOL_VERSION,
  prove,
  randomHex32,
  type Result,
  Session,
  type ResultOf,
  type SpanRecord,
  verify
} from "../protocol/index.js"
import {
  type CallError,
  CallTimeout,
  ExtensionCallFailed,
  ExtensionDisconnected,
  ExtensionNotConnected,
  ProtocolMismatch
} from "./BridgeErrors.js"
import { ServerConfig } from "./Config.js"
import { extensionDir } from "./Extension.js"
import { ServerIdentity } from "./ServerIdentity.js"
import { UserSecret } from "./UserSecret.js"

/**
 * Whether calls carry their trace context to the extension, which then sends back the spans
 * it measured (set by the OpenTelemetry export, Telemetry.ts; off by default).
 */
export class ExportSpans extends Context.Reference<ExportSpans>()("tabmux/ExportSpans", { defaultValue: () => false }) {}

const nanos = (ms: number) => BigInt(Math.round(ms * 1_000_000))

/** Re-creates the extension's spans of one call under the call's span, with the extension's own timings. */
const replaySpans = (parent: Tracer.Span, spans: ReadonlyArray<SpanRecord>) =>
  Effect.flatMap(Effect.tracer, (tracer) =>
    Effect.sync(() => {
      const made: Array<Tracer.Span> = []
      for (const s of spans) {
        const up = s.parent >= 0 && s.parent < made.length ? made[s.parent]! : parent
        const span = tracer.span(s.name, Option.some(up), Context.empty(), [], nanos(s.start), "internal")
        for (const [key, value] of Object.entries(s.attributes)) span.attribute(key, value)
        span.attribute("tabmux.side", "extension")
        span.end(nanos(Math.max(s.start, s.end)), s.failed ? Exit.fail(s.name) : Exit.void)
        made.push(span)
      }
    }))

/** A message channel to one peer, whatever carries it (a WebSocket, or memory in tests). */
export interface Transport {
  /** Messages as received (text, or a Buffer for binary frames); ends when the peer goes. */
  readonly incoming: Mailbox.ReadonlyMailbox<unknown>
  /** A text frame (the handshake) or a binary one (a sealed frame). */
  readonly send: (data: string | Uint8Array) => Effect.Effect<void>
  readonly close: (code: number, reason: string) => Effect.Effect<void>
  /** The peer proved itself: the limits that hold strangers before the proof may be lifted. */
  readonly proven?: Effect.Effect<void>
}

/** What the extension tells of the agent's tabs (progress and disconnection are the Bridge's own). */
export type EventFrame = Exclude<Event, { name: "call.progress" | "instance.disconnected" }>

export interface ExtensionInfo {
  readonly hello: Hello
  readonly connectedAt: number
}

export class Bridge extends Context.Tag("tabmux/Bridge")<Bridge, {
  /** Runs one method on the extension: waits a little for it, validates both ways, times out per method, never retries. */
  readonly call: <M extends MethodName>(method: M, params: ParamsOf<M>) => Effect.Effect<ResultOf<M>, CallError>
  /** The connected extension, if any, now and as it changes. */
  readonly extension: Effect.Effect<Option.Option<ExtensionInfo>>
  readonly extensionChanges: Stream.Stream<Option.Option<ExtensionInfo>>
  readonly events: Stream.Stream<EventFrame>
  /** Serves one connection until it ends. */
  readonly serve: (transport: Transport) => Effect.Effect<void>
}>() {}

/** Close codes we send. */
export const CloseCode = { Normal: 1000, Rejected: 4000, KeepaliveTimeout: 4001, ServerStopping: 1001 } as const

interface Pending {
  readonly method: string
  readonly deferred: Deferred.Deferred<Result, ExtensionDisconnected>
  readonly progress: Option.Option<CallProgress["Type"]>
}

/**
 * Where a call's progress goes while it runs (the MCP layer provides it per tool call
 * when the client asked for progress). Calls made without it report nothing.
 */
export class CallProgress extends Context.Tag("tabmux/CallProgress")<CallProgress, (message: string) => Effect.Effect<void>>() {}

interface Link extends ExtensionInfo {
  /** Pings, pongs, interrupts, refusals: small by construction. */
  readonly send: (frame: Frame) => Effect.Effect<void>
  /** A call, which may be too large to send (then it fails alone). */
  readonly sendCall: Session.Session["send"]
  readonly receive: Session.Session["receive"]
  /** `None` once the connection is closed: registering a call then fails at once. */
  readonly pending: Ref.Ref<Option.Option<HashMap.HashMap<number, Pending>>>
  readonly nextId: Ref.Ref<number>
  readonly missedPongs: Ref.Ref<number>
}

/** The highest `tN` a result names, in its `tab` or its `tabs[].tab` (0 if none). */
const highestHandle = (value: unknown): number => {
  const numberOf = (h: unknown) => (typeof h === "string" && /^t\d+$/.test(h) ? Number(h.slice(1)) : 0)
  if (typeof value !== "object" || value === null) return 0
  const v = value as { tab?: unknown; tabs?: unknown }
  const listed = Array.isArray(v.tabs) ? v.tabs.map((t) => numberOf((t as { tab?: unknown } | null)?.tab)) : []
  return Math.max(numberOf(v.tab), ...listed)
}

const decodeHello = Schema.decodeUnknownOption(Schema.parseJson(Hello), { onExcessProperty: "ignore" })

const decodeHelloVersion = Schema.decodeUnknownOption(
  Schema.parseJson(Schema.Struct({ type: Schema.Literal("hello"), protocol: Schema.Int }))
)

const formatIssue = (e: ParseResult.ParseError) => ParseResult.TreeFormatter.formatErrorSync(e)

export const make = (options: { readonly port: number }) =>
  Effect.gen(function*() {
    const config = yield* ServerConfig
    const identity = yield* ServerIdentity
    const { key } = yield* UserSecret
    const warnRefused = yield* Throttled.warning
    /** The highest tab handle number any result has named (see the welcome's `nextHandle`). */
    const handlesSeen = yield* Ref.make(0)
    const active = yield* SubscriptionRef.make(Option.none<Link>())
    const events = yield* PubSub.unbounded<EventFrame>()

    /**
     * The connected extension. When there is none, the first call waits for one up to
     * `connectWait`; once a wait has run out, later calls fail at once with the same
     * advice, until an extension connects (agents should not wait 5 s per call for a
     * browser that is not there).
     */
    const awaitLink = (method: string) =>
      Effect.flatMap(SubscriptionRef.get(active), Option.match({ onSome: Effect.succeed, onNone: () => waitForLink(method) }))

    const waitedInVain = yield* Ref.make(false)
    /** The user disconnected this agent in the browser: calls fail at once, saying so. */
    const disconnectedByUser = yield* Ref.make(false)
    /** A peer failed the same-user proof since the last extension connected: the likely cause of "not connected". */
    const proofFailed = yield* Ref.make(false)

    const waitForLink = (method: string) => {
      const notConnected = (waited: Duration.Duration, byUser = false) =>
        Effect.map(Ref.get(proofFailed), (unpaired) =>
          new ExtensionNotConnected({ method, port: options.port, range: config.ports, waited, extensionDir, byUser, unpaired }))
      return Effect.flatMap(Effect.all([Ref.get(waitedInVain), Ref.get(disconnectedByUser)]), ([gaveUp, byUser]) =>
        byUser ? Effect.flip(notConnected(Duration.zero, true)) : gaveUp ? Effect.flip(notConnected(Duration.zero)) : active.changes.pipe(
          Stream.filterMap((l) => l),
          Stream.runHead,
          Effect.flatten,
          Effect.timeout(config.connectWait),
          Effect.catchTag("TimeoutException", () => Effect.flip(notConnected(config.connectWait))),
          Effect.tapError(() => Ref.set(waitedInVain, true)),
          Effect.catchTag("NoSuchElementException", () => Effect.die("extension state stream ended"))
        ))
    }

    const call = <M extends MethodName>(method: M, params: ParamsOf<M>): Effect.Effect<ResultOf<M>, CallError> =>
      Effect.gen(function*() {
        const spec: MethodSpec = Methods[method]
        const encoded = yield* Schema.encodeUnknown(spec.params)(params).pipe(
          Effect.mapError((e) => new ProtocolMismatch({ method, direction: "params", issue: formatIssue(e) }))
        )
        const link = yield* awaitLink(method)
        const id = yield* Ref.getAndUpdate(link.nextId, (n) => n + 1)
        const deferred = yield* Deferred.make<Result, ExtensionDisconnected>()
        const progress = yield* Effect.serviceOption(CallProgress)
        const registered = yield* Ref.modify(link.pending, (p) =>
          Option.isNone(p)
            ? [false, p] as const
            : [true, Option.some(HashMap.set(p.value, id, { method, deferred, progress }))] as const)
        if (!registered) return yield* new ExtensionDisconnected({ method })
        const parent = (yield* ExportSpans) ? yield* Effect.option(Effect.currentSpan) : Option.none<Tracer.Span>()
        const frame: Call = {
          type: "call",
          id,
          method,
          params: encoded,
          ...Option.match(parent, { onNone: () => ({}), onSome: (span) => ({ trace: { traceId: span.traceId, spanId: span.spanId } }) })
        }
        yield* Effect.logDebug(`call ${id} ${method}`)
        const timeout = spec.timeout(params)
        const result = yield* link.sendCall(frame).pipe(
          Effect.catchTag("FrameTooLarge", (e) =>
            new ExtensionCallFailed({ method, error: new BadParams({ message: `arguments too large: ${e.message}` }) })),
          Effect.zipRight(Deferred.await(deferred)),
          Effect.timeoutFail({ duration: timeout, onTimeout: () => new CallTimeout({ method, timeout }) }),
          // Cancelled by the client, or timed out: the extension stops the call and frees its tab at once.
          Effect.onExit((exit) => {
            const gone = Exit.isFailure(exit) && Option.exists(Cause.failureOption(exit.cause), (e) => e._tag === "ExtensionDisconnected")
            return Exit.isSuccess(exit) || gone ? Effect.void : link.send({ type: "interrupt", id })
          }),
          Effect.ensuring(Ref.update(link.pending, Option.map(HashMap.remove(id))))
        )
        if (Option.isSome(parent) && result.spans !== undefined) yield* replaySpans(parent.value, result.spans)
        if (!result.ok) return yield* new ExtensionCallFailed({ method, error: result.error })
        const value = yield* Schema.decodeUnknown(spec.result)(result.value).pipe(
          Effect.mapError((e) => new ProtocolMismatch({ method, direction: "result", issue: formatIssue(e) }))
        )
        yield* Ref.update(handlesSeen, (n) => Math.max(n, highestHandle(value)))
        return value as ResultOf<M>
      }).pipe(Effect.withSpan("Bridge.call", { attributes: { method } }))

    /**
     * Refuses a peer. Refusals are logged at most once a minute (with a count of those
     * not logged), so a peer that keeps failing cannot flood the log.
     */
    const reject = (
      transport: Transport,
      reason: "protocol" | "busy" | "handshake" | "auth",
      message: string,
      send: (frame: Frame) => Effect.Effect<void> = (frame) => transport.send(encodeFrame(frame))
    ) =>
      Effect.gen(function*() {
        if (reason === "auth") yield* Ref.set(proofFailed, true)
        yield* warnRefused(`refused an extension connection (${reason}): ${message}`)
        yield* send({ type: "reject", reason, message })
        yield* transport.close(CloseCode.Rejected, reason)
      })

    const badFrame = (send: (f: Frame) => Effect.Effect<void>, message: string) =>
      Effect.logWarning(`extension frame refused: ${message}`).pipe(
        Effect.zipRight(send({ type: "error", error: new FrameRefused({ message }) }))
      )

    /** The peer's next message within the handshake timeout, as it came. */
    const nextMessage = (transport: Transport) => transport.incoming.take.pipe(Effect.timeout(config.handshakeTimeout), Effect.option)

    /**
     * The same-user proof, server side: send our nonce and proof, then expect the
     * extension's proof over the same transcript. When it checks out, the sealed session
     * keyed by this handshake (protocol/Session.ts); nothing after it crosses in the clear.
     */
    const authenticate = (transport: Transport, hello: Hello, helloText: string) =>
      Effect.gen(function*() {
        const transcript = { protocol: PROTOCOL_VERSION, port: options.port, extensionNonce: hello.nonce, serverNonce: randomHex32() }
        const challenge = encodeFrame({ type: "challenge", nonce: transcript.serverNonce, proof: yield* prove(key, "server", transcript) })
        yield* transport.send(challenge)
        const authText = Option.filter(yield* nextMessage(transport), (d): d is string => typeof d === "string" && d.length <= Session.UNPROVEN_FRAME_CHARS)
        if (Option.isNone(authText)) return Option.none()
        const auth = yield* Effect.option(decodeFrame(authText.value))
        if (Option.isNone(auth) || auth.value.type !== "auth") return Option.none()
        if (!(yield* verify(key, "extension", transcript, auth.value.proof))) return Option.none()
        return Option.some(
          yield* Session.openSession("server", key, {
            port: options.port,
            extensionNonce: hello.nonce,
            serverNonce: transcript.serverNonce,
            frames: [helloText, challenge, authText.value]
          }, nodeCipher, transport.send)
        )
      })

    const dispatch = (link: Link) => (data: unknown) =>
      link.receive(data).pipe(
        Effect.flatMap((frame): Effect.Effect<void> => {
          switch (frame.type) {
            case "result":
              return Ref.get(link.pending).pipe(
                Effect.map(Option.flatMap(HashMap.get(frame.id))),
                Effect.flatMap(Option.match({
                  onNone: () => Effect.logDebug(`result for unknown or finished call ${frame.id} ignored`),
                  onSome: (p) => Effect.asVoid(Deferred.succeed(p.deferred, frame))
                }))
              )
            case "ping":
              return link.send({ type: "pong", at: frame.at })
            case "pong":
              return Ref.set(link.missedPongs, 0)
            case "event":
              switch (frame.name) {
                case "call.progress":
                  return reportProgress(link, frame.data)
                case "instance.disconnected":
                  return Effect.zipRight(Ref.set(disconnectedByUser, true), Effect.logWarning("the user disconnected this agent in the browser (tabmux popup)"))
                default:
                  return PubSub.publish(events, frame)
              }
            case "error":
              return Effect.logWarning(`the extension refused a frame we sent: ${frame.error.message}`)
            default:
              return badFrame(link.send, `unexpected "${frame.type}" frame after the handshake`)
          }
        }),
        Effect.catchTag("BadFrame", (e) => badFrame(link.send, e.message))
      )

    /** Hands a `call.progress` event to the call it names, if that call asked for progress. */
    const reportProgress = (link: Link, { call, message }: { readonly call: number; readonly message: string }) =>
      Effect.flatMap(Ref.get(link.pending), (pending) =>
        Option.match(Option.flatMap(Option.flatMap(pending, HashMap.get(call)), (p) => p.progress), {
          onNone: () => Effect.void,
          onSome: (report) => report(message)
        }))

    /** Sends a ping every interval; ends when `keepaliveMisses` pings in a row went unanswered. */
    const keepalive = (link: Link) =>
      Effect.gen(function*() {
        while (true) {
          yield* Effect.sleep(config.keepaliveInterval)
          const missed = yield* Ref.getAndUpdate(link.missedPongs, (n) => n + 1)
          if (missed >= config.keepaliveMisses) return
          yield* link.send({ type: "ping", at: yield* Clock.currentTimeMillis })
        }
      })

    /** Tells the extension the MCP client's name when it changes from the one the welcome carried. */
    const followClientName = (welcomed: string) =>
      identity.clientName.changes.pipe(
        Stream.changes,
        Stream.dropWhile((name) => name === welcomed),
        Stream.runForEach((clientName) =>
          call("instance.update", { clientName }).pipe(
            Effect.catchAll((e) => Effect.logDebug(`instance.update not delivered: ${e.message}`))
          )
        )
      )

    const closeLink = (link: Link) =>
      Effect.gen(function*() {
        yield* SubscriptionRef.update(active, (cur) => (Option.exists(cur, (l) => l === link) ? Option.none() : cur))
        const pending = yield* Ref.getAndSet(link.pending, Option.none())
        yield* Effect.forEach(
          Option.match(pending, { onNone: () => [], onSome: HashMap.values }),
          (p) => Deferred.fail(p.deferred, new ExtensionDisconnected({ method: p.method })),
          { discard: true }
        )
      })

    const serve = (transport: Transport): Effect.Effect<void> =>
      Effect.gen(function*() {
        yield* Effect.addFinalizer(() => transport.close(CloseCode.Normal, "closed"))
        const first = yield* nextMessage(transport)
        // Read the version before the rest: an older or newer hello may not decode as ours.
        const protocol = Option.map(Option.flatMap(first, decodeHelloVersion), (h) => h.protocol)
        if (Option.isSome(protocol) && protocol.value !== PROTOCOL_VERSION) {
          const newer = protocol.value > PROTOCOL_VERSION ? "extension" : "server"
          return yield* reject(
            transport,
            "protocol",
            `the extension speaks protocol ${protocol.value}, this server ${PROTOCOL_VERSION}: ` +
              `update the ${newer === "extension" ? "server" : "extension"} so both match`
          )
        }
        const helloText = Option.filter(first, (d): d is string => typeof d === "string" && d.length <= Session.UNPROVEN_FRAME_CHARS)
        const hello = Option.flatMap(helloText, decodeHello)
        if (Option.isNone(helloText) || Option.isNone(hello)) {
          return yield* reject(transport, "handshake", "expected a hello frame first")
        }
        const session = yield* authenticate(transport, hello.value, helloText.value)
        if (Option.isNone(session)) {
          return yield* reject(
            transport,
            "auth",
            "the peer did not prove it belongs to this user (no valid proof of the user's secret). " +
              "If this is your tabmux extension: run `tabmux install` (native-messaging host) or pair it with `tabmux pair`, then reload it"
          )
        }
        if (transport.proven !== undefined) yield* transport.proven
        const { receive } = session.value
        const send = (frame: Frame) => session.value.send(frame).pipe(Effect.orDie)
        const link: Link = {
          hello: hello.value,
          connectedAt: yield* Clock.currentTimeMillis,
          send,
          sendCall: session.value.send,
          receive,
          pending: yield* Ref.make(Option.some(HashMap.empty<number, Pending>())),
          nextId: yield* Ref.make(1),
          missedPongs: yield* Ref.make(0)
        }
        const taken = yield* SubscriptionRef.modify(active, (cur) =>
          Option.isSome(cur) ? [false, cur] as const : [true, Option.some(link)] as const)
        if (!taken) {
          return yield* reject(transport, "busy", "this server is already connected to another browser profile", send)
        }
        yield* Ref.set(waitedInVain, false)
        yield* Ref.set(proofFailed, false)
        yield* Effect.addFinalizer(() => closeLink(link))
        // A name the user gave this agent (--session-name) stays; else the MCP client's, followed as it becomes known.
        const clientName = config.sessionName ?? (yield* identity.clientName.get)
        yield* send({
          type: "welcome",
          protocol: PROTOCOL_VERSION,
          instanceId: identity.instanceId,
          clientName,
          pid: identity.pid,
          serverVersion: identity.serverVersion,
          token: identity.token,
          onDisconnect: config.onDisconnect,
          graceSeconds: Duration.toSeconds(config.keepGrace),
          allowFileUrls: config.allowFileUrls,
          ...(config.sessionColor === undefined ? {} : { sessionColor: config.sessionColor }),
          ...(config.origins === undefined ? {} : { origins: config.origins }),
          nextHandle: (yield* Ref.get(handlesSeen)) + 1,
          ...(config.resume === undefined ? {} : { resume: config.resume })
        })
        yield* Effect.logInfo(`extension connected (${hello.value.browser}, extension ${hello.value.extensionVersion})`)
        if (config.sessionName === undefined) yield* Effect.forkScoped(followClientName(clientName))
        const reading = transport.incoming.take.pipe(
          Effect.flatMap(dispatch(link)),
          Effect.forever,
          Effect.catchTags({
            NoSuchElementException: () => Effect.logInfo("extension disconnected"),
            SessionBroken: (e) => Effect.logWarning(e.message)
          })
        )
        const silent = keepalive(link).pipe(
          Effect.zipRight(Effect.logWarning(`no keepalive answer for ${config.keepaliveMisses} intervals: closing the connection`)),
          Effect.zipRight(transport.close(CloseCode.KeepaliveTimeout, "keepalive timeout"))
        )
        yield* Effect.raceFirst(reading, silent)
      }).pipe(Effect.scoped, Effect.catchAllCause((cause) => Effect.logError("extension connection failed", cause)))

    return Bridge.of({
      call,
      extension: SubscriptionRef.get(active).pipe(Effect.map(Option.map((l) => ({ hello: l.hello, connectedAt: l.connectedAt })))),
      extensionChanges: active.changes.pipe(Stream.map(Option.map((l) => ({ hello: l.hello, connectedAt: l.connectedAt })))),
      events: Stream.fromPubSub(events),
      serve
    })
  })

/** The Bridge without a listener: tests and embedders feed it transports through `serve`. */
export const layerWithoutListener = (options: { readonly port: number }) => Layer.effect(Bridge, make(options))
