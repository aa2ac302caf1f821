/** The commands people type: help, version, extension-path, status (with sweeping) and doctor. */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"
import { BIN, readRegistry, spawnTabmux, tempRuntimeDir, waitFor } from "../support/server.js"

const run = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  ChildProcess.spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, encoding: "utf8" })

describe("tabmux CLI", () => {
  it("--help describes the server and its flags; --version prints the package version", () => {
    const help = run(["--help"])
    expect(help.status).toBe(0)
    for (const flag of ["--ports", "--dir", "--allow-origin", "--connect-wait", "--exclusive", "--log-level", "--log-file"]) {
      expect(help.stdout).toContain(flag)
    }
    // Piped, help is plain text: no escape codes, no built-ins (wizard, completions, a second --log-level); every variable named.
    expect(help.stdout).not.toContain("\u001b[")
    expect(help.stdout).not.toMatch(/wizard|completions/)
    expect(help.stdout.match(/^--log-level/gm)).toHaveLength(1)
    for (const variable of ["TABMUX_PORTS", "TABMUX_DIR", "TABMUX_CONNECT_WAIT", "TABMUX_LOG_LEVEL", "TABMUX_ON_DISCONNECT", "TABMUX_OUTPUT_DIR"]) {
      expect(help.stdout).toContain(variable)
    }
    const version = run(["--version"])
    expect(version.stdout.trim()).toBe(JSON.parse(Fs.readFileSync("package.json", "utf8")).version)
    // The spellings people try first.
    expect(run(["-v"]).stdout.trim()).toBe(version.stdout.trim())
    expect(run(["help"]).stdout).toBe(help.stdout)
    expect(run(["help", "status"]).stdout).toBe(run(["status", "--help"]).stdout)
    expect(run(["help", "nothing"]).status).toBe(2)
    // Each command says what its options do there: `browser --ports` sets what its extension scans, it claims nothing.
    const browserHelp = run(["browser", "--help"]).stdout
    expect(browserHelp).toContain("The range the extension in this browser scans for servers")
    expect(browserHelp).not.toContain("claims its port")
  })

  it("an unknown option or command is named on one line, with the usage, and exits 2 (no dump)", () => {
    const flag = run(["--bogus"])
    expect(flag.status).toBe(2)
    expect(flag.stderr.split("\n")[0]).toBe("tabmux: unknown option --bogus")
    expect(flag.stderr).toContain("usage: tabmux")
    for (const args of [["bogus"], ["status", "--bogus"]]) {
      const r = run(args)
      expect(r.status, args.join(" ")).toBe(2)
      expect(r.stderr + r.stdout).toContain("usage: tabmux")
      expect(r.stderr + r.stdout).not.toMatch(/_tag|CommandMismatch|timestamp=/)
    }
  })

  it("extension-path prints the built extension's folder, with its manifest in it", () => {
    const printed = run(["extension-path"])
    expect(printed.status).toBe(0)
    const folder = printed.stdout.trim()
    expect(folder).toBe(Path.resolve("dist/extension"))
    expect(JSON.parse(Fs.readFileSync(Path.join(folder, "manifest.json"), "utf8")).name).toBe("tabmux")
  })

  it("browser: one per profile (a second start names the first), closed with its command, the profile free again", async () => {
    const profile = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-profile-"))
    const env = { TABMUX_DIR: tempRuntimeDir() }
    const start = async () => {
      const child = ChildProcess.spawn(process.execPath, [BIN, "browser", "--headless", "--profile", profile, "--ports", "18500-18505"], { env: { ...process.env, ...env } })
      let out = ""
      child.stdout.on("data", (d) => (out += d))
      child.stderr.on("data", (d) => (out += d))
      await waitFor(() => out.includes("started") || child.exitCode !== null, 30_000).catch(() => undefined)
      if (!out.includes("started")) throw new Error(`tabmux browser did not start: ${out}`)
      return { child, out }
    }
    const { child: first, out } = await start()
    const pid = Number(/pid (\d+)\)/.exec(out)?.[1])
    expect(() => process.kill(pid, 0)).not.toThrow()
    const second = run(["browser", "--headless", "--profile", profile, "--ports", "18500-18505"], env)
    expect(second.status).toBe(1)
    expect(second.stderr).toContain(`a tabmux browser already runs with the profile ${profile} (tabmux pid ${first.pid})`)
    first.kill("SIGINT")
    await new Promise((r) => first.once("exit", r))
    await waitFor(() => { try { process.kill(pid, 0); return false } catch { return true } }, 10_000)
    const { child: third, out: thirdOut } = await start()
    const thirdPid = Number(/pid (\d+)\)/.exec(thirdOut)?.[1])
    third.kill("SIGINT")
    await new Promise((r) => third.once("exit", r))
    // The browser's own processes may still be writing into the profile as they end.
    await waitFor(() => { try { process.kill(thirdPid, 0); return false } catch { return true } }, 10_000)
    Fs.rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 })
  })

  it("refuses a bad port range with the setting named, and exits 2 as for any bad input", () => {
    const bad = run(["--ports", "99-1"], { TABMUX_DIR: tempRuntimeDir() })
    expect(bad.status).toBe(2)
    expect(run([], { TABMUX_DIR: tempRuntimeDir(), TABMUX_PORTS: "abc" }).status).toBe(2)
    const resume = run(["--resume", "bad-token"], { TABMUX_DIR: tempRuntimeDir() })
    expect(resume.status).toBe(2)
    expect(resume.stderr).toContain("--resume / TABMUX_RESUME")
    expect(bad.stderr).toContain("invalid --ports / TABMUX_PORTS \"99-1\"")
    expect(bad.stdout).toBe("")
  })

  it("status on a folder that cannot be the runtime directory says why, as the server would, and exits 1", () => {
    const file = Path.join(tempRuntimeDir(), "a-file")
    Fs.writeFileSync(file, "")
    const open = tempRuntimeDir()
    Fs.chmodSync(open, 0o755)
    for (const [dir, said] of [[file, "it is not a directory"], [open, "its mode is 755, open to other users"]] as const) {
      const r = run(["status"], { TABMUX_DIR: dir })
      expect(r.status, dir).toBe(1)
      expect(r.stderr).toContain(said)
      expect(r.stdout).not.toContain("No tabmux server is running")
    }
    const missing = run(["status"], { TABMUX_DIR: Path.join(open, "nothing-here") })
    expect(missing.status).toBe(0)
    expect(missing.stdout).toContain("no runtime directory at")
  })

  it("status lists live servers and sweeps the records of dead ones", async () => {
    const dir = tempRuntimeDir()
    const server = spawnTabmux(["--ports", "18500-18501"], { TABMUX_DIR: dir })
    const port = await server.listening
    const stale = { ...readRegistry(dir)[0], port: 18501, pid: 4_194_304 + 99, clientName: "ghost" }
    Fs.writeFileSync(Path.join(dir, "ports", "18501.json"), JSON.stringify(stale), { mode: 0o600 })
    const table = run(["status"], { TABMUX_DIR: dir })
    expect(table.status).toBe(0)
    expect(table.stdout).toMatch(new RegExp(`^${port}\\s+${server.child.pid}\\s+tabmux\\s+\\d+s\\s+no\\s+\\S+\\s+live$`, "m"))
    expect(table.stdout).toContain(`swept stale record: port 18501, pid ${stale.pid} "ghost" (dead)`)
    const json = JSON.parse(run(["status", "--json"], { TABMUX_DIR: dir }).stdout)
    expect(json.servers.map((s: any) => [s.port, s.verdict])).toEqual([[port, "live"]])
    expect(json.swept).toEqual([])
    server.child.stdin!.end()
    await server.exited
    expect(run(["status"], { TABMUX_DIR: dir }).stdout).toContain("No tabmux server is running")
  })

  it("status and doctor never block on a FIFO, a device link or a huge file in the runtime dir; status sweeps temp files of dead writers", () => {
    const dir = tempRuntimeDir()
    Fs.mkdirSync(Path.join(dir, "ports"), { mode: 0o700 })
    Fs.mkdirSync(Path.join(dir, "locks"), { mode: 0o700 })
    ChildProcess.execFileSync("mkfifo", [Path.join(dir, "ports", "18520.json"), Path.join(dir, "locks", "server.lock")])
    Fs.writeFileSync(Path.join(dir, "ports", "18521.json"), "x".repeat(10 * 1024 * 1024))
    const deadTemp = Path.join(dir, "ports", `.18522.json.${4_194_304 + 7}.abcd1234.tmp`)
    const liveTemp = Path.join(dir, "ports", `.18523.json.${process.pid}.abcd1234.tmp`)
    Fs.writeFileSync(deadTemp, "{")
    Fs.writeFileSync(liveTemp, "{")
    for (const args of [["status"], ["doctor"]]) {
      const started = Date.now()
      const result = ChildProcess.spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, TABMUX_DIR: dir, TABMUX_PORTS: "18500-18505" }, encoding: "utf8", timeout: 10_000 })
      const ms = Date.now() - started
      expect(result.error, `${args[0]} did not finish`).toBeUndefined()
      expect(ms, `${args[0]} took ${ms} ms`).toBeLessThan(5_000)
      expect(result.stdout + result.stderr).toMatch(/18520/)
    }
    expect(Fs.existsSync(deadTemp)).toBe(false)
    expect(Fs.existsSync(liveTemp)).toBe(true)
  })

  it("--log-file gets the same lines as stderr, in a private file; TABMUX_LOG_LEVEL sets the level", async () => {
    const dir = tempRuntimeDir()
    const file = Path.join(dir, "tabmux.log")
    const server = spawnTabmux(["--ports", "18504-18505", "--log-file", file], { TABMUX_DIR: dir, TABMUX_LOG_LEVEL: "debug" })
    await server.listening
    server.child.stdin!.end()
    await server.exited
    const log = Fs.readFileSync(file, "utf8")
    expect(log).toContain("listening on 127.0.0.1:1850")
    expect(log).toContain("stdin closed: shutting down")
    expect(log).toBe(server.stderr())
    expect(Fs.statSync(file).mode & 0o777).toBe(0o600)
    const quiet = spawnTabmux(["--ports", "18504-18505"], { TABMUX_DIR: dir, TABMUX_LOG_LEVEL: "error" })
    quiet.child.stdin!.end()
    await quiet.exited
    expect(quiet.stderr()).toBe("")
  })

  it("doctor checks the directory, registry, ports, locks, browser and extension", () => {
    const dir = tempRuntimeDir()
    const ok = run(["doctor", "--ports", "18502-18503"], { TABMUX_DIR: dir })
    for (const title of ["Node.js", "runtime directory", "port registry", "port range 18502-18503", "locks (", "browser", "extension folder"]) {
      expect(ok.stdout).toContain(title)
    }
    expect(ok.stdout).toContain("allowed origin chrome-extension://")
    expect(ok.status).toBe(0)
    // It says what it made: the secret was missing the first time, present the next.
    expect(ok.stdout).toContain("created now (it was missing)")
    expect(run(["doctor", "--ports", "18502-18503"], { TABMUX_DIR: dir }).stdout).not.toContain("created now")
    Fs.chmodSync(dir, 0o755)
    const bad = run(["doctor", "--ports", "18502-18503"], { TABMUX_DIR: dir })
    expect(bad.status).toBe(1)
    expect(bad.stdout).toContain("chmod 700")
  })
})

