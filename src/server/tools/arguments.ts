/** Arguments several tools share. */
import { Schema } from "effect"
import { TabHandle } from "../../protocol/index.js"

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
