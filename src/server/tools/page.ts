/** Page tools that read or set up a page (Playwright MCP's names); actions are in input.ts. */
import { Effect, Schema } from "effect"
import { ConsoleLevel, PageState, RequestDetail, RequestSummary } from "../../protocol/index.js"
import { Bridge } from "../Bridge.js"
import { ServerConfig } from "../Config.js"
import * as SnapshotChanges from "../SnapshotChanges.js"
import { Workspace } from "../Workspace.js"
import * as AgentRegex from "./AgentRegex.js"
import { bounded, filenameArgument, saveText, tabArgument } from "./arguments.js"
import { BadArguments, make } from "./Tool.js"


/** A page after a navigation as the agent gets it: the snapshot is whole when the page is new, else what changed. */
const PageAnswer = Schema.extend(PageState, SnapshotChanges.Kind)

const describePage = (page: typeof PageState.Type, told: SnapshotChanges.Told | undefined) =>
  [
    page.download === undefined
      ? undefined
      : `${page.download.url} is a file: the browser downloaded it as ${page.download.filename} (saved where it saves downloads); the tab stayed where it was.`,
    `${page.tab}: ${page.title || "(untitled)"} — ${page.url}${page.loaded ? "" : " (some of it is still loading)"}`,
    page.status !== undefined && (page.status < 200 || page.status >= 400) ? `HTTP status ${page.status}.` : undefined,
    told === undefined ? undefined : SnapshotChanges.words(told)
  ].filter((l) => l !== undefined).join("\n")

/** Whether a page call also answers with the page's snapshot (as Playwright MCP does), unless `--snapshot-after-action none`. */
const snapshotAfter = Effect.map(ServerConfig, (config) => config.snapshotAfterAction !== "none")

/** A navigation's answer, its snapshot told as the agent's last snapshot of the tab makes it. */
const answerPage = (page: typeof PageState.Type) =>
  Effect.gen(function*() {
    const { snapshot, ...rest } = page
    const told = snapshot === undefined ? undefined : yield* Effect.flatMap(SnapshotChanges.SnapshotChanges, (s) => s.tell(page.tab, snapshot))
    return { text: describePage(page, told), structured: told === undefined ? rest : { ...rest, ...SnapshotChanges.structured(told) } }
  })

