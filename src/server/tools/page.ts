/** Page tools (Playwright MCP's names): navigate, history, evaluate. */
import { Effect, Schema } from "effect"
import { Bridge } from "../Bridge.js"
import { tabArgument } from "./arguments.js"
import { make } from "./Tool.js"


const PageState = Schema.Struct({ tab: Schema.String, url: Schema.String, title: Schema.String, loaded: Schema.Boolean })

const describePage = (page: typeof PageState.Type) =>
  `${page.tab}: ${page.title || "(untitled)"} — ${page.url}${page.loaded ? "" : " (still loading after 30 s)"}`

export const browserNavigate = make({
  name: "browser_navigate",
  description: "Load a URL in a tab (default: your current tab) and wait for the page to load. http(s), about: and data: URLs.",
  annotations: { title: "Navigate to a URL", readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  input: Schema.Struct({
    url: Schema.String.annotations({ description: "The absolute URL to load, like https://example.com/." }),
    tab: tabArgument
  }),
  output: PageState,
  handler: (input) =>
    Effect.flatMap(Bridge, (bridge) => bridge.call("page.navigate", input.tab === undefined ? { url: input.url } : { url: input.url, tab: input.tab })).pipe(
      Effect.map((page) => ({ text: describePage(page), structured: page }))
    )
})

const historyTool = (name: string, action: "back" | "forward" | "reload", title: string, description: string) =>
  make({
    name,
    description,
    annotations: { title, readOnlyHint: false, destructiveHint: action === "reload", idempotentHint: false, openWorldHint: true },
    input: Schema.Struct({ tab: tabArgument }),
    output: PageState,
    handler: (input) =>
      Effect.flatMap(Bridge, (bridge) => bridge.call("page.history", input.tab === undefined ? { action } : { action, tab: input.tab })).pipe(
        Effect.map((page) => ({ text: describePage(page), structured: page }))
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
    "Promises are awaited; results over 64 KB are cut.",
  annotations: { title: "Evaluate JavaScript", readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  input: Schema.Struct({
    function: Schema.String.annotations({ description: "A function expression: () => document.title, or (a, b) => a + b." }),
    args: Schema.optional(Schema.Array(Schema.Unknown).annotations({ description: "JSON values passed to the function, in order." })),
    tab: tabArgument
  }),
  output: Schema.Struct({ tab: Schema.String, json: Schema.String, truncated: Schema.Boolean }),
  handler: (input) =>
    Effect.flatMap(Bridge, (bridge) =>
      bridge.call("page.evaluate", {
        function: input.function,
        args: input.args ?? [],
        ...(input.tab === undefined ? {} : { tab: input.tab })
      })).pipe(
        Effect.map((r) => ({ text: r.truncated ? `${r.json}\n(cut at 64 KB)` : r.json, structured: r }))
      )
})
