/** Page tools (Playwright MCP's names): navigate, and screenshots of any of your tabs without activating it. */
import { Effect, Schema } from "effect"
import { TabHandle } from "../../protocol/index.js"
import { Bridge } from "../Bridge.js"
import { make } from "./Tool.js"

const tab = Schema.optional(TabHandle.annotations({ description: "The tab (a handle from browser_tabs, like \"t2\"); default: your current tab." }))

export const browserNavigate = make({
  name: "browser_navigate",
  description: "Load a URL in a tab (default: your current tab) and wait for the page to load. http(s), about: and data: URLs.",
  annotations: { title: "Navigate to a URL", readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  input: Schema.Struct({
    url: Schema.String.annotations({ description: "The absolute URL to load, like https://example.com/." }),
    tab
  }),
  output: Schema.Struct({ tab: Schema.String, url: Schema.String, title: Schema.String, loaded: Schema.Boolean }),
  handler: (input) =>
    Effect.flatMap(Bridge, (bridge) => bridge.call("page.navigate", input.tab === undefined ? { url: input.url } : { url: input.url, tab: input.tab })).pipe(
      Effect.map((page) => ({
        text: `${page.tab}: ${page.title || "(untitled)"} — ${page.url}${page.loaded ? "" : " (still loading after 30 s)"}`,
        structured: page
      }))
    )
})

export const browserTakeScreenshot = make({
  name: "browser_take_screenshot",
  description:
    "Take a screenshot of a tab (default: your current tab), even one in the background; the tab is not activated. " +
    "fullPage captures the whole scrollable page (scaled down past 8000 px).",
  annotations: { title: "Take a screenshot", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: Schema.Struct({
    tab,
    type: Schema.optional(Schema.Literal("png", "jpeg").annotations({ description: "Image format (default png)." })),
    quality: Schema.optional(Schema.Int.pipe(Schema.between(0, 100)).annotations({ description: "JPEG quality, 0-100 (default 80)." })),
    fullPage: Schema.optional(Schema.Boolean.annotations({ description: "The whole page instead of the visible part (default false)." }))
  }),
  output: Schema.Struct({ tab: Schema.String, mimeType: Schema.String, width: Schema.Number, height: Schema.Number }),
  handler: (input) =>
    Effect.flatMap(Bridge, (bridge) =>
      bridge.call("page.screenshot", {
        ...(input.tab === undefined ? {} : { tab: input.tab }),
        type: input.type ?? "png",
        ...(input.quality === undefined ? {} : { quality: input.quality }),
        fullPage: input.fullPage ?? false
      })).pipe(
        Effect.map(({ data, ...shot }) => ({
          text: `Screenshot of ${shot.tab}: ${shot.width}×${shot.height} ${shot.mimeType}.`,
          structured: shot,
          images: [{ data, mimeType: shot.mimeType }]
        }))
      )
})
