/**
 * What each protocol method does in the browser, for one instance. Params are decoded
 * with the method catalogue before anything runs; every failure becomes a wire error
 * whose message tells the agent what to do. Every operation on a tab runs under its
 * lock; a call that has to wait reports its progress.
 */
import { Duration, Effect, Option, ParseResult, Schema, Stream } from "effect"
import {
  BadParams,
  CALL_WAIT_SECONDS,
  type CallFailure,
  Internal,
  isMethodName,
  LockTimeout as LockWaitedTooLong,
  type MethodName,
  Methods,
  ModalOpen,
  NotOwned,
  notWebContent,
  NotWebContent,
  type ParamsOf,
  TabClosed,
  type TabInfo,
  TabNotFound,
  TakenBack,
  Timeout,
  UnknownMethod,
  UserPaused
} from "../../src/protocol/index.js"
import { Browser } from "./Browser.js"
import type { Driver } from "./Driver.js"
import { type Agent, type Instance, Instances, tabsOf, who } from "./Instances.js"
import * as Actions from "./Actions.js"
import * as Page from "./Page.js"
import { pageOf, TabSessions } from "./TabSessions.js"
import * as Snapshot from "./Snapshot.js"
import { InstanceGone, LockTimeout, TabGone, TabLocks } from "./TabLocks.js"

/** One call: the instance it came from, and where to report progress while it waits. */
export interface Call {
  readonly instance: Instance
  readonly progress: (message: string) => Effect.Effect<void>
}

export type Needs = Browser | Instances | TabLocks | Driver | TabSessions

/** How long an operation waits for a tab another call holds. */
const OP_WAIT = Duration.seconds(CALL_WAIT_SECONDS)

/** The caller's agent as it is now. */
const agentOf = (instance: Instance) =>
  Effect.flatMap(Instances, (i) => i.agent(instance.id)).pipe(
    Effect.flatMap(Option.match({
      onNone: (): Effect.Effect<Agent, CallFailure> => Effect.fail(new Internal({ message: "this instance is disconnecting" })),
      onSome: Effect.succeed
    }))
  )

const ownTabs = (agent: Agent) => {
  const tabs = tabsOf(agent)
  return tabs.length === 0 ? "you have no tabs" : `your tabs: ${tabs.map((t) => t.handle).join(", ")}`
}

/** The instance's tab for `handle` (default: its current tab), owned or shared, or an error listing its tabs. */
const resolve = (instance: Instance, handle: string | undefined) =>
  Effect.gen(function*() {
    const agent = yield* agentOf(instance)
    const chosen = handle ?? agent.current
    if (chosen === undefined) return yield* Effect.fail(new TabNotFound({ message: "No current tab: open one with browser_tabs {\"action\": \"new\"}." }))
    const owned = agent.tabs.get(chosen)
    const shared = agent.shared.get(chosen)
    const tab = owned ?? shared
    if (tab === undefined && agent.takenBack.has(chosen)) {
      return yield* Effect.fail(new TakenBack({ tab: chosen, message: `The user took ${chosen} back: it is theirs again, and no agent may drive it. Open a tab of your own (browser_tabs {"action": "new"}).` }))
    }
    if (tab === undefined) {
      const issued = /^t\d+$/.test(chosen) && Number(chosen.slice(1)) < agent.nextHandle
      return yield* Effect.fail(new TabNotFound({ tab: chosen, message: `${issued ? `${chosen} is gone (closed, or the browser restarted)` : `No tab ${chosen} among yours`} (${ownTabs(agent)}). ` +
          "List them with browser_tabs {\"action\": \"list\"}." }))
    }
    return { handle: chosen, tab, shared: owned === undefined }
  })

const list = (instance: Instance) =>
  Effect.gen(function*() {
    const browser = yield* Browser
    const locks = yield* TabLocks
    yield* Effect.flatMap(Instances, (i) => i.sync(instance.id))
    const agent = yield* agentOf(instance)
    const leases = new Map((yield* locks.view).flatMap((v) => (v.lease ? [[v.tab, v.lease.who] as const] : [])))
    const tabs = yield* Effect.forEach(tabsOf(agent), ({ handle, shared, tab }) =>
      Effect.map(browser.getTab(tab), Option.map((s): TabInfo => {
        const holder = leases.get(tab)
        return {
          tab: handle,
          url: s.url,
          title: s.title,
          current: agent.current === handle,
          shared,
          ...(holder === undefined ? {} : { leasedBy: holder.instanceId === instance.id ? "you" : holder.name })
        }
      })))
    return { tabs: tabs.flatMap(Option.toArray) }
  })

