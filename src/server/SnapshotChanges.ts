/**
 * What an agent is told of a page after it acted on it. With `--snapshot-after-action diff`
 * (the default), an action's result carries only what changed since the last whole snapshot
 * of that tab the agent received (from browser_snapshot, a navigation or an earlier action):
 * the changed and new elements, each under the elements that hold it, and the elements that
 * are gone. Refs stay valid across snapshots (an element keeps its ref while it lives), so
 * what is left out is exactly what the agent already has. A new document shares no ref with
 * the last one, so a page that is new is sent whole; so is a change that would not be smaller.
 *
 * State is per server (one agent): the last whole snapshot text per tab handle, the most
 * recent few only (a snapshot is at most a few MB).
 */
import { Context, Effect, Layer, Option, Ref, Schema } from "effect"
import { createHash } from "node:crypto"
import { ServerConfig } from "./Config.js"

/** What an action's result says of the page. */
export type Told =
  | { readonly _tag: "Whole"; readonly snapshot: string }
  | { readonly _tag: "Changes"; readonly changes: string }
  | { readonly _tag: "Unchanged" }

export class SnapshotChanges extends Context.Tag("tabmux/SnapshotChanges")<SnapshotChanges, {
  /** A whole snapshot the agent received as is (browser_snapshot): later changes are measured from it. */
  readonly seen: (tab: string, snapshot: string) => Effect.Effect<void>
  /** What to tell of a fresh whole snapshot after an action or navigation; then it is what the agent has seen. */
  readonly tell: (tab: string, snapshot: string) => Effect.Effect<Told>
}>() {}

/** How many tabs' last snapshots are kept, and how many characters in all. */
const KEPT_TABS = 16
const KEPT_CHARS = 16 * 1024 * 1024
/** A change is sent as such only when it is at most this share of the whole. */
const WORTH = 0.7
/** Gone elements listed one by one; the rest are counted. */
const GONE_LISTED = 20

export const make = Effect.gen(function*() {
  const config = yield* ServerConfig
  // Most recently seen last.
  const last = yield* Ref.make<ReadonlyArray<readonly [string, string]>>([])
  const remember = (tab: string, snapshot: string) =>
    Ref.update(last, (entries) => {
      const kept = [...entries.filter(([t]) => t !== tab), [tab, snapshot] as const]
      let chars = kept.reduce((n, [, s]) => n + s.length, 0)
      while (kept.length > 1 && (kept.length > KEPT_TABS || chars > KEPT_CHARS)) chars -= kept.shift()![1].length
      return kept
    })
  // Only measuring changes needs what the agent saw.
  if (config.snapshotAfterAction !== "diff") {
    return SnapshotChanges.of({ seen: () => Effect.void, tell: (_, snapshot) => Effect.succeed({ _tag: "Whole", snapshot }) })
  }
  return SnapshotChanges.of({
    seen: remember,
    tell: (tab, snapshot) =>
      Effect.gen(function*() {
        const before = (yield* Ref.get(last)).find(([t]) => t === tab)?.[1]
        yield* remember(tab, snapshot)
        if (before === undefined) return { _tag: "Whole", snapshot } as const
        if (before === snapshot) return { _tag: "Unchanged" } as const
        return Option.match(changes(before, snapshot), {
          onNone: () => ({ _tag: "Whole", snapshot }) as const,
          onSome: (text) => ({ _tag: "Changes", changes: text }) as const
        })
      })
  })
})

export const layer = Layer.effect(SnapshotChanges, make)

/** How a result words what it tells of the page. */
export const words = (told: Told): string => {
  switch (told._tag) {
    case "Whole":
      return `Snapshot:\n${told.snapshot}`
    case "Changes":
      return `Snapshot changes since the last snapshot of this tab you received (the rest is as it was, refs unchanged):\n${told.changes}`
    case "Unchanged":
      return "Snapshot: unchanged since the last one of this tab you received."
  }
}

/** The field a result's structured content adds for it: which kind the `snapshot` it carries is. */
export const Kind = Schema.Struct({ snapshotIs: Schema.optional(Schema.Literal("whole", "changes", "unchanged")) })

/** What a result's structured content carries of it: the text as told, and which kind it is. */
export const structured = (told: Told) =>
  told._tag === "Whole"
    ? { snapshot: told.snapshot, snapshotIs: "whole" as const }
    : told._tag === "Changes"
    ? { snapshot: told.changes, snapshotIs: "changes" as const }
    : { snapshotIs: "unchanged" as const }

