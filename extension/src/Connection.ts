/**
 * The extension's side of one server connection: open the WebSocket, say hello, bind
 * the instance to this socket on the welcome, run calls (concurrently; each tab's lock
 * orders them), answer pings, forward events, and watch for silence. When the socket
 * closes, the instance's scope closes: its tabs are handled, then its locks released.
 */
import { Clock, Deferred, Duration, Effect, FiberMap, Option, Ref, type Scope, Stream } from "effect"
import { FrameRefused, PageError, Session } from "../../src/protocol/index.js"
import * as CallSpans from "./CallSpans.js"
import { Credentials } from "./Credentials.js"
import { Sockets } from "./Sockets.js"
import { handle, type Needs } from "./Handlers.js"
import { Instances, tabsOf } from "./Instances.js"
import { TabLocks } from "./TabLocks.js"

/** How a connection attempt ended; Discovery decides when to try that port again. */
export type Outcome =
  | { readonly _tag: "Refused" }
  /** No secret yet (no native host, no pairing): nothing was tried. */
  | { readonly _tag: "Unpaired" }
  | { readonly _tag: "Rejected"; readonly reason: string }
  | { readonly _tag: "Closed"; readonly served: boolean }

export interface ConnectionOptions {
  readonly extensionVersion: string
  readonly browser: string
  readonly handshakeTimeout: Duration.Duration
  /** No frame at all from the server for this long: it is gone (it pings every 20 s). */
  readonly silenceLimit: Duration.Duration
}

