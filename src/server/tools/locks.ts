/** `browser_tab_lock` / `browser_tab_unlock`: hold a tab across calls (leases), and `browser_instances`: who else is here. */
import { Effect, Schema } from "effect"
import { InstanceInfo } from "../../protocol/index.js"
import { Bridge } from "../Bridge.js"
import { bounded, tabArgument } from "./arguments.js"
import { make } from "./Tool.js"


export const browserTabLock = make({
  name: "browser_tab_lock",
  description:
    "Hold a tab for several steps: until you unlock it, only your calls run on it (other agents wait their turn). " +
    "Needed for tabs the user shared with all agents; every call you make on the tab renews the lease, " +
    "and a lease you stop using ends after ttlSeconds. If another agent holds the tab, this waits (with progress) up to waitSeconds.",
  annotations: { title: "Lock a tab", readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: Schema.Struct({
    tab: tabArgument,
    ttlSeconds: Schema.optional(bounded(1, 3600, "How long the lease lasts without any call from you (default 60).")),
    waitSeconds: Schema.optional(bounded(0, 600, "How long to wait if another agent holds the tab (default 30)."))
  }),
  output: Schema.Struct({ tab: Schema.String, ttlSeconds: Schema.Number, expiresAt: Schema.Number }),
  handler: (input) =>
    Effect.gen(function*() {
      const bridge = yield* Bridge
      const lease = yield* bridge.call("tab.lock", {
        tab: input.tab,
        ttlSeconds: input.ttlSeconds ?? 60,
        waitSeconds: input.waitSeconds ?? 30
      })
      return {
        text: `You hold ${lease.tab} until you unlock it (browser_tab_unlock), or ${lease.ttlSeconds} s after your last call on it.`,
        structured: lease
      }
    })
})

export const browserTabUnlock = make({
  name: "browser_tab_unlock",
  description: "Release a tab you locked with browser_tab_lock, so other agents can use it.",
  annotations: { title: "Unlock a tab", readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: Schema.Struct({ tab: tabArgument }),
  output: Schema.Struct({ tab: Schema.String, released: Schema.Boolean }),
  handler: (input) =>
    Effect.map(Bridge, (bridge) => bridge).pipe(
      Effect.flatMap((bridge) => bridge.call("tab.unlock", { tab: input.tab })),
      Effect.map((r) => ({
        text: r.released ? `Released ${r.tab}.` : `You did not hold ${r.tab} (nothing to release).`,
        structured: r
      }))
    )
})

export const browserInstances = make({
  name: "browser_instances",
  description:
    "List the agents connected to this browser: their names, how many tabs each owns, and which shared tabs each holds. " +
    "Other agents' pages are never shown.",
  annotations: { title: "Connected agents", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: Schema.Struct({}),
  output: Schema.Struct({ instances: Schema.Array(InstanceInfo) }),
  handler: () =>
    Effect.flatMap(Bridge, (bridge) => bridge.call("instances.list", {})).pipe(
      Effect.map((r) => ({
        text: r.instances.map((i) =>
          `- ${i.name}${i.you ? " (you)" : ""}: ${i.ownedTabs} tab(s)${i.leases.length ? `, holds shared: ${i.leases.join(", ")}` : ""}`
        ).join("\n"),
        structured: r
      }))
    )
})