/** The tab a call was about, and all the instance's tabs after it (so the agent needs no second call to list them). */
const withList = (instance: Instance, handle: string) =>
  Effect.flatMap(list(instance), ({ tabs }) =>
    tabs.some((t) => t.tab === handle) ? Effect.succeed({ tab: handle, tabs }) : Effect.fail(new TabNotFound({ tab: handle, message: `${handle} was closed.` })))

/** The page's snapshot added to a result, when asked for (a page that cannot be read adds none). */
const thenSnapshot = (tab: number, wanted: boolean) => <A extends object>(result: A) =>
  wanted
    ? Snapshot.take(tab).pipe(Effect.map((s): A & { snapshot?: string } => ({ ...result, snapshot: s.text })), Effect.orElseSucceed(() => result))
    : Effect.succeed(result)

/** What an agent can do about a wait that ran out: a call waits a fixed time, a lease as long as it asked. */
const WAIT_ADVICE = {
  call: `A call waits up to ${Duration.format(OP_WAIT)} for a tab another call or agent holds: try again later, ` +
    "or queue for it as long as you need with browser_tab_lock {\"tab\": ..., \"waitSeconds\": ...} and act under your lease.",
  lease: "Try again later, or wait longer (waitSeconds)."
} as const

const lockError = (handle: string, e: LockTimeout | TabGone | InstanceGone, waiting: keyof typeof WAIT_ADVICE = "call"): CallFailure => {
  switch (e._tag) {
    case "LockTimeout":
      return new LockWaitedTooLong({
        message: `${e.message} ${WAIT_ADVICE[waiting]}`,
        tab: handle,
        holder: e.holder,
        waitedSeconds: Duration.toSeconds(e.waited)
      })
    case "TabGone":
      return new TabClosed({ tab: handle, message: `${handle} was closed.` })
    case "InstanceGone":
      return new Internal({ message: "this instance is disconnecting" })
  }
}

/** Runs `effect` under the tab's lock, as the calling instance. */
const locked = <A, R>(call: Call, handle: string, tab: number, effect: Effect.Effect<A, CallFailure, R>) =>
  Effect.gen(function*() {
    const locks = yield* TabLocks
    const agent = yield* agentOf(call.instance)
    return yield* locks.withTab(tab, who(agent), { wait: OP_WAIT, label: handle, onWait: call.progress }, effect).pipe(
      Effect.mapError((e) => (e instanceof LockTimeout || e instanceof TabGone || e instanceof InstanceGone ? lockError(handle, e) : e))
    )
  })

/**
 * Refuses to drive a tab that shows no web content (invariant 10): checked on the tab's
 * URL at every call, under its lock, since a tab can get there by history, by being
 * dragged into a group, or while nobody was looking.
 */
const webContentOnly = (web: Agent["web"], handle: string, tab: number, leaving = false) =>
  Effect.flatMap(Browser, (browser) => browser.getTab(tab)).pipe(
    Effect.flatMap(Option.match({
      onNone: (): Effect.Effect<void, CallFailure> => Effect.fail(new TabClosed({ tab: handle, message: `${handle} was closed.` })),
      onSome: (t) => {
        // Navigating away from a page outside the agent's origins is allowed (nothing of it is read).
        const refused = notWebContent(t.url, leaving ? { ...web, origins: undefined } : web)
        return refused === undefined
          ? Effect.void
          : Effect.fail(new NotWebContent({ url: t.url, message: `${handle} shows ${t.url.split(/[?#]/)[0]}: ${refused}. Navigate it to a web page, or close it.` }))
      }
    }))
  )

/**
 * Fails with TabClosed as soon as the tab is closed. Raced against a call on the tab, it
 * ends the call at once (its lock released as it is interrupted) instead of letting CDP
 * time out on a tab that is gone.
 */
const closedMeanwhile = (handle: string, tab: number) =>
  Effect.raceFirst(
    Effect.flatMap(Browser, (browser) => Stream.runHead(Stream.filter(browser.tabRemoved, (id) => id === tab))).pipe(
      Effect.zipRight(Effect.fail(new TabClosed({ tab: handle, message: `${handle} was closed while the call ran; nothing more was done in it.` })))
    ),
    Effect.flatMap(Instances, (instances) => Stream.runHead(Stream.filter(instances.tookBack, (id) => id === tab))).pipe(
      Effect.zipRight(Effect.fail(new TakenBack({ tab: handle, message: `The user took ${handle} back while the call ran; nothing more was done in it.` })))
    )
  )

