/**
 * The method catalogue: every call the server can make to the extension, with the
 * schema of its params and of its result, its timeout, and whether it changes the
 * page (such calls are never retried). Both sides import it; adding a method here
 * is the whole protocol change.
 */
import { Duration, Schema } from "effect"
import { LockFigures } from "./LockFigures.js"

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
/** How long a call waits for a tab another call or agent holds before it fails (a lease waits as long as asked). */
export const CALL_WAIT_SECONDS = 8

export const TabHandle = Schema.String.pipe(
  Schema.pattern(/^t[1-9][0-9]*$/),
  Schema.annotations({ description: "A tab handle from browser_tabs, like \"t1\"." })
)

/** A page after a navigation: where it is, whether it finished loading, and its document's HTTP status (none for about:, data: or a cached page). */
export const PageState = Schema.Struct({
  tab: TabHandle,
  url: Schema.String,
  title: Schema.String,
  loaded: Schema.Boolean,
  status: Schema.optional(Schema.Int),
  /** The page's snapshot, when the call asked for one and the page could be read. */
  snapshot: Schema.optional(Schema.String),
  /** The address was a file the browser downloads (saved where it saves downloads); the tab stayed on its page. */
  download: Schema.optional(Schema.Struct({ url: Schema.String, filename: Schema.String }))
})

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
/** One tab the call was about, and all the instance's tabs after it. */
const TabAndList = Schema.Struct({ tab: TabHandle, tabs: TabList.fields.tabs })


export const InstanceInfo = Schema.Struct({
  name: Schema.String,
  you: Schema.Boolean,
  ownedTabs: Schema.Int,
  /** Shared tabs this instance leases, by their titles. */
  leases: Schema.Array(Schema.String)
})
export type InstanceInfo = typeof InstanceInfo.Type

const Ref = Schema.String.annotations({ description: "An element's ref from the latest browser_snapshot, like \"s3e12\"." })
const Element = Schema.optional(Schema.String.annotations({
  description: "What the element is, in words (\"Submit button\"): used in messages, never to find it."
}))

export const FormField = Schema.Struct({
  name: Schema.String.annotations({ description: "The field's name, in words." }),
  type: Schema.Literal("textbox", "checkbox", "radio", "combobox", "slider"),
  ref: Ref,
  value: Schema.String.annotations({ description: "Text to type; \"true\"/\"false\" for a checkbox or radio; the option for a combobox; the number for a slider." })
})

export const Modifier = Schema.Literal("Alt", "Control", "Meta", "Shift")

/** What `page.act` does: one of these, told apart by `kind`. */
export const PageAction = Schema.Union(
  Schema.TaggedStruct("click", {
    ref: Ref,
    element: Element,
    button: Schema.optional(Schema.Literal("left", "right", "middle")),
    doubleClick: Schema.optional(Schema.Boolean),
    modifiers: Schema.optional(Schema.Array(Modifier))
  }),
  Schema.TaggedStruct("hover", { ref: Ref, element: Element }),
  Schema.TaggedStruct("drag", { startRef: Ref, startElement: Element, endRef: Ref, endElement: Element }),
  Schema.TaggedStruct("type", { ref: Ref, element: Element, text: Schema.String, submit: Schema.optional(Schema.Boolean), slowly: Schema.optional(Schema.Boolean) }),
  Schema.TaggedStruct("fill", { fields: Schema.Array(FormField).pipe(Schema.minItems(1)) }),
  Schema.TaggedStruct("select", { ref: Ref, element: Element, values: Schema.Array(Schema.String).pipe(Schema.minItems(1)) }),
  Schema.TaggedStruct("press", { key: Schema.String }),
  Schema.TaggedStruct("upload", { paths: Schema.Array(Schema.String) }),
  Schema.TaggedStruct("drop", {
    ref: Schema.String,
    element: Schema.optional(Schema.String),
    paths: Schema.Array(Schema.String),
    data: Schema.Record({ key: Schema.String, value: Schema.String })
  }),
  Schema.TaggedStruct("dialog", { accept: Schema.Boolean, promptText: Schema.optional(Schema.String) })
)
export type PageAction = typeof PageAction.Type

/** What wrote a console message, as the page's console API names it (`log`, `warning`, ...); `error` for an uncaught exception. */
export const ConsoleType = Schema.String.pipe(Schema.maxLength(32))

