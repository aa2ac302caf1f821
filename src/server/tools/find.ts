/**
 * browser_find (Playwright MCP's): the lines of the page's snapshot that match a text or a
 * regular expression, each with a few lines around it and the elements that hold it, as one
 * tree; cheaper than the whole snapshot when an agent only needs an element's ref.
 */
import { Effect, Schema } from "effect"
import { Bridge } from "../Bridge.js"
import * as AgentRegex from "./AgentRegex.js"
import { filenameArgument, saveText, tabArgument } from "./arguments.js"
import { BadArguments, make } from "./Tool.js"

/** Lines shown before and after each match. */
const AROUND = 3
/** Matches shown at most; the rest are counted. */
const SHOWN = 50

/** The indexes of the lines that match: a text anywhere in the line (any case), or a regular expression. */
export const matching = (lines: ReadonlyArray<string>, query: { readonly text: string } | { readonly regex: string }) => {
  if ("regex" in query) return AgentRegex.matches("browser_find", query.regex, lines)
  const text = query.text.toLowerCase()
  return Effect.succeed(lines.flatMap((line, i) => (line.toLowerCase().includes(text) ? [i] : [])))
}

const indent = (line: string) => line.length - line.trimStart().length

/** The lines that hold line `i` (each above it and less indented than the last one taken), nearest first. */
const holders = (lines: ReadonlyArray<string>, i: number) => {
  const out: Array<number> = []
  let under = indent(lines[i]!)
  for (let k = i - 1; k >= 0 && under > 0; k--) {
    if (indent(lines[k]!) < under) {
      out.push(k)
      under = indent(lines[k]!)
    }
  }
  return out
}

/**
 * The matches with the lines around them and every line that holds one of those, in the
 * snapshot's order. Where lines under an element shown only as context were left out, a
 * "..." line says so; the way down from a match's own holders to it is not marked.
 */
export const excerpt = (lines: ReadonlyArray<string>, matches: ReadonlyArray<number>): string => {
  const shown = new Set<number>()
  const path = new Set<number>()
  for (const i of matches) {
    for (const k of holders(lines, i)) path.add(k)
    for (let j = Math.max(0, i - AROUND); j <= Math.min(lines.length - 1, i + AROUND); j++) {
      shown.add(j)
      for (const k of holders(lines, j)) shown.add(k)
    }
  }
  const order = [...shown].sort((a, b) => a - b)
  return order.flatMap((i, n) => {
    const next = order[n + 1]
    const gap = next !== undefined && next > i + 1 && !path.has(i) && indent(lines[next]!) > indent(lines[i]!)
    return gap ? [lines[i]!, `${" ".repeat(indent(lines[next]!))}...`] : [lines[i]!]
  }).join("\n")
}

export const browserFind = make({
  name: "browser_find",
  description:
    "Search the page's snapshot for a text (any case) or a regular expression: each matching line comes with a few lines around it and the elements that hold it, " +
    "with their refs. Cheaper than a whole snapshot when you only need to find an element.",
  annotations: { title: "Find in page snapshot", readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  input: Schema.Struct({
    text: Schema.optional(Schema.String.pipe(Schema.minLength(1)).annotations({ description: "Text to find in the snapshot's lines, in any case." })),
    regex: Schema.optional(Schema.String.pipe(Schema.minLength(1)).annotations({
      description: "A regular expression instead: case-sensitive as written, or /pattern/flags (like /error/i)."
    })),
    maxResults: Schema.optional(Schema.Int.pipe(Schema.positive()).annotations({ description: `Matches to show at most (default ${SHOWN}); all are counted.` })),
    filename: filenameArgument("the results"),
    tab: tabArgument
  }),
  output: Schema.Struct({ tab: Schema.String, url: Schema.String, matches: Schema.Int, found: Schema.String, path: Schema.optional(Schema.String) }),
  handler: ({ filename, maxResults = SHOWN, regex, tab, text }) =>
    Effect.gen(function*() {
      if (text === undefined && regex === undefined) return yield* new BadArguments({ tool: "browser_find", issue: `Provide either "text" or "regex" to search for.` })
      if (text !== undefined && regex !== undefined) return yield* new BadArguments({ tool: "browser_find", issue: `Provide only one of "text" or "regex", not both.` })
      const query = text !== undefined ? { text } : { regex: regex! }
      const s = yield* Effect.flatMap(Bridge, (bridge) => bridge.call("page.snapshot", { tab }))
      const lines = s.snapshot.split("\n")
      const matches = yield* matching(lines, query)
      const what = text !== undefined ? JSON.stringify(text) : AgentRegex.show(regex!)
      const found = matches.length === 0
        ? `No matches found for ${what}.`
        : `Found ${matches.length} ${matches.length === 1 ? "match" : "matches"} for ${what}${matches.length > maxResults ? ` (showing first ${maxResults})` : ""}:\n\n${excerpt(lines, matches.slice(0, maxResults))}`
      const path = yield* saveText("browser_find", filename, found)
      return {
        text: [`Page: ${s.title || "(untitled)"} — ${s.url}`, path === undefined ? undefined : `Saved to ${path}.`, found].filter((l) => l !== undefined).join("\n"),
        structured: { tab: s.tab, url: s.url, matches: matches.length, found, ...(path === undefined ? {} : { path }) }
      }
    })
})
