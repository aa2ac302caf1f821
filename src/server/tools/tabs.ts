/** `browser_tabs`: list, open, select and close the tabs this instance owns (Playwright MCP's name and shape). */
import { Effect, Schema } from "effect"
import { TabHandle, TabInfo } from "../../protocol/index.js"
import { Bridge } from "../Bridge.js"
import { BadArguments, make } from "./Tool.js"

const Input = Schema.Struct({
  action: Schema.Literal("list", "new", "select", "close").annotations({
    description: "list: your tabs. new: open a tab (in the background) and make it current. select: make a tab current. close: close a tab (default: the current one)."
  }),
  tab: Schema.optional(TabHandle.annotations({ description: "The tab for select or close, as listed by action list (like \"t2\")." })),
  index: Schema.optional(Schema.Int.pipe(Schema.nonNegative()).annotations({
    description: "Instead of tab (Playwright MCP's way): the tab's place in action list's answer, 0 for the first."
  })),
  url: Schema.optional(Schema.String.annotations({ description: "For new: the address to open (default about:blank)." }))
})

const Output = Schema.Struct({ tabs: Schema.Array(TabInfo) })

const describe = (tabs: ReadonlyArray<TabInfo>) =>
  tabs.length === 0
    ? "You have no tabs. Open one with browser_tabs {\"action\": \"new\", \"url\": \"...\"}."
    : tabs.map((t) => {
      const notes = [t.current ? "current" : "", t.shared ? "shared by the user" : "", t.leasedBy ? `held by ${t.leasedBy}` : ""]
        .filter(Boolean)
      return `- ${t.tab}${notes.length ? ` (${notes.join(", ")})` : ""}: ${t.title || "(untitled)"} — ${t.url}`
    }).join("\n")

/** The handle of the tab at `index` in the list (Playwright MCP names tabs by their place). */
const atIndex = (tab: string | undefined, index: number) =>
  Effect.gen(function*() {
    if (tab !== undefined) return yield* new BadArguments({ tool: "browser_tabs", issue: "give tab or index, not both" })
    const { tabs } = yield* Effect.flatMap(Bridge, (bridge) => bridge.call("tabs.list", {}))
    const found = tabs[index]
    if (found === undefined) {
      return yield* new BadArguments({
        tool: "browser_tabs",
        issue: tabs.length === 0 ? `index ${index}: you have no tabs` : `index ${index}: you have ${tabs.length} tab${tabs.length === 1 ? "" : "s"} (index 0 to ${tabs.length - 1})`
      })
    }
    return found.tab
  })

export const browserTabs = make({
  name: "browser_tabs",
  description:
    "List, open, select or close your browser tabs. You only ever see and drive tabs you opened, and tabs your pages opened (popups), never other agents'. " +
    "Tabs are named by handles like \"t1\" that are never reused; other tools act on the current tab unless given a tab.",
  annotations: { title: "Manage tabs", readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  input: Input,
  output: Output,
  handler: (given) =>
    Effect.gen(function*() {
      const bridge = yield* Bridge
      if (given.index !== undefined && given.action !== "select" && given.action !== "close") {
        return yield* new BadArguments({ tool: "browser_tabs", issue: `index is for select and close, not ${given.action}` })
      }
      const input = given.index === undefined ? given : { ...given, tab: yield* atIndex(given.tab, given.index) }
      switch (input.action) {
        case "list": {
          const { tabs } = yield* bridge.call("tabs.list", {})
          return { text: describe(tabs), structured: { tabs } }
        }
        case "new": {
          const { tab, tabs } = yield* bridge.call("tabs.new", { url: input.url })
          return { text: `Opened ${tab}.\n${describe(tabs)}`, structured: { tabs } }
        }
        case "select": {
          if (input.tab === undefined) {
            return yield* new BadArguments({ tool: "browser_tabs", issue: "action \"select\" needs \"tab\" (a handle from action \"list\", like \"t1\") or \"index\" (its place in that list, 0 for the first)" })
          }
          const { tabs } = yield* bridge.call("tabs.select", { tab: input.tab })
          return { text: `Selected ${input.tab}.\n${describe(tabs)}`, structured: { tabs } }
        }
        case "close": {
          const { tabs } = yield* bridge.call("tabs.close", { tab: input.tab })
          return { text: `Closed ${input.tab ?? "the current tab"}.\n${describe(tabs)}`, structured: { tabs } }
        }
      }
    })
})
