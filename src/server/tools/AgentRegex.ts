/**
 * An agent's regular expression, run over strings in a V8 context of its own with a time
 * limit: one that backtracks without end is refused, naming it, instead of stalling the
 * server. Written as Playwright MCP takes them: `/source/flags`, or the pattern alone
 * (case-sensitive).
 */
import { Effect } from "effect"
import * as Vm from "node:vm"
import { BadArguments } from "./Tool.js"

/** How long one agent's regular expression may run over one list of strings. */
const LIMIT_MS = 1_000

/** `/source/flags` as Playwright MCP takes it, else the pattern as written. */
export const parse = (written: string) => {
  const m = /^\/(.*)\/([a-z]*)$/s.exec(written)
  return m ? { source: m[1]!, flags: m[2]! } : { source: written, flags: "" }
}

/** How the expression is shown back: `/source/flags`. */
export const show = (written: string) => (({ flags, source }) => `/${source}/${flags}`)(parse(written))

/** Which of `strings` the expression matches (their indexes), or a `BadArguments` of `tool` saying why it cannot run. */
export const matches = (tool: string, written: string, strings: ReadonlyArray<string>) =>
  Effect.try({
    try: () => {
      const { source, flags } = parse(written)
      const context = Vm.createContext({ strings, source, flags: flags.replace(/[gy]/g, "") })
      return new Vm.Script("const re = new RegExp(source, flags); strings.flatMap((s, i) => (re.test(s) ? [i] : []))")
        .runInContext(context, { timeout: LIMIT_MS }) as Array<number>
    },
    catch: (e) =>
      new BadArguments({
        tool,
        issue: /timed out/i.test(String(e))
          ? `regex ${written}: ran longer than ${LIMIT_MS / 1000} s (it backtracks too much); write a simpler one, or search for text`
          : `regex ${written}: ${String((e as Error).message ?? e)}`
      })
  })
