/**
 * The native-messaging host and its installation, as Chrome and a user meet them: the
 * host's framed messages on stdio (the secret, then the registry's ports as they
 * change), `tabmux install` / `uninstall` for every browser, the launcher it writes,
 * `tabmux pair`, `doctor`, and a server that installs the host itself when missing.
 * HOME and the XDG folders point into a temp folder, so nothing of the user's is touched.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"
import { defaultOrigin } from "../../src/server/Extension.js"
import { BIN, spawnTabmux, tempRuntimeDir, waitFor } from "../support/server.js"

/** Reads Chrome's framing (32-bit native-endian length, JSON) from a stream. */
const frames = (stream: NodeJS.ReadableStream) => {
  const got: Array<any> = []
  let buffer = Buffer.alloc(0)
  stream.on("data", (d: Buffer) => {
    buffer = Buffer.concat([buffer, d])
    while (buffer.length >= 4) {
      const n = Os.endianness() === "LE" ? buffer.readUInt32LE(0) : buffer.readUInt32BE(0)
      if (buffer.length < 4 + n) break
      got.push(JSON.parse(buffer.subarray(4, 4 + n).toString("utf8")))
      buffer = buffer.subarray(4 + n)
    }
  })
  return got
}

/** A home folder where the browsers named (their config folders) have run. */
const fakeHome = (browsers: ReadonlyArray<string> = ["chromium"]) => {
  const home = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-home-"))
  for (const b of browsers) Fs.mkdirSync(Path.join(home, ".config", b), { recursive: true })
  return { HOME: home, XDG_CONFIG_HOME: Path.join(home, ".config"), XDG_DATA_HOME: Path.join(home, ".local", "share") }
}

const run = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  ChildProcess.spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, encoding: "utf8" })

