import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { excerpt, matching } from "../../src/server/tools/find.js"

const page = [
  "- banner [ref=s1e1]",
  "  - link \"Home\" [ref=s1e2]",
  "- main [ref=s1e3]",
  "  - heading \"Sign up\" [level=1] [ref=s1e4]",
  "  - list [ref=s1e5]",
  ...Array.from({ length: 20 }, (_, i) => `    - listitem [ref=s1e${10 + i}]: Item ${i}`),
  "- contentinfo [ref=s1e6]: © 2026"
]

describe("browser_find", () => {
  it.effect("finds text in any case, and a regular expression as written or as /pattern/flags", () =>
    Effect.gen(function*() {
      expect(yield* matching(page, { text: "ITEM 1" })).toEqual([6, ...Array.from({ length: 10 }, (_, i) => 15 + i)])
      expect(yield* matching(page, { regex: "Item 1[0-2]$" })).toEqual([15, 16, 17])
      expect(yield* matching(page, { regex: "/sign UP/i" })).toEqual([3])
      expect(yield* matching(page, { regex: "sign UP" })).toEqual([])
    }))

  it.effect("refuses a regular expression that does not compile, or that backtracks without end, naming it", () =>
    Effect.gen(function*() {
      const bad = yield* Effect.exit(matching(page, { regex: "(" }))
      expect(Exit.isFailure(bad) && JSON.stringify(bad.cause)).toContain("regex (: Invalid regular expression")
      const slow = yield* Effect.exit(matching([`${"a".repeat(40)}!`], { regex: "^(a+)+$" }))
      expect(Exit.isFailure(slow) && JSON.stringify(slow.cause)).toContain("ran longer than 1 s")
    }))

  it("shows each match with the lines around it and the elements that hold them", () => {
    expect(excerpt(page, [15]).split("\n")).toEqual([
      "- main [ref=s1e3]",
      "  - list [ref=s1e5]",
      ...[7, 8, 9, 10, 11, 12, 13].map((i) => `    - listitem [ref=s1e${10 + i}]: Item ${i}`)
    ])
  })

  it("marks lines left out under an element shown only for context, not on the way down to a match", () => {
    const toolbar = [
      "- main [ref=e2]",
      "  - group \"Toolbar\" [ref=e3]",
      ...["One", "Two", "Three", "Four"].map((b, i) => `    - button "${b}" [ref=e${4 + i}]`),
      "  - group \"Content\" [ref=e8]",
      "    - button \"Target Button\" [ref=e9]"
    ]
    expect(excerpt(toolbar, [7]).split("\n")).toEqual([
      "- main [ref=e2]",
      "  - group \"Toolbar\" [ref=e3]",
      "    ...",
      "    - button \"Three\" [ref=e6]",
      "    - button \"Four\" [ref=e7]",
      "  - group \"Content\" [ref=e8]",
      "    - button \"Target Button\" [ref=e9]"
    ])
  })
})
