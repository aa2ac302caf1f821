import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Layer, Option, Ref, Scope, Stream, TestClock } from "effect"
import { retryDelay } from "../../extension/src/Discovery.js"
import * as Driver from "../../extension/src/Driver.js"
import * as TabSessions from "../../extension/src/TabSessions.js"
import { handle } from "../../extension/src/Handlers.js"
import * as Instances from "../../extension/src/Instances.js"
import * as TabLocks from "../../extension/src/TabLocks.js"
import * as MemoryBrowser from "../support/memoryBrowser.js"

const call = (instance: Instances.Instance) => ({ instance, progress: () => Effect.void })

const setup = Effect.gen(function*() {
  const memory = yield* MemoryBrowser.make
  const context = yield* Layer.build(
    Instances.layer().pipe(Layer.provideMerge(TabLocks.layer), Layer.provideMerge(MemoryBrowser.layer(memory)), Layer.provideMerge(TabSessions.layer.pipe(Layer.provideMerge(Driver.unavailable))))
  )
  return { memory, context }
})

/** Agent "a" with one tab (t1, Chrome's 100), and the first piece of news about it, awaited. */
const agentWithTab = Effect.gen(function*() {
  const { context, memory } = yield* setup
  const i = yield* Instances.Instances.pipe(Effect.provide(context))
  const a = yield* i.register({ id: "a", clientName: "agent-a", port: 1, policy: "close", token: "tok", grace: Duration.seconds(60), web: { allowFile: false } })
  yield* handle(call(a), "tabs.new", {}).pipe(Effect.provide(context))
  const reported = yield* Effect.fork(Stream.runHead(i.news))
  yield* Effect.repeatN(Effect.yieldNow(), 10)
  return { a, context, memory, reported }
})