interface Line {
  readonly text: string
  readonly ref: string | undefined
  readonly children: Array<Line>
  /** A digest of the line and everything under it. */
  sum: string
}

/**
 * A line's ref: in the marks after its role and quoted name (`- role "name" [state] [ref=…]`),
 * never in the name or the text after it, which the page writes.
 */
const REF = /^- [^\s"]+(?: "(?:[^"\\]|\\.)*")?(?: \[[^\]]*\])*? \[ref=([^\]\s]+)\]/

/** The snapshot's lines as a tree, by their indentation (two spaces a level). */
const parse = (snapshot: string): Array<Line> => {
  const roots: Array<Line> = []
  const open: Array<{ indent: number; line: Line }> = []
  for (const raw of snapshot.split("\n")) {
    if (raw.trim() === "") continue
    const indent = raw.length - raw.trimStart().length
    const text = raw.trimStart()
    const line: Line = { text, ref: REF.exec(text)?.[1], children: [], sum: "" }
    while (open.length > 0 && open[open.length - 1]!.indent >= indent) open.pop()
    ;(open.length === 0 ? roots : open[open.length - 1]!.line.children).push(line)
    open.push({ indent, line })
  }
  const digest = (line: Line): string => {
    const hash = createHash("sha1").update(line.text)
    for (const child of line.children) hash.update("\u0000").update(digest(child))
    return (line.sum = hash.digest("base64"))
  }
  roots.forEach(digest)
  return roots
}

const byRef = (roots: ReadonlyArray<Line>) => {
  const index = new Map<string, { line: Line; parent: Line | undefined }>()
  const visit = (line: Line, parent: Line | undefined) => {
    if (line.ref !== undefined) index.set(line.ref, { line, parent })
    for (const child of line.children) visit(child, line)
  }
  for (const root of roots) visit(root, undefined)
  return index
}

const write = (line: Line, depth: number, out: Array<string>, whole: boolean) => {
  out.push(`${"  ".repeat(depth)}${line.text}`)
  if (whole) for (const child of line.children) write(child, depth + 1, out, true)
}

/**
 * What changed from `before` to `after` (two whole snapshots of one tab), as snapshot lines:
 * new and changed elements with the elements that hold them, then the elements that are
 * gone. `None` when they are not the same page (no ref in common) or the change is not
 * much smaller than `after` itself.
 */
export const changes = (before: string, after: string): Option.Option<string> => {
  const old = parse(before)
  const now = parse(after)
  const oldRefs = byRef(old)
  const newRefs = byRef(now)
  if (![...newRefs.keys()].some((ref) => oldRefs.has(ref))) return Option.none()

  /** The lines of `children` that differ from `was` (the same element's children before). */
  const under = (children: ReadonlyArray<Line>, was: ReadonlyArray<Line>, depth: number, out: Array<string>) => {
    // Lines without a ref (text) are matched by what they say, each once.
    const plain = new Map<string, number>()
    for (const line of was) if (line.ref === undefined) plain.set(line.sum, (plain.get(line.sum) ?? 0) + 1)
    for (const child of children) {
      if (child.ref === undefined) {
        const left = plain.get(child.sum) ?? 0
        if (left > 0) plain.set(child.sum, left - 1)
        else write(child, depth, out, true)
        continue
      }
      const before = oldRefs.get(child.ref)
      if (before === undefined) write(child, depth, out, true)
      else if (before.line.sum !== child.sum) {
        const inner: Array<string> = []
        under(child.children, before.line.children, depth + 1, inner)
        // Shown as the element that holds the change; its own line is as it is now.
        out.push(`${"  ".repeat(depth)}${child.text}`, ...inner)
      }
    }
  }
  const out: Array<string> = []
  under(now, old, 0, out)
  const gone = [...oldRefs].filter(([ref, { parent }]) => !newRefs.has(ref) && (parent?.ref === undefined || newRefs.has(parent.ref)))
  if (gone.length > 0) {
    out.push(`- gone (no longer in the page):`)
    for (const [, { line }] of gone.slice(0, GONE_LISTED)) out.push(`  ${line.text.replace(/:$/, "")}`)
    if (gone.length > GONE_LISTED) out.push(`  - text: and ${gone.length - GONE_LISTED} more`)
  }
  const text = out.join("\n")
  return text.length > after.length * WORTH ? Option.none() : Option.some(text)
}
