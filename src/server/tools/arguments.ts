/** Arguments several tools share. */
import { Effect, Schema } from "effect"
import { TabHandle } from "../../protocol/index.js"
import { Workspace } from "../Workspace.js"

export const tabArgument = Schema.optional(
  TabHandle.annotations({ description: "The tab (a handle from browser_tabs, like \"t2\"); default: your current tab." })
)

/**
 * A number from `min` to `max` (whole with `int`), described for the agent; a value out of
 * range is refused naming the range and what was given, not the description.
 */
export const bounded = (min: number, max: number, description: string, options: { readonly int?: boolean } = {}) =>
  (options.int ? Schema.Int : Schema.Number).pipe(Schema.between(min, max)).annotations({
    description,
    message: (issue) => ({
      message: `${options.int ? "an integer" : "a number"} from ${min} to ${max}, got ${JSON.stringify(issue.actual)}`,
      override: true
    })
  })

/** `filename` of a tool whose answer (`what`: "the snapshot", "the image", ...) can also be saved. */
export const filenameArgument = (what: string) =>
  Schema.optional(Schema.String.annotations({
    description: `Also save ${what} to this file: inside the client's roots or the output directory (a relative name is in the client's first root).`
  }))

/** Saves a tool's text answer to `filename` when one is given; the real path written. */
export const saveText = (tool: string, filename: string | undefined, text: string) =>
  filename === undefined ? Effect.succeed(undefined) : Effect.flatMap(Workspace, (w) => w.save(tool, filename, "", new TextEncoder().encode(`${text}\n`)))