describe("native-messaging host", () => {
  it("tells the secret (creating it 0600), then the registry's ports as they change; exits when stdin closes", async () => {
    const dir = tempRuntimeDir()
    const host = ChildProcess.spawn(process.execPath, [BIN, "native-host", "--dir", dir], { stdio: ["pipe", "pipe", "pipe"] })
    const got = frames(host.stdout!)
    await waitFor(() => got.length >= 2, 10_000)
    const secret = Fs.readFileSync(Path.join(dir, "secret"), "utf8").trim()
    expect(got[0]).toEqual({ type: "secret", secret })
    expect(Fs.statSync(Path.join(dir, "secret")).mode & 0o777).toBe(0o600)
    expect(got[1]).toEqual({ type: "servers", ports: [] })
    Fs.mkdirSync(Path.join(dir, "ports"), { recursive: true, mode: 0o700 })
    Fs.writeFileSync(Path.join(dir, "ports", "18999.json"), "{}")
    Fs.writeFileSync(Path.join(dir, "ports", "not-a-port.json"), "{}")
    await waitFor(() => got.find((m) => m.type === "servers" && m.ports.length === 1), 5_000)
    expect(got.at(-1)).toEqual({ type: "servers", ports: [18999] })
    const exited = new Promise<number | null>((r) => host.once("exit", r))
    host.stdin!.end()
    expect(await exited).toBe(0)
  })

  it("refuses to run on a terminal, where it would show the secret", () => {
    const dir = tempRuntimeDir()
    try {
      Fs.writeFileSync(Path.join(dir, "secret"), `${"ef".repeat(32)}\n`, { mode: 0o600 })
      // `script` gives it a real pseudo-terminal, as a user who types the command has.
      const shown = ChildProcess.spawnSync("script", ["-qec", `${process.execPath} ${BIN} native-host --dir ${dir}; echo "exit=$?"`, "/dev/null"], {
        encoding: "utf8",
        timeout: 20_000,
        input: ""
      })
      expect(shown.stdout).not.toContain("ef".repeat(32))
      expect(shown.stdout).toContain("does not run on a terminal")
      expect(shown.stdout).toMatch(/exit=2/)
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("with --ports, first tells the range that browser's extension scans", async () => {
    const dir = tempRuntimeDir()
    const host = ChildProcess.spawn(process.execPath, [BIN, "native-host", "--dir", dir, "--ports", "18930-18931"], { stdio: ["pipe", "pipe", "pipe"] })
    const got = frames(host.stdout!)
    await waitFor(() => got.length >= 3, 10_000)
    expect(got[0]).toEqual({ type: "range", first: 18930, last: 18931 })
    expect(got.map((m) => m.type)).toEqual(["range", "secret", "servers"])
    host.stdin!.end()
  })

  it("a secret another user could read is refused, with the remedy, and never sent", async () => {
    const dir = tempRuntimeDir()
    Fs.writeFileSync(Path.join(dir, "secret"), `${"ab".repeat(32)}\n`, { mode: 0o644 })
    Fs.chmodSync(Path.join(dir, "secret"), 0o644)
    const host = ChildProcess.spawn(process.execPath, [BIN, "native-host", "--dir", dir], { stdio: ["pipe", "pipe", "pipe"] })
    const got = frames(host.stdout!)
    await waitFor(() => got.length >= 1, 10_000)
    expect(got[0].type).toBe("error")
    expect(got[0].message).toContain("other users could read it")
    expect(got[0].message).toContain("rm ")
    host.stdin!.end()
  })

  it("install writes a manifest for every browser that has run as the user (no folder for the others) and a launcher that runs the host; pair prints the secret; doctor sees it; uninstall removes it and says what stays", () => {
    const env = { ...fakeHome(["google-chrome", "chromium"]), TABMUX_DIR: tempRuntimeDir() }
    const installed = run(["install"], env)
    expect(installed.status, installed.stderr).toBe(0)
    expect(installed.stdout).toContain("not for Google Chrome Beta, Microsoft Edge, Brave: not run as this user yet")
    for (const absent of ["microsoft-edge", "BraveSoftware", "google-chrome-beta"]) expect(Fs.existsSync(Path.join(env.XDG_CONFIG_HOME, absent))).toBe(false)
    const manifests = ["google-chrome", "chromium"].map((b) => Path.join(env.XDG_CONFIG_HOME, b, "NativeMessagingHosts", "io.tabmux.host.json"))
    for (const file of manifests) {
      const manifest = JSON.parse(Fs.readFileSync(file, "utf8"))
      expect(manifest).toMatchObject({ name: "io.tabmux.host", type: "stdio", allowed_origins: [`${defaultOrigin()}/`] })
      expect(manifest.path).toBe(Path.join(env.XDG_DATA_HOME, "tabmux", "native-host.sh"))
    }
    const launcher = Path.join(env.XDG_DATA_HOME, "tabmux", "native-host.sh")
    expect(Fs.statSync(launcher).mode & 0o777).toBe(0o700)
    // Chrome runs the launcher with the caller's origin as its argument.
    const host = ChildProcess.spawnSync(launcher, [`${defaultOrigin()}/`], { input: "", encoding: "buffer", timeout: 15_000 })
    const first = host.stdout.subarray(4, 4 + host.stdout.readUInt32LE(0)).toString()
    const secret = Fs.readFileSync(Path.join(env.TABMUX_DIR, "secret"), "utf8").trim()
    expect(JSON.parse(first)).toEqual({ type: "secret", secret })
    expect(run(["pair"], env).stdout).toContain(secret)
    const doctor = run(["doctor"], env)
    expect(doctor.stdout).toMatch(/ok +native-messaging host: installed for Google Chrome, Chromium/)
    expect(doctor.stdout).toMatch(/ok +user secret/)
    const removed = run(["uninstall"], env)
    expect(removed.status).toBe(0)
    expect(removed.stdout).toContain(`Kept: your secret (${Path.join(env.TABMUX_DIR, "secret")}`)
    expect(Fs.existsSync(Path.join(env.TABMUX_DIR, "secret"))).toBe(true)
    for (const file of manifests) expect(Fs.existsSync(file)).toBe(false)
    expect(Fs.existsSync(launcher)).toBe(false)
    expect(run(["doctor"], env).stdout).toMatch(/warn +native-messaging host: not installed/)
  })

  it("install where no browser has run as the user says so, writes nothing for them, and exits 1", () => {
    const env = { ...fakeHome([]), TABMUX_DIR: tempRuntimeDir() }
    const installed = run(["install"], env)
    expect(installed.status).toBe(1)
    expect(installed.stderr).toContain("no Chromium-family browser has run as this user yet")
    expect(installed.stderr).toContain("tabmux pair")
    expect(Fs.existsSync(env.XDG_CONFIG_HOME)).toBe(false)
  })

  it("install --dir with a relative path saves the absolute one in the launcher, so it works from anywhere", () => {
    const env = fakeHome()
    const cwd = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-cwd-"))
    try {
      const installed = ChildProcess.spawnSync(process.execPath, [BIN, "install", "--dir", "relrt"], { env: { ...process.env, ...env }, cwd, encoding: "utf8" })
      expect(installed.status, installed.stderr).toBe(0)
      const launcher = Fs.readFileSync(Path.join(env.XDG_DATA_HOME, "tabmux", "native-host.sh"), "utf8")
      expect(launcher).toContain(Path.join(cwd, "relrt"))
      expect(launcher).not.toMatch(/["' ]relrt\b/)
    } finally {
      Fs.rmSync(cwd, { recursive: true, force: true })
      Fs.rmSync(env.HOME, { recursive: true, force: true })
    }
  })

  it("a server on the default directory installs the host when it is missing, and says so on stderr", async () => {
    const home = fakeHome()
    const runtime = tempRuntimeDir()
    const server = spawnTabmux(["--ports", "18980-18981"], { ...home, XDG_RUNTIME_DIR: runtime })
    await server.listening
    expect(server.stderr()).toContain("installed the tabmux native-messaging host")
    expect(Fs.existsSync(Path.join(home.XDG_CONFIG_HOME, "chromium", "NativeMessagingHosts", "io.tabmux.host.json"))).toBe(true)
    expect(Fs.readFileSync(Path.join(home.XDG_DATA_HOME, "tabmux", "native-host.sh"), "utf8")).toContain(Path.join(runtime, "tabmux"))
    server.child.stdin!.end()
    expect((await server.exited).code).toBe(0)
  })

  it("a server on a directory of its own (TABMUX_DIR or --dir) leaves the user's native host alone", async () => {
    const home = fakeHome()
    for (const [args, env] of [[[], { TABMUX_DIR: tempRuntimeDir() }], [["--dir", tempRuntimeDir()], {}]] as const) {
      const server = spawnTabmux(["--ports", "18980-18981", ...args], { ...home, ...env })
      await server.listening
      expect(server.stderr()).not.toContain("installed the tabmux native-messaging host")
      server.child.stdin!.end()
      await server.exited
    }
    expect(Fs.existsSync(Path.join(home.XDG_CONFIG_HOME, "chromium", "NativeMessagingHosts", "io.tabmux.host.json"))).toBe(false)
  })
})
