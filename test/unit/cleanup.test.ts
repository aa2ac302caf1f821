/**
 * The test run's global teardown (test/support/cleanup.ts) removes what the run made and
 * nothing else: folders created after its setup go, folders that were there before stay.
 * (On a folder of its own, and a user that does not exist: the real teardown acts on the
 * whole temporary directory, where other test files work meanwhile.)
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { expect, it } from "vitest"
import { leftovers } from "../support/cleanup.js"

it("the run's teardown removes the temporary folders made during the run (with what they hold), and only those", () => {
  const tmp = Fs.mkdtempSync(Path.join(Os.tmpdir(), "cleanup-test-"))
  try {
    const before = Fs.mkdtempSync(Path.join(tmp, "tabmux-before-"))
    const teardown = leftovers(tmp, "tabmux-no-such-user")
    const during = Fs.mkdtempSync(Path.join(tmp, "tabmux-during-"))
    Fs.writeFileSync(Path.join(during, "secret"), "x".repeat(64), { mode: 0o600 })
    const other = Fs.mkdtempSync(Path.join(tmp, "someone-else-"))
    teardown()
    expect(Fs.existsSync(during)).toBe(false)
    expect(Fs.existsSync(before)).toBe(true)
    expect(Fs.existsSync(other)).toBe(true)
  } finally {
    Fs.rmSync(tmp, { recursive: true, force: true })
  }
})
