/**
 * The MCP server over a transport (stdio in production, in-memory in tests), as a
 * scoped Layer: connected on build, closed on release. Tool calls run as fibers of
 * this layer, so closing it interrupts them; a client's `notifications/cancelled`
 * interrupts its call. The client's name from `initialize` names this instance.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import type { Transport as SdkTransport } from "@modelcontextprotocol/sdk/shared/transport.js"
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv"
import {
  CallToolRequestSchema,
  ErrorCode,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  RootsListChangedNotificationSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema
} from "@modelcontextprotocol/sdk/types.js"
import { Cause, Clock, Context, Duration, Effect, Exit, FiberId, FiberSet, Layer, LogLevel, Option, Ref, Stream, SubscriptionRef, Tracer } from "effect"
import { Bridge, CallProgress } from "./Bridge.js"
import type { ServerConfig } from "./Config.js"
import * as Logging from "./Logging.js"
import { ServerIdentity } from "./ServerIdentity.js"
import { tools } from "./tools/index.js"
import { SnapshotChanges } from "./SnapshotChanges.js"
import { Workspace } from "./Workspace.js"
import type { ToolResult } from "./tools/Tool.js"

export class McpTransport extends Context.Tag("tabmux/McpTransport")<McpTransport, SdkTransport>() {}

/**
 * A JSON-RPC error for the client. Not the SDK's McpError: its message already starts
 * with "MCP error <code>:", and the client adds that again ("MCP error -32602: MCP error -32602: ...").
 */
const protocolError = (code: number, message: string) => Object.assign(new Error(message), { code })

/** A W3C `traceparent` (`00-<trace id>-<span id>-<flags>`) as the parent of a call's spans; none if it is not one. */
export const traceParent = (value: unknown): Tracer.ExternalSpan | undefined => {
  const m = typeof value === "string" ? /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value.trim()) : null
  if (m === null || m[1] === "ff" || /^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return undefined
  return Tracer.externalSpan({ traceId: m[2]!, spanId: m[3]!, sampled: (parseInt(m[4]!, 16) & 1) === 1 })
}

export const INSTANCES_URI = "tabmux://instances"

/** How often tabmux://instances is read while a client subscribes to it. */
const INSTANCES_POLL = Duration.seconds(2)

/** JSON-RPC error for a resource that does not exist (MCP specification). */
const RESOURCE_NOT_FOUND = -32002

/** How often a long tool call reports progress (when the client asked for it). */
const PROGRESS_EVERY = Duration.seconds(5)

export const stdioTransport = Layer.sync(McpTransport, () => new StdioServerTransport())

const INSTRUCTIONS =
  "tabmux drives the user's real browser, shared with other agents. You see and drive only your own tabs " +
  "(browser_tabs). Tabs are named by handles like \"t1\"."

