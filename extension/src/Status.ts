/**
 * What the status page shows: every instance with its tabs and lock figures, leases and waiters. This is
 * the user's own view of their browser, so it shows everything; agents never get it.
 * The worker answers `{type: "status"}` runtime messages with it.
 */
import { Effect, Layer, Option, Runtime, Schema } from "effect"
import { Locks } from "../../src/protocol/index.js"
import { Browser } from "./Browser.js"
import { Credentials } from "./Credentials.js"
import { Instances, tabsOf } from "./Instances.js"
import { Settings } from "./Settings.js"
import { TabLocks } from "./TabLocks.js"

const decodeRequest = Schema.decodeUnknownOption(Schema.Union(
  Schema.Struct({ type: Schema.Literal("status") }),
  Schema.Struct({ type: Schema.Literal("takeBack"), instance: Schema.String, handle: Schema.String }),
  Schema.Struct({ type: Schema.Literal("disconnect"), instance: Schema.String }),
  Schema.Struct({ type: Schema.Literal("pause"), paused: Schema.Boolean })
))

export interface StatusTab {
  readonly handle: string
  readonly tab: number
  readonly title: string
  readonly url: string
  readonly shared: boolean
  readonly current: boolean
}

export interface Status {
  /** How the extension proves itself to servers: the native host, a pairing, or not at all (and why). */
  readonly trust: { readonly source: string; readonly hostProblem: string | undefined }
  /** The user paused every agent. */
  readonly paused: boolean
  /** The port range the extension scans now. */
  readonly range: string
  readonly instances: ReadonlyArray<{
    readonly id: string
    readonly name: string
    readonly connected: boolean
    /** What it is doing now: the tabs its calls hold, by title. */
    readonly busy: ReadonlyArray<string>
    /** Its leases: the tab's title and the seconds left. */
    readonly leases: ReadonlyArray<{ readonly title: string; readonly secondsLeft: number }>
    readonly color: string
    readonly port: number
    readonly tabs: ReadonlyArray<StatusTab>
    readonly locks: Locks.LockSummary
  }>
  readonly locks: ReadonlyArray<{
    readonly title: string
    readonly leasedBy: string | undefined
    readonly leaseEndsIn: number | undefined
    readonly busyWith: string | undefined
    readonly waiting: ReadonlyArray<string>
  }>
}

export const status = Effect.gen(function*() {
  const instances = yield* Instances
  const locks = yield* TabLocks
  const browser = yield* Browser
  const title = (tab: number) => Effect.map(browser.getTab(tab), Option.match({ onNone: () => `tab ${tab}`, onSome: (t) => t.title || t.url }))
  const all = yield* instances.all
  const now = Date.now()
  const trust = yield* Effect.flatMap(Credentials, (c) => c.get)
  const { first, last } = yield* Effect.flatMap(Settings, (s) => s.ports)
  const views = yield* locks.view
  return {
    trust: { source: trust.source, hostProblem: trust.hostProblem },
    paused: yield* locks.paused,
    range: `${first}-${last}`,
    instances: yield* Effect.forEach(all, (i) =>
      Effect.gen(function*() {
        const tabs = yield* Effect.forEach(tabsOf(i), ({ handle, shared, tab }) =>
          Effect.map(browser.getTab(tab), Option.map((t): StatusTab => ({ handle, tab, title: t.title, url: t.url, shared, current: i.current === handle }))))
        return {
          id: i.id,
          name: i.name,
          connected: i.connected,
          busy: yield* Effect.forEach(views.filter((v) => v.busyWith?.instanceId === i.id), (v) => title(v.tab)),
          leases: yield* Effect.forEach(views.filter((v) => v.lease?.who.instanceId === i.id), (v) =>
            Effect.map(title(v.tab), (t) => ({ title: t, secondsLeft: Math.max(0, Math.round(((v.lease?.expiresAt ?? now) - now) / 1000)) }))),
          color: i.color,
          port: i.port,
          tabs: tabs.flatMap(Option.toArray),
          locks: Locks.summarise(yield* locks.figures(i.id))
        }
      })),
    locks: yield* Effect.forEach(views, (v) =>
      Effect.map(title(v.tab), (t) => ({
        title: t,
        leasedBy: v.lease?.who.name,
        leaseEndsIn: v.lease === undefined ? undefined : Math.max(0, Math.round((v.lease.expiresAt - now) / 1000)),
        busyWith: v.busyWith?.name,
        waiting: v.waiters.map((w) => `${w.who.name} (${w.kind})`)
      })))
  } satisfies Status
})

/** What the status page asks the worker: its state, or one of the user's controls. */
export type StatusRequest =
  | { readonly type: "status" }
  | { readonly type: "takeBack"; readonly instance: string; readonly handle: string }
  | { readonly type: "disconnect"; readonly instance: string }
  | { readonly type: "pause"; readonly paused: boolean }

const answer = (request: StatusRequest) =>
  Effect.gen(function*() {
    switch (request.type) {
      case "status":
        return yield* status
      case "takeBack":
        return { done: yield* Effect.flatMap(Instances, (i) => i.takeBack(request.instance, request.handle)) }
      case "disconnect":
        return { done: yield* Effect.flatMap(Instances, (i) => i.disconnect(request.instance)) }
      case "pause":
        yield* Effect.flatMap(TabLocks, (l) => l.pause(request.paused))
        yield* Effect.logInfo(request.paused ? "the user paused all agents" : "the user resumed the agents")
        return { done: true }
    }
  })

/** Answers the status page's runtime messages. */
export const layer = Layer.scopedDiscard(Effect.gen(function*() {
  const runtime = yield* Effect.runtime<Instances | TabLocks | Browser | Credentials | Settings>()
  const listener = (message: unknown, sender: chrome.runtime.MessageSender, reply: (response: unknown) => void) => {
    // Only the extension's own pages (the popup, the status page) may ask; content never can.
    if (sender.id !== chrome.runtime.id || sender.tab !== undefined && !sender.url?.startsWith(`chrome-extension://${chrome.runtime.id}/`)) return false
    const request = decodeRequest(message)
    if (Option.isNone(request)) return false
    Runtime.runPromise(runtime)(answer(request.value)).then(reply, (e) => reply({ error: String(e) }))
    return true
  }
  chrome.runtime.onMessage.addListener(listener)
  yield* Effect.addFinalizer(() => Effect.sync(() => chrome.runtime.onMessage.removeListener(listener)))
}))
