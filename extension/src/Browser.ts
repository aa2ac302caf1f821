/**
 * The few browser abilities the extension's logic needs, behind one interface: Chrome's
 * APIs in the worker (`ChromeBrowser`), memory in unit tests. Where an API is missing
 * (tab groups in some browsers or modes), the Chrome implementation degrades with a
 * logged warning instead of failing.
 */
import { Context, Data, type Effect, type Option, type Stream } from "effect"

export interface TabSnapshot {
  readonly id: number
  readonly url: string
  readonly title: string
}

export { GROUP_COLORS, type GroupColor } from "../../src/protocol/index.js"
import type { GroupColor, OriginPolicy } from "../../src/protocol/index.js"

/** The group a user drags a tab into to share it with every agent. */
export const SHARED_GROUP = "tabmux · shared"

export class BrowserError extends Data.TaggedError("BrowserError")<{ readonly op: string; readonly message: string }> {}

export class Browser extends Context.Tag("tabmux/Browser")<Browser, {
  /** Opens a tab in the background: never activates it, never steals focus. */
  readonly openTab: (url: string) => Effect.Effect<TabSnapshot, BrowserError>
  /** Closes a tab; a tab already gone is fine. */
  readonly closeTab: (id: number) => Effect.Effect<void>
  readonly getTab: (id: number) => Effect.Effect<Option.Option<TabSnapshot>>
  /** Puts tabs in a group (a new one when `group` is none) titled and coloured as given; `None` where groups are unsupported. */
  readonly group: (tabs: ReadonlyArray<number>, group: Option.Option<number>, title: string, color: GroupColor) => Effect.Effect<Option.Option<number>>
  readonly ungroup: (tabs: ReadonlyArray<number>) => Effect.Effect<void>
  readonly setBadge: (text: string) => Effect.Effect<void>
  /** The tabs in a group, in tab-strip order (none when groups are unsupported or the group is gone). */
  readonly tabsInGroup: (group: number) => Effect.Effect<ReadonlyArray<number>>
  /**
   * The tabs the user shares with every agent: those in a group titled `SHARED_GROUP`, or,
   * with the "share all tabs" option on (off by default), every tab but `owned` ones and
   * the extension's own pages.
   */
  readonly sharedTabs: (owned: ReadonlySet<number>) => Effect.Effect<ReadonlyArray<TabSnapshot>>
  /** Tabs closed by anyone (the user included). */
  readonly tabRemoved: Stream.Stream<number>
  /** Tabs opened from another tab (a popup, a link opened in a new tab), with the tab they came from. */
  readonly tabOpenedFrom: Stream.Stream<{ readonly tab: number; readonly opener: number }>
  /**
   * Holds the documents `tabs` load (their pages and frames, by any navigation: a redirect,
   * a page's script, a click) to `policy`; `key` names the set of rules, replaced on each
   * call (no policy or no tabs: removed).
   */
  readonly limitOrigins: (key: number, tabs: ReadonlyArray<number>, policy: OriginPolicy | undefined) => Effect.Effect<void>
}>() {}
