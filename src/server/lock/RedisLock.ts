/**
 * The single-instance lock on Redis, for locks shared by several machines. A lock is one
 * key, `tabmux:lock:<name>`, whose value is the holder's record (host, pid, process start
 * time, a random token) with a fencing token from `INCR tabmux:fence:<name>`: every grant
 * gets a larger one, so whatever the holder guards can refuse a late writer. It lives for
 * a TTL; the holder renews it with a compare-and-extend script, and releases it with a
 * compare-and-delete script, both keyed on its token.
 *
 * A holder that cannot renew (the key is gone or another's, or Redis does not answer)
 * counts the lock as lost when its last grant or renewal is `ttl - margin` old: before
 * the key can expire and anyone else be granted it. `LockHandle.lost` completes then.
 *
 * Client: ioredis (maintained; Lua scripts by `defineCommand` with EVALSHA and a fallback;
 * connect and command timeouts; no offline queue, so a command fails rather than waits
 * when Redis is away).
 */
import { Deferred, Duration, Effect, Option } from "effect"
import type { Redis as RedisClient } from "ioredis"
import type { LockBackend, LockHandle, LockState } from "./Backend.js"
import { redactCredentials } from "../Redact.js"
import { decodeOwner, LockError, LockHeld, LockLost, newOwner } from "./Owner.js"

export interface RedisLockOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). */
  readonly url: string
  /** The password, when it is not in the URL (so it is not on a command line). */
  readonly password?: string | undefined
  /** How long a grant lasts unless renewed. */
  readonly ttl: Duration.Duration
}

const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, redis.call('GET', KEYS[1])} end
local owner = cjson.decode(ARGV[1])
owner.fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], cjson.encode(owner), 'PX', ARGV[2])
return {1, owner.fence}`

const RENEW = `
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
local owner = cjson.decode(value)
if owner.token ~= ARGV[1] then return 0 end
owner.heartbeatAt = tonumber(ARGV[3])
redis.call('SET', KEYS[1], cjson.encode(owner), 'PX', ARGV[2])
return 1`

const RELEASE = `
local value = redis.call('GET', KEYS[1])
if value and cjson.decode(value).token == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

interface Scripted extends RedisClient {
  tabmuxAcquire(lock: string, fence: string, owner: string, ttl: number): Promise<[number, string | number]>
  tabmuxRenew(lock: string, token: string, ttl: number, now: number): Promise<number>
  tabmuxRelease(lock: string, token: string): Promise<number>
}


const badUrl = (url: string, problem: string) =>
  new LockError({
    name: "*",
    path: redactCredentials(url),
    problem,
    remedy: "Give --lock-backend as redis://[user:password@]host:port[/db] (TABMUX_LOCK_BACKEND)."
  })