/** A tab the user shared is driven only under the agent's own lease (never by default). */
const leasedIfShared = (call: Call, resolved: { readonly handle: string; readonly tab: number; readonly shared: boolean }) =>
  Effect.gen(function*() {
    if (!resolved.shared) return
    const lease = (yield* (yield* TabLocks).view).find((v) => v.tab === resolved.tab)?.lease
    if (lease?.who.instanceId === call.instance.id) return
    return yield* Effect.fail(new NotOwned({
      message: `${resolved.handle} is a tab the user shared: lease it first (browser_tab_lock {"tab": "${resolved.handle}"}), ` +
        "act, then unlock it (browser_tab_unlock)."
    }))
  })

/**
 * Opens a tab for the instance and adopts it, as one step: a connection that closes
 * meanwhile interrupts its calls first and only then runs its disconnect policy, so the
 * new tab is either never opened or handled by that policy, never left without an owner.
 */
const openTab = (instance: Instance, url: string) =>
  Effect.uninterruptible(Effect.gen(function*() {
    const browser = yield* Browser
    const opened = yield* browser.openTab(url).pipe(
      Effect.catchTag("BrowserError", (e) => Effect.fail(new Internal({ message: `could not open a tab: ${e.message}` })))
    )
    const handle = yield* Effect.flatMap(Instances, (i) => i.adopt(instance.id, opened.id))
    if (Option.isNone(handle)) {
      yield* browser.closeTab(opened.id)
      return yield* Effect.fail(new Internal({ message: "this instance is disconnecting" }))
    }
    return { opened, handle: handle.value }
  }))

/**
 * The tab a page call works on: the one named, else the current one, else (the agent has
 * no tab yet, or closed them all) a new blank tab, as Playwright MCP's first navigate does.
 */
const pageTab = (instance: Instance, handle: string | undefined) =>
  Effect.gen(function*() {
    if (handle === undefined && (yield* agentOf(instance)).current === undefined) {
      const { handle, opened } = yield* openTab(instance, "about:blank")
      return { handle, tab: opened.id, shared: false }
    }
    return yield* resolve(instance, handle)
  })

/** Runs a page operation on the caller's tab (default: current, or a new one), under its lock; the result names the tab. */
const onPage = <A extends object, R>(
  call: Call,
  handle: string | undefined,
  op: (tab: number) => Effect.Effect<A, CallFailure, R>,
  leaving = false
) =>
  Effect.gen(function*() {
    const resolved = yield* pageTab(call.instance, handle)
    yield* leasedIfShared(call, resolved)
    const agent = yield* agentOf(call.instance)
    const guarded = webContentOnly(agent.web, resolved.handle, resolved.tab, leaving).pipe(
      Effect.zipRight(pageOf(resolved.tab)),
      Effect.zipRight(op(resolved.tab))
    )
    const result = yield* Effect.raceFirst(locked(call, resolved.handle, resolved.tab, guarded), closedMeanwhile(resolved.handle, resolved.tab)).pipe(
      Effect.provideService(Actions.Progress, call.progress)
    )
    return { tab: resolved.handle, ...result }
  })

