import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer, Option, Ref, Scope, TestClock } from "effect"
import * as Driver from "../../extension/src/Driver.js"
import * as TabSessions from "../../extension/src/TabSessions.js"
import { handle } from "../../extension/src/Handlers.js"
import * as Instances from "../../extension/src/Instances.js"
import * as TabLocks from "../../extension/src/TabLocks.js"
import * as MemoryBrowser from "../support/memoryBrowser.js"

const registration = (over: Partial<Instances.Registration> = {}): Instances.Registration => ({
  id: "a",
  token: "tok-a",
  clientName: "agent-a",
  port: 1,
  policy: "keep",
  grace: Duration.seconds(30),
  web: { allowFile: false },
  ...over
})

const setup = (saved: Option.Option<Instances.Snapshot> = Option.none(), memory?: MemoryBrowser.MemoryBrowser) =>
  Effect.gen(function*() {
    const browser = memory ?? (yield* MemoryBrowser.make)
    const context = yield* Layer.build(
      Instances.layer(saved).pipe(Layer.provideMerge(TabLocks.layer), Layer.provideMerge(MemoryBrowser.layer(browser)), Layer.provideMerge(TabSessions.layer.pipe(Layer.provideMerge(Driver.unavailable))))
    )
    const instances = yield* Instances.Instances.pipe(Effect.provide(context))
    const locks = yield* TabLocks.TabLocks.pipe(Effect.provide(context))
    /** Registers in a scope of its own (the connection), opens `n` tabs, returns the instance and that scope. */
    const connect = (r: Instances.Registration, n = 0) =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const instance = yield* instances.register(r).pipe(Scope.extend(scope))
        for (let i = 0; i < n; i++) yield* handle({ instance, progress: () => Effect.void }, "tabs.new", {}).pipe(Effect.provide(context))
        return { instance, scope }
      })
    const list = (instance: Instances.Instance) =>
      handle({ instance, progress: () => Effect.void }, "tabs.list", {}).pipe(
        Effect.provide(context),
        Effect.map((r: any) => r.tabs.map((t: any) => t.tab))
      )
    const open = (instance: Instances.Instance) =>
      handle({ instance, progress: () => Effect.void }, "tabs.new", {}).pipe(Effect.provide(context), Effect.map((r: any) => r.tab))
    return { browser, instances, locks, connect, list, open }
  })

const closes = (memory: MemoryBrowser.MemoryBrowser) => Effect.map(Ref.get(memory.log), (l) => l.filter((x) => x.startsWith("close")))

describe("disconnect policies", () => {
  it.scoped("release: tabs are ungrouped and left open, locks released", () =>
    Effect.gen(function*() {
      const { browser, connect, instances } = yield* setup()
      const { scope } = yield* connect(registration({ policy: "release" }), 2)
      yield* Scope.close(scope, Exit.void)
      expect(yield* closes(browser)).toEqual([])
      expect((yield* Ref.get(browser.log)).filter((l) => l.startsWith("ungroup"))).toEqual(["ungroup 100,101"])
      expect(yield* instances.list).toEqual([])
    }))

  it.scoped("keep: tabs stay until exactly the grace period ends, then close", () =>
    Effect.gen(function*() {
      const { browser, connect, instances } = yield* setup()
      const { scope } = yield* connect(registration(), 2)
      yield* Scope.close(scope, Exit.void)
      expect((yield* instances.list).map((v) => v.attached)).toEqual([false])
      yield* TestClock.adjust("29999 millis")
      expect(yield* closes(browser)).toEqual([])
      yield* TestClock.adjust("1 millis")
      expect(yield* closes(browser)).toEqual(["close 100", "close 101"])
      expect(yield* instances.list).toEqual([])
    }))

  it.scoped("keep: the same server reconnecting within the grace period gets its tabs and handles back", () =>
    Effect.gen(function*() {
      const { browser, connect, list, open } = yield* setup()
      const first = yield* connect(registration(), 2)
      yield* Scope.close(first.scope, Exit.void)
      yield* TestClock.adjust("10 seconds")
      const again = yield* connect(registration())
      expect(yield* list(again.instance)).toEqual(["t1", "t2"])
      yield* TestClock.adjust("60 seconds")
      expect(yield* closes(browser)).toEqual([])
      // Its next tab continues the numbering: handles are never reused.
      expect(yield* open(again.instance)).toBe("t3")
    }))

  it.scoped("keep: another server presenting the token (--resume) takes the tabs over; a wrong token does not", () =>
    Effect.gen(function*() {
      const { connect, list } = yield* setup()
      const old = yield* connect(registration(), 2)
      yield* Scope.close(old.scope, Exit.void)
      const stranger = yield* connect(registration({ id: "b", token: "tok-b", clientName: "agent-b", resume: "guess" }))
      expect(yield* list(stranger.instance)).toEqual([])
      const heir = yield* connect(registration({ id: "c", token: "tok-c", clientName: "agent-a", resume: "tok-a" }))
      expect(yield* list(heir.instance)).toEqual(["t1", "t2"])
    }))

  it.scoped("a restarted worker rebuilds instances, handles and leases from the snapshot, and the server re-attaches", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryBrowser.make
      const before = yield* setup(Option.none(), memory)
      const { instance } = yield* before.connect(registration({ policy: "close" }), 2)
      yield* before.locks.lease(101, Instances.who(Option.getOrThrow(yield* before.instances.agent(instance.id))), Duration.seconds(60), { wait: Duration.zero, label: "t2" })
      const saved = yield* before.instances.snapshot
      expect(saved.leases.map((l) => [l.tab, l.instanceId])).toEqual([[101, "a"]])

      const after = yield* setup(Option.some(saved), memory)
      expect((yield* after.instances.list).map((v) => [v.name, v.tabs, v.attached])).toEqual([["agent-a", 2, false]])
      expect((yield* after.locks.view).map((v) => v.lease?.who.name)).toEqual(["agent-a"])
      const back = yield* after.connect(registration({ policy: "close" }))
      expect(yield* after.list(back.instance)).toEqual(["t1", "t2"])
      yield* TestClock.adjust("120 seconds")
      expect(yield* closes(memory)).toEqual([])
    }))

  it.scoped("the user's pause and the agents they disconnected stand across a worker restart", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryBrowser.make
      const before = yield* setup(Option.none(), memory)
      const { instance } = yield* before.connect(registration({ policy: "close" }), 1)
      yield* before.locks.pause(true)
      expect(yield* before.instances.disconnect(instance.id)).toBe(true)
      const saved = yield* before.instances.snapshot
      const after = yield* setup(Option.some(saved), memory)
      expect(yield* after.locks.paused).toBe(true)
      expect(yield* after.instances.isDisconnected(instance.id)).toBe(true)
    }))

  it.scoped("a restored instance whose server never comes back is cleaned up after the restore grace", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryBrowser.make
      const before = yield* setup(Option.none(), memory)
      yield* before.connect(registration({ policy: "close" }), 1)
      const saved = yield* before.instances.snapshot
      const after = yield* setup(Option.some(saved), memory)
      yield* TestClock.adjust(Duration.toMillis(Instances.RESTORE_GRACE) - 1)
      expect(yield* closes(memory)).toEqual([])
      yield* TestClock.adjust("1 millis")
      expect(yield* closes(memory)).toEqual(["close 100"])
      expect(yield* after.instances.list).toEqual([])
    }))
})
