/**
 * tabmux over MCP Streamable HTTP (`tabmux serve --http`): one process, one HTTP port on
 * loopback, one instance per MCP session. Each session is a whole tabmux server
 * (`TabmuxServer.layer`) in a scope of its own, on the SDK's Streamable HTTP transport:
 * its own port from the range (the extension finds it as it finds any server, so the
 * status page and `browser_instances` list each session as an agent), its own tab group,
 * tabs, handles, leases and disconnect policy. A session that ends (the client's DELETE,
 * or `idle` without a request) closes its scope: its tabs go by its policy, then its
 * locks, its port and its record.
 *
 * Before any byte of a body is read or any MCP message parsed: the Host must name this
 * endpoint (no DNS rebinding), an Origin (every browser request has one) must be one the
 * user allowed, and the bearer token must be the one in `<dir>/http-token` (0600, made on
 * first use, printed by `tabmux serve --print-token`). Bodies, sessions and idle time are
 * bounded.
 */
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { Data, Duration, Effect, Exit, ExecutionStrategy, Layer, Ref, Runtime, Schedule, Scope } from "effect"
import { randomUUID, timingSafeEqual } from "node:crypto"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { ServerConfig } from "./Config.js"
import { McpTransport } from "./Mcp.js"
import * as TabmuxServer from "./TabmuxServer.js"

export class HttpFailed extends Data.TaggedError("HttpFailed")<{ readonly message: string }> {}

export interface HttpOptions {
  /** Where to listen: 127.0.0.1 unless the user names another address. */
  readonly host: string
  /** 0: any free port (said in the log). */
  readonly port: number
  readonly token: string
  /** Origins a browser request may come from (none by default: MCP clients send no Origin). */
  readonly allowOrigins: ReadonlyArray<string>
  readonly maxSessions: number
  readonly idle: Duration.Duration
  readonly maxBodyBytes: number
}

export const DEFAULTS = { maxSessions: 16, idle: Duration.minutes(30), maxBodyBytes: 4 * 1024 * 1024 } as const

interface Session {
  readonly transport: StreamableHTTPServerTransport
  readonly scope: Scope.CloseableScope
  lastSeen: number
}

const PATH = "/mcp"