const run = {
  "tabs.list": (call: Call) => list(call.instance),
  "tabs.new": (call: Call, params: ParamsOf<"tabs.new">) =>
    Effect.gen(function*() {
      const web = (yield* agentOf(call.instance)).web
      const url = yield* Page.checkUrl(params.url ?? "about:blank", web)
      // A data: URL is written into a blank tab (Chrome will not open one for an extension).
      const { handle, opened } = yield* openTab(call.instance, url.startsWith("data:") ? "about:blank" : url)
      if (url.startsWith("data:")) yield* locked(call, handle, opened.id, Effect.zipRight(pageOf(opened.id), Page.navigate(opened.id, url, web)))
      return yield* withList(call.instance, handle)
    }),
  "tabs.select": (call: Call, params: ParamsOf<"tabs.select">) =>
    Effect.gen(function*() {
      const { handle, tab } = yield* resolve(call.instance, params.tab)
      yield* Effect.flatMap(Instances, (i) => i.select(call.instance.id, handle))
      return yield* locked(call, handle, tab, withList(call.instance, handle))
    }),
  "tabs.close": (call: Call, params: ParamsOf<"tabs.close">) =>
    Effect.gen(function*() {
      const browser = yield* Browser
      const instances = yield* Instances
      const { handle, shared, tab } = yield* resolve(call.instance, params.tab)
      if (shared) {
        return yield* Effect.fail(new NotOwned({ message: `${handle} is a tab the user shared; only the user closes it. Unlock it when you are done (browser_tab_unlock).` }))
      }
      // Forget the handle before closing, so the tab's removal is not reported as the user's doing.
      yield* locked(call, handle, tab, instances.drop(call.instance.id, handle).pipe(Effect.zipRight(browser.closeTab(tab))))
      return yield* list(call.instance)
    }),
  "tab.lock": (call: Call, params: ParamsOf<"tab.lock">) =>
    Effect.gen(function*() {
      const locks = yield* TabLocks
      yield* Effect.flatMap(Instances, (i) => i.sync(call.instance.id))
      const { handle, tab } = yield* resolve(call.instance, params.tab)
      const lease = yield* locks.lease(tab, who(yield* agentOf(call.instance)), Duration.seconds(params.ttlSeconds), {
        wait: Duration.seconds(params.waitSeconds),
        label: handle,
        onWait: call.progress
      }).pipe(Effect.mapError((e) => lockError(handle, e, "lease")))
      return { tab: handle, ttlSeconds: params.ttlSeconds, expiresAt: lease.expiresAt }
    }),
  "tab.unlock": (call: Call, params: ParamsOf<"tab.unlock">) =>
    Effect.gen(function*() {
      const locks = yield* TabLocks
      const { handle, tab } = yield* resolve(call.instance, params.tab)
      return { tab: handle, released: yield* locks.unlock(tab, who(yield* agentOf(call.instance))) }
    }),
  "locks.figures": (call: Call) =>
    Effect.gen(function*() {
      const figures = yield* (yield* TabLocks).figures(call.instance.id)
      return { ...figures, instances: (yield* (yield* Instances).list).length }
    }),
  "instances.list": (call: Call) =>
    Effect.gen(function*() {
      const instances = yield* Instances
      const locks = yield* TabLocks
      const browser = yield* Browser
      const views = yield* instances.list
      const leases = (yield* locks.view).flatMap((v) => (v.lease ? [{ tab: v.tab, holder: v.lease.who.instanceId }] : []))
      return {
        instances: yield* Effect.forEach(views, (v) =>
          Effect.gen(function*() {
            // Only leases of shared tabs are visible to others, by title: never a URL, never an owned tab.
            const titles = yield* Effect.forEach(leases.filter((l) => l.holder === v.id), (l) =>
              Effect.gen(function*() {
                if (Option.isSome(yield* instances.ownerOf(l.tab))) return []
                return Option.match(yield* browser.getTab(l.tab), { onNone: () => [], onSome: (t) => [t.title] })
              }))
            return { name: v.name, you: v.id === call.instance.id, ownedTabs: v.tabs, leases: titles.flat() }
          }))
      }
    }),
  "page.navigate": (call: Call, params: ParamsOf<"page.navigate">) =>
    onPage(call, params.tab, (tab) => Effect.flatMap(agentOf(call.instance), (agent) => Page.navigate(tab, params.url, agent.web)).pipe(Effect.flatMap(thenSnapshot(tab, params.snapshot))), true),
  "page.history": (call: Call, params: ParamsOf<"page.history">) =>
    onPage(call, params.tab, (tab) => Effect.flatMap(agentOf(call.instance), (agent) => Page.history(tab, params.action, agent.web)).pipe(Effect.flatMap(thenSnapshot(tab, params.snapshot))), true),
  "page.evaluate": (call: Call, params: ParamsOf<"page.evaluate">) =>
    onPage(call, params.tab, (tab) => Page.evaluate(tab, params.function, params.args, params.ref)),
  "page.snapshot": (call: Call, params: ParamsOf<"page.snapshot">) =>
    onPage(call, params.tab, (tab) =>
      Effect.gen(function*() {
        const page = yield* pageOf(tab)
        if (page.modal?.kind === "dialog") return yield* Effect.fail(new ModalOpen({ message: `Cannot read the page now: ${Actions.describeModal(page.modal)} first.` }))
        const shot = yield* Snapshot.take(tab, { from: params.ref, depth: params.depth, boxes: params.boxes })
        const where = yield* Actions.whereIs(tab)
        const modal = Actions.describeModal(page.modal)
        return { ...where, snapshot: shot.text, elements: shot.elements, ...(modal === undefined ? {} : { modal }) }
      })),
  "page.act": (call: Call, params: ParamsOf<"page.act">) =>
    onPage(call, params.tab, (tab) =>
      Actions.acting(tab, {
        snapshot: params.snapshot,
        quiet: ["type", "fill", "select", "hover"].includes(params.action._tag) ? Actions.QUIET.input : Actions.QUIET.press,
        answers: params.action._tag === "dialog" ? "dialog" : params.action._tag === "upload" ? "fileChooser" : undefined
      }, (page) => {
        const a = params.action
        switch (a._tag) {
          case "click":
            return Actions.click(page, a)
          case "hover":
            return Actions.hover(page, a.ref, a.element)
          case "drag":
            return Actions.drag(page, { ref: a.startRef, element: a.startElement }, { ref: a.endRef, element: a.endElement })
          case "type":
            return Actions.type(page, a)
          case "fill":
            return Actions.fillForm(page, a.fields)
          case "select":
            return Actions.selectOption(page, a)
          case "press":
            return Actions.pressKey(page, a.key)
          case "upload":
            return Actions.upload(page, a.paths)
          case "drop":
            return Actions.drop(page, a)
          case "dialog":
            return Actions.answerDialog(page, a.accept, a.promptText)
        }
      })),
  "page.wait": (call: Call, params: ParamsOf<"page.wait">) => onPage(call, params.tab, (tab) => Page.waitFor(tab, params)),
  "page.console": (call: Call, params: ParamsOf<"page.console">) => onPage(call, params.tab, (tab) => Page.consoleMessages(tab, params.level, params.all === true)),
  "page.network": (call: Call, params: ParamsOf<"page.network">) =>
    onPage(call, params.tab, (tab) => Page.networkRequests(tab, params.filter, params.includeStatic)),
  "page.request": (call: Call, params: ParamsOf<"page.request">) => onPage(call, params.tab, (tab) => Page.networkRequest(tab, params.id, params.whole === true)),
  "page.resize": (call: Call, params: ParamsOf<"page.resize">) => onPage(call, params.tab, (tab) => Page.resize(tab, params.width, params.height)),
  "page.screenshot": (call: Call, params: ParamsOf<"page.screenshot">) => onPage(call, params.tab, (tab) => Page.screenshot(tab, params)),
  "page.pdf": (call: Call, params: ParamsOf<"page.pdf">) => onPage(call, params.tab, (tab) => Page.pdf(tab)),
  "instance.update": (call: Call, params: ParamsOf<"instance.update">) =>
    Effect.flatMap(Instances, (instances) => instances.rename(call.instance.id, params.clientName)).pipe(Effect.as({}))
} satisfies { readonly [M in MethodName]: (call: Call, params: ParamsOf<M>) => Effect.Effect<unknown, CallFailure, Needs> }