export const connect = (port: number, options: ConnectionOptions): Effect.Effect<Outcome, never, Needs | Credentials | Sockets> =>
  Effect.gen(function*() {
    const { key } = yield* Effect.flatMap(Credentials, (c) => c.get)
    if (Option.isNone(key)) return { _tag: "Unpaired" } as const
    const sockets = yield* Sockets
    if (!(yield* sockets.listening(port))) return { _tag: "Refused" } as const
    const opened = yield* Effect.acquireRelease(
      sockets.open(port).pipe(Effect.timeoutTo({ duration: options.handshakeTimeout, onTimeout: Option.none, onSuccess: (s) => s })),
      (s) => Option.match(s, { onNone: () => Effect.void, onSome: (s) => s.close })
    )
    if (Option.isNone(opened)) return { _tag: "Rejected", reason: "something listens there, but not a tabmux server that accepts us" } as const
    const socket = opened.value
    const handshake = yield* Session.asExtension({
      send: socket.send,
      next: socket.incoming.take.pipe(Effect.timeout(options.handshakeTimeout), Effect.option)
    }, { secret: key.value, port, extensionVersion: options.extensionVersion, browser: options.browser, cipher: Session.webCipher })
    if (handshake._tag === "Rejected") return { _tag: "Rejected", reason: handshake.reason } as const
    const { welcome, session } = handshake
    const instances = yield* Instances
    if (yield* instances.isDisconnected(welcome.instanceId)) {
      yield* session.send({ type: "event", name: "instance.disconnected", data: {} }).pipe(Effect.ignore)
      return { _tag: "Rejected", reason: `the user disconnected ${welcome.clientName} in the tabmux popup` } as const
    }
    const instance = yield* instances.register({
      id: welcome.instanceId,
      token: welcome.token,
      clientName: welcome.clientName,
      port,
      policy: welcome.onDisconnect,
      grace: Duration.seconds(welcome.graceSeconds),
      web: { allowFile: welcome.allowFileUrls === true, origins: welcome.origins },
      nextHandle: welcome.nextHandle,
      resume: welcome.resume,
      color: welcome.sessionColor
    })
    yield* Effect.logInfo(`connected to ${welcome.clientName} (pid ${welcome.pid}) on port ${port}`)

    const lastHeard = yield* Ref.make(yield* Clock.currentTimeMillis)
    /** Calls running, by id: an `interrupt` stops one (its tab's lock is released as it ends). */
    const calls = yield* FiberMap.make<number>()
    /** Events, pongs and refusals: small by construction. */
    const say = (frame: Parameters<typeof session.send>[0]) => session.send(frame).pipe(Effect.orDie)
    /** A result too large for a frame fails that call alone, saying so; the connection stays. */
    const answer = (result: Extract<Parameters<typeof session.send>[0], { type: "result" }>) =>
      session.send(result).pipe(
        Effect.catchTag("FrameTooLarge", (e) =>
          say({ type: "result", id: result.id, ok: false, error: new PageError({ message: e.message }), ...(result.spans === undefined ? {} : { spans: result.spans }) }))
      )
    const dispatch = (data: unknown) =>
      Effect.zipRight(
        Clock.currentTimeMillis.pipe(Effect.flatMap((now) => Ref.set(lastHeard, now))),
        session.receive(data).pipe(
          Effect.flatMap((frame): Effect.Effect<void, never, Needs | Scope.Scope> => {
            switch (frame.type) {
              case "call": {
                const spans = CallSpans.recorder(frame.trace)
                return handle({
                  instance,
                  progress: (message) => say({ type: "event", name: "call.progress", data: { call: frame.id, message } })
                }, frame.method, frame.params).pipe(
                  (running) => spans.run(`extension ${frame.method}`, running),
                  Effect.matchEffect({
                    onFailure: (error) => answer({ type: "result", id: frame.id, ok: false, error, ...spans.spans() }),
                    onSuccess: (value) => answer({ type: "result", id: frame.id, ok: true, value, ...spans.spans() })
                  }),
                  (running) => FiberMap.run(calls, frame.id, running),
                  Effect.asVoid
                )
              }
              case "interrupt":
                return FiberMap.remove(calls, frame.id)
              case "ping":
                return say({ type: "pong", at: frame.at })
              case "pong":
                return Effect.void
              case "error":
                return Effect.logWarning(`server refused a frame: ${frame.error.message}`)
              default:
                return say({ type: "error", error: new FrameRefused({ message: `unexpected "${frame.type}" frame` }) })
            }
          }),
          Effect.catchTag("BadFrame", (e) => say({ type: "error", error: new FrameRefused({ message: e.message }) }))
        )
      )

    yield* Effect.forkScoped(instances.news.pipe(
      Stream.filter((e) => e.instanceId === instance.id),
      Stream.runForEach((e) => say(e.event))
    ))
    const locks = yield* TabLocks
    const forwardExpiredLeases = locks.events.pipe(
      Stream.filter((e) => e._tag === "LeaseExpired" && e.who.instanceId === instance.id),
      Stream.runForEach((e) =>
        Effect.gen(function*() {
          const handle = Option.getOrUndefined(Option.flatMapNullable(yield* instances.agent(instance.id), (a) => tabsOf(a).find((t) => t.tab === e.tab)?.handle))
          if (handle !== undefined) yield* say({ type: "event", name: "lease.expired", data: { tab: handle } })
        })
      )
    )
    yield* Effect.forkScoped(forwardExpiredLeases)

    // Wakes when the limit would be reached since the last frame heard (not a whole limit
    // later: a server silent from just after a check was dropped only after twice the limit).
    const silence = Effect.gen(function*() {
      const limit = Duration.toMillis(options.silenceLimit)
      while (true) {
        const quiet = (yield* Clock.currentTimeMillis) - (yield* Ref.get(lastHeard))
        if (quiet >= limit) return
        yield* Effect.sleep(Duration.millis(limit - quiet))
      }
    })
    // A sealed frame that does not open (a relay's, a replay) ends the connection.
    const reading = socket.incoming.take.pipe(
      Effect.flatMap(dispatch),
      Effect.forever,
      Effect.catchTag("SessionBroken", (e) => Effect.logWarning(`port ${port}: ${e.message}`)),
      Effect.ignore
    )
    // The user's "Disconnect" ends the connection too, after telling the server why.
    const kicked = Deferred.await(instance.kicked).pipe(
      Effect.zipRight(say({ type: "event", name: "instance.disconnected", data: {} }))
    )
    yield* Effect.raceAll([reading, silence.pipe(Effect.zipRight(Effect.logWarning(`port ${port}: server silent, closing`))), kicked])
    yield* Effect.logInfo(`disconnected from ${welcome.clientName} on port ${port}`)
    return { _tag: "Closed", served: true } as const
  }).pipe(Effect.scoped)
