/** `Browser` in memory for unit tests: tabs in a Map, every action logged in order. */
import { Effect, Layer, Option, PubSub, Ref, Stream } from "effect"
import { Browser, type TabSnapshot } from "../../extension/src/Browser.js"

/** The group id tests use for the user's shared group. */
export const SHARED = 999

export const make = Effect.gen(function*() {
  const tabs = yield* Ref.make(new Map<number, TabSnapshot & { group: number | undefined }>())
  const log = yield* Ref.make<Array<string>>([])
  const removed = yield* PubSub.unbounded<number>()
  const openedFrom = yield* PubSub.unbounded<{ readonly tab: number; readonly opener: number }>()
  /** The "share all tabs" option. */
  const shareAll = { value: false }
  let nextTab = 100
  let nextGroup = 1
  const note = (line: string) => Ref.update(log, (l) => [...l, line])
  const browser = Browser.of({
    openTab: (url) =>
      Effect.gen(function*() {
        const tab = { id: nextTab++, url, title: url, group: undefined }
        yield* Ref.update(tabs, (m) => new Map(m).set(tab.id, tab))
        yield* note(`open ${tab.id}`)
        return tab
      }),
    closeTab: (id) =>
      Ref.modify(tabs, (m) => {
        const copy = new Map(m)
        return [copy.delete(id), copy] as const
      }).pipe(Effect.tap((existed) => (existed ? note(`close ${id}`).pipe(Effect.zipRight(PubSub.publish(removed, id))) : Effect.void)), Effect.asVoid),
    getTab: (id) => Effect.map(Ref.get(tabs), (m) => Option.fromNullable(m.get(id))),
    group: (ids, group, title, color) =>
      Effect.gen(function*() {
        const g = Option.getOrElse(group, () => nextGroup++)
        yield* Ref.update(tabs, (m) => new Map([...m].map(([id, t]) => [id, ids.includes(id) ? { ...t, group: g } : t])))
        yield* note(`group ${ids.join(",")} as ${g} "${title}" ${color}`)
        return Option.some(g)
      }),
    ungroup: (ids) => note(`ungroup ${ids.join(",")}`),
    setBadge: (text) => note(`badge "${text}"`),
    limitOrigins: () => Effect.void,
    tabsInGroup: (group) => Effect.map(Ref.get(tabs), (m) => [...m.values()].filter((t) => t.group === group).map((t) => t.id)),
    sharedTabs: (owned) =>
      Effect.map(Ref.get(tabs), (m) => [...m.values()].filter((t) => (shareAll.value ? !owned.has(t.id) : t.group === SHARED))),
    tabRemoved: Stream.fromPubSub(removed),
    tabOpenedFrom: Stream.fromPubSub(openedFrom)
  })
  /** A page of tab `opener` opens a tab (a popup). */
  const openFrom = (opener: number, url: string) =>
    Effect.tap(browser.openTab(url), (tab) => PubSub.publish(openedFrom, { tab: tab.id, opener }))
  return { browser, log, tabs, note, shareAll, openFrom }
})

export type MemoryBrowser = Effect.Effect.Success<typeof make>

export const layer = (memory: MemoryBrowser) => Layer.succeed(Browser, memory.browser)
