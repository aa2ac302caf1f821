/**
 * Where an agent's relative paths lead, as in Playwright MCP: the client's first root,
 * else the server's working directory (when it is a folder of the user's own, and not
 * their home or above it); files named by tabmux go to the output directory. Still
 * confined: the working directory is usable only while the client names no roots.
 */
import { Effect, Layer } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import * as Config from "../../src/server/Config.js"
import * as Workspace from "../../src/server/Workspace.js"

const made: Array<string> = []
const temp = (prefix: string) => {
  const dir = Fs.realpathSync(Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix)))
  Fs.chmodSync(dir, 0o700)
  made.push(dir)
  return dir
}
const started = process.cwd()
afterAll(() => {
  process.chdir(started)
  for (const dir of made) Fs.rmSync(dir, { recursive: true, force: true })
})

const workspace = (runtime: string, roots: ReadonlyArray<string>) =>
  Effect.runPromise(Effect.gen(function*() {
    const ws = yield* Workspace.Workspace
    yield* ws.setRoots(roots.map((r) => `file://${r}`))
    return ws
  }).pipe(Effect.provide(Workspace.layer.pipe(Layer.provide(Layer.succeed(Config.ServerConfig, Config.make({ allowOrigins: [], dir: runtime })))))))

describe("relative paths", () => {
  it("the working directory counts only when it is the user's own folder, not their home or above it", () => {
    const home = temp("tabmux-home-")
    const project = Path.join(home, "project")
    Fs.mkdirSync(project, { mode: 0o700 })
    expect(Workspace.usableWorkingDir(project, home)).toBe(project)
    expect(Workspace.usableWorkingDir(home, home)).toBeUndefined()
    expect(Workspace.usableWorkingDir(Path.dirname(home), home)).toBeUndefined()
    expect(Workspace.usableWorkingDir("/", home)).toBeUndefined()
  })

  it("lead to the first root; without roots to the working directory (reads too); a file tabmux names goes to the output directory", async () => {
    const runtime = temp("tabmux-test-")
    const project = temp("tabmux-project-")
    const root = temp("tabmux-root-")
    Fs.writeFileSync(Path.join(project, "a.txt"), "a")
    process.chdir(project)
    const bare = await workspace(runtime, [])
    expect(await Effect.runPromise(bare.save("browser_take_screenshot", "shots/../rel.png", "x.png", new Uint8Array([1])))).toBe(Path.join(project, "rel.png"))
    expect(Fs.statSync(Path.join(project, "rel.png")).mode & 0o777).toBe(0o600)
    expect(await Effect.runPromise(bare.readable("browser_file_upload", ["a.txt"]))).toEqual([Path.join(project, "a.txt")])
    expect(await Effect.runPromise(bare.save("browser_take_screenshot", undefined, "named.png", new Uint8Array([1])))).toBe(Path.join(Fs.realpathSync(runtime), "output", "named.png"))
    // Still confined: nothing above it.
    expect((await Effect.runPromise(Effect.flip(bare.save("browser_take_screenshot", "../out.png", "x.png", new Uint8Array([1]))))).message).toContain("outside the directories")

    const rooted = await workspace(runtime, [root])
    expect(await Effect.runPromise(rooted.save("browser_take_screenshot", "rel.png", "x.png", new Uint8Array([1])))).toBe(Path.join(root, "rel.png"))
    // With roots, the working directory is no longer one of the agent's folders.
    expect((await Effect.runPromise(Effect.flip(rooted.readable("browser_file_upload", [Path.join(project, "a.txt")])))).message).toContain("outside the directories")
  })
})
