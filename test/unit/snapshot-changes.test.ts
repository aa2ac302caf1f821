import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Option } from "effect"
import * as ServerConfig from "../../src/server/Config.js"
import { changes, layer, SnapshotChanges } from "../../src/server/SnapshotChanges.js"

const page = (lines: ReadonlyArray<string>) => lines.join("\n")

const form = page([
  `- banner [ref=s1e1]:`,
  `  - link "Home" [ref=s1e2]`,
  `  - link "Docs" [ref=s1e3]`,
  `- main [ref=s1e4]:`,
  `  - heading "Sign up" [level=1] [ref=s1e5]`,
  `  - textbox "Name" [ref=s1e6]`,
  `  - checkbox "Newsletter" [ref=s1e7]`,
  `  - button "Open" [ref=s1e8]`,
  `  - text: All fields are required.`,
  `- contentinfo [ref=s1e9]:`,
  ...Array.from({ length: 30 }, (_, i) => `  - link "Footer link ${i}" [ref=s1e${100 + i}]`)
])

describe("SnapshotChanges.changes", () => {
  it("tells a changed element under the elements that hold it, and nothing that stayed", () => {
    const after = form.replace(`checkbox "Newsletter" [ref=s1e7]`, `checkbox "Newsletter" [checked] [ref=s1e7]`)
    expect(changes(form, after)).toEqual(Option.some(page([
      `- main [ref=s1e4]:`,
      `  - checkbox "Newsletter" [checked] [ref=s1e7]`
    ])))
  })

  it("shows a new element whole, and lists the elements that are gone", () => {
    const after = form
      .replace(`  - button "Open" [ref=s1e8]\n`, `  - dialog "Saved" [ref=s1e40]:\n    - button "OK" [ref=s1e41]\n`)
      .replace(`  - link "Docs" [ref=s1e3]\n`, "")
    expect(changes(form, after)).toEqual(Option.some(page([
      `- banner [ref=s1e1]:`,
      `- main [ref=s1e4]:`,
      `  - dialog "Saved" [ref=s1e40]:`,
      `    - button "OK" [ref=s1e41]`,
      `- gone (no longer in the page):`,
      `  - link "Docs" [ref=s1e3]`,
      `  - button "Open" [ref=s1e8]`
    ])))
  })

  it("matches text lines by what they say, so changed text shows and unchanged text does not", () => {
    const after = form.replace("All fields are required.", "Name is required.")
    expect(changes(form, after)).toEqual(Option.some(page([`- main [ref=s1e4]:`, `  - text: Name is required.`])))
  })

  it("lists only the outermost of the elements that are gone", () => {
    const after = form.replace(/- contentinfo[^]*$/, "- text: bye")
    const told = Option.getOrThrow(changes(form, after))
    expect(told).toContain(`  - contentinfo [ref=s1e9]`)
    expect(told).not.toContain("Footer link")
  })

  it("is none for a new page (no ref in common) and for a change nearly as large as the page", () => {
    expect(changes(form, form.replaceAll("[ref=s1e", "[ref=s1e9"))).toEqual(Option.none())
    const small = page([`- button "A" [ref=s1e1]`, `- button "B" [ref=s1e2]`])
    expect(changes(small, page([`- button "A" [ref=s1e1]`, `- button "C" [ref=s1e3]`]))).toEqual(Option.none())
  })
})

const config = (snapshotAfterAction: "diff" | "full") =>
  ServerConfig.make({ allowOrigins: [], snapshotAfterAction, connectWait: Duration.seconds(1) })

describe("SnapshotChanges service", () => {
  it.effect("tells changes after a snapshot the agent saw, the whole page for a tab it never saw, and unchanged", () =>
    Effect.gen(function*() {
      const seen = yield* SnapshotChanges
      expect((yield* seen.tell("t1", form))._tag).toBe("Whole")
      const after = form.replace(`[ref=s1e7]`, `[checked] [ref=s1e7]`)
      expect((yield* seen.tell("t1", after))._tag).toBe("Changes")
      expect((yield* seen.tell("t1", after))._tag).toBe("Unchanged")
      expect((yield* seen.tell("t2", after))._tag).toBe("Whole")
      // What browser_snapshot showed is the new starting point.
      yield* seen.seen("t1", form)
      expect(yield* seen.tell("t1", after)).toMatchObject({ _tag: "Changes", changes: expect.stringContaining("[checked]") })
    }).pipe(Effect.provide(layer), Effect.provideService(ServerConfig.ServerConfig, config("diff"))))

  it.effect("always tells the whole page with --snapshot-after-action full", () =>
    Effect.gen(function*() {
      const seen = yield* SnapshotChanges
      yield* seen.tell("t1", form)
      expect((yield* seen.tell("t1", form))._tag).toBe("Whole")
    }).pipe(Effect.provide(layer), Effect.provideService(ServerConfig.ServerConfig, config("full"))))
})

describe("SnapshotChanges refs", () => {
  it("reads a line's ref from its marks, never from a name or text the page wrote", () => {
    const before = page([`- button "Save [ref=s1e9]" [ref=s1e1]`, `- generic [ref=s1e2]: see [ref=s1e1]`, `- button "Other" [ref=s1e9]`, ...Array.from({ length: 10 }, (_, i) => `- link "L${i}" [ref=s1e${20 + i}]`)])
    const after = before.replace(`- button "Other" [ref=s1e9]`, `- button "Other" [pressed] [ref=s1e9]`)
    expect(changes(before, after)).toEqual(Option.some(`- button "Other" [pressed] [ref=s1e9]`))
  })
})
