/**
 * One instance per connected server, each with its own tabs. Identity is bound to the
 * connection at handshake; a message never chooses its instance. Tabs are addressed by
 * per-instance handles (`t1`, `t2`, ...) that are never reused; Chrome's tab ids stay
 * inside the extension.
 *
 * Every agent's state is one immutable value (`Agent`) in one `SubscriptionRef` this
 * module owns; others read it and ask for changes. When a connection ends, one sequence
 * runs (`leave`): the agent's own tabs by its policy (`close`; `release`: ungrouped, left
 * to the user; `keep`: kept for a grace period), then its locks, then the shared tabs it
 * named. A kept agent is re-attached when its server reconnects (same id and token) or a
 * new server resumes its token. Its changes are saved (Persistence) so a restarted
 * service worker rebuilds it.
 */
import { Clock, Context, Deferred, Duration, Effect, FiberMap, Layer, Option, PubSub, Ref, Schema, type Scope, Stream, SubscriptionRef } from "effect"
import { type DisconnectPolicy, type Event, notWebContent, type WebContentOptions } from "../../src/protocol/index.js"
import { Browser, GROUP_COLORS, type GroupColor } from "./Browser.js"
import { TabLocks, type Who } from "./TabLocks.js"
import { TabSessions } from "./TabSessions.js"

export type { DisconnectPolicy }

/** One agent as the extension knows it: what its server said, and its tabs. */
export interface Agent {
  readonly id: string
  readonly token: string
  readonly clientName: string
  /** The client's name, plus a short id when another agent has the same. */
  readonly name: string
  readonly color: GroupColor
  readonly port: number
  readonly policy: DisconnectPolicy
  readonly grace: Duration.Duration
  /** What its tabs may show (`file:` only when its user allowed it; its origins). */
  readonly web: WebContentOptions
  /** Its server is connected (else it is kept, or restored, and waits for it). */
  readonly connected: boolean
  /** Owned tabs: handle → Chrome tab id, in creation order. */
  readonly tabs: ReadonlyMap<string, number>
  /** The user's shared tabs as this agent names them: handle → Chrome tab id. */
  readonly shared: ReadonlyMap<string, number>
  readonly nextHandle: number
  /** Where page calls go when they name no tab. */
  readonly current: string | undefined
  readonly group: number | undefined
  /** Handles of tabs the user took back: a call naming one is told so. */
  readonly takenBack: ReadonlySet<string>
}

/** A connection's hold on its agent. */
export interface Instance {
  readonly id: string
  /** Completed when the user disconnects the agent: the connection ends. */
  readonly kicked: Deferred.Deferred<void>
}

/** How locks name the agent. */
export const who = (agent: Agent): Who => ({ instanceId: agent.id, name: agent.name })

/** One of an agent's tabs as it names it: owned tabs first (creation order), then shared ones. */
export interface NamedTab {
  readonly handle: string
  readonly tab: number
  readonly shared: boolean
}

export const tabsOf = (agent: Agent): ReadonlyArray<NamedTab> => [
  ...[...agent.tabs].map(([handle, tab]) => ({ handle, tab, shared: false })),
  ...[...agent.shared].map(([handle, tab]) => ({ handle, tab, shared: true }))
]

/** What an agent's server is told of its tabs without asking. */
export type TabNews = Extract<Event, { readonly name: "tab.closed" | "tab.opened" }>

export interface Registration {
  readonly id: string
  readonly token: string
  readonly clientName: string
  readonly port: number
  readonly policy: DisconnectPolicy
  readonly grace: Duration.Duration
  readonly web: WebContentOptions
  /** The first handle number to issue (the server has seen every one below it). */
  readonly nextHandle?: number | undefined
  /** The colour its user chose for its group. */
  readonly color?: GroupColor | undefined
  /** The token of a kept agent to take over. */
  readonly resume?: string | undefined
}

export interface InstanceView {
  readonly id: string
  readonly name: string
  readonly color: GroupColor
  readonly port: number
  readonly tabs: number
  readonly attached: boolean
}