/** Checks a backend URL before anything connects. */
export const parseUrl = (url: string): Effect.Effect<URL, LockError> =>
  Effect.gen(function*() {
    const parsed = yield* Effect.try({ try: () => new URL(url), catch: () => badUrl(url, "not a URL") })
    if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") return yield* badUrl(url, `unknown scheme ${parsed.protocol.replace(/:$/, "")}`)
    if (parsed.hostname === "") return yield* badUrl(url, "no host")
    const db = parsed.pathname.replace(/^\//, "")
    if (db !== "" && !/^\d{1,2}$/.test(db)) return yield* badUrl(url, `the database must be a number, not "${db}"`)
    return parsed
  })

export const makeRedisBackend = (options: RedisLockOptions) =>
  Effect.gen(function*() {
    yield* parseUrl(options.url)
    const where = redactCredentials(options.url)
    // Loaded only when a Redis backend is asked for (a chunk of its own in the bundle). The
    // package is CommonJS: its class is the default export when bundled, a named one in Node.
    const loaded = yield* Effect.promise(() => import("ioredis"))
    const Redis = (loaded.Redis ?? loaded.default) as typeof loaded.Redis
    let lastError = ""
    const client = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const c = new Redis(options.url, {
          lazyConnect: true,
          ...(options.password === undefined ? {} : { password: options.password }),
          connectTimeout: 2_000,
          commandTimeout: Math.max(200, Math.floor(Duration.toMillis(options.ttl) / 4)),
          maxRetriesPerRequest: 0,
          enableOfflineQueue: false,
          retryStrategy: (times) => Math.min(times * 100, 1_000)
        }) as Scripted
        // Errors are answered per command; the client's own event is not a crash, but the
        // last one says why a connection closed (a refused password, say).
        c.on("error", (e: Error) => void (lastError = e.message))
        c.defineCommand("tabmuxAcquire", { numberOfKeys: 2, lua: ACQUIRE })
        c.defineCommand("tabmuxRenew", { numberOfKeys: 1, lua: RENEW })
        c.defineCommand("tabmuxRelease", { numberOfKeys: 1, lua: RELEASE })
        return c
      }),
      (c) => Effect.sync(() => c.disconnect())
    )
    const failed = (name: string, e: unknown) => {
      const said = String((e as Error)?.message ?? e)
      const text = /Connection is closed/i.test(said) && lastError !== "" ? lastError : said
      return new LockError({
        name,
        path: where,
        problem: /NOAUTH|WRONGPASS|invalid password|invalid username/i.test(text) ? `Redis refused the credentials (${text})` : `Redis: ${text}`,
        remedy: /NOAUTH|WRONGPASS|invalid/i.test(text)
          ? "Put the right user and password in the URL (redis://user:password@host:port)."
          : `Check that Redis runs at ${where} and is reachable from here.`
      })
    }
    yield* Effect.tryPromise({ try: () => client.connect(), catch: (e) => failed("*", e) })
    // A password Redis does not need is accepted by connect; one it needs and lacks fails here.
    yield* Effect.tryPromise({ try: () => client.ping(), catch: (e) => failed("*", e) })

    const ttlMs = Duration.toMillis(options.ttl)
    /** A holder counts the lock lost this long after its last grant or renewal (before Redis can expire it). */
    const trustFor = Math.max(ttlMs - Math.max(200, ttlMs / 5), ttlMs / 2)
    const keys = (name: string) => ({ lock: `tabmux:lock:${name}`, fence: `tabmux:fence:${name}` })
    const held = (name: string, value: string | undefined) =>
      new LockHeld({ name, path: `${where} ${keys(name).lock}`, state: "alive", holder: decodeOwner(value), pid: Option.none() })

    const tryAcquire = (name: string, token: string) =>
      Effect.gen(function*() {
        const now = Date.now()
        const owner = yield* newOwner(name, "redis", token, now)
        const k = keys(name)
        const [granted, detail] = yield* Effect.tryPromise({
          try: () => client.tabmuxAcquire(k.lock, k.fence, JSON.stringify(owner), ttlMs),
          catch: (e) => failed(name, e)
        })
        if (granted !== 1) return yield* held(name, typeof detail === "string" ? detail : undefined)
        const fence = Number(detail)
        const lost = yield* Deferred.make<LockLost>()
        let trustedUntil = now + trustFor
        const lose = (why: string) => Deferred.succeed(lost, new LockLost({ name, path: `${where} ${k.lock}`, fence, why }))
        // The watchdog: at the end of trust with no renewal, the lock is lost (whatever Redis says later).
        yield* Effect.forkScoped(Effect.gen(function*() {
          while (true) {
            const left = trustedUntil - Date.now()
            if (left <= 0) return yield* lose(`no renewal for ${trustFor} ms (Redis did not answer)`)
            yield* Effect.sleep(Duration.millis(left))
          }
        }).pipe(Effect.interruptible))
        yield* Effect.addFinalizer(() =>
          Effect.promise(() => client.tabmuxRelease(k.lock, token).catch(() => 0)).pipe(Effect.timeout("1 second"), Effect.ignore)
        )
        const handle: LockHandle = {
          name,
          path: `${where} ${k.lock}`,
          owner: { ...owner, fence },
          lost: Deferred.await(lost),
          heartbeat: (at) =>
            Effect.gen(function*() {
              if (yield* Deferred.isDone(lost)) return
              const started = Date.now()
              const renewed = yield* Effect.tryPromise({ try: () => client.tabmuxRenew(k.lock, token, ttlMs, at), catch: (e) => failed(name, e) })
              if (renewed === 1) {
                trustedUntil = started + trustFor
                return
              }
              yield* lose("the key expired or was taken over before it was renewed")
              return yield* new LockError({ name, path: `${where} ${k.lock}`, problem: "the lock was lost", remedy: "Its holder must stop: another may hold it now." })
            })
        }
        return handle
      })

    const inspect = (name: string): Effect.Effect<LockState, LockError> =>
      Effect.tryPromise({ try: () => client.get(keys(name).lock), catch: (e) => failed(name, e) }).pipe(
        Effect.map((value): LockState => (value === null ? { _tag: "Free", leftover: [] } : { _tag: "Held", error: held(name, value) }))
      )

    const backend: LockBackend = {
      strategy: "redis",
      tryAcquire,
      inspect,
      pathOf: (name) => `${where} ${keys(name).lock}`
    }
    return backend
  })
