/** Arguments several tools share. */
import { Schema } from "effect"
import { TabHandle } from "../../protocol/index.js"

export const tabArgument = Schema.optional(
  TabHandle.annotations({ description: "The tab (a handle from browser_tabs, like \"t2\"); default: your current tab." })
)