export const ActionResult = Schema.Struct({
  tab: TabHandle,
  /** What was done, in words. */
  did: Schema.String,
  url: Schema.String,
  title: Schema.String,
  /** A dialog or file chooser the action opened (or left open), and how to answer it. */
  modal: Schema.optional(Schema.String),
  /** What the page logged (or threw) during the action, at every level. */
  consoleMessages: Schema.Array(Schema.Struct({ level: Schema.Literal("error", "warning", "info", "debug"), text: Schema.String, type: Schema.optional(ConsoleType) })),
  /** Downloads the action started (saved by the browser where it saves downloads). */
  downloads: Schema.Array(Schema.Struct({ filename: Schema.String, url: Schema.String })),
  /** False when the page was still busy (loading, requests in flight) at the wait's cap. */
  settled: Schema.Boolean,
  snapshot: Schema.optional(Schema.String)
})
export type ActionResult = typeof ActionResult.Type

export const ConsoleLevel = Schema.Literal("error", "warning", "info", "debug")
const ConsoleMessage = Schema.Struct({ level: ConsoleLevel, text: Schema.String, where: Schema.optional(Schema.String), type: Schema.optional(ConsoleType) })

export const RequestSummary = Schema.Struct({
  id: Schema.String,
  /** Its place among the page's requests since it loaded, from 1 (as Playwright MCP numbers them). */
  index: Schema.optional(Schema.Int),
  method: Schema.String,
  url: Schema.String,
  type: Schema.String,
  status: Schema.optional(Schema.Number),
  failed: Schema.optional(Schema.String),
  /** Bytes received, as encoded on the wire. */
  size: Schema.optional(Schema.Number),
  finished: Schema.Boolean
})

const Headers = Schema.Record({ key: Schema.String, value: Schema.String })

export const RequestDetail = Schema.Struct({
  ...RequestSummary.fields,
  requestHeaders: Headers,
  postData: Schema.optional(Schema.String),
  statusText: Schema.optional(Schema.String),
  mimeType: Schema.optional(Schema.String),
  responseHeaders: Schema.optional(Headers),
  /** The response body, cut at 16 KB; binary bodies are described, not sent. */
  body: Schema.optional(Schema.String),
  /** The whole body (up to 10 MB), when asked for `whole`: to be saved to a file. */
  bodyBase64: Schema.optional(Schema.String)
})

