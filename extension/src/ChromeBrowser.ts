/** `Browser` on Chrome's extension APIs. Tab groups are optional: without them, tabs stay ungrouped and a warning is logged once. */
import { Effect, Layer, Option, Stream } from "effect"
import { Browser, BrowserError, SHARED_GROUP, type TabSnapshot } from "./Browser.js"

const snapshot = (tab: chrome.tabs.Tab): TabSnapshot => ({
  id: tab.id ?? -1,
  url: tab.pendingUrl ?? tab.url ?? "",
  title: tab.title ?? ""
})

const groupsAvailable = () => typeof chrome.tabGroups !== "undefined" && typeof chrome.tabs.group === "function"

export const layer = Layer.effect(
  Browser,
  Effect.gen(function*() {
    let warned = false
    const noGroups = Effect.suspend(() => {
      if (warned) return Effect.void
      warned = true
      return Effect.logWarning("tab groups are not available in this browser: tabs stay ungrouped")
    })
    return Browser.of({
      openTab: (url) =>
        Effect.tryPromise({
          try: () => chrome.tabs.create({ url, active: false }),
          catch: (e) => new BrowserError({ op: "open tab", message: String((e as Error)?.message ?? e) })
        }).pipe(Effect.map(snapshot)),
      closeTab: (id) => Effect.promise(() => chrome.tabs.remove(id).catch(() => undefined)),
      getTab: (id) => Effect.promise(() => chrome.tabs.get(id).then((t) => Option.some(snapshot(t)), () => Option.none())),
      group: (tabs, group, title, color) =>
        groupsAvailable()
          ? Effect.promise(async () => {
            const tabIds = tabs as unknown as [number, ...Array<number>]
            // The group may be gone (the user closed or dissolved it): then make a new one.
            const groupId = await chrome.tabs.group(Option.isSome(group) ? { tabIds, groupId: group.value } : { tabIds })
              .catch(() => chrome.tabs.group({ tabIds }))
            await chrome.tabGroups.update(groupId, { title, color, collapsed: false })
            return Option.some(groupId)
          }).pipe(Effect.catchAllDefect((e) => Effect.logWarning(`tab group not updated: ${String(e)}`).pipe(Effect.as(group))))
          : Effect.as(noGroups, Option.none()),
      ungroup: (tabs) =>
        groupsAvailable() && tabs.length > 0 ? Effect.promise(() => chrome.tabs.ungroup(tabs as unknown as [number, ...Array<number>]).catch(() => undefined)) : Effect.void,
      tabsInGroup: (group) =>
        groupsAvailable()
          ? Effect.promise(() => chrome.tabs.query({ groupId: group }).then((tabs) => tabs.flatMap((t) => (t.id === undefined ? [] : [t.id])), () => []))
          : Effect.succeed([]),
      sharedTabs: (owned) =>
        Effect.promise(async () => {
          const { shareAll } = await chrome.storage.local.get("shareAll")
          if (shareAll === true) {
            const own = chrome.runtime.getURL("")
            return (await chrome.tabs.query({})).map(snapshot).filter((t) => !owned.has(t.id) && !t.url.startsWith(own))
          }
          if (!groupsAvailable()) return []
          const groups = await chrome.tabGroups.query({ title: SHARED_GROUP })
          const tabs = await Promise.all(groups.map((g) => chrome.tabs.query({ groupId: g.id })))
          return tabs.flat().map(snapshot)
        }),
      setBadge: (text) => Effect.promise(() => chrome.action.setBadgeText({ text }).catch(() => undefined)),
      tabRemoved: Stream.async<number>((emit) => {
        const listener = (tabId: number) => {
          emit.single(tabId)
        }
        chrome.tabs.onRemoved.addListener(listener)
        return Effect.sync(() => chrome.tabs.onRemoved.removeListener(listener))
      })
    })
  })
)
