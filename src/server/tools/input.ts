/**
 * Page actions (Playwright MCP's names and shapes): elements are named by refs from the
 * latest browser_snapshot. Each action waits for what it caused and answers with what
 * was done, where the page is, what opened, new console messages, and (unless the server
 * runs with `--snapshot-after-action none`) a fresh snapshot.
 */
import { Effect, Schema } from "effect"
import { ActionResult, FormField, Modifier, type PageAction } from "../../protocol/index.js"
import { Bridge } from "../Bridge.js"
import { Workspace } from "../Workspace.js"
import { ServerConfig } from "../Config.js"
import * as SnapshotChanges from "../SnapshotChanges.js"
import { tabArgument } from "./arguments.js"
import { consoleLine } from "./page.js"
import { BadArguments, make, type ToolAnnotations } from "./Tool.js"

const ref = Schema.String.annotations({ description: "The element's ref from a browser_snapshot, like \"s3e12\" (or a CSS selector that matches exactly one element)." })
const element = Schema.optional(Schema.String.annotations({
  description: "What the element is, in words (\"Submit button\"); used in messages."
}))

/** An action's result as the agent gets it: the snapshot is what changed, or whole, or left out. */
const ActionAnswer = Schema.extend(ActionResult, SnapshotChanges.Kind)

const describeAction = (r: ActionResult, told: SnapshotChanges.Told | undefined) =>
  [
    `${r.did[0]!.toUpperCase()}${r.did.slice(1)}.`,
    `Page: ${r.title || "(untitled)"} — ${r.url}`,
    r.modal === undefined ? undefined : `Modal: ${r.modal}.`,
    r.consoleMessages.length === 0 ? undefined : `New console messages:\n${r.consoleMessages.map((m) => `- ${consoleLine(m)}`).join("\n")}`,
    r.downloads.length === 0
      ? undefined
      : `Downloads started (saved where the browser saves downloads):\n${r.downloads.map((d) => `- ${d.filename} from ${d.url}`).join("\n")}`,
    r.settled ? undefined : "The page was still busy (loading or requests in flight) when the wait ended.",
    told === undefined ? undefined : SnapshotChanges.words(told)
  ].filter((l) => l !== undefined).join("\n")

/** Runs an action through the extension and words its result. */
export const act = (tab: string | undefined, action: PageAction) =>
  Effect.gen(function*() {
    const bridge = yield* Bridge
    const config = yield* ServerConfig
    const result = yield* bridge.call("page.act", { action, snapshot: config.snapshotAfterAction !== "none", tab })
    const { snapshot, ...rest } = result
    const told = snapshot === undefined ? undefined : yield* Effect.flatMap(SnapshotChanges.SnapshotChanges, (s) => s.tell(result.tab, snapshot))
    return { text: describeAction(result, told), structured: told === undefined ? rest : { ...rest, ...SnapshotChanges.structured(told) } }
  })

const annotations = (title: string, destructive = true): ToolAnnotations => ({
  title,
  readOnlyHint: false,
  destructiveHint: destructive,
  idempotentHint: false,
  openWorldHint: true
})

export const browserClick = make({
  name: "browser_click",
  description: "Click an element (scrolled into view, at its visible centre; refused if hidden, disabled or covered by another element). Waits for what the click caused.",
  annotations: annotations("Click"),
  input: Schema.Struct({
    ref,
    element,
    doubleClick: Schema.optional(Schema.Boolean.annotations({ description: "Double-click instead of a single click." })),
    button: Schema.optional(Schema.Literal("left", "right", "middle").annotations({ description: "Mouse button (default left)." })),
    modifiers: Schema.optional(Schema.Array(Modifier).annotations({ description: "Keys held during the click." })),
    tab: tabArgument
  }),
  output: ActionAnswer,
  handler: ({ tab, ...o }) => act(tab, { _tag: "click", ...o })
})

export const browserHover = make({
  name: "browser_hover",
  description: "Move the mouse over an element (scrolled into view).",
  annotations: annotations("Hover", false),
  input: Schema.Struct({ ref, element, tab: tabArgument }),
  output: ActionAnswer,
  handler: ({ tab, ...o }) => act(tab, { _tag: "hover", ...o })
})

export const browserDrag = make({
  name: "browser_drag",
  description: "Drag one element onto another (mouse drag, including HTML drag and drop).",
  annotations: annotations("Drag and drop"),
  input: Schema.Struct({ startRef: ref, startElement: element, endRef: ref, endElement: element, tab: tabArgument }),
  output: ActionAnswer,
  handler: ({ tab, ...o }) => act(tab, { _tag: "drag", ...o })
})

