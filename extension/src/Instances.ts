/**
 * One instance per connected server, each with its own tabs. Identity is bound to the
 * connection at handshake; a message never chooses its instance. Tabs are addressed by
 * per-instance handles (`t1`, `t2`, ...) that are never reused; Chrome's tab ids stay
 * inside the extension. On disconnect the instance's tabs are handled by its policy
 * first (`close` by default), and only then are its locks released.
 */
import { Context, Effect, Layer, Option, PubSub, Ref, type Scope, Stream, SynchronizedRef } from "effect"
import { Browser, GROUP_COLORS, type GroupColor } from "./Browser.js"
import { TabLocks, type Who } from "./TabLocks.js"

export type DisconnectPolicy = "close" | "release" | "keep"

export interface Instance {
  readonly id: string
  readonly who: Ref.Ref<Who>
  readonly clientName: string
  readonly color: GroupColor
  readonly port: number
  /** Owned tabs: handle → Chrome tab id, in creation order. */
  readonly tabs: SynchronizedRef.SynchronizedRef<ReadonlyMap<string, number>>
  /** The user's shared tabs as this instance names them: handle → Chrome tab id. */
  readonly shared: SynchronizedRef.SynchronizedRef<ReadonlyMap<string, number>>
  readonly nextHandle: Ref.Ref<number>
  readonly current: Ref.Ref<Option.Option<string>>
  readonly group: Ref.Ref<Option.Option<number>>
}

export interface InstanceView {
  readonly id: string
  readonly name: string
  readonly color: GroupColor
  readonly port: number
  readonly tabs: number
}

export class Instances extends Context.Tag("tabmux/Instances")<Instances, {
  /** Adds an instance for the life of the scope; closing the scope cleans up its tabs, then its locks. */
  readonly register: (info: { readonly id: string; readonly clientName: string; readonly port: number; readonly policy: DisconnectPolicy }) => Effect.Effect<Instance, never, Scope.Scope>
  readonly list: Effect.Effect<ReadonlyArray<InstanceView>>
  readonly all: Effect.Effect<ReadonlyArray<Instance>>
  readonly rename: (instance: Instance, clientName: string) => Effect.Effect<void>
  /** A tab the instance opened: gives it the next handle and puts it in the instance's group. */
  readonly adopt: (instance: Instance, tab: number) => Effect.Effect<string>
  /** Forgets a handle (the tab was closed). */
  readonly drop: (instance: Instance, handle: string) => Effect.Effect<void>
  /** Brings the instance's names for shared tabs up to date: new shared tabs get new handles, unshared ones lose theirs. */
  readonly syncShared: (instance: Instance) => Effect.Effect<void>
  /** The instance that owns a tab, if any. */
  readonly ownerOf: (tab: number) => Effect.Effect<Option.Option<Instance>>
  /** Emitted when a tab owned by an instance was closed by someone else (the user). */
  readonly closedByUser: Stream.Stream<{ readonly instanceId: string; readonly handle: string }>
}>() {}

/** A display name unique among connected instances: the client's name, plus a short id when two share it. */
const displayName = (clientName: string, id: string, others: ReadonlyArray<string>) =>
  others.includes(clientName) ? `${clientName} (${id.slice(0, 4)})` : clientName