const Entries = Schema.Array(Schema.Tuple(Schema.String, Schema.Number))

/** What survives a service worker restart (in `chrome.storage.session`). */
export const Snapshot = Schema.Struct({
  instances: Schema.Array(Schema.Struct({
    id: Schema.String,
    token: Schema.String,
    clientName: Schema.String,
    name: Schema.String,
    color: Schema.Literal(...GROUP_COLORS),
    port: Schema.Number,
    policy: Schema.Literal("close", "release", "keep"),
    graceMs: Schema.Number,
    allowFile: Schema.optional(Schema.Boolean),
    origins: Schema.optional(Schema.Struct({ allowed: Schema.Array(Schema.String), blocked: Schema.Array(Schema.String) })),
    nextHandle: Schema.Number,
    tabs: Entries,
    shared: Entries,
    current: Schema.optional(Schema.String),
    group: Schema.optional(Schema.Number)
  })),
  leases: Schema.Array(Schema.Struct({ tab: Schema.Number, instanceId: Schema.String, ttlMs: Schema.Number, expiresAt: Schema.Number })),
  /** The user paused all agents. */
  paused: Schema.optional(Schema.Boolean),
  /** Agents the user disconnected (by instance id): not connected again. */
  disconnected: Schema.optional(Schema.Array(Schema.String))
})
export type Snapshot = typeof Snapshot.Type

export class Instances extends Context.Tag("tabmux/Instances")<Instances, {
  /** Adds (or re-attaches) an agent for the life of the connection's scope. */
  readonly register: (registration: Registration) => Effect.Effect<Instance, never, Scope.Scope>
  /** The agent as it is now; none once it is gone. */
  readonly agent: (id: string) => Effect.Effect<Option.Option<Agent>>
  readonly all: Effect.Effect<ReadonlyArray<Agent>>
  readonly list: Effect.Effect<ReadonlyArray<InstanceView>>
  /** Told whenever any agent's state changes. */
  readonly changes: Stream.Stream<void>
  readonly rename: (id: string, clientName: string) => Effect.Effect<void>
  /** A tab the agent opened: gives it the next handle, puts it in the agent's group, and makes it current (none: the agent is gone). */
  readonly adopt: (id: string, tab: number) => Effect.Effect<Option.Option<string>>
  /** Makes one of the agent's tabs its current tab (the default of page calls). */
  readonly select: (id: string, handle: string) => Effect.Effect<void>
  /** Forgets a handle (the tab was closed). */
  readonly drop: (id: string, handle: string) => Effect.Effect<void>
  /**
   * Brings the agent's tabs up to date with what the user did: tabs dragged into its
   * group become its own, new shared tabs get handles, unshared ones lose theirs.
   */
  readonly sync: (id: string) => Effect.Effect<void>
  /** The agent that owns a tab, if any. */
  readonly ownerOf: (tab: number) => Effect.Effect<Option.Option<Agent>>
  readonly snapshot: Effect.Effect<Snapshot>
  /**
   * What happened to agents' tabs that no call of theirs did: the user closed one, or one
   * of their pages opened a tab (which is then theirs too, under their origin rules).
   */
  readonly news: Stream.Stream<{ readonly instanceId: string; readonly event: TabNews }>
  /**
   * The user takes a tab back from an agent: it leaves the agent's group and the debugger,
   * the agent's calls on it (running or waiting) end, and its next call naming it is told.
   */
  readonly takeBack: (instanceId: string, handle: string) => Effect.Effect<boolean>
  /** Tabs taken back, as they are (calls running on one end at once). */
  readonly tookBack: Stream.Stream<number>
  /** The user disconnects an agent: its connection ends (its tabs by its policy), and it is not connected again. */
  readonly disconnect: (instanceId: string) => Effect.Effect<boolean>
  /** Whether the user disconnected the agent with this id. */
  readonly isDisconnected: (instanceId: string) => Effect.Effect<boolean>
}>() {}