describe("tabmux executable: V8's code cache", () => {
  const cacheRun = (cacheHome: string) => run(["--version"], { XDG_CACHE_HOME: cacheHome, TABMUX_CODE_CACHE: "" })
  const cacheFiles = (cacheHome: string) => {
    const folder = Path.join(cacheHome, "tabmux", "code-cache")
    return Fs.existsSync(folder) ? Fs.readdirSync(folder).map((name) => Path.join(folder, name)) : []
  }

  it("is written privately on the first run, used as it is by the next, and replaced when it is damaged", () => {
    const home = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-cache-"))
    expect(cacheRun(home).status).toBe(0)
    const [file] = cacheFiles(home)
    expect(file).toMatch(/\.v8$/)
    expect(Fs.statSync(file!).mode & 0o777).toBe(0o600)
    expect(Fs.statSync(Path.dirname(file!)).mode & 0o777).toBe(0o700)
    const written = Fs.statSync(file!)
    expect(cacheRun(home).stdout.trim()).toBe(JSON.parse(Fs.readFileSync("package.json", "utf8")).version)
    const used = Fs.statSync(file!)
    expect([used.ino, used.mtimeMs]).toEqual([written.ino, written.mtimeMs])
    // V8 refuses a damaged cache: the command still runs, and a good cache replaces it.
    const damaged = Buffer.alloc(written.size, 7)
    Fs.writeFileSync(file!, damaged)
    expect(cacheRun(home).status).toBe(0)
    expect(Fs.readFileSync(file!).equals(damaged)).toBe(false)
    Fs.rmSync(home, { recursive: true, force: true })
  })

  it("is neither read nor written where another user could have written it", () => {
    const home = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-cache-"))
    expect(cacheRun(home).status).toBe(0)
    const [file] = cacheFiles(home)
    // A cache file others may write is not trusted, even a valid one: it is replaced, not used.
    Fs.chmodSync(file!, 0o666)
    const planted = Fs.statSync(file!)
    expect(cacheRun(home).status).toBe(0)
    const after = Fs.statSync(file!)
    expect(after.mode & 0o777).toBe(0o600)
    expect(after.ino).not.toBe(planted.ino)
    // A folder others may write is not used at all.
    Fs.rmSync(file!)
    Fs.chmodSync(Path.dirname(file!), 0o777)
    expect(cacheRun(home).status).toBe(0)
    expect(cacheFiles(home)).toEqual([])
    expect(run(["--version"], { XDG_CACHE_HOME: home, TABMUX_CODE_CACHE: "0" }).status).toBe(0)
    Fs.rmSync(home, { recursive: true, force: true })
  })
})