const issue = (e: ParseResult.ParseError) => ParseResult.TreeFormatter.formatErrorSync(e)

/** What an agent may still do while the user pauses agents: look, let go, and say who it is. */
const WHILE_PAUSED: ReadonlySet<MethodName> = new Set(["tabs.list", "tab.unlock", "locks.figures", "instances.list", "instance.update"])

/** The user's "Pause all agents" wins over every other call (invariant 18). */
const notPaused = (method: MethodName) =>
  WHILE_PAUSED.has(method) ? Effect.void : Effect.flatMap(TabLocks, (locks) => locks.paused).pipe(
    Effect.flatMap((paused) =>
      paused
        ? Effect.fail(new UserPaused({ message: "The user paused all agents in their browser (tabmux popup): nothing is done in it until they resume. Wait, or ask the user." }))
        : Effect.void
    )
  )

/** Runs one call; the result is already encoded for the wire. */
export const handle = (call: Call, method: string, params: unknown): Effect.Effect<unknown, CallFailure, Needs> => {
  if (!isMethodName(method)) return Effect.fail(new UnknownMethod({ message: `unknown method ${method}: update the tabmux extension` }))
  const spec = Methods[method]
  return notPaused(method).pipe(
    Effect.zipRight(Schema.decodeUnknown(spec.params as Schema.Schema<any, any>)(params).pipe(
      Effect.mapError((e): CallFailure => (new BadParams({ message: `${method}: ${issue(e)}` })))
    )),
    Effect.flatMap((decoded) =>
      (run[method] as (c: Call, p: unknown) => Effect.Effect<unknown, CallFailure, Needs>)(call, decoded).pipe(
        // Give up a little before the server does, so a browser call that never answers
        // cannot hold the tab's lock after its caller has gone.
        Effect.timeoutFail({
          duration: Duration.millis(Math.max(1000, Duration.toMillis(spec.timeout(decoded)) - 2000)),
          onTimeout: (): CallFailure => (new Timeout({ message: `${method} did not finish in the browser in time; it was stopped and the tab released` }))
        })
      )),
    Effect.flatMap((value) =>
      Schema.encodeUnknown(spec.result as Schema.Schema<any, any>)(value).pipe(
        Effect.mapError((e): CallFailure => (new Internal({ message: `${method} produced a bad result: ${issue(e)}` })))
      )
    )
  )
}