export const browserNavigate = make({
  name: "browser_navigate",
  description:
    "Load a URL in a tab (default: your current tab; a new one if you have none) and wait for the page to load (and for what it fetches once loaded, up to 2 s). Answers with the page's snapshot and, when not 2xx/3xx, its HTTP status. http(s) URLs, about:blank, and data: URLs of HTML or text (written into a blank tab).",
  annotations: { title: "Navigate to a URL", readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  input: Schema.Struct({
    url: Schema.String.annotations({ description: "The absolute URL to load, like https://example.com/." }),
    tab: tabArgument
  }),
  output: PageAnswer,
  handler: (input) =>
    Effect.flatMap(Effect.all([Bridge, snapshotAfter]), ([bridge, snapshot]) => bridge.call("page.navigate", { tab: input.tab, url: input.url, snapshot })).pipe(
      Effect.flatMap(answerPage)
    )
})

const historyTool = (name: string, action: "back" | "forward" | "reload", title: string, description: string) =>
  make({
    name,
    description,
    annotations: { title, readOnlyHint: false, destructiveHint: action === "reload", idempotentHint: false, openWorldHint: true },
    input: Schema.Struct({ tab: tabArgument }),
    output: PageAnswer,
    handler: (input) =>
      Effect.flatMap(Effect.all([Bridge, snapshotAfter]), ([bridge, snapshot]) => bridge.call("page.history", { tab: input.tab, action, snapshot })).pipe(
        Effect.flatMap(answerPage)
      )
  })

export const browserNavigateBack = historyTool("browser_navigate_back", "back", "Go back", "Go back to the previous page in a tab's history (default: your current tab).")
export const browserNavigateForward = historyTool("browser_navigate_forward", "forward", "Go forward", "Go forward to the next page in a tab's history (default: your current tab).")
export const browserReload = historyTool("browser_reload", "reload", "Reload", "Reload a tab's page (default: your current tab) and wait for it to load.")

export const browserEvaluate = make({
  name: "browser_evaluate",
  description:
    "Run a JavaScript function in a page and get its result as JSON. `function` is a function expression, like " +
    "\"(selector) => document.querySelectorAll(selector).length\"; `args` are passed to it as JSON values. " +
    "With `ref`, the element is passed first: \"(el) => el.textContent\". Promises are awaited; results over 64 KB are cut.",
  annotations: { title: "Evaluate JavaScript", readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  input: Schema.Struct({
    function: Schema.String.annotations({
      description: "JavaScript: an expression (document.title), or a function expression called with args ((a, b) => a + b; with ref, the element first: (el) => el.textContent)."
    }),
    args: Schema.optional(Schema.Array(Schema.Unknown).annotations({ description: "JSON values passed to the function, in order." })),
    ref: Schema.optional(Schema.String.annotations({ description: "An element (a ref from a snapshot, or a unique CSS selector) passed to the function before args." })),
    element: Schema.optional(Schema.String.annotations({ description: "What the element is, in words." })),
    filename: filenameArgument("the answer"),
    tab: tabArgument
  }),
  output: Schema.Struct({ tab: Schema.String, json: Schema.String, truncated: Schema.Boolean, path: Schema.optional(Schema.String) }),
  handler: (input) =>
    Effect.gen(function*() {
      const r = yield* Effect.flatMap(Bridge, (bridge) => bridge.call("page.evaluate", { function: input.function, args: input.args ?? [], ref: input.ref, tab: input.tab }))
      const text = r.truncated ? `${r.json}\n(cut at 64 KB)` : r.json
      const path = yield* saveText("browser_evaluate", input.filename, r.json)
      return { text: path === undefined ? text : `${text}\nSaved to ${path}.`, structured: path === undefined ? r : { ...r, path } }
    })
})

export const browserSnapshot = make({
  name: "browser_snapshot",
  description:
    "Read the page as an aria snapshot, as Playwright writes it: one line per element (`role \"name\" [state] [ref=s3e12]`), iframes and shadow roots included. " +
    "Use the refs in actions: an element keeps its ref while it lives. `ref` shows one element's subtree; `depth` limits nesting; `filename` also saves it.",
  // Not read-only: with `filename` it writes a file.
  annotations: { title: "Page snapshot", readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: Schema.Struct({
    ref: Schema.optional(Schema.String.annotations({ description: "Show only this element's subtree (a ref from a snapshot, or a unique CSS selector)." })),
    depth: Schema.optional(bounded(1, 100, "The deepest level to show, counted as Playwright counts it (1: the page's main parts; 2: also what they hold); deeper content is marked \"…\".", { int: true })),
    boxes: Schema.optional(Schema.Boolean.annotations({
      description: "Add each element's box as [box=x,y,width,height]: viewport-relative CSS pixels (its frame's), as getBoundingClientRect gives them."
    })),
    filename: filenameArgument("the snapshot"),
    tab: tabArgument
  }),
  output: Schema.Struct({
    tab: Schema.String,
    url: Schema.String,
    title: Schema.String,
    snapshot: Schema.String,
    elements: Schema.Int,
    modal: Schema.optional(Schema.String),
    path: Schema.optional(Schema.String)
  }),
  handler: ({ tab, filename, ...o }) =>
    Effect.gen(function*() {
      const s = yield* Effect.flatMap(Bridge, (bridge) => bridge.call("page.snapshot", { ...o, tab }))
      // A whole snapshot is what later actions' changes are measured from.
      if (o.ref === undefined && o.depth === undefined && o.boxes !== true) yield* Effect.flatMap(SnapshotChanges.SnapshotChanges, (c) => c.seen(s.tab, s.snapshot))
      const path = yield* saveText("browser_snapshot", filename, s.snapshot)
      return {
        text: [
          `Page: ${s.title || "(untitled)"} — ${s.url}`,
          s.modal === undefined ? undefined : `Modal: ${s.modal}.`,
          path === undefined ? undefined : `Saved to ${path}.`,
          s.snapshot || "(the page shows nothing)"
        ].filter((l) => l !== undefined).join("\n"),
        structured: path === undefined ? s : { ...s, path }
      }
    })
})

export const browserWaitFor = make({
  name: "browser_wait_for",
  description: "Wait for text to appear or disappear in the page, or for a number of seconds.",
  annotations: { title: "Wait", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: Schema.Struct({
    text: Schema.optional(Schema.String.annotations({ description: "Wait until this text shows in the page." })),
    textGone: Schema.optional(Schema.String.annotations({ description: "Wait until this text no longer shows." })),
    time: Schema.optional(bounded(0, 60, "Seconds to wait (first, if combined).")),
    timeoutSeconds: Schema.optional(bounded(0, 120, "Give up on text after this long (default 10).")),
    tab: tabArgument
  }),
  output: Schema.Struct({ tab: Schema.String, waited: Schema.String, ms: Schema.Number }),
  handler: ({ tab, timeoutSeconds, ...o }) =>
    Effect.gen(function*() {
      if (o.text === undefined && o.textGone === undefined && o.time === undefined) {
        return yield* new BadArguments({ tool: "browser_wait_for", issue: "give text, textGone or time" })
      }
      const bridge = yield* Bridge
      const r = yield* bridge.call("page.wait", { tab, ...o, timeoutSeconds: timeoutSeconds ?? 10 })
      return { text: `Waited ${r.ms} ms: ${r.waited}.`, structured: r }
    })
})

export const browserTakeScreenshot = make({
  name: "browser_take_screenshot",
  description:
    "See the page as an image (the tab stays in the background). The visible viewport by default, the whole page with fullPage, or one element by ref. " +
    "Large captures are scaled to at most 2000 px on their longest side. To act, use browser_snapshot: refs come from it, not from images.",
  // Not read-only: with `filename` it writes a file.
  annotations: { title: "Screenshot", readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: Schema.Struct({
    type: Schema.optional(Schema.Literal("png", "jpeg", "webp").annotations({ description: "Image format (default png)." })),
    quality: Schema.optional(bounded(0, 100, "JPEG quality, 0-100 (default 80).", { int: true })),
    fullPage: Schema.optional(Schema.Boolean.annotations({ description: "Capture the whole scrollable page." })),
    scale: Schema.optional(Schema.Literal("css", "device").annotations({
      description: "css (default): one image pixel per CSS pixel; device: the display's pixels (sharper on a high-density screen, larger)."
    })),
    ref: Schema.optional(Schema.String.annotations({ description: "Capture only this element (a ref from a snapshot, or a unique CSS selector)." })),
    element: Schema.optional(Schema.String.annotations({ description: "What the element is, in words." })),
    filename: filenameArgument("the image"),
    tab: tabArgument
  }),
  output: Schema.Struct({ tab: Schema.String, mimeType: Schema.String, width: Schema.Number, height: Schema.Number, bytes: Schema.Int, path: Schema.optional(Schema.String) }),
  handler: ({ tab, filename, type, fullPage, ...o }) =>
    Effect.gen(function*() {
      if (fullPage && o.ref) return yield* new BadArguments({ tool: "browser_take_screenshot", issue: "give fullPage or ref, not both" })
      const bridge = yield* Bridge
      const shot = yield* bridge.call("page.screenshot", { tab, ...o, fullPage: fullPage ?? false, type: type ?? "png" })
      const bytes = Buffer.byteLength(shot.data, "base64")
      const saved = filename === undefined
        ? undefined
        : yield* Effect.flatMap(Workspace, (w) => w.save("browser_take_screenshot", filename, "", Buffer.from(shot.data, "base64")))
      return {
        text: `Screenshot of ${shot.tab}${o.ref ? ` (${o.element ?? o.ref})` : fullPage ? " (whole page)" : ""}: ${shot.width}×${shot.height} ${type ?? "png"}, ${bytes} bytes${saved ? `, saved to ${saved}` : ""}.`,
        structured: { tab: shot.tab, mimeType: shot.mimeType, width: shot.width, height: shot.height, bytes, ...(saved ? { path: saved } : {}) },
        images: [{ data: shot.data, mimeType: shot.mimeType }]
      }
    })
})


/** One console message as Playwright MCP writes it: `[LOG] text @ where`. */
export const consoleLine = (m: { readonly level: string; readonly type?: string | undefined; readonly text: string; readonly where?: string | undefined }) =>
  `[${(m.type ?? m.level).toUpperCase()}] ${m.text}${m.where ? ` @ ${m.where}` : ""}`

export const browserConsoleMessages = make({
  name: "browser_console_messages",
  description: "The page's console messages since it loaded (with `all`, since the tab was first used), uncaught exceptions included.",
  annotations: { title: "Console messages", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: Schema.Struct({
    level: Schema.optional(ConsoleLevel.annotations({ description: "Least severe level shown: error, warning, info (default) or debug." })),
    all: Schema.optional(Schema.Boolean.annotations({ description: "Also the messages of pages this tab showed before (default false)." })),
    filename: filenameArgument("the answer"),
    tab: tabArgument
  }),
  output: Schema.Struct({
    tab: Schema.String,
    messages: Schema.Array(Schema.Struct({ level: ConsoleLevel, type: Schema.optional(Schema.String), text: Schema.String, where: Schema.optional(Schema.String) })),
    path: Schema.optional(Schema.String)
  }),
  handler: ({ tab, level, all, filename }) =>
    Effect.gen(function*() {
      // Every level is read, so the count of all comes first (as Playwright MCP's answer starts); then the level asked for.
      const r = yield* Effect.flatMap(Bridge, (bridge) => bridge.call("page.console", { tab, level: "debug", all }))
      const severity = (l: typeof ConsoleLevel.Type) => ConsoleLevel.literals.indexOf(l)
      const messages = r.messages.filter((m) => severity(m.level) <= severity(level ?? "info"))
      const count = (l: string) => r.messages.filter((m) => m.level === l).length
      const text = [
        `Total messages: ${r.messages.length} (Errors: ${count("error")}, Warnings: ${count("warning")})`,
        level === undefined ? undefined : `Returning ${messages.length} messages for level "${level}"`,
        messages.length === 0 ? "No console messages." : messages.map(consoleLine).join("\n")
      ].filter((l) => l !== undefined).join("\n")
      const path = yield* saveText("browser_console_messages", filename, text)
      return { text: path === undefined ? text : `Saved to ${path}.\n${text}`, structured: { tab: r.tab, messages, ...(path === undefined ? {} : { path }) } }
    })
})

export const browserNetworkRequests = make({
  name: "browser_network_requests",
  description: "The page's network requests since it loaded: method, URL, status, size. Images, scripts, styles and fonts only with includeStatic.",
  annotations: { title: "Network requests", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: Schema.Struct({
    filter: Schema.optional(Schema.String.annotations({
      description: "Only URLs that contain this text (any case) or match it as a regular expression (as Playwright MCP's, like \"/api/.*user\")."
    })),
    includeStatic: Schema.optional(Schema.Boolean.annotations({ description: "Also list images, scripts, styles and fonts." })),
    filename: filenameArgument("the list"),
    tab: tabArgument
  }),
  output: Schema.Struct({ tab: Schema.String, requests: Schema.Array(RequestSummary), path: Schema.optional(Schema.String) }),
  handler: ({ tab, filter, includeStatic, filename }) =>
    Effect.gen(function*() {
      const r = yield* Effect.flatMap(Bridge, (bridge) => bridge.call("page.network", { tab, includeStatic: includeStatic ?? false }))
      const urls = r.requests.map((q) => q.url)
      const kept = filter === undefined ? undefined : new Set([
        ...urls.flatMap((u, i) => (u.toLowerCase().includes(filter.toLowerCase()) ? [i] : [])),
        ...yield* AgentRegex.matches("browser_network_requests", filter, urls).pipe(Effect.orElseSucceed(() => []))
      ])
      const requests = kept === undefined ? r.requests : r.requests.filter((_, i) => kept.has(i))
      const text = requests.length === 0
        ? "No requests."
        : requests.map((q) =>
          `${q.index ?? "-"}. [${q.method}] ${q.url} → ${q.failed ?? (q.status === undefined ? "pending" : q.status)}${q.size === undefined ? "" : `, ${q.size} bytes`} (${q.type}; id ${q.id})`
        ).join("\n")
      const path = yield* saveText("browser_network_requests", filename, text)
      return { text: path === undefined ? text : `Saved to ${path}.\n${text}`, structured: { tab: r.tab, requests, ...(path === undefined ? {} : { path }) } }
    })
})

export const browserNetworkRequest = make({
  name: "browser_network_request",
  description: "One network request in detail: headers, status, post data and the response body (cut at 16 KB; with `filename`, the whole body, binary too, is saved).",
  // Not read-only: with `filename` it writes a file.
  annotations: { title: "Network request", readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: Schema.Struct({
    id: Schema.optional(Schema.String.annotations({ description: "The request's id, from browser_network_requests." })),
    index: Schema.optional(Schema.Int.pipe(Schema.positive()).annotations({ description: "Instead of id (Playwright MCP's way): the request's number in browser_network_requests, from 1." })),
    filename: Schema.optional(Schema.String.annotations({ description: "Save the whole response body (up to 10 MB) to this file: inside the client's roots or the output directory (a relative name is in the client's first root)." })),
    tab: tabArgument
  }),
  output: Schema.Struct({ tab: Schema.String, request: RequestDetail, path: Schema.optional(Schema.String) }),
  handler: ({ tab, id: given, index, filename }) =>
    Effect.gen(function*() {
      const bridge = yield* Bridge
      const bad = (issue: string) => new BadArguments({ tool: "browser_network_request", issue })
      if ((given === undefined) === (index === undefined)) return yield* bad("give id or index, one of them")
      const id = given ?? (yield* bridge.call("page.network", { tab, includeStatic: true })).requests.find((q) => q.index === index)?.id
      if (id === undefined) return yield* bad(`index ${index}: no request of this page has that number; list them with browser_network_requests`)
      const { request: { bodyBase64, ...q }, ...r } = yield* bridge.call("page.request", { tab, id, whole: filename !== undefined })
      if (filename !== undefined && bodyBase64 === undefined) {
        return yield* new BadArguments({ tool: "browser_network_request", issue: `filename: request ${id} has no body to save (${q.failed ?? (q.finished ? "the browser no longer has it, or it is over 10 MB" : "it has not finished")})` })
      }
      const path = bodyBase64 === undefined ? undefined : yield* Effect.flatMap(Workspace, (w) => w.save("browser_network_request", filename, "", Buffer.from(bodyBase64, "base64")))
      return { ...r, request: q, ...(path === undefined ? {} : { path }) }
    }).pipe(
      Effect.map((r) => {
        const q = r.request
        const headers = (h: Record<string, string>) => Object.entries(h).map(([k, v]) => `  ${k}: ${v}`).join("\n")
        return {
          text: [
            `${q.method} ${q.url}`,
            `Status: ${q.failed ?? (q.status === undefined ? "pending" : `${q.status} ${q.statusText ?? ""}`.trim())}${q.size === undefined ? "" : `, ${q.size} bytes`}`,
            `Request headers:\n${headers(q.requestHeaders)}`,
            q.postData === undefined ? undefined : `Post data:\n${q.postData}`,
            q.responseHeaders === undefined ? undefined : `Response headers:\n${headers(q.responseHeaders)}`,
            q.body === undefined ? undefined : `Body:\n${q.body}`,
            r.path === undefined ? undefined : `Body saved to ${r.path}`
          ].filter((l) => l !== undefined).join("\n"),
          structured: r
        }
      })
    )
})

export const browserResize = make({
  name: "browser_resize",
  description: "Set the page's viewport size (emulated for this tab only: the window and other tabs are unchanged).",
  annotations: { title: "Resize the viewport", readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: Schema.Struct({
    width: bounded(100, 10_000, "Width in CSS pixels.", { int: true }),
    height: bounded(100, 10_000, "Height in CSS pixels.", { int: true }),
    tab: tabArgument
  }),
  output: Schema.Struct({ tab: Schema.String, width: Schema.Int, height: Schema.Int }),
  handler: ({ tab, ...o }) =>
    Effect.flatMap(Bridge, (bridge) => bridge.call("page.resize", { ...o, tab })).pipe(
      Effect.map((r) => ({ text: `${r.tab} now has a ${r.width}×${r.height} viewport.`, structured: r }))
    )
})

export const browserPdfSave = make({
  name: "browser_pdf_save",
  description: "Print the page to a PDF file.",
  annotations: { title: "Save as PDF", readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: Schema.Struct({
    filename: Schema.optional(Schema.String.annotations({ description: "Where to write the PDF: inside the client's roots or the output directory (a relative name is in the client's first root; default: a new file in the output directory)." })),
    tab: tabArgument
  }),
  output: Schema.Struct({ tab: Schema.String, path: Schema.String, bytes: Schema.Int }),
  handler: ({ tab, filename }) =>
    Effect.gen(function*() {
      const bridge = yield* Bridge
      const printed = yield* bridge.call("page.pdf", { tab })
      const saved = yield* Effect.flatMap(Workspace, (w) =>
        w.save("browser_pdf_save", filename, `page-${printed.tab}-${Date.now()}.pdf`, Buffer.from(printed.data, "base64")))
      const bytes = Buffer.byteLength(printed.data, "base64")
      return { text: `Saved ${printed.tab} as a PDF: ${saved} (${bytes} bytes).`, structured: { tab: printed.tab, path: saved, bytes } }
    })
})

export const browserClose = make({
  name: "browser_close",
  description: "Close all your tabs and give back the shared tabs you hold. The user's browser and other agents' tabs stay open.",
  annotations: { title: "Close your tabs", readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  input: Schema.Struct({}),
  output: Schema.Struct({ closed: Schema.Array(Schema.String), released: Schema.Array(Schema.String) }),
  handler: () =>
    Effect.gen(function*() {
      const bridge = yield* Bridge
      const { tabs } = yield* bridge.call("tabs.list", {})
      const closed = tabs.filter((t) => !t.shared).map((t) => t.tab)
      const released = tabs.filter((t) => t.shared && t.leasedBy === "you").map((t) => t.tab)
      yield* Effect.forEach(closed, (tab) => bridge.call("tabs.close", { tab }), { discard: true })
      yield* Effect.forEach(released, (tab) => bridge.call("tab.unlock", { tab }), { discard: true })
      return {
        text: closed.length + released.length === 0 ? "You had no tabs." : `Closed ${closed.join(", ") || "no tabs"}; released ${released.join(", ") || "no shared tabs"}.`,
        structured: { closed, released }
      }
    })
})
