/**
 * The method catalogue: every call the server can make to the extension, with the
 * schema of its params and of its result, its timeout, and whether it changes the
 * page (such calls are never retried). Both sides import it; adding a method here
 * is the whole protocol change.
 */
import { Duration, Schema } from "effect"

export interface MethodSpec<P = any, R = any> {
  readonly params: Schema.Schema<P, any>
  readonly result: Schema.Schema<R, any>
  /** How long the server waits for the answer: fixed, or from the params (a lock waits as long as asked). */
  readonly timeout: (params: P) => Duration.Duration
  /** True when a call may change a page or a tab: never retried automatically. */
  readonly changesPage: boolean
}

const method = <P, PI, R, RI>(spec: {
  readonly params: Schema.Schema<P, PI>
  readonly result: Schema.Schema<R, RI>
  readonly timeout: Duration.DurationInput | ((params: P) => Duration.DurationInput)
  readonly changesPage: boolean
}): MethodSpec<P, R> => {
  const timeout = spec.timeout
  return {
    ...spec,
    timeout: typeof timeout === "function" ? (params) => Duration.decode(timeout(params)) : () => Duration.decode(timeout)
  }
}

/** A tab as an agent addresses it: a per-instance handle (`t1`, `t2`, ...), never a Chrome tab id or index. */
export const TabHandle = Schema.String.pipe(
  Schema.pattern(/^t[1-9][0-9]*$/),
  Schema.annotations({ description: "A tab handle from browser_tabs, like \"t1\"." })
)

export const TabInfo = Schema.Struct({
  tab: TabHandle,
  url: Schema.String,
  title: Schema.String,
  /** The instance's current tab: where tools act when no `tab` is given. */
  current: Schema.Boolean,
  /** A tab the user shared with every agent (its "tabmux · shared" group), not owned by this instance. */
  shared: Schema.Boolean,
  /** Who leases the tab now: "you", or another agent's display name. */
  leasedBy: Schema.optional(Schema.String)
})
export type TabInfo = typeof TabInfo.Type

const TabList = Schema.Struct({ tabs: Schema.Array(TabInfo) })

export const InstanceInfo = Schema.Struct({
  name: Schema.String,
  you: Schema.Boolean,
  ownedTabs: Schema.Int,
  /** Shared tabs this instance leases, by their titles. */
  leases: Schema.Array(Schema.String)
})
export type InstanceInfo = typeof InstanceInfo.Type

export const Methods = {
  /** The tabs this instance owns. */
  "tabs.list": method({
    params: Schema.Struct({}),
    result: TabList,
    timeout: "10 seconds",
    changesPage: false
  }),
  /** Opens a tab in the background, in the instance's group, and makes it current. */
  "tabs.new": method({
    params: Schema.Struct({ url: Schema.optional(Schema.String) }),
    result: TabInfo,
    timeout: "30 seconds",
    changesPage: true
  }),
  /** Makes an owned tab the instance's current tab (does not steal the user's focus). */
  "tabs.select": method({
    params: Schema.Struct({ tab: TabHandle }),
    result: TabInfo,
    timeout: "10 seconds",
    changesPage: false
  }),
  "tabs.close": method({
    params: Schema.Struct({ tab: Schema.optional(TabHandle) }),
    result: TabList,
    timeout: "10 seconds",
    changesPage: true
  }),
  /** Takes (or renews) a lease on a tab: only this instance's calls run on it until unlock, TTL expiry or disconnect. */
  "tab.lock": method({
    params: Schema.Struct({
      tab: Schema.optional(TabHandle),
      ttlSeconds: Schema.Number.pipe(Schema.between(1, 3600)),
      waitSeconds: Schema.Number.pipe(Schema.between(0, 600))
    }),
    result: Schema.Struct({ tab: TabHandle, ttlSeconds: Schema.Number, expiresAt: Schema.Number }),
    timeout: (p) => Duration.sum(Duration.seconds(p.waitSeconds), Duration.seconds(10)),
    changesPage: false
  }),
  "tab.unlock": method({
    params: Schema.Struct({ tab: Schema.optional(TabHandle) }),
    result: Schema.Struct({ tab: TabHandle, released: Schema.Boolean }),
    timeout: "10 seconds",
    changesPage: false
  }),
  /** The connected instances, as another agent may see them: names and counts, never URLs or content. */
  "instances.list": method({
    params: Schema.Struct({}),
    result: Schema.Struct({ instances: Schema.Array(InstanceInfo) }),
    timeout: "10 seconds",
    changesPage: false
  }),
  /** Loads a URL in a tab and waits for its load event (capped); http(s), about: and data: URLs only. */
  "page.navigate": method({
    params: Schema.Struct({ tab: Schema.optional(TabHandle), url: Schema.String }),
    result: Schema.Struct({ tab: TabHandle, url: Schema.String, title: Schema.String, loaded: Schema.Boolean }),
    timeout: "45 seconds",
    changesPage: true
  }),
  /** Back or forward in the tab's history, or reload; waits for the load like `page.navigate`. */
  "page.history": method({
    params: Schema.Struct({ tab: Schema.optional(TabHandle), action: Schema.Literal("back", "forward", "reload") }),
    result: Schema.Struct({ tab: TabHandle, url: Schema.String, title: Schema.String, loaded: Schema.Boolean }),
    timeout: "45 seconds",
    changesPage: true
  }),
  /**
   * Calls a function expression in the page with JSON arguments (passed as values, never
   * pasted into code). `json` is the JSON text of the result, cut at `maxBytes`.
   */
  "page.evaluate": method({
    params: Schema.Struct({ tab: Schema.optional(TabHandle), function: Schema.String, args: Schema.Array(Schema.Unknown) }),
    result: Schema.Struct({ tab: TabHandle, json: Schema.String, truncated: Schema.Boolean }),
    timeout: "30 seconds",
    changesPage: true
  }),
  /** server → extension when the MCP client's name becomes known after the handshake. */
  "instance.update": method({
    params: Schema.Struct({ clientName: Schema.String }),
    result: Schema.Struct({}),
    timeout: "5 seconds",
    changesPage: false
  })
} satisfies Record<string, MethodSpec>

export type Methods = typeof Methods
export type MethodName = keyof Methods
export type ParamsOf<M extends MethodName> = Methods[M] extends MethodSpec<infer P, any> ? P : never
export type ResultOf<M extends MethodName> = Methods[M] extends MethodSpec<any, infer R> ? R : never

export const isMethodName = (name: string): name is MethodName => Object.hasOwn(Methods, name)
