/**
 * One instance per connected server, each with its own tabs. Identity is bound to the
 * connection at handshake; a message never chooses its instance. Tabs are addressed by
 * per-instance handles (`t1`, `t2`, ...) that are never reused; Chrome's tab ids stay
 * inside the extension.
 *
 * When a connection ends, the instance's own tabs are handled by its policy first
 * (`close`; `release`: ungrouped, left to the user; `keep`: kept for a grace period),
 * and only then are its locks released. A kept (detached) instance is re-attached when
 * its server reconnects (same id and token) or a new server resumes its token. The
 * whole state is snapshotted so a restarted service worker rebuilds it.
 */
import { Clock, Context, Deferred, Duration, Effect, FiberId, FiberMap, Layer, Option, PubSub, Ref, Schema, type Scope, Stream, SynchronizedRef } from "effect"
import { type DisconnectPolicy, type Event, notWebContent, type WebContentOptions } from "../../src/protocol/index.js"
import { Browser, GROUP_COLORS, type GroupColor } from "./Browser.js"
import { TabLocks, type Who } from "./TabLocks.js"
import { TabSessions } from "./TabSessions.js"

export type { DisconnectPolicy }

export interface Instance {
  readonly id: string
  readonly token: string
  readonly who: Ref.Ref<Who>
  readonly clientName: string
  readonly color: GroupColor
  readonly port: number
  readonly policy: DisconnectPolicy
  readonly grace: Duration.Duration
  /** What this instance's tabs may show (`file:` only when its user allowed it). */
  readonly web: WebContentOptions
  readonly attached: Ref.Ref<boolean>
  /** Owned tabs: handle → Chrome tab id, in creation order. */
  readonly tabs: SynchronizedRef.SynchronizedRef<ReadonlyMap<string, number>>
  /** The user's shared tabs as this instance names them: handle → Chrome tab id. */
  readonly shared: SynchronizedRef.SynchronizedRef<ReadonlyMap<string, number>>
  readonly nextHandle: Ref.Ref<number>
  readonly current: Ref.Ref<Option.Option<string>>
  readonly group: Ref.Ref<Option.Option<number>>
  /** Handles of tabs the user took back: a call naming one is told so. */
  readonly takenBack: Ref.Ref<ReadonlySet<string>>
  /** Completed when the user disconnects this agent: its connection ends. */
  readonly kicked: Deferred.Deferred<void>
}

/** One of an instance's tabs as it names it: owned tabs first (creation order), then shared ones. */
export interface NamedTab {
  readonly handle: string
  readonly tab: number
  readonly shared: boolean
}

export const tabsOf = (instance: Instance): Effect.Effect<ReadonlyArray<NamedTab>> =>
  Effect.map(Effect.all([SynchronizedRef.get(instance.tabs), SynchronizedRef.get(instance.shared)]), ([owned, shared]) => [
    ...[...owned].map(([handle, tab]) => ({ handle, tab, shared: false })),
    ...[...shared].map(([handle, tab]) => ({ handle, tab, shared: true }))
  ])

/** What an instance's server is told of its tabs without asking. */
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
  /** The token of a kept instance to take over. */
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
  /** Adds (or re-attaches) an instance for the life of the connection's scope. */
  readonly register: (registration: Registration) => Effect.Effect<Instance, never, Scope.Scope>
  readonly list: Effect.Effect<ReadonlyArray<InstanceView>>
  readonly all: Effect.Effect<ReadonlyArray<Instance>>
  readonly rename: (instance: Instance, clientName: string) => Effect.Effect<void>
  /** A tab the instance opened: gives it the next handle and puts it in the instance's group. */
  readonly adopt: (instance: Instance, tab: number) => Effect.Effect<string>
  /** Makes one of the instance's tabs its current tab (the default of page calls). */
  readonly select: (instance: Instance, handle: string) => Effect.Effect<void>
  /** Forgets a handle (the tab was closed). */
  readonly drop: (instance: Instance, handle: string) => Effect.Effect<void>
  /**
   * Brings the instance's tabs up to date with what the user did: tabs dragged into its
   * group become its own, new shared tabs get handles, unshared ones lose theirs.
   */
  readonly sync: (instance: Instance) => Effect.Effect<void>
  /** The instance that owns a tab, if any. */
  readonly ownerOf: (tab: number) => Effect.Effect<Option.Option<Instance>>
  readonly snapshot: Effect.Effect<Snapshot>
  /**
   * What happened to instances' tabs that no call of theirs did: the user closed one, or
   * one of their pages opened a tab (which is then theirs too, under their origin rules).
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
  /** Whether the user disconnected the instance with this id. */
  readonly isDisconnected: (instanceId: string) => Effect.Effect<boolean>
}>() {}