describe("Instances", () => {
  it.scoped("on disconnect, closes the instance's tabs first and only then releases its locks", () =>
    Effect.gen(function*() {
      const { context, memory } = yield* setup
      const instances = Instances.Instances.pipe(Effect.provide(context))
      const locks = yield* TabLocks.TabLocks.pipe(Effect.provide(context))
      const scope = yield* Scope.make()
      const a = yield* Effect.flatMap(instances, (i) => i.register({ id: "a", clientName: "agent-a", port: 1, policy: "close", token: "tok", grace: Duration.seconds(60), web: { allowFile: false } })).pipe(Scope.extend(scope))
      yield* handle(call(a), "tabs.new", { url: "http://x/1" }).pipe(Effect.provide(context))
      yield* handle(call(a), "tabs.new", { url: "http://x/2" }).pipe(Effect.provide(context))
      const who = Instances.who(Option.getOrThrow(yield* Effect.flatMap(instances, (i) => i.agent(a.id))))
      yield* locks.lease(100, who, Duration.seconds(60), { wait: Duration.seconds(1), label: "t1" })
      // Someone else waits for that tab: it must not get it before the tab is closed.
      const other = yield* Effect.fork(locks.withTab(100, { instanceId: "b", name: "b" }, { wait: Duration.seconds(10), label: "x" },
        MemoryBrowser.make.pipe(Effect.zipRight(Ref.update(memory.log, (l) => [...l, "b got tab 100"])))))
      yield* Effect.yieldNow()
      yield* Scope.close(scope, Exit.void)
      const outcome = yield* Fiber.await(other)
      const log = yield* Ref.get(memory.log)
      expect(log.filter((l) => l.startsWith("close"))).toEqual(["close 100", "close 101"])
      // b never got the tab: it was closed first, and b was told so.
      expect(log).not.toContain("b got tab 100")
      expect(Exit.isFailure(outcome) && outcome.cause._tag === "Fail" && outcome.cause.error._tag).toBe("TabGone")
      expect(log[log.length - 1]).toBe("badge \"\"")
    }))

  it.scoped("hands out handles that are never reused, even after closes", () =>
    Effect.gen(function*() {
      const { context } = yield* setup
      const i = yield* Instances.Instances.pipe(Effect.provide(context))
      const a = yield* i.register({ id: "a", clientName: "agent-a", port: 1, policy: "close", token: "tok", grace: Duration.seconds(60), web: { allowFile: false } })
      const open = () => handle(call(a), "tabs.new", {}).pipe(Effect.provide(context)) as Effect.Effect<any, any>
      expect((yield* open()).tab).toBe("t1")
      expect((yield* open()).tab).toBe("t2")
      yield* handle(call(a), "tabs.close", { tab: "t2" }).pipe(Effect.provide(context))
      expect((yield* open()).tab).toBe("t3")
      const listed: any = yield* handle(call(a), "tabs.list", {}).pipe(Effect.provide(context))
      expect(listed.tabs.map((t: any) => t.tab)).toEqual(["t1", "t3"])
    }))

  it.scoped("never shows one instance's tabs to another; unknown handles list only the caller's tabs", () =>
    Effect.gen(function*() {
      const { context } = yield* setup
      const i = yield* Instances.Instances.pipe(Effect.provide(context))
      const a = yield* i.register({ id: "a", clientName: "agent", port: 1, policy: "close", token: "tok", grace: Duration.seconds(60), web: { allowFile: false } })
      const b = yield* i.register({ id: "b", clientName: "agent", port: 2, policy: "close", token: "tok", grace: Duration.seconds(60), web: { allowFile: false } })
      yield* handle(call(a), "tabs.new", { url: "http://secret/" }).pipe(Effect.provide(context))
      const listed: any = yield* handle(call(b), "tabs.list", {}).pipe(Effect.provide(context))
      expect(listed.tabs).toEqual([])
      const error: any = yield* Effect.flip(handle(call(b), "tabs.select", { tab: "t1" }).pipe(Effect.provide(context)))
      expect(error._tag).toBe("TabNotFound")
      expect(error.message).toContain("you have no tabs")
      // Two clients with one name get distinct display names.
      expect((yield* i.list).map((v) => v.name)).toEqual(["agent", "agent (b)"])
    }))

  it.scoped("a tab the user closes is forgotten and reported to its owner", () =>
    Effect.gen(function*() {
      const { a, context, memory, reported } = yield* agentWithTab
      yield* memory.browser.closeTab(100)
      expect(yield* Fiber.join(reported)).toEqual(Option.some({ instanceId: "a", event: { type: "event", name: "tab.closed", data: { tab: "t1" } } }))
      const listed: any = yield* handle(call(a), "tabs.list", {}).pipe(Effect.provide(context))
      expect(listed.tabs).toEqual([])
    }))

  it.scoped("a call on a tab another call holds waits 8 s, then fails naming the tab and how to wait longer (a lease), with its fields", () =>
    Effect.gen(function*() {
      const { a, context } = yield* agentWithTab
      const locks = yield* TabLocks.TabLocks.pipe(Effect.provide(context))
      // Another call of the agent's holds t1 (a long wait for text, say).
      yield* Effect.fork(locks.withTab(100, { instanceId: "a", name: "agent-a" }, { wait: Duration.zero, label: "t1" }, Effect.never))
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      const waiting = yield* Effect.fork(Effect.flip(handle(call(a), "page.snapshot", { tab: "t1" }).pipe(Effect.provide(context))))
      yield* TestClock.adjust(Duration.seconds(7))
      expect(Option.isNone(yield* Fiber.poll(waiting))).toBe(true)
      yield* TestClock.adjust(Duration.seconds(2))
      const error: any = yield* Fiber.join(waiting)
      expect(error).toMatchObject({ _tag: "LockTimeout", tab: "t1", holder: "agent-a", waitedSeconds: 8 })
      expect(error.message).toContain("browser_tab_lock")
      expect(error.message).not.toContain("(waitSeconds)")
    }))

  it.scoped("a tab an instance's page opens (a popup) is its own too, in its group; its current tab stays; others' pages' tabs are not", () =>
    Effect.gen(function*() {
      const { a, context, memory, reported } = yield* agentWithTab
      const popup = yield* memory.openFrom(100, "https://example.com/popup")
      expect(yield* Fiber.join(reported)).toEqual(Option.some({ instanceId: "a", event: { type: "event", name: "tab.opened", data: { tab: "t2", from: "t1" } } }))
      const listed: any = yield* handle(call(a), "tabs.list", {}).pipe(Effect.provide(context))
      expect(listed.tabs.map((t: any) => [t.tab, t.current])).toEqual([["t1", true], ["t2", false]])
      expect((yield* Ref.get(memory.tabs)).get(popup.id)?.group).toBe((yield* Ref.get(memory.tabs)).get(100)?.group)
      // A tab opened from a tab no agent owns stays the user's.
      const user = yield* memory.browser.openTab("https://example.com/")
      yield* memory.openFrom(user.id, "https://example.com/other")
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      expect(((yield* handle(call(a), "tabs.list", {}).pipe(Effect.provide(context))) as any).tabs).toHaveLength(2)
    }))

  it.scoped("a tab the user drags into an instance's group becomes its own, with a new handle", () =>
    Effect.gen(function*() {
      const { context, memory } = yield* setup
      const i = yield* Instances.Instances.pipe(Effect.provide(context))
      const a = yield* i.register({ id: "a", clientName: "agent-a", port: 1, policy: "close", token: "tok", grace: Duration.seconds(60), web: { allowFile: false } })
      yield* handle(call(a), "tabs.new", {}).pipe(Effect.provide(context))
      const userTab = yield* memory.browser.openTab("http://user/")
      const group = Option.getOrThrow(Option.flatMapNullable(yield* i.agent(a.id), (x) => x.group))
      yield* memory.browser.group([userTab.id], Option.some(group), "agent-a", "blue")
      const listed: any = yield* handle(call(a), "tabs.list", {}).pipe(Effect.provide(context))
      expect(listed.tabs.map((t: any) => [t.tab, t.url, t.shared])).toEqual([["t1", "about:blank", false], ["t2", "http://user/", false]])
    }))

  it.scoped("with 'share all tabs' on, every tab no agent owns is shared; owned tabs never are", () =>
    Effect.gen(function*() {
      const { context, memory } = yield* setup
      const i = yield* Instances.Instances.pipe(Effect.provide(context))
      const a = yield* i.register({ id: "a", clientName: "agent-a", port: 1, policy: "close", token: "tok", grace: Duration.seconds(60), web: { allowFile: false } })
      const b = yield* i.register({ id: "b", clientName: "agent-b", port: 2, policy: "close", token: "tok-b", grace: Duration.seconds(60), web: { allowFile: false } })
      yield* handle(call(a), "tabs.new", { url: "http://a-private/" }).pipe(Effect.provide(context))
      yield* memory.browser.openTab("http://user-tab/")
      const listB = () => handle(call(b), "tabs.list", {}).pipe(Effect.provide(context), Effect.map((r: any) => r.tabs.map((t: any) => [t.url, t.shared])))
      expect(yield* listB()).toEqual([])
      memory.shareAll.value = true
      expect(yield* listB()).toEqual([["http://user-tab/", true]])
    }))

  it("backs off from servers that refuse us, never from idle ports", () => {
    expect(Duration.toMillis(retryDelay({ _tag: "Refused" }, 0))).toBe(0)
    expect(Duration.toMillis(retryDelay({ _tag: "Closed", served: true }, 0))).toBe(0)
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => Duration.toMillis(retryDelay({ _tag: "Rejected", reason: "busy" }, n))))
      .toEqual([0, 0, 2000, 4000, 8000, 10000, 10000, 10000])
  })
})