export const make = Effect.gen(function*() {
  const browser = yield* Browser
  const locks = yield* TabLocks
  const registry = yield* SynchronizedRef.make(new Map<string, Instance>())
  const closed = yield* PubSub.unbounded<{ readonly instanceId: string; readonly handle: string }>()
  const names = (except: string) =>
    Effect.flatMap(SynchronizedRef.get(registry), (map) =>
      Effect.forEach([...map.values()].filter((i) => i.id !== except), (i) => Effect.map(Ref.get(i.who), (w) => w.name)))

  const badge = Effect.flatMap(SynchronizedRef.get(registry), (map) => browser.setBadge(map.size === 0 ? "" : String(map.size)))

  const regroup = (instance: Instance) =>
    Effect.gen(function*() {
      const tabs = [...(yield* SynchronizedRef.get(instance.tabs)).values()]
      if (tabs.length === 0) return
      const who = yield* Ref.get(instance.who)
      const group = yield* browser.group(tabs, yield* Ref.get(instance.group), who.name, instance.color)
      yield* Ref.set(instance.group, group)
    })

  /** Runs the disconnect policy on the instance's tabs. */
  const cleanUpTabs = (instance: Instance, policy: DisconnectPolicy) =>
    Effect.gen(function*() {
      const tabs = [...(yield* SynchronizedRef.get(instance.tabs)).values()]
      if (policy === "close") yield* Effect.forEach(tabs, browser.closeTab, { discard: true })
      if (policy === "release") yield* browser.ungroup(tabs)
    })

  const register = (info: { readonly id: string; readonly clientName: string; readonly port: number; readonly policy: DisconnectPolicy }) =>
    Effect.gen(function*() {
      const instance = yield* SynchronizedRef.modifyEffect(registry, (map) =>
        Effect.gen(function*() {
          const others = [...map.values()]
          const otherNames = yield* Effect.forEach(others, (i) => Effect.map(Ref.get(i.who), (w) => w.name))
          const used = new Set(others.map((i) => i.color))
          const color = GROUP_COLORS.find((c) => !used.has(c)) ?? GROUP_COLORS[map.size % GROUP_COLORS.length]!
          const instance: Instance = {
            id: info.id,
            who: yield* Ref.make<Who>({ instanceId: info.id, name: displayName(info.clientName, info.id, otherNames) }),
            clientName: info.clientName,
            color,
            port: info.port,
            tabs: yield* SynchronizedRef.make<ReadonlyMap<string, number>>(new Map()),
            shared: yield* SynchronizedRef.make<ReadonlyMap<string, number>>(new Map()),
            nextHandle: yield* Ref.make(1),
            current: yield* Ref.make(Option.none<string>()),
            group: yield* Ref.make(Option.none<number>())
          }
          return [instance, new Map(map).set(info.id, instance)] as const
        }))
      yield* badge
      // Tabs first, then locks: nobody else can grab a tab of this instance's before it is dealt with.
      yield* Effect.addFinalizer(() =>
        cleanUpTabs(instance, info.policy).pipe(
          Effect.zipRight(locks.releaseInstance(instance.id)),
          Effect.zipRight(SynchronizedRef.update(registry, (map) => {
            const copy = new Map(map)
            copy.delete(instance.id)
            return copy
          })),
          Effect.zipRight(badge)
        )
      )
      return instance
    })

  const adopt = (instance: Instance, tab: number) =>
    Effect.gen(function*() {
      const n = yield* Ref.getAndUpdate(instance.nextHandle, (k) => k + 1)
      const handle = `t${n}`
      yield* SynchronizedRef.update(instance.tabs, (m) => new Map(m).set(handle, tab))
      yield* Ref.set(instance.current, Option.some(handle))
      yield* regroup(instance)
      return handle
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
    })

  const syncShared = (instance: Instance) =>
    Effect.gen(function*() {
      const now = new Set((yield* browser.sharedTabs).map((t) => t.id))
      const owned = new Set((yield* SynchronizedRef.get(instance.tabs)).values())
      const known = yield* SynchronizedRef.get(instance.shared)
      const kept = [...known].filter(([, tab]) => now.has(tab))
      const fresh = [...now].filter((tab) => !owned.has(tab) && !kept.some(([, t]) => t === tab))
      const added = yield* Effect.forEach(fresh, (tab) =>
        Effect.map(Ref.getAndUpdate(instance.nextHandle, (k) => k + 1), (n) => [`t${n}`, tab] as const))
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

  const list = Effect.flatMap(SynchronizedRef.get(registry), (map) =>
    Effect.forEach([...map.values()], (i) =>
      Effect.all({ who: Ref.get(i.who), tabs: SynchronizedRef.get(i.tabs) }).pipe(
        Effect.map(({ tabs, who }): InstanceView => ({ id: i.id, name: who.name, color: i.color, port: i.port, tabs: tabs.size }))
      )))

  /** A tab closed outside our handlers (by the user): forget it and tell its owner. */
  const onTabRemoved = (tab: number) =>
    Effect.gen(function*() {
      yield* locks.forgetTab(tab)
      for (const instance of (yield* SynchronizedRef.get(registry)).values()) {
        const handle = [...(yield* SynchronizedRef.get(instance.tabs)), ...(yield* SynchronizedRef.get(instance.shared))]
          .find(([, id]) => id === tab)?.[0]
        if (handle === undefined) continue
        yield* drop(instance, handle)
        yield* PubSub.publish(closed, { instanceId: instance.id, handle })
      }
    })
  yield* Effect.forkScoped(Stream.runForEach(browser.tabRemoved, onTabRemoved))

  return Instances.of({ register, list, all: Effect.map(SynchronizedRef.get(registry), (m) => [...m.values()]), rename, adopt, drop, syncShared, ownerOf, closedByUser: Stream.fromPubSub(closed) })
})

export const layer = Layer.scoped(Instances, make)