/** A display name unique among connected instances: the client's name, plus a short id when two share it. */
const displayName = (clientName: string, id: string, others: ReadonlyArray<string>) =>
  others.includes(clientName) ? `${clientName} (${id.slice(0, 4)})` : clientName

/** How long instances restored after a worker restart wait for their servers. */
export const RESTORE_GRACE = Duration.seconds(60)

export const make = (saved: Option.Option<Snapshot>) => Effect.gen(function*() {
  const browser = yield* Browser
  const sessions = yield* TabSessions
  const locks = yield* TabLocks
  const tookBack = yield* PubSub.unbounded<number>()
  /** Instances the user disconnected (by id): never registered again. */
  const disconnectedByUser = yield* Ref.make<ReadonlySet<string>>(new Set())
  const registry = yield* SynchronizedRef.make(new Map<string, Instance>())
  const graceTimers = yield* FiberMap.make<string>()
  const news = yield* PubSub.unbounded<{ readonly instanceId: string; readonly event: TabNews }>()

  const names = (except: string) =>
    Effect.flatMap(SynchronizedRef.get(registry), (map) =>
      Effect.forEach([...map.values()].filter((i) => i.id !== except), (i) => Effect.map(Ref.get(i.who), (w) => w.name)))

  const badge = Effect.flatMap(SynchronizedRef.get(registry), (map) =>
    Effect.flatMap(Effect.filter([...map.values()], (i) => Ref.get(i.attached)), (live) =>
      browser.setBadge(live.length === 0 ? "" : String(live.length))))

  /** Each agent's number for its navigation rules (Browser.limitOrigins). */
  const ruleKeys = yield* Ref.make(new Map<string, number>())
  /** Holds what the instance's own tabs load to the origins its user allowed (every navigation, not only the agent's). */
  const guard = (instance: Instance) =>
    instance.web.origins === undefined ? Effect.void : Effect.gen(function*() {
      const key = yield* Ref.modify(ruleKeys, (keys) => {
        const known = keys.get(instance.id)
        if (known !== undefined) return [known, keys]
        const next = Math.max(0, ...keys.values()) + 1
        return [next, new Map(keys).set(instance.id, next)]
      })
      yield* browser.limitOrigins(key, [...(yield* SynchronizedRef.get(instance.tabs)).values()], instance.web.origins)
    })

  const regroup = (instance: Instance) =>
    Effect.gen(function*() {
      const tabs = [...(yield* SynchronizedRef.get(instance.tabs)).values()]
      yield* guard(instance)
      if (tabs.length === 0) return
      const who = yield* Ref.get(instance.who)
      const group = yield* browser.group(tabs, yield* Ref.get(instance.group), who.name, instance.color)
      yield* Ref.set(instance.group, group)
    })

  const remove = (instance: Instance) =>
    SynchronizedRef.update(registry, (map) => {
      const copy = new Map(map)
      if (copy.get(instance.id) === instance) copy.delete(instance.id)
      return copy
    }).pipe(Effect.zipRight(badge))

  /** Closes the instance's tabs; whoever waited for one of them is told it is gone (before any lock is released). */
  const closeTabs = (instance: Instance) =>
    Effect.flatMap(SynchronizedRef.get(instance.tabs), (tabs) =>
      Effect.forEach(tabs.values(), (tab) => Effect.zipRight(browser.closeTab(tab), locks.forgetTab(tab)), { discard: true }))

  /** Detaches a shared tab no agent holds now (no lease, no call running, nobody waiting). */
  const letGo = (tab: number) =>
    Effect.gen(function*() {
      if (Option.isNone(yield* ownerOf(tab)) && !(yield* locks.inUse(tab))) yield* sessions.end(tab)
    })

  /** The connection ended: tabs by policy first, then locks; whatever leaves the agent leaves the debugger. */
  const disconnected = (instance: Instance, policy: DisconnectPolicy = instance.policy) =>
    Effect.gen(function*() {
      const owned = [...(yield* SynchronizedRef.get(instance.tabs)).values()]
      switch (policy) {
        case "close":
          yield* closeTabs(instance)
          break
        case "release":
          yield* browser.ungroup(owned)
          yield* Effect.forEach(owned, sessions.end, { discard: true })
          break
        case "keep":
          break
      }
      yield* locks.releaseInstance(instance.id)
      if (policy !== "keep") {
        yield* SynchronizedRef.set(instance.tabs, new Map())
        yield* guard(instance)
      }
      yield* Effect.forEach((yield* SynchronizedRef.get(instance.shared)).values(), letGo, { discard: true })
      if (policy !== "keep") return yield* remove(instance)
      yield* Ref.set(instance.attached, false)
      yield* badge
      yield* FiberMap.run(graceTimers, instance.id, Effect.sleep(instance.grace).pipe(
        Effect.zipRight(Effect.logInfo(`${(yield* Ref.get(instance.who)).name} did not come back: closing its kept tabs`)),
        Effect.zipRight(closeTabs(instance)),
        Effect.zipRight(remove(instance))
      ))
    })

  /** A detached instance this registration may take back: same id and token, or the token it resumes. */
  const reclaimable = (map: ReadonlyMap<string, Instance>, r: Registration) =>
    Effect.findFirst([...map.values()], (i) =>
      Effect.map(Ref.get(i.attached), (attached) =>
        !attached && ((i.id === r.id && i.token === r.token) || (r.resume !== undefined && i.token === r.resume))))

  const register = (r: Registration) =>
    Effect.gen(function*() {
      const instance = yield* SynchronizedRef.modifyEffect(registry, (map) =>
        Effect.gen(function*() {
          const others = [...map.values()]
          const otherNames = yield* Effect.forEach(others.filter((i) => i.id !== r.id), (i) => Effect.map(Ref.get(i.who), (w) => w.name))
          const previous = yield* reclaimable(map, r)
          const used = new Set(others.map((i) => i.color))
          const kept = Option.isSome(previous) ? yield* Ref.get(previous.value.nextHandle) : 1
          const instance: Instance = Option.match(previous, {
            onNone: () => ({
              id: r.id,
              token: r.token,
              who: Ref.unsafeMake<Who>({ instanceId: r.id, name: displayName(r.clientName, r.id, otherNames) }),
              clientName: r.clientName,
              color: r.color ?? GROUP_COLORS.find((c) => !used.has(c)) ?? GROUP_COLORS[map.size % GROUP_COLORS.length]!,
              port: r.port,
              policy: r.policy,
              grace: r.grace,
              web: r.web,
              attached: Ref.unsafeMake(true),
              tabs: SynchronizedRef.unsafeMake<ReadonlyMap<string, number>>(new Map()),
              shared: SynchronizedRef.unsafeMake<ReadonlyMap<string, number>>(new Map()),
              nextHandle: Ref.unsafeMake(r.nextHandle ?? 1),
              current: Ref.unsafeMake(Option.none<string>()),
              group: Ref.unsafeMake(Option.none<number>()),
              takenBack: Ref.unsafeMake<ReadonlySet<string>>(new Set()),
              kicked: Deferred.unsafeMake<void>(FiberId.none)
            }),
            // Same tabs, handles and group; the new connection's identity and settings.
            onSome: (old) => ({
              ...old,
              id: r.id,
              token: r.token,
              who: Ref.unsafeMake<Who>({ instanceId: r.id, name: displayName(r.clientName, r.id, otherNames.filter((n) => n !== old.clientName)) }),
              clientName: r.clientName,
              color: r.color ?? old.color,
              port: r.port,
              policy: r.policy,
              grace: r.grace,
              web: r.web,
              nextHandle: Ref.unsafeMake(Math.max(kept, r.nextHandle ?? 1)),
              attached: Ref.unsafeMake(true),
              kicked: Deferred.unsafeMake<void>(FiberId.none)
            })
          })
          const copy = new Map(map)
          if (Option.isSome(previous)) {
            copy.delete(previous.value.id)
            yield* FiberMap.remove(graceTimers, previous.value.id)
            yield* Effect.logInfo(`${r.clientName} took back ${(yield* SynchronizedRef.get(instance.tabs)).size} kept tab(s)`)
          }
          copy.set(r.id, instance)
          return [instance, copy] as const
        }))
      yield* badge
      yield* regroup(instance)
      yield* Effect.addFinalizer(() => disconnected(instance))
      return instance
    })

  /** The tab becomes the instance's: a handle, its group, its origin rules. */
  const own = (instance: Instance, tab: number) =>
    Effect.gen(function*() {
      const [handle] = yield* handleFor(instance, tab)
      yield* SynchronizedRef.update(instance.tabs, (m) => new Map(m).set(handle, tab))
      yield* regroup(instance)
      return handle
    })

  const adopt = (instance: Instance, tab: number) =>
    Effect.tap(own(instance, tab), (handle) => Ref.set(instance.current, Option.some(handle)))

  /** A tab opened by an instance's page (a popup, a link to a new tab) is the instance's too; its current tab stays. */
  const onTabOpened = ({ opener, tab }: { readonly tab: number; readonly opener: number }) =>
    Effect.gen(function*() {
      const owner = yield* ownerOf(opener)
      if (Option.isNone(owner) || Option.isSome(yield* ownerOf(tab))) return
      const from = (yield* tabsOf(owner.value)).find((t) => t.tab === opener)?.handle ?? "a tab"
      const handle = yield* own(owner.value, tab)
      yield* PubSub.publish(news, { instanceId: owner.value.id, event: { type: "event", name: "tab.opened", data: { tab: handle, from } } })
    })

  const drop = (instance: Instance, handle: string) =>
    Effect.gen(function*() {
      const without = (m: ReadonlyMap<string, number>) => {
        const copy = new Map(m)
        copy.delete(handle)
        return copy
      }
      yield* SynchronizedRef.update(instance.shared, without)
      const left = yield* SynchronizedRef.modify(instance.tabs, (m) => {
        const copy = without(m)
        return [[...copy.keys()], copy] as const
      })
      yield* Ref.update(instance.current, (c) => (Option.contains(c, handle) ? Option.fromNullable(left[left.length - 1]) : c))
      yield* guard(instance)
    })

  const handleFor = (instance: Instance, tab: number) =>
    Effect.map(Ref.getAndUpdate(instance.nextHandle, (k) => k + 1), (n) => [`t${n}`, tab] as const)

  const sync = (instance: Instance) =>
    Effect.gen(function*() {
      const group = yield* Ref.get(instance.group)
      if (Option.isSome(group)) {
        const inGroup = yield* browser.tabsInGroup(group.value)
        const known = new Set((yield* tabsOf(instance)).map((t) => t.tab))
        // A tab dragged in becomes the agent's only if it shows web content (invariant 10); else it is put back out.
        const [other, web] = yield* Effect.partition(inGroup.filter((tab) => !known.has(tab)), (tab) =>
          Effect.flatMap(browser.getTab(tab), (t) =>
            Option.isSome(t) && notWebContent(t.value.url, instance.web) === undefined ? Effect.succeed(tab) : Effect.fail(tab)))
        if (other.length > 0) {
          yield* browser.ungroup(other)
          yield* Effect.logWarning(`${other.length} tab(s) dragged into ${instance.clientName}'s group show no web content: left out of it`)
        }
        const dragged = yield* Effect.forEach(web, (tab) => handleFor(instance, tab))
        if (dragged.length > 0) {
          yield* SynchronizedRef.update(instance.tabs, (m) => new Map([...m, ...dragged]))
          yield* guard(instance)
        }
      }
      const everyOwned = new Set<number>()
      for (const i of (yield* SynchronizedRef.get(registry)).values()) {
        for (const tab of (yield* SynchronizedRef.get(i.tabs)).values()) everyOwned.add(tab)
      }
      const now = new Set((yield* browser.sharedTabs(everyOwned)).filter((t) => notWebContent(t.url, instance.web) === undefined).map((t) => t.id))
      const owned = new Set((yield* SynchronizedRef.get(instance.tabs)).values())
      const known = yield* SynchronizedRef.get(instance.shared)
      const kept = [...known].filter(([, tab]) => now.has(tab))
      const fresh = [...now].filter((tab) => !owned.has(tab) && !kept.some(([, t]) => t === tab))
      const added = yield* Effect.forEach(fresh, (tab) => handleFor(instance, tab))
      yield* SynchronizedRef.set(instance.shared, new Map([...kept, ...added]))
    })

  const ownerOf = (tab: number) =>
    Effect.flatMap(SynchronizedRef.get(registry), (map) =>
      Effect.findFirst([...map.values()], (i) => Effect.map(SynchronizedRef.get(i.tabs), (m) => [...m.values()].includes(tab))))

  const rename = (instance: Instance, clientName: string) =>
    Effect.gen(function*() {
      const others = yield* names(instance.id)
      yield* Ref.set(instance.who, { instanceId: instance.id, name: displayName(clientName, instance.id, others) })
      yield* regroup(instance)
    })

  const all = Effect.map(SynchronizedRef.get(registry), (m) => [...m.values()])

  const list = Effect.flatMap(all, (instances) =>
    Effect.forEach(instances, (i) =>
      Effect.all({ who: Ref.get(i.who), tabs: SynchronizedRef.get(i.tabs), attached: Ref.get(i.attached) }).pipe(
        Effect.map(({ attached, tabs, who }): InstanceView => ({ id: i.id, name: who.name, color: i.color, port: i.port, tabs: tabs.size, attached }))
      )))

  const snapshot: Effect.Effect<Snapshot> = Effect.gen(function*() {
    const instances = yield* Effect.forEach(yield* all, (i) =>
      Effect.gen(function*() {
        const current = Option.getOrUndefined(yield* Ref.get(i.current))
        const group = Option.getOrUndefined(yield* Ref.get(i.group))
        return {
          id: i.id,
          token: i.token,
          clientName: i.clientName,
          name: (yield* Ref.get(i.who)).name,
          color: i.color,
          port: i.port,
          policy: i.policy,
          graceMs: Duration.toMillis(i.grace),
          allowFile: i.web.allowFile,
          ...(i.web.origins === undefined ? {} : { origins: i.web.origins }),
          nextHandle: yield* Ref.get(i.nextHandle),
          tabs: [...(yield* SynchronizedRef.get(i.tabs))],
          shared: [...(yield* SynchronizedRef.get(i.shared))],
          ...(current === undefined ? {} : { current }),
          ...(group === undefined ? {} : { group })
        }
      }))
    const leases = (yield* locks.view).flatMap((v) =>
      v.lease === undefined
        ? []
        : [{ tab: v.tab, instanceId: v.lease.who.instanceId, ttlMs: Duration.toMillis(v.lease.ttl), expiresAt: v.lease.expiresAt }])
    return { instances, leases, paused: yield* locks.paused, disconnected: [...(yield* Ref.get(disconnectedByUser))] }
  })

  /** A tab closed outside our handlers (by the user): forget it and tell its owner. */
  const onTabRemoved = (tab: number) =>
    Effect.gen(function*() {
      yield* locks.forgetTab(tab)
      for (const instance of (yield* SynchronizedRef.get(registry)).values()) {
        const handle = (yield* tabsOf(instance)).find((t) => t.tab === tab)?.handle
        if (handle === undefined) continue
        yield* drop(instance, handle)
        yield* PubSub.publish(news, { instanceId: instance.id, event: { type: "event", name: "tab.closed", data: { tab: handle } } })
      }
    })
  yield* Effect.forkScoped(Stream.runForEach(browser.tabRemoved, onTabRemoved))
  yield* Effect.forkScoped(Stream.runForEach(browser.tabOpenedFrom, onTabOpened))
  // A shared tab whose lease ended (ran out, or let go) is the user's alone again (unless another agent holds it).
  yield* Effect.forkScoped(Stream.runForEach(locks.events, (e) => letGo(e.tab)))

  /** After a worker restart: every instance comes back detached, with its tabs that still exist and its leases. */
  const restore = (s: Snapshot) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      // The user's word stands across a worker restart: a pause, and the agents they disconnected.
      if (s.paused === true) yield* locks.pause(true)
      yield* Ref.set(disconnectedByUser, new Set(s.disconnected ?? []))
      const exists = (entries: ReadonlyArray<readonly [string, number]>) =>
        Effect.filter(entries, ([, tab]) => Effect.map(browser.getTab(tab), Option.isSome))
      for (const saved of s.instances) {
        const instance: Instance = {
          id: saved.id,
          token: saved.token,
          who: Ref.unsafeMake<Who>({ instanceId: saved.id, name: saved.name }),
          clientName: saved.clientName,
          color: saved.color,
          port: saved.port,
          policy: saved.policy,
          grace: Duration.millis(saved.graceMs),
          web: { allowFile: saved.allowFile ?? false, origins: saved.origins },
          attached: Ref.unsafeMake(false),
          tabs: SynchronizedRef.unsafeMake<ReadonlyMap<string, number>>(new Map(yield* exists(saved.tabs))),
          shared: SynchronizedRef.unsafeMake<ReadonlyMap<string, number>>(new Map(yield* exists(saved.shared))),
          nextHandle: Ref.unsafeMake(saved.nextHandle),
          current: Ref.unsafeMake(Option.fromNullable(saved.current)),
          group: Ref.unsafeMake(Option.fromNullable(saved.group)),
          takenBack: Ref.unsafeMake<ReadonlySet<string>>(new Set()),
          kicked: Deferred.unsafeMake<void>(FiberId.none)
        }
        yield* SynchronizedRef.update(registry, (map) => new Map(map).set(instance.id, instance))
        const who = yield* Ref.get(instance.who)
        for (const lease of s.leases.filter((l) => l.instanceId === saved.id && l.expiresAt > now)) {
          yield* locks.lease(lease.tab, who, Duration.millis(lease.expiresAt - now), { wait: Duration.zero, label: `tab ${lease.tab}` }).pipe(Effect.ignore)
        }
        // Not back within the grace period: handled as its policy says.
        yield* FiberMap.run(graceTimers, instance.id, Effect.sleep(RESTORE_GRACE).pipe(
          Effect.zipRight(Ref.get(instance.attached)),
          // A kept instance has had its grace already: close its tabs now.
          Effect.flatMap((attached) => (attached ? Effect.void : disconnected(instance, instance.policy === "keep" ? "close" : instance.policy)))
        ))
      }
      yield* Effect.logInfo(`restored ${s.instances.length} instance(s) after a worker restart`)
    })
  if (Option.isSome(saved)) yield* restore(saved.value)

  const select = (instance: Instance, handle: string) => Ref.set(instance.current, Option.some(handle))

  const byId = (instanceId: string) => Effect.map(SynchronizedRef.get(registry), (map) => Option.fromNullable(map.get(instanceId)))

  const takeBack = (instanceId: string, handle: string) =>
    Effect.gen(function*() {
      const instance = yield* byId(instanceId)
      if (Option.isNone(instance)) return false
      const tab = (yield* tabsOf(instance.value)).find((t) => t.handle === handle)
      if (tab === undefined) return false
      // The handle first (no new call reaches the tab), then the calls on it, then the lock, the group and the debugger.
      yield* Ref.update(instance.value.takenBack, (s) => new Set(s).add(handle))
      yield* drop(instance.value, handle)
      yield* PubSub.publish(tookBack, tab.tab)
      yield* locks.unlock(tab.tab, yield* Ref.get(instance.value.who))
      if (!tab.shared) yield* browser.ungroup([tab.tab])
      yield* sessions.end(tab.tab)
      yield* Effect.logInfo(`the user took ${handle} back from ${(yield* Ref.get(instance.value.who)).name}`)
      return true
    })

  const disconnect = (instanceId: string) =>
    Effect.gen(function*() {
      const instance = yield* byId(instanceId)
      if (Option.isNone(instance)) return false
      yield* Ref.update(disconnectedByUser, (s) => new Set(s).add(instanceId))
      yield* Effect.logInfo(`the user disconnected ${(yield* Ref.get(instance.value.who)).name}`)
      // A connected agent's connection ends (and runs its policy); one kept without a connection goes now.
      if (yield* Ref.get(instance.value.attached)) return yield* Deferred.succeed(instance.value.kicked, undefined)
      yield* FiberMap.remove(graceTimers, instanceId)
      yield* disconnected(instance.value, instance.value.policy === "keep" ? "close" : instance.value.policy)
      return true
    })

  return Instances.of({
    register,
    list,
    all,
    rename,
    adopt,
    select,
    drop,
    sync,
    ownerOf,
    snapshot,
    news: Stream.fromPubSub(news),
    takeBack,
    tookBack: Stream.fromPubSub(tookBack),
    disconnect,
    isDisconnected: (instanceId) => Effect.map(Ref.get(disconnectedByUser), (s) => s.has(instanceId))
  })
})

export const layer = (saved: Option.Option<Snapshot> = Option.none()) => Layer.scoped(Instances, make(saved))