export const browserType = make({
  name: "browser_type",
  description: "Type text into an editable element, replacing what it holds. `submit` presses Enter after; `slowly` types key by key (for pages that react to each key).",
  annotations: annotations("Type text"),
  input: Schema.Struct({
    ref,
    element,
    text: Schema.String.annotations({ description: "The text to type." }),
    submit: Schema.optional(Schema.Boolean.annotations({ description: "Press Enter after typing." })),
    slowly: Schema.optional(Schema.Boolean.annotations({ description: "Type one key at a time instead of inserting the text at once." })),
    tab: tabArgument
  }),
  output: ActionAnswer,
  handler: ({ tab, ...o }) => act(tab, { _tag: "type", ...o })
})

export const browserFillForm = make({
  name: "browser_fill_form",
  description: "Fill several form fields at once: text boxes (typed), checkboxes and radios (\"true\"/\"false\"), comboboxes (an option), sliders (a number).",
  annotations: annotations("Fill a form"),
  input: Schema.Struct({ fields: Schema.Array(FormField).pipe(Schema.minItems(1)).annotations({ description: "The fields, in order." }), tab: tabArgument }),
  output: ActionAnswer,
  handler: ({ fields, tab }) => act(tab, { _tag: "fill", fields })
})

export const browserSelectOption = make({
  name: "browser_select_option",
  description: "Choose options in a <select> (a combobox or list box), by value or visible label.",
  annotations: annotations("Select options"),
  input: Schema.Struct({
    ref,
    element,
    values: Schema.Array(Schema.String).pipe(Schema.minItems(1)).annotations({ description: "Values or labels to choose (several only for a multiple select)." }),
    tab: tabArgument
  }),
  output: ActionAnswer,
  handler: ({ tab, ...o }) => act(tab, { _tag: "select", ...o })
})

export const browserPressKey = make({
  name: "browser_press_key",
  description: "Press a key in whatever has focus: a character (\"a\"), a named key (Enter, Tab, Escape, Backspace, ArrowDown, PageDown, F5, ...), with modifiers as in \"Control+a\" or \"Shift+Tab\".",
  annotations: annotations("Press a key"),
  input: Schema.Struct({ key: Schema.String.annotations({ description: "The key, like \"Enter\", \"a\" or \"Control+Shift+K\"." }), tab: tabArgument }),
  output: ActionAnswer,
  handler: ({ key, tab }) => act(tab, { _tag: "press", key })
})

export const browserFileUpload = make({
  name: "browser_file_upload",
  description: "Answer an open file chooser (opened by clicking a file input) with files from this computer. No paths cancels the chooser.",
  annotations: annotations("Upload files"),
  input: Schema.Struct({
    paths: Schema.optional(Schema.Array(Schema.String).annotations({ description: "Paths of the files to choose: inside the client's roots or the output directory (relative paths are in the output directory)." })),
    tab: tabArgument
  }),
  output: ActionAnswer,
  handler: ({ paths, tab }) =>
    Effect.flatMap(Workspace, (w) => w.readable("browser_file_upload", paths ?? [])).pipe(
      Effect.flatMap((full) => act(tab, { _tag: "upload", paths: full }))
    )
})

export const browserDrop = make({
  name: "browser_drop",
  description: "Drop files or data onto an element, as if dragged there from outside the page (a file drop zone, an editor). Give paths or data.",
  annotations: annotations("Drop files or data"),
  input: Schema.Struct({
    ref,
    element,
    paths: Schema.optional(Schema.Array(Schema.String).annotations({ description: "Files to drop: inside the client's roots or the output directory (relative paths are in the output directory)." })),
    data: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }).annotations({
      description: "Data to drop, by MIME type: {\"text/plain\": \"hello\", \"text/uri-list\": \"https://example.com\"}."
    })),
    tab: tabArgument
  }),
  output: ActionAnswer,
  handler: ({ paths, data, tab, ...o }) =>
    Effect.gen(function*() {
      const files = (paths ?? []).length > 0
      const values = Object.keys(data ?? {}).length > 0
      if (!files && !values) return yield* new BadArguments({ tool: "browser_drop", issue: "give paths or data: there is nothing to drop" })
      // Chrome's drag carries files or data, not both (its data is dropped when files come with it).
      if (files && values) return yield* new BadArguments({ tool: "browser_drop", issue: "give paths or data, not both: drop them one after the other" })
      const full = yield* Effect.flatMap(Workspace, (w) => w.readable("browser_drop", paths ?? []))
      return yield* act(tab, { _tag: "drop", ...o, paths: full, data: data ?? {} })
    })
})

export const browserHandleDialog = make({
  name: "browser_handle_dialog",
  description: "Answer the open alert, confirm, prompt or beforeunload dialog.",
  annotations: annotations("Answer a dialog"),
  input: Schema.Struct({
    accept: Schema.Boolean.annotations({ description: "True for OK, false for Cancel." }),
    promptText: Schema.optional(Schema.String.annotations({ description: "The text to answer a prompt with." })),
    tab: tabArgument
  }),
  output: ActionAnswer,
  handler: ({ tab, ...o }) => act(tab, { _tag: "dialog", ...o })
})