const hostsOf = (host: string, port: number) =>
  new Set([`${host}:${port}`, `127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].map((h) => h.toLowerCase()))

const sameToken = (given: string, token: string) => {
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Why a request is refused before anything of it is read, or undefined. */
const refusal = (req: Http.IncomingMessage, hosts: ReadonlySet<string>, options: HttpOptions): { readonly status: number; readonly message: string } | undefined => {
  if (!hosts.has(String(req.headers.host ?? "").toLowerCase())) {
    return { status: 403, message: `Host ${JSON.stringify(req.headers.host ?? "")} is not this endpoint (${[...hosts][0]})` }
  }
  const origin = req.headers.origin
  if (origin !== undefined && !options.allowOrigins.includes(origin)) {
    return { status: 403, message: `Origin ${origin} is not allowed (tabmux serve --http-allow-origin)` }
  }
  const auth = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ""))
  if (auth === null || !sameToken(auth[1]!, options.token)) {
    return { status: 401, message: "a bearer token is required: Authorization: Bearer <token> (tabmux serve --print-token prints it)" }
  }
  return undefined
}

const reply = (res: Http.ServerResponse, status: number, message: string) =>
  Effect.sync(() => {
    if (res.headersSent) return void res.end()
    res.writeHead(status, { "content-type": "application/json", connection: "close" })
    res.end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }))
  })

/** The request's body, parsed as JSON; fails (413) past `max` bytes without reading the rest. */
const readBody = (req: Http.IncomingMessage, max: number) =>
  Effect.async<unknown, { readonly status: number; readonly message: string }>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const declared = Number(req.headers["content-length"] ?? 0)
    if (declared > max) return resume(Effect.fail({ status: 413, message: `the body is over ${max} bytes` }))
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= max) return void chunks.push(chunk)
      // Nothing more is read (or kept); the answer says why and closes the connection.
      req.off("data", onData)
      req.pause()
      resume(Effect.fail({ status: 413, message: `the body is over ${max} bytes` }))
    }
    req.on("data", onData)
    req.on("end", () => {
      if (size > max) return
      try {
        resume(Effect.succeed(JSON.parse(Buffer.concat(chunks).toString("utf8"))))
      } catch {
        resume(Effect.fail({ status: 400, message: "the body is not JSON" }))
      }
    })
    req.on("error", () => resume(Effect.fail({ status: 400, message: "the request broke off" })))
  })

const isInitialize = (body: unknown) =>
  (Array.isArray(body) ? body : [body]).some((m) => typeof m === "object" && m !== null && (m as { method?: unknown }).method === "initialize")

/** Serves MCP sessions over HTTP for the scope's life; the port it listens on. */
export const serve = (config: ServerConfig, options: HttpOptions) =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const runtime = yield* Effect.runtime<never>()
    const sessions = yield* Ref.make<ReadonlyMap<string, Session>>(new Map())

    const end = (id: string) =>
      Ref.modify(sessions, (map) => {
        const copy = new Map(map)
        copy.delete(id)
        return [map.get(id), copy] as const
      }).pipe(Effect.flatMap((session) => session === undefined ? Effect.void : Scope.close(session.scope, Exit.void).pipe(
        Effect.zipRight(Effect.logInfo(`MCP session ${id.slice(0, 8)} ended`))
      )))

    /** A new session: its own tabmux server on its own transport, in a scope of its own. */
    const open = Effect.gen(function*() {
      const sessionScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
      const session: { current?: Session } = {}
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          Runtime.runSync(runtime)(Ref.update(sessions, (map) => new Map(map).set(id, session.current!)))
        },
        onsessionclosed: (id) => Runtime.runPromise(runtime)(end(id))
      })
      session.current = { transport, scope: sessionScope, lastSeen: Date.now() }
      // One server per session; the exclusive lock is the process's matter, not a session's.
      const server = TabmuxServer.layer({ ...config, exclusive: false }).pipe(Layer.provide(Layer.succeed(McpTransport, transport)))
      yield* Layer.buildWithScope(server, sessionScope).pipe(
        Effect.tapErrorCause(() => Scope.close(sessionScope, Exit.void)),
        Effect.mapError((e) => ({ status: 503, message: `no session: ${(e as { message?: string }).message ?? String(e)}` }))
      )
      return session.current
    })

    const handle = (req: Http.IncomingMessage, res: Http.ServerResponse, hosts: ReadonlySet<string>) =>
      Effect.gen(function*() {
        const refused = refusal(req, hosts, options)
        if (refused !== undefined) return yield* reply(res, refused.status, refused.message)
        if (new URL(req.url ?? "/", "http://x").pathname !== PATH) return yield* reply(res, 404, `MCP is served at ${PATH}`)
        const body = req.method === "POST" ? yield* readBody(req, options.maxBodyBytes) : undefined
        const id = req.headers["mcp-session-id"]
        if (id === undefined) {
          if (!isInitialize(body)) return yield* reply(res, 400, "no session: start one with an initialize request")
          if ((yield* Ref.get(sessions)).size >= options.maxSessions) {
            return yield* reply(res, 503, `${options.maxSessions} sessions are open, the most this server serves: end one (DELETE), or wait`)
          }
          const session = yield* open
          yield* Effect.promise(() => session.transport.handleRequest(req, res, body))
          // An initialize the transport refused made no session: its server goes at once (its port too).
          if (session.transport.sessionId === undefined) yield* Scope.close(session.scope, Exit.void)
          return
        }
        const session = (yield* Ref.get(sessions)).get(String(id))
        if (session === undefined) return yield* reply(res, 404, "no such session (it ended, or expired): start a new one")
        session.lastSeen = Date.now()
        yield* Effect.promise(() => session.transport.handleRequest(req, res, body))
      }).pipe(
        Effect.catchAll((e) => reply(res, e.status, e.message)),
        Effect.catchAllDefect((d) => Effect.zipRight(Effect.logError(`HTTP request failed: ${String(d)}`), reply(res, 500, "internal error")))
      )

    const server = yield* Effect.acquireRelease(
      Effect.async<Http.Server, HttpFailed>((resume) => {
        const s = Http.createServer()
        s.once("error", (e) => resume(Effect.fail(new HttpFailed({ message: `cannot listen on ${options.host}:${options.port}: ${e.message}` }))))
        s.listen(options.port, options.host, () => resume(Effect.succeed(s)))
      }),
      (s) => Effect.async<void>((resume) => {
        s.closeAllConnections()
        s.close(() => resume(Effect.void))
      })
    )
    // Sessions end before the listener closes (finalizers run in reverse).
    yield* Effect.addFinalizer(() => Effect.flatMap(Ref.get(sessions), (map) => Effect.forEach(map.keys(), end, { discard: true })))
    const port = (server.address() as AddressInfo).port
    const hosts = hostsOf(options.host, port)
    server.on("request", (req, res) => Runtime.runFork(runtime)(handle(req, res, hosts)))
    // Sessions without a request for `idle` end.
    yield* Effect.forkScoped(Effect.repeat(
      Effect.flatMap(Ref.get(sessions), (map) =>
        Effect.forEach([...map].filter(([, s]) => Date.now() - s.lastSeen > Duration.toMillis(options.idle)), ([id]) => end(id), { discard: true })),
      Schedule.spaced(Duration.seconds(10))
    ))
    yield* Effect.logInfo(`MCP over Streamable HTTP at http://${options.host}:${port}${PATH} (bearer token required)`)
    if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(options.host)) {
      yield* Effect.logWarning(`listening on ${options.host}, not loopback: other machines can reach this endpoint (only with the token)`)
    }
    return port
  })
