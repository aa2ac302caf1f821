/**
 * Directories and files the user names are the user's (invariant 16): a folder another
 * user owns or can write, or a symlink another user made, is refused wherever the user
 * names one (--output-dir, --allow-path, TABMUX_DIR, tabmux browser --profile) and
 * wherever an agent's file goes or comes from. As root, the other user is a real one.
 */
import { Effect, Layer } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import * as Config from "../../src/server/Config.js"
import { directoryProblem } from "../../src/server/OwnedPath.js"
import * as Workspace from "../../src/server/Workspace.js"
import { OTHER, otherDir, otherUser } from "../support/otherUser.js"
import { BIN, spawnTabmux, tempRuntimeDir } from "../support/server.js"

const made: Array<string> = []
const temp = (prefix = "tabmux-own-") => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))
  made.push(dir)
  return dir
}
const foreign = (prefix: string) => {
  const dir = otherDir(prefix)
  made.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of made) Fs.rmSync(dir, { recursive: true, force: true })
})

/** The workspace of a server on `dir`, with the client's `roots`. */
const workspace = (dir: string, roots: ReadonlyArray<string>, overrides: Partial<Config.ServerConfig> = {}) =>
  Effect.gen(function*() {
    const ws = yield* Workspace.Workspace
    yield* ws.setRoots(roots.map((r) => `file://${r}`))
    return ws
  }).pipe(Effect.provide(Workspace.layer.pipe(Layer.provide(Layer.succeed(Config.ServerConfig, Config.make({ allowOrigins: [], dir, ...overrides }))))))

const startFails = async (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const server = spawnTabmux(["--ports", "18974-18975", ...args], { TABMUX_DIR: env.TABMUX_DIR ?? tempRuntimeDir(), ...env })
  const exited = await server.exited
  expect(exited.code, server.stderr()).not.toBe(0)
  return server.stderr()
}

describe("directories the user names", () => {
  it("a folder anyone can write, or under one that is not sticky, is refused; one of the user's own in /tmp is fine", () => {
    const open = temp()
    Fs.chmodSync(open, 0o777)
    expect(directoryProblem(open)).toMatch(/any user can write/)
    expect(directoryProblem(Path.join(open, "sub"))).toMatch(/any user can write/)
    Fs.mkdirSync(Path.join(open, "mine"), { mode: 0o700 })
    expect(directoryProblem(Path.join(open, "mine"))).toMatch(/any user can write/)
    const own = temp()
    expect(directoryProblem(own)).toBeUndefined()
    expect(directoryProblem(Path.join(own, "not-yet", "there"))).toBeUndefined()
    // /tmp itself is named: anyone can write it, even with its sticky bit.
    expect(directoryProblem(Os.tmpdir())).toMatch(/any user can write/)
  })

  it("a server refuses an --output-dir or --allow-path anyone can write, naming the folder", async () => {
    const open = temp()
    Fs.chmodSync(open, 0o777)
    expect(await startFails(["--output-dir", open])).toMatch(/--output-dir.*any user can write/)
    expect(await startFails(["--allow-path", open])).toMatch(/--allow-path.*any user can write/)
  })

  it("an agent's file is neither written to nor read from a folder another user could change", async () => {
    const dir = tempRuntimeDir()
    made.push(dir)
    const root = temp()
    const shared = Path.join(root, "shared")
    Fs.mkdirSync(shared)
    Fs.chmodSync(shared, 0o777)
    Fs.writeFileSync(Path.join(shared, "upload.txt"), "x")
    const ws = await Effect.runPromise(workspace(dir, [root]))
    const saved = await Effect.runPromise(Effect.flip(ws.save("browser_take_screenshot", Path.join(shared, "shot.png"), "x.png", new Uint8Array([1]))))
    expect(saved.message).toMatch(/not safely yours: any user can write/)
    const read = await Effect.runPromise(Effect.flip(ws.readable("browser_file_upload", [Path.join(shared, "upload.txt")])))
    expect(read.message).toMatch(/not safely yours/)
    // The same in a folder of the user's own works.
    Fs.writeFileSync(Path.join(root, "upload.txt"), "x")
    expect(await Effect.runPromise(ws.readable("browser_file_upload", [Path.join(root, "upload.txt")]))).toEqual([Path.join(Fs.realpathSync(root), "upload.txt")])
  })
})

describe.skipIf(otherUser === undefined)("folders another user prepared", () => {
  it("an --output-dir another user owns, or a symlink another user made as one, is refused", async () => {
    const theirs = foreign("tabmux-their-out-")
    expect(await startFails(["--output-dir", theirs])).toMatch(/belongs to uid \d+, not to you/)
    const linkDir = foreign("tabmux-their-link-")
    const secretDir = temp("tabmux-root-only-")
    Fs.chmodSync(secretDir, 0o700)
    const link = Path.join(linkDir, "out")
    ChildProcess.execFileSync("runuser", ["-u", OTHER, "--", "ln", "-s", secretDir, link])
    expect(await startFails(["--output-dir", link])).toMatch(/symbolic link made by uid|belongs to uid/)
  })

  it("a TABMUX_DIR whose parent another user owns is refused", async () => {
    const parent = foreign("tabmux-their-parent-")
    const dir = Path.join(parent, "run")
    Fs.mkdirSync(dir, { mode: 0o700 })
    expect(await startFails([], { TABMUX_DIR: dir })).toMatch(/another user could replace it: .*belongs to uid/)
  })

  it("tabmux browser --profile on a folder another user created is refused before anything is written there", () => {
    const profile = foreign("tabmux-their-profile-")
    const dir = tempRuntimeDir()
    made.push(dir)
    const run = ChildProcess.spawnSync(process.execPath, [BIN, "browser", "--profile", profile, "--headless", "--ports", "18974-18975"], {
      env: { ...process.env, TABMUX_DIR: dir },
      encoding: "utf8",
      timeout: 30_000
    })
    expect(run.status).not.toBe(0)
    expect(run.stderr).toMatch(/not safely yours: .*belongs to uid/)
    expect(Fs.readdirSync(profile)).toEqual([])
  })
})