export const Methods = {
  /** The tabs this instance owns. */
  "tabs.list": method({
    params: Schema.Struct({}),
    result: TabList,
    timeout: "30 seconds",
    changesPage: false
  }),
  /** Opens a tab in the background, in the instance's group, and makes it current. */
  "tabs.new": method({
    params: Schema.Struct({ url: Schema.optional(Schema.String) }),
    result: TabAndList,
    timeout: "30 seconds",
    changesPage: true
  }),
  /** Makes an owned tab the instance's current tab (does not steal the user's focus). */
  "tabs.select": method({
    params: Schema.Struct({ tab: TabHandle }),
    result: TabAndList,
    timeout: "30 seconds",
    changesPage: false
  }),
  "tabs.close": method({
    params: Schema.Struct({ tab: Schema.optional(TabHandle) }),
    result: TabList,
    timeout: "30 seconds",
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
  /** The calling instance's lock figures since it connected (see TabLocks), and how many instances are connected. */
  "locks.figures": method({
    params: Schema.Struct({}),
    result: Schema.Struct({ ...LockFigures.fields, instances: Schema.Int }),
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
    params: Schema.Struct({ tab: Schema.optional(TabHandle), url: Schema.String, snapshot: Schema.Boolean }),
    result: PageState,
    timeout: "45 seconds",
    changesPage: true
  }),
  /** Back or forward in the tab's history, or reload; waits for the load like `page.navigate`. */
  "page.history": method({
    params: Schema.Struct({ tab: Schema.optional(TabHandle), action: Schema.Literal("back", "forward", "reload"), snapshot: Schema.Boolean }),
    result: PageState,
    timeout: "45 seconds",
    changesPage: true
  }),
  /**
   * Calls a function expression in the page with JSON arguments (passed as values, never
   * pasted into code). `json` is the JSON text of the result, cut at `maxBytes`.
   */
  "page.evaluate": method({
    params: Schema.Struct({ tab: Schema.optional(TabHandle), function: Schema.String, args: Schema.Array(Schema.Unknown), ref: Schema.optional(Schema.String) }),
    result: Schema.Struct({ tab: TabHandle, json: Schema.String, truncated: Schema.Boolean }),
    timeout: "30 seconds",
    changesPage: true
  }),
  /**
   * The page as indented aria-snapshot text with refs (`s<epoch>e<n>`); an element keeps
   * its ref while it lives.
   */
  "page.snapshot": method({
    params: Schema.Struct({
      tab: Schema.optional(TabHandle),
      ref: Schema.optional(Schema.String),
      depth: Schema.optional(Schema.Int.pipe(Schema.between(1, 100))),
      boxes: Schema.optional(Schema.Boolean)
    }),
    result: Schema.Struct({ tab: TabHandle, url: Schema.String, title: Schema.String, snapshot: Schema.String, elements: Schema.Int, modal: Schema.optional(Schema.String) }),
    timeout: "30 seconds",
    changesPage: false
  }),
  /** One action on the page (input, a form, a dialog, a file chooser), then a wait for what it caused. */
  "page.act": method({
    params: Schema.Struct({ tab: Schema.optional(TabHandle), action: PageAction, snapshot: Schema.Boolean }),
    result: ActionResult,
    timeout: "60 seconds",
    changesPage: true
  }),
  "page.wait": method({
    params: Schema.Struct({
      tab: Schema.optional(TabHandle),
      text: Schema.optional(Schema.String),
      textGone: Schema.optional(Schema.String),
      time: Schema.optional(Schema.Number.pipe(Schema.between(0, 60))),
      timeoutSeconds: Schema.Number.pipe(Schema.between(0, 120))
    }),
    result: Schema.Struct({ tab: TabHandle, waited: Schema.String, ms: Schema.Number }),
    timeout: (p) => Duration.seconds((p.time ?? 0) + p.timeoutSeconds * 2 + 10),
    changesPage: false
  }),
  "page.console": method({
    params: Schema.Struct({ tab: Schema.optional(TabHandle), level: ConsoleLevel, all: Schema.optional(Schema.Boolean) }),
    result: Schema.Struct({ tab: TabHandle, messages: Schema.Array(ConsoleMessage) }),
    timeout: "10 seconds",
    changesPage: false
  }),
  "page.network": method({
    params: Schema.Struct({ tab: Schema.optional(TabHandle), filter: Schema.optional(Schema.String), includeStatic: Schema.Boolean }),
    result: Schema.Struct({ tab: TabHandle, requests: Schema.Array(RequestSummary) }),
    timeout: "10 seconds",
    changesPage: false
  }),
  "page.request": method({
    params: Schema.Struct({ tab: Schema.optional(TabHandle), id: Schema.String, whole: Schema.optional(Schema.Boolean) }),
    result: Schema.Struct({ tab: TabHandle, request: RequestDetail }),
    timeout: "15 seconds",
    changesPage: false
  }),
  /** Emulates a viewport size for the tab (not the window: other tabs are not affected). */
  "page.resize": method({
    params: Schema.Struct({ tab: Schema.optional(TabHandle), width: Schema.Int.pipe(Schema.between(100, 10_000)), height: Schema.Int.pipe(Schema.between(100, 10_000)) }),
    result: Schema.Struct({ tab: TabHandle, width: Schema.Int, height: Schema.Int }),
    timeout: "10 seconds",
    changesPage: true
  }),
  /** A capture of the tab (in the background: it is never brought to front), base64. */
  "page.screenshot": method({
    params: Schema.Struct({
      tab: Schema.optional(TabHandle),
      fullPage: Schema.Boolean,
      ref: Schema.optional(Schema.String),
      element: Schema.optional(Schema.String),
      type: Schema.Literal("png", "jpeg", "webp"),
      quality: Schema.optional(Schema.Int.pipe(Schema.between(0, 100))),
      /** Image pixels: one per CSS pixel (`css`, the default) or the display's (`device`). */
      scale: Schema.optional(Schema.Literal("css", "device"))
    }),
    result: Schema.Struct({ tab: TabHandle, data: Schema.String, mimeType: Schema.String, width: Schema.Number, height: Schema.Number }),
    timeout: "30 seconds",
    changesPage: false
  }),
  /** The page printed to PDF, base64. */
  "page.pdf": method({
    params: Schema.Struct({ tab: Schema.optional(TabHandle) }),
    result: Schema.Struct({ tab: TabHandle, data: Schema.String }),
    timeout: "60 seconds",
    changesPage: false
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