export const layer = Layer.scopedDiscard(
  Effect.gen(function*() {
    const transport = yield* McpTransport
    const identity = yield* ServerIdentity
    const run = yield* FiberSet.makeRuntime<Bridge | ServerConfig | Workspace | SnapshotChanges>()
    const workspace = yield* Workspace
    const bridge = yield* Bridge

    /**
     * What happened to the agent's tabs that no call asked about (a tab the user closed, a
     * lease that expired, the browser connection lost and restored): told at the end of
     * its next tool result, once.
     */
    const notices = yield* Ref.make<ReadonlyArray<string>>([])
    const notice = (text: string) => Ref.update(notices, (n) => [...n, text].slice(-20))
    yield* Effect.forkScoped(Stream.runForEach(bridge.events, (e) => {
      switch (e.name) {
        case "tab.closed":
          return notice(`${e.data.tab} was closed by the user.`)
        case "tab.opened":
          return notice(`${e.data.from}'s page opened a new tab, ${e.data.tab} (yours too; select it with browser_tabs {"action": "select", "tab": "${e.data.tab}"}).`)
        case "lease.expired":
          return notice(`Your lease on ${e.data.tab} expired (unused for its ttlSeconds); lock it again before more multi-step work.`)
      }
    }))
    yield* Effect.forkScoped(bridge.extensionChanges.pipe(
      Stream.map(Option.isSome),
      Stream.changes,
      Stream.drop(2), // the first connection, and its end, are not news
      Stream.filter((connected) => connected),
      Stream.runForEach(() =>
        notice(
          "The browser connection was lost and restored: tabs you had may have been closed by your disconnect policy. List them with browser_tabs."
        )
      )
    ))
    const withNotices = (result: ToolResult) =>
      Effect.map(Ref.getAndSet(notices, []), (told) =>
        told.length === 0 ? result : { ...result, content: [...result.content, { type: "text" as const, text: `Note: ${told.join(" ")}` }] })
    const byName = new Map(tools.map((t) => [t.name, t]))

    const levels = yield* Effect.serviceOption(Logging.LevelControl)

    let validator: AjvJsonSchemaValidator | undefined
    const server = new Server(
      { name: "tabmux", title: "tabmux: one real Chrome, many agents", version: identity.serverVersion },
      {
        capabilities: {
          tools: { listChanged: false },
          // One resource, always there; its content changes as agents come and go.
          resources: { subscribe: true, listChanged: false },
          prompts: { listChanged: false },
          logging: {}
        },
        instructions: INSTRUCTIONS,
        // The SDK validates elicitation answers with it; tabmux never elicits, so it is made only if ever needed.
        jsonSchemaValidator: { getValidator: (schema) => (validator ??= new AjvJsonSchemaValidator()).getValidator(schema) }
      }
    )

    server.setRequestHandler(ListPromptsRequestSchema, () => ({ prompts: [] }))
    server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({ resourceTemplates: [] }))
    // Log lines go to the client as notifications once it asked for them (logging/setLevel), at its level.
    const clientLevel = yield* Ref.make(Option.none<LogLevel.LogLevel>())
    server.setRequestHandler(SetLevelRequestSchema, (request) => {
      const level = Logging.fromMcpLevel(request.params.level)
      run(Ref.set(clientLevel, Option.some(level)))
      Option.map(levels, (control) => run(control.set(level)))
      return {}
    })
    if (Option.isSome(levels)) {
      yield* levels.value.forward((level, line) => {
        const wanted = Effect.runSync(Ref.get(clientLevel))
        if (Option.isNone(wanted) || !LogLevel.greaterThanEqual(level, wanted.value)) return
        void server.sendLoggingMessage({ level: Logging.toMcpLevel(level), logger: "tabmux", data: line }).catch(() => undefined)
      })
    }

    server.setRequestHandler(ListToolsRequestSchema, () => ({
      tools: tools.map((t) => ({
        name: t.name,
        title: t.annotations.title,
        description: t.description,
        inputSchema: t.inputSchema as { type: "object" },
        ...(t.outputSchema ? { outputSchema: t.outputSchema as { type: "object" } } : {}),
        annotations: t.annotations
      }))
    }))

    server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
      const tool = byName.get(request.params.name)
      if (tool === undefined) {
        throw protocolError(ErrorCode.InvalidParams, `Unknown tool "${request.params.name}". Tools: ${[...byName.keys()].join(", ")}`)
      }
      const token = request.params._meta?.progressToken
      let step = 0
      const progress = (message: string) =>
        token === undefined ? Effect.void : Effect.promise(() =>
          extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: ++step, message } })
            .catch(() => undefined)
        )
      // A long call (wait_for, a slow navigation, a lock wait) says it is still working every
      // few seconds, so clients that reset their timeout on progress do not give up on it.
      const heartbeat = Effect.gen(function*() {
        const started = yield* Clock.currentTimeMillis
        while (true) {
          yield* Effect.sleep(PROGRESS_EVERY)
          yield* progress(`${tool.name} still running (${Math.round(((yield* Clock.currentTimeMillis) - started) / 1000)} s)`)
        }
      })
      const parent = traceParent(request.params._meta?.traceparent ?? extra.requestInfo?.headers?.traceparent)
      const running = tool.run(request.params.arguments).pipe(
        // The client's trace goes on through this call (its `_meta.traceparent`, or the W3C header over HTTP).
        (call) => (parent === undefined ? call : Effect.withParentSpan(call, parent)),
        Effect.provideService(CallProgress, progress),
        (call) => (token === undefined ? call : Effect.raceFirst(call, heartbeat)),
        Effect.flatMap(withNotices)
      )
      return new Promise<ToolResult>((resolve, reject) => {
        const fiber = run(running)
        const cancel = () => fiber.unsafeInterruptAsFork(FiberId.none)
        extra.signal.addEventListener("abort", cancel, { once: true })
        fiber.addObserver((exit) => {
          extra.signal.removeEventListener("abort", cancel)
          if (Exit.isSuccess(exit)) resolve(exit.value)
          else reject(protocolError(ErrorCode.InternalError, Cause.isInterruptedOnly(exit.cause) ? "the call was cancelled" : Cause.pretty(exit.cause)))
        })
      })
    })

    server.setRequestHandler(ListResourcesRequestSchema, () => ({
      resources: [{
        uri: INSTANCES_URI,
        name: "instances",
        title: "Agents sharing this browser",
        description: "The agents connected to this browser: names, owned tab counts, shared tabs held. No URLs or content.",
        mimeType: "application/json"
      }]
    }))

    const unknownResource = (uri: string) => protocolError(RESOURCE_NOT_FOUND, `Unknown resource ${uri}. Resources: ${INSTANCES_URI}`)

    // Subscribers of tabmux://instances hear when it changes (agents come and go, tabs are opened or closed).
    const subscribed = yield* Ref.make(false)
    server.setRequestHandler(SubscribeRequestSchema, (request) => {
      if (request.params.uri !== INSTANCES_URI) throw unknownResource(request.params.uri)
      run(Ref.set(subscribed, true))
      return {}
    })
    server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
      if (request.params.uri !== INSTANCES_URI) throw unknownResource(request.params.uri)
      run(Ref.set(subscribed, false))
      return {}
    })
    // Read every INSTANCES_POLL while someone listens (the extension sends no event for it), told when it differs.
    const lastSeen = yield* Ref.make<string | undefined>(undefined)
    yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
      yield* Effect.sleep(INSTANCES_POLL)
      if (!(yield* Ref.get(subscribed))) return yield* Ref.set(lastSeen, undefined)
      const now = yield* bridge.call("instances.list", {}).pipe(Effect.map((r) => JSON.stringify(r.instances)), Effect.option)
      if (Option.isNone(now)) return
      const before = yield* Ref.getAndSet(lastSeen, now.value)
      if (before !== undefined && before !== now.value) {
        yield* Effect.promise(() => server.sendResourceUpdated({ uri: INSTANCES_URI }).catch(() => undefined))
      }
    })))

    server.setRequestHandler(ReadResourceRequestSchema, (request) => {
      if (request.params.uri !== INSTANCES_URI) throw unknownResource(request.params.uri)
      return new Promise((resolve, reject) => {
        const read = Effect.flatMap(Bridge, (bridge) => bridge.call("instances.list", {})).pipe(
          Effect.mapError((e) => protocolError(ErrorCode.InternalError, e.message))
        )
        run(read).addObserver((exit) =>
          Exit.isSuccess(exit)
            ? resolve({ contents: [{ uri: INSTANCES_URI, mimeType: "application/json", text: JSON.stringify(exit.value) }] })
            : reject(Cause.squash(exit.cause))
        )
      })
    })

    /** The client's roots, where agents' files may be (asked again whenever the client says they changed). */
    const refreshRoots = (): void => {
      if (server.getClientCapabilities()?.roots === undefined) {
        run(workspace.setRoots([]))
        return
      }
      run(Effect.tryPromise(() => server.listRoots()).pipe(
        Effect.flatMap((r) => workspace.setRoots(r.roots.map((root) => root.uri))),
        Effect.catchAll((e) =>
          Effect.logWarning(`roots/list failed: ${e.message}; agents' files stay in the output directory and --allow-path`).pipe(
            Effect.zipRight(workspace.setRoots([]))
          )
        )
      ))
    }
    server.setNotificationHandler(RootsListChangedNotificationSchema, () => {
      refreshRoots()
    })

    server.oninitialized = () => {
      const name = server.getClientVersion()?.name
      if (name) run(SubscriptionRef.set(identity.clientName, name))
      refreshRoots()
    }

    yield* Effect.acquireRelease(
      Effect.promise(() => server.connect(transport)),
      () => Effect.promise(() => server.close())
    )
  })
)
