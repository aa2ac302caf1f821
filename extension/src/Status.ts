/**
 * What the status page shows: every instance with its tabs and lock figures, leases and waiters. This is
 * the user's own view of their browser, so it shows everything; agents never get it.
 * The worker answers `{type: "status"}` runtime messages with it.
 */
import { Effect, Layer, Option, Ref, Runtime } from "effect"
import { Locks } from "../../src/protocol/index.js"
import { Browser } from "./Browser.js"
import { Credentials } from "./Credentials.js"
import { Instances, tabsOf } from "./Instances.js"
import { TabLocks } from "./TabLocks.js"

export interface StatusTab {
  readonly handle: string
  readonly title: string
  readonly url: string
  readonly shared: boolean
  readonly current: boolean
}

export interface Status {
  /** How the extension proves itself to servers: the native host, a pairing, or not at all (and why). */
  readonly trust: { readonly source: string; readonly hostProblem: string | undefined }
  readonly instances: ReadonlyArray<{
    readonly name: string
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
  return {
    trust: { source: trust.source, hostProblem: trust.hostProblem },
    instances: yield* Effect.forEach(all, (i) =>
      Effect.gen(function*() {
        const current = yield* Ref.get(i.current)
        const tabs = yield* Effect.forEach(yield* tabsOf(i), ({ handle, shared, tab }) =>
          Effect.map(browser.getTab(tab), Option.map((t): StatusTab => ({ handle, title: t.title, url: t.url, shared, current: Option.contains(current, handle) }))))
        return {
          name: (yield* Ref.get(i.who)).name,
          color: i.color,
          port: i.port,
          tabs: tabs.flatMap(Option.toArray),
          locks: Locks.summarise(yield* locks.figures(i.id))
        }
      })),
    locks: yield* Effect.forEach(yield* locks.view, (v) =>
      Effect.map(title(v.tab), (t) => ({
        title: t,
        leasedBy: v.lease?.who.name,
        leaseEndsIn: v.lease === undefined ? undefined : Math.max(0, Math.round((v.lease.expiresAt - now) / 1000)),
        busyWith: v.busyWith?.name,
        waiting: v.waiters.map((w) => `${w.who.name} (${w.kind})`)
      })))
  } satisfies Status
})

/** Answers the status page's runtime messages. */
export const layer = Layer.scopedDiscard(Effect.gen(function*() {
  const runtime = yield* Effect.runtime<Instances | TabLocks | Browser | Credentials>()
  const listener = (message: unknown, _sender: chrome.runtime.MessageSender, reply: (response: unknown) => void) => {
    if ((message as { type?: string } | null)?.type !== "status") return false
    Runtime.runPromise(runtime)(status).then(reply, (e) => reply({ error: String(e) }))
    return true
  }
  chrome.runtime.onMessage.addListener(listener)
  yield* Effect.addFinalizer(() => Effect.sync(() => chrome.runtime.onMessage.removeListener(listener)))
}))