interface State {
  readonly agents: ReadonlyMap<string, Agent>
  /** Agents the user disconnected (by id): never registered again. */
  readonly disconnected: ReadonlySet<string>
}

/** A display name unique among agents: the client's name, plus a short id when another has it. */
const displayName = (clientName: string, id: string, others: ReadonlyArray<Agent>) =>
  others.some((a) => a.id !== id && a.name === clientName) ? `${clientName} (${id.slice(0, 4)})` : clientName

const without = <K, V>(map: ReadonlyMap<K, V>, key: K): ReadonlyMap<K, V> => {
  const copy = new Map(map)
  copy.delete(key)
  return copy
}

/** How long agents restored after a worker restart wait for their servers. */
export const RESTORE_GRACE = Duration.seconds(60)

export const make = (saved: Option.Option<Snapshot>) => Effect.gen(function*() {
  const browser = yield* Browser
  const sessions = yield* TabSessions
  const locks = yield* TabLocks
  const state = yield* SubscriptionRef.make<State>({ agents: new Map(), disconnected: new Set() })
  /** The connections' holds, by agent id (a kept or restored agent has none). */
  const holds = yield* Ref.make<ReadonlyMap<string, Instance>>(new Map())
  const tookBack = yield* PubSub.unbounded<number>()
  const graceTimers = yield* FiberMap.make<string>()
  const news = yield* PubSub.unbounded<{ readonly instanceId: string; readonly event: TabNews }>()

  const agent = (id: string) => Effect.map(SubscriptionRef.get(state), (s) => Option.fromNullable(s.agents.get(id)))
  const all = Effect.map(SubscriptionRef.get(state), (s) => [...s.agents.values()])
  /** Changes one agent (nothing when it is gone); answers what `f` says. */
  const modifyAgent = <B>(id: string, f: (a: Agent) => readonly [B, Agent], otherwise: B) =>
    SubscriptionRef.modify(state, (s): readonly [B, State] => {
      const a = s.agents.get(id)
      if (a === undefined) return [otherwise, s]
      const [b, next] = f(a)
      return [b, { ...s, agents: new Map(s.agents).set(id, next) }]
    })
  const update = (id: string, f: (a: Agent) => Agent) => modifyAgent(id, (a) => [undefined, f(a)], undefined)
  /** The next handle of the agent, for `tab`, recorded among its own tabs or shared ones. */
  const name = (id: string, tab: number, among: "tabs" | "shared") =>
    modifyAgent(id, (a) => {
      const handle = `t${a.nextHandle}`
      return [handle, { ...a, nextHandle: a.nextHandle + 1, [among]: new Map(a[among]).set(handle, tab) }]
    }, undefined)

  const badge = Effect.flatMap(all, (agents) => browser.setBadge(agents.some((a) => a.connected) ? String(agents.filter((a) => a.connected).length) : ""))

  /** Each agent's number for its navigation rules (Browser.limitOrigins). */
  const ruleKeys = yield* Ref.make(new Map<string, number>())
  /** Holds what the agent's own tabs load to the origins its user allowed (every navigation, not only the agent's). */
  const guard = (id: string) =>
    Effect.gen(function*() {
      const a = yield* agent(id)
      if (Option.isNone(a) || a.value.web.origins === undefined) return
      const key = yield* Ref.modify(ruleKeys, (keys) => {
        const known = keys.get(id)
        if (known !== undefined) return [known, keys]
        const next = Math.max(0, ...keys.values()) + 1
        return [next, new Map(keys).set(id, next)]
      })
      yield* browser.limitOrigins(key, [...a.value.tabs.values()], a.value.web.origins)
    })

  const regroup = (id: string) =>
    Effect.gen(function*() {
      yield* guard(id)
      const a = yield* agent(id)
      if (Option.isNone(a) || a.value.tabs.size === 0) return
      const group = yield* browser.group([...a.value.tabs.values()], Option.fromNullable(a.value.group), a.value.name, a.value.color)
      yield* update(id, (x) => ({ ...x, group: Option.getOrUndefined(group) }))
    })

  const forget = (id: string) =>
    SubscriptionRef.update(state, (s) => ({ ...s, agents: without(s.agents, id) })).pipe(Effect.zipRight(badge))

  /** Closes the agent's tabs; whoever waited for one of them is told it is gone (before any lock is released). */
  const closeTabs = (a: Agent) => Effect.forEach(a.tabs.values(), (tab) => Effect.zipRight(browser.closeTab(tab), locks.forgetTab(tab)), { discard: true })

  /** Detaches a shared tab no agent holds now (no lease, no call running, nobody waiting). */
  const letGo = (tab: number) =>
    Effect.gen(function*() {
      if (Option.isNone(yield* ownerOf(tab)) && !(yield* locks.inUse(tab))) yield* sessions.end(tab)
    })

  /**
   * The connection ended. One sequence, in this order: (1) the agent's own tabs by its
   * policy (closing a tab ends its session; a released one is ungrouped and its session
   * ended); (2) its locks, so no waiter is handed a tab being closed; (3) the shared tabs
   * it named leave the debugger unless another agent holds them; (4) it is forgotten, or
   * kept without a connection until its grace runs out.
   */
  const leave = (id: string, policy?: DisconnectPolicy) =>
    Effect.gen(function*() {
      const found = yield* agent(id)
      if (Option.isNone(found)) return
      const a = found.value
      const how = policy ?? a.policy
      yield* Ref.update(holds, (h) => without(h, id))
      switch (how) {
        case "close":
          yield* closeTabs(a)
          break
        case "release":
          yield* browser.ungroup([...a.tabs.values()])
          yield* Effect.forEach(a.tabs.values(), sessions.end, { discard: true })
          break
        case "keep":
          break
      }
      yield* locks.releaseInstance(id)
      if (how !== "keep") {
        yield* update(id, (x) => ({ ...x, tabs: new Map() }))
        yield* guard(id)
      }
      yield* Effect.forEach(a.shared.values(), letGo, { discard: true })
      if (how !== "keep") return yield* forget(id)
      yield* update(id, (x) => ({ ...x, connected: false }))
      yield* badge
      yield* FiberMap.run(graceTimers, id, Effect.sleep(a.grace).pipe(
        Effect.zipRight(Effect.logInfo(`${a.name} did not come back: closing its kept tabs`)),
        Effect.zipRight(Effect.flatMap(agent(id), Option.match({ onNone: () => Effect.void, onSome: closeTabs }))),
        Effect.zipRight(forget(id))
      ))
    })

  /** A detached agent this registration may take back: same id and token, or the token it resumes. */
  const reclaimable = (s: State, r: Registration) =>
    Option.fromNullable([...s.agents.values()].find((a) =>
      !a.connected && ((a.id === r.id && a.token === r.token) || (r.resume !== undefined && a.token === r.resume))))

  const register = (r: Registration) =>
    Effect.gen(function*() {
      const previous = yield* SubscriptionRef.modify(state, (s): readonly [Option.Option<Agent>, State] => {
        const others = [...s.agents.values()]
        const previous = reclaimable(s, r)
        const used = new Set(others.map((a) => a.color))
        const settings = {
          id: r.id,
          token: r.token,
          clientName: r.clientName,
          port: r.port,
          policy: r.policy,
          grace: r.grace,
          web: r.web,
          connected: true
        }
        const rest = others.filter((a) => Option.isNone(previous) || a !== previous.value)
        const next: Agent = Option.match(previous, {
          onNone: () => ({
            ...settings,
            name: displayName(r.clientName, r.id, rest),
            color: r.color ?? GROUP_COLORS.find((c) => !used.has(c)) ?? GROUP_COLORS[s.agents.size % GROUP_COLORS.length]!,
            tabs: new Map(),
            shared: new Map(),
            nextHandle: r.nextHandle ?? 1,
            current: undefined,
            group: undefined,
            takenBack: new Set()
          }),
          // Same tabs, handles and group; the new connection's identity and settings.
          onSome: (old) => ({
            ...old,
            ...settings,
            name: displayName(r.clientName, r.id, rest),
            color: r.color ?? old.color,
            nextHandle: Math.max(old.nextHandle, r.nextHandle ?? 1)
          })
        })
        const agents = new Map(Option.isSome(previous) ? without(s.agents, previous.value.id) : s.agents).set(r.id, next)
        return [previous, { ...s, agents }]
      })
      if (Option.isSome(previous)) {
        yield* FiberMap.remove(graceTimers, previous.value.id)
        yield* Effect.logInfo(`${r.clientName} took back ${previous.value.tabs.size} kept tab(s)`)
      }
      const instance: Instance = { id: r.id, kicked: yield* Deferred.make<void>() }
      yield* Ref.update(holds, (h) => new Map(h).set(r.id, instance))
      yield* badge
      yield* regroup(r.id)
      yield* Effect.addFinalizer(() =>
        // Only this connection's agent: a newer connection may hold the same id by now.
        Effect.flatMap(Ref.get(holds), (h) => (h.get(r.id) === instance ? leave(r.id) : Effect.void))
      )
      return instance
    })

  /** The tab becomes the agent's: a handle, its group, its origin rules. */
  const own = (id: string, tab: number) => Effect.tap(name(id, tab, "tabs"), () => regroup(id))

  const adopt = (id: string, tab: number) =>
    Effect.map(own(id, tab), Option.fromNullable).pipe(
      Effect.tap(Option.match({ onNone: () => Effect.void, onSome: (handle) => update(id, (a) => ({ ...a, current: handle })) }))
    )

  /** A tab opened by an agent's page (a popup, a link to a new tab) is the agent's too; its current tab stays. */
  const onTabOpened = ({ opener, tab }: { readonly tab: number; readonly opener: number }) =>
    Effect.gen(function*() {
      const owner = yield* ownerOf(opener)
      if (Option.isNone(owner) || Option.isSome(yield* ownerOf(tab))) return
      const from = tabsOf(owner.value).find((t) => t.tab === opener)?.handle ?? "a tab"
      const handle = yield* own(owner.value.id, tab)
      if (handle === undefined) return
      yield* PubSub.publish(news, { instanceId: owner.value.id, event: { type: "event", name: "tab.opened", data: { tab: handle, from } } })
    })

  const drop = (id: string, handle: string) =>
    update(id, (a) => {
      const tabs = without(a.tabs, handle)
      const left = [...tabs.keys()]
      return { ...a, tabs, shared: without(a.shared, handle), current: a.current === handle ? left[left.length - 1] : a.current }
    }).pipe(Effect.zipRight(guard(id)))

  const sync = (id: string) =>
    Effect.gen(function*() {
      const found = yield* agent(id)
      if (Option.isNone(found)) return
      const a = found.value
      if (a.group !== undefined) {
        const known = new Set(tabsOf(a).map((t) => t.tab))
        // A tab dragged in becomes the agent's only if it shows web content (invariant 10); else it is put back out.
        const [other, web] = yield* Effect.partition((yield* browser.tabsInGroup(a.group)).filter((tab) => !known.has(tab)), (tab) =>
          Effect.flatMap(browser.getTab(tab), (t) =>
            Option.isSome(t) && notWebContent(t.value.url, a.web) === undefined ? Effect.succeed(tab) : Effect.fail(tab)))
        if (other.length > 0) {
          yield* browser.ungroup(other)
          yield* Effect.logWarning(`${other.length} tab(s) dragged into ${a.clientName}'s group show no web content: left out of it`)
        }
        yield* Effect.forEach(web, (tab) => name(id, tab, "tabs"), { discard: true })
        if (web.length > 0) yield* guard(id)
      }
      const everyOwned = new Set((yield* all).flatMap((x) => [...x.tabs.values()]))
      const now = new Set((yield* browser.sharedTabs(everyOwned)).filter((t) => notWebContent(t.url, a.web) === undefined).map((t) => t.id))
      yield* update(id, (x) => ({ ...x, shared: new Map([...x.shared].filter(([, tab]) => now.has(tab))) }))
      const named = yield* agent(id)
      if (Option.isNone(named)) return
      const known = new Set(tabsOf(named.value).map((t) => t.tab))
      yield* Effect.forEach([...now].filter((tab) => !known.has(tab)), (tab) => name(id, tab, "shared"), { discard: true })
    })

  const ownerOf = (tab: number) => Effect.map(all, (agents) => Option.fromNullable(agents.find((a) => [...a.tabs.values()].includes(tab))))

  const rename = (id: string, clientName: string) =>
    Effect.gen(function*() {
      const others = yield* all
      yield* update(id, (a) => ({ ...a, clientName, name: displayName(clientName, id, others) }))
      yield* regroup(id)
    })

  const list = Effect.map(all, (agents) =>
    agents.map((a): InstanceView => ({ id: a.id, name: a.name, color: a.color, port: a.port, tabs: a.tabs.size, attached: a.connected })))

  const snapshot: Effect.Effect<Snapshot> = Effect.gen(function*() {
    const s = yield* SubscriptionRef.get(state)
    const instances = [...s.agents.values()].map((a) => ({
      id: a.id,
      token: a.token,
      clientName: a.clientName,
      name: a.name,
      color: a.color,
      port: a.port,
      policy: a.policy,
      graceMs: Duration.toMillis(a.grace),
      allowFile: a.web.allowFile,
      ...(a.web.origins === undefined ? {} : { origins: a.web.origins }),
      nextHandle: a.nextHandle,
      tabs: [...a.tabs],
      shared: [...a.shared],
      ...(a.current === undefined ? {} : { current: a.current }),
      ...(a.group === undefined ? {} : { group: a.group })
    }))
    const leases = (yield* locks.view).flatMap((v) =>
      v.lease === undefined
        ? []
        : [{ tab: v.tab, instanceId: v.lease.who.instanceId, ttlMs: Duration.toMillis(v.lease.ttl), expiresAt: v.lease.expiresAt }])
    return { instances, leases, paused: yield* locks.paused, disconnected: [...s.disconnected] }
  })

  /** A tab closed outside our handlers (by the user): forget it and tell its owner. */
  const onTabRemoved = (tab: number) =>
    Effect.gen(function*() {
      yield* locks.forgetTab(tab)
      for (const a of yield* all) {
        const handle = tabsOf(a).find((t) => t.tab === tab)?.handle
        if (handle === undefined) continue
        yield* drop(a.id, handle)
        yield* PubSub.publish(news, { instanceId: a.id, event: { type: "event", name: "tab.closed", data: { tab: handle } } })
      }
    })
  yield* Effect.forkScoped(Stream.runForEach(browser.tabRemoved, onTabRemoved))
  yield* Effect.forkScoped(Stream.runForEach(browser.tabOpenedFrom, onTabOpened))
  // A shared tab whose lease ended (ran out, or let go) is the user's alone again (unless another agent holds it).
  yield* Effect.forkScoped(Stream.runForEach(locks.events, (e) => letGo(e.tab)))

  /** After a worker restart: every agent comes back without a connection, with its tabs that still exist and its leases. */
  const restore = (s: Snapshot) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      // The user's word stands across a worker restart: a pause, and the agents they disconnected.
      if (s.paused === true) yield* locks.pause(true)
      const exists = (entries: ReadonlyArray<readonly [string, number]>) =>
        Effect.filter(entries, ([, tab]) => Effect.map(browser.getTab(tab), Option.isSome))
      const agents = new Map<string, Agent>()
      for (const saved of s.instances) {
        agents.set(saved.id, {
          id: saved.id,
          token: saved.token,
          clientName: saved.clientName,
          name: saved.name,
          color: saved.color,
          port: saved.port,
          policy: saved.policy,
          grace: Duration.millis(saved.graceMs),
          web: { allowFile: saved.allowFile ?? false, origins: saved.origins },
          connected: false,
          tabs: new Map(yield* exists(saved.tabs)),
          shared: new Map(yield* exists(saved.shared)),
          nextHandle: saved.nextHandle,
          current: saved.current,
          group: saved.group,
          takenBack: new Set()
        })
      }
      yield* SubscriptionRef.set(state, { agents, disconnected: new Set(s.disconnected ?? []) })
      for (const a of agents.values()) {
        for (const lease of s.leases.filter((l) => l.instanceId === a.id && l.expiresAt > now)) {
          yield* locks.lease(lease.tab, who(a), Duration.millis(lease.expiresAt - now), { wait: Duration.zero, label: `tab ${lease.tab}` }).pipe(Effect.ignore)
        }
        // Not back within the grace period: handled as its policy says (a kept agent has had its grace already: closed now).
        yield* FiberMap.run(graceTimers, a.id, Effect.sleep(RESTORE_GRACE).pipe(
          Effect.zipRight(agent(a.id)),
          Effect.flatMap((now) => (Option.isSome(now) && !now.value.connected ? leave(a.id, a.policy === "keep" ? "close" : a.policy) : Effect.void))
        ))
      }
      yield* Effect.logInfo(`restored ${s.instances.length} instance(s) after a worker restart`)
    })
  if (Option.isSome(saved)) yield* restore(saved.value)

  const takeBack = (instanceId: string, handle: string) =>
    Effect.gen(function*() {
      const a = yield* agent(instanceId)
      if (Option.isNone(a)) return false
      const tab = tabsOf(a.value).find((t) => t.handle === handle)
      if (tab === undefined) return false
      // The handle first (no new call reaches the tab), then the calls on it, then the lock, the group and the debugger.
      yield* update(instanceId, (x) => ({ ...x, takenBack: new Set(x.takenBack).add(handle) }))
      yield* drop(instanceId, handle)
      yield* PubSub.publish(tookBack, tab.tab)
      yield* locks.unlock(tab.tab, who(a.value))
      if (!tab.shared) yield* browser.ungroup([tab.tab])
      yield* sessions.end(tab.tab)
      yield* Effect.logInfo(`the user took ${handle} back from ${a.value.name}`)
      return true
    })

  const disconnect = (instanceId: string) =>
    Effect.gen(function*() {
      const a = yield* agent(instanceId)
      if (Option.isNone(a)) return false
      yield* SubscriptionRef.update(state, (s) => ({ ...s, disconnected: new Set(s.disconnected).add(instanceId) }))
      yield* Effect.logInfo(`the user disconnected ${a.value.name}`)
      // A connected agent's connection ends (and runs its policy); one kept without a connection goes now.
      const hold = (yield* Ref.get(holds)).get(instanceId)
      if (hold !== undefined) return yield* Deferred.succeed(hold.kicked, undefined)
      yield* FiberMap.remove(graceTimers, instanceId)
      yield* leave(instanceId, a.value.policy === "keep" ? "close" : a.value.policy)
      return true
    })

  return Instances.of({
    register,
    agent,
    all,
    list,
    changes: Stream.map(state.changes, () => undefined),
    rename,
    adopt,
    select: (id, handle) => update(id, (a) => ({ ...a, current: handle })),
    drop,
    sync,
    ownerOf,
    snapshot,
    news: Stream.fromPubSub(news),
    takeBack,
    tookBack: Stream.fromPubSub(tookBack),
    disconnect,
    isDisconnected: (instanceId) => Effect.map(SubscriptionRef.get(state), (s) => s.disconnected.has(instanceId))
  })
})

export const layer = (saved: Option.Option<Snapshot> = Option.none()) => Layer.scoped(Instances, make(saved))
