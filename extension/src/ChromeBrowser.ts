/** `Browser` on Chrome's extension APIs. Tab groups are optional: without them, tabs stay ungrouped and a warning is logged once. */
import { Effect, Layer, Option, Stream } from "effect"
import type { OriginPolicy } from "../../src/protocol/index.js"
import { Browser, BrowserError, SHARED_GROUP, type TabSnapshot } from "./Browser.js"

const snapshot = (tab: chrome.tabs.Tab): TabSnapshot => ({
  id: tab.id ?? -1,
  url: tab.pendingUrl ?? tab.url ?? "",
  title: tab.title ?? ""
})

/** Rule ids an agent's origin policy may use: its key × this, and the ones after. */
const RULES_PER_AGENT = 1000

/**
 * declarativeNetRequest session rules for one agent's tabs (pages and frames): with allowed
 * origins, everything else is blocked (priority 1) but them (priority 2); blocked origins
 * are blocked above both (priority 3). `|<origin>/` matches that scheme, host and port only.
 */
const originRules = (base: number, tabIds: Array<number>, policy: OriginPolicy): Array<chrome.declarativeNetRequest.Rule> => {
  const resourceTypes = ["main_frame", "sub_frame"] as Array<chrome.declarativeNetRequest.ResourceType>
  const rule = (id: number, priority: number, type: "block" | "allow", urlFilter: string): chrome.declarativeNetRequest.Rule => ({
    id,
    priority,
    action: { type: type as chrome.declarativeNetRequest.RuleActionType },
    condition: { tabIds, resourceTypes, urlFilter }
  })
  return [
    ...(policy.allowed.length > 0 ? [rule(base, 1, "block", "|http"), ...policy.allowed.map((o, i) => rule(base + 1 + i, 2, "allow", `|${o}/`))] : []),
    ...policy.blocked.map((o, i) => rule(base + 500 + i, 3, "block", `|${o}/`))
  ].slice(0, RULES_PER_AGENT)
}

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
      limitOrigins: (key, tabs, policy) =>
        Effect.promise(async () => {
          const base = key * RULES_PER_AGENT
          const existing = (await chrome.declarativeNetRequest.getSessionRules()).map((r) => r.id).filter((id) => id >= base && id < base + RULES_PER_AGENT)
          await chrome.declarativeNetRequest.updateSessionRules({
            removeRuleIds: existing,
            addRules: policy === undefined || tabs.length === 0 ? [] : originRules(base, [...tabs], policy)
          })
        }).pipe(Effect.catchAllDefect((e) => Effect.logWarning(`origin rules not updated: ${String(e)}`))),
      tabRemoved: Stream.async<number>((emit) => {
        const listener = (tabId: number) => {
          emit.single(tabId)
        }
        chrome.tabs.onRemoved.addListener(listener)
        return Effect.sync(() => chrome.tabs.onRemoved.removeListener(listener))
      }),
      // Not `chrome.tabs.onCreated`'s `openerTabId`: Chrome gives a background tab's popup the active tab as its opener.
      tabOpenedFrom: Stream.async<{ readonly tab: number; readonly opener: number }>((emit) => {
        const listener = (d: chrome.webNavigation.WebNavigationSourceCallbackDetails) => {
          emit.single({ tab: d.tabId, opener: d.sourceTabId })
        }
        chrome.webNavigation.onCreatedNavigationTarget.addListener(listener)
        return Effect.sync(() => chrome.webNavigation.onCreatedNavigationTarget.removeListener(listener))
      })
    })
  })
)
