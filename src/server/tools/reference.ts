/**
 * The tool reference (docs/TOOLS.md and the list in README), rendered from the tool
 * registry itself, so the documentation cannot drift from what clients are offered:
 * `npm run docs` writes it, and a test fails when the committed copy is out of date.
 */
import { CALL_WAIT_SECONDS } from "../../protocol/index.js"
import { tools } from "./index.js"

interface JsonSchema {
  readonly type?: string | ReadonlyArray<string>
  readonly description?: string
  readonly enum?: ReadonlyArray<unknown>
  readonly items?: JsonSchema
  readonly properties?: Record<string, JsonSchema>
  readonly required?: ReadonlyArray<string>
  readonly anyOf?: ReadonlyArray<JsonSchema>
  readonly minimum?: number
  readonly maximum?: number
  readonly $ref?: string
}

const typeOf = (s: JsonSchema): string => {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ")
  if (s.anyOf) return s.anyOf.map(typeOf).join(" | ")
  if (s.type === "array") return `${s.items ? typeOf(s.items) : "any"}[]`
  if (s.type === "object" && s.properties) return `{ ${Object.keys(s.properties).join(", ")} }`
  const range = s.minimum !== undefined && s.maximum !== undefined ? ` (${s.minimum}–${s.maximum})` : ""
  return `${Array.isArray(s.type) ? s.type.join(" | ") : s.type ?? (s.$ref ? "object" : "any")}${range}`
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ")

const hints = (t: (typeof tools)[number]) =>
  [t.annotations.readOnlyHint ? "read-only" : undefined, t.annotations.destructiveHint ? "destructive" : undefined, t.annotations.openWorldHint ? "open world" : undefined]
    .filter(Boolean).join(", ")

/** Where tabmux deliberately departs from Playwright MCP (0.0.83), and why. */
const DIFFERENCES = [
  "## Where tabmux differs from Playwright MCP",
  "",
  "- **Refs** look like `s3e12` (the tab's epoch, then the element), not `e12`: a ref from another tab, or from " +
  "before the extension restarted, is refused as stale instead of naming some other element. An element keeps its ref " +
  "while it lives. `target`, `startTarget` and `endTarget` are accepted for `ref`, `startRef` and `endRef`; a CSS " +
  "selector that matches exactly one element is accepted where a ref is (Playwright's locator syntax, such as " +
  "`getByRole(...)` or `text=`, is not).",
  "- **Snapshots** are aria snapshots computed in the page, without `/url:` lines, `[cursor=pointer]` marks or generic " +
  "wrappers (a block that holds only text is `- generic [ref]: text`): 0.6× Playwright MCP's bytes on real pages. " +
  "`depth` still counts the wrappers Playwright shows, so a depth shows what Playwright's shows. Closed shadow roots are not seen.",
  "- **Action results** carry what changed in the page since the last snapshot of that tab you received (changed and " +
  "new elements under the elements that hold them, then those gone; the rest is as it was, refs unchanged), or the " +
  "whole snapshot when the page is new or the change is not much smaller (`--snapshot-after-action full` always sends " +
  "it whole, as Playwright MCP does; `none` leaves it out); structured results say which (`snapshotIs`). Also the console " +
  "messages and downloads the action caused. A press waits for 300 ms of quiet (typing 100 ms), then for a navigation or " +
  "requests it started; Playwright MCP waits 500 ms.",
  "- **Downloads** are reported by name and URL and saved where the browser saves downloads, not in the output directory.",
  "- **Files** (screenshots, PDFs, snapshots, bodies, uploads, drops) stay inside the client's roots or the output directory.",
  "- **`data:` URLs** of HTML or text open in a blank tab (Chrome does not let an extension load them, so tabmux writes their document into it): " +
  "the tab's URL stays `about:blank`. **Links to other applications** " +
  "(`mailto:`, `ftp:`, an app's own scheme) are not clicked: Chrome's prompt for them would block the page. " +
  "**`javascript:` URLs** are refused by `browser_navigate` (Playwright MCP runs them): a page is only ever loaded, and code an agent " +
  "means to run goes through `browser_evaluate`, where it is seen as code. There is no `--test-id-attribute`: a CSS selector such as " +
  "`[data-testid=submit]` names the same element.",
  "- **`browser_drop`** takes files or data, not both at once (Chrome's drag carries one or the other).",
  "- **Code editors** (CodeMirror, Monaco, Ace) type through a hidden input (a pixel wide, clipped or transparent): `browser_type` on it (or on one of the editor's lines) " +
  "types key by key at the editor's cursor, as a person's keys arrive (brackets it closes, its indentation), and says what the editor shows after.",
  "- **Tabs** are named by handles (`t1`) that are never reused (`browser_tabs` also takes Playwright MCP's `index`, a place in its list), and every agent sees only its own tabs: " +
  "a new session's `browser_tabs` `list` answers no tabs (Playwright MCP shows its browser's first blank page) until a tab is opened, " +
  "by `browser_tabs` `new` or by a first `browser_navigate`, which opens one. " +
  "Agents' tabs stay in the background: screenshots of them are slower (the browser draws a hidden tab only when asked). " +
  "A tab a page of yours opens (a popup, a link to a new tab) is yours too; the next result says so.",
  `- **Busy tabs**: a call on a tab another call or agent holds waits up to ${CALL_WAIT_SECONDS} s, then fails naming the holder; to wait longer, ` +
  "queue for it with `browser_tab_lock` and its `waitSeconds`, and act under the lease.",
  "- **Not offered**: coordinate (vision) tools, test-assertion and locator-generation tools, `browser_install`."
]

/** The whole of docs/TOOLS.md. */
export const toolsMarkdown = (): string => {
  const out = [
    "# Tools",
    "",
    "<!-- Generated by `npm run docs` from src/server/tools; do not edit by hand. -->",
    "",
    `tabmux offers ${tools.length} tools. Names and arguments follow Playwright MCP where it has the tool. ` +
    "Every tool that acts on a page takes an optional `tab` (a handle from `browser_tabs`; default: your current tab) " +
    "and runs under that tab's lock. Every result has text content and, where it has structure, `structuredContent` " +
    "matching the tool's output schema; failures are `isError` results that say what to do.",
    "",
    ...DIFFERENCES,
    ""
  ]
  for (const t of tools) {
    const schema = t.inputSchema as JsonSchema
    const required = new Set(schema.required ?? [])
    const props = Object.entries(schema.properties ?? {})
    out.push(`## ${t.name}`, "", `**${t.annotations.title}** (${hints(t) || "no side effects"}). ${t.description}`, "")
    if (props.length === 0) out.push("No arguments.", "")
    else {
      out.push("| argument | type | required | description |", "|---|---|---|---|")
      for (const [name, p] of props) out.push(`| \`${name}\` | ${cell(typeOf(p))} | ${required.has(name) ? "yes" : ""} | ${cell(p.description ?? "")} |`)
      out.push("")
    }
  }
  return out.join("\n")
}

/** The tool list README shows between its `tools` markers. */
export const readmeToolList = (): string =>
  tools.map((t) => `- \`${t.name}\`: ${t.annotations.title}`).join("\n")
