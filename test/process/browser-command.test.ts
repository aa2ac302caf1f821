/**
 * `tabmux browser` as a user runs it: Chromium started with the extension loaded through
 * CDP's pipe (the route Google Chrome 137+ still allows), paired with the servers of its
 * runtime directory and scanning the range it was given; killed, even with SIGKILL, it
 * takes the browser with it; with no display it says what to do.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"
import { BIN, readRegistry, spawnTabmux, tempRuntimeDir, waitFor } from "../support/server.js"

const PORTS = "18930-18931"

const alive = (profile: string) => ChildProcess.spawnSync("pgrep", ["-f", `user-data-dir=${profile}`]).status === 0

describe("tabmux browser", () => {
  it("loads the extension over the CDP pipe, pairs with a server of its range, and goes with its process, even on SIGKILL", { timeout: 60_000 }, async () => {
    const dir = tempRuntimeDir()
    const profile = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-browser-profile-"))
    const browser = ChildProcess.spawn(process.execPath, [BIN, "browser", "--headless", "--profile", profile, "--ports", PORTS], {
      env: { ...process.env, TABMUX_DIR: dir },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let said = ""
    browser.stdout!.on("data", (d) => (said += d))
    const server = spawnTabmux(["--ports", PORTS], { TABMUX_DIR: dir })
    try {
      await waitFor(() => said.includes("started"), 30_000)
      expect(said).toMatch(/with the tabmux extension \([a-p]{32}\)/)
      const record = await waitFor(() => readRegistry(dir).find((r) => r.extension), 20_000)
      expect(record.port).toBeGreaterThanOrEqual(18930)
      // The host this browser runs tells its extension the range it was given.
      const launcher = Fs.readFileSync(Path.join(profile, "NativeMessagingHosts", "native-host.sh"), "utf8")
      expect(launcher).toContain(`'--ports' '${PORTS}'`)
      expect(alive(profile)).toBe(true)
      browser.kill("SIGKILL")
      await waitFor(() => !alive(profile), 10_000)
    } finally {
      server.child.kill()
      if (browser.exitCode === null) browser.kill("SIGKILL")
    }
  })

  it("a browser that cannot start: its own words, a non-zero exit, no crash, nothing left behind (tabmux browser and the demo)", { timeout: 60_000 }, () => {
    const tmp = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-nostart-"))
    try {
      // As Chromium does where it cannot sandbox itself.
      const broken = Path.join(tmp, "chromium")
      Fs.writeFileSync(broken, "#!/bin/sh\necho '[1:1:FATAL:zygote_host_impl_linux.cc(128)] No usable sandbox! Update your kernel' >&2\nexit 1\n", { mode: 0o755 })
      const ownTmp = Fs.mkdtempSync(Path.join(tmp, "t-"))
      const env = { ...process.env, TABMUX_DIR: tempRuntimeDir(), CHROME_PATH: broken, TMPDIR: ownTmp }
      for (const args of [["browser", "--headless", "--profile", Path.join(tmp, "profile"), "--ports", PORTS], ["demo", "--ports", PORTS]]) {
        const r = ChildProcess.spawnSync(process.execPath, [BIN, ...args], { env, encoding: "utf8", timeout: 45_000 })
        expect(r.status, `${args[0]}: ${r.stderr}`).toBe(1)
        expect(r.stderr).toContain("exited (code 1)")
        expect(r.stderr).toContain("No usable sandbox!")
        expect(r.stderr).not.toMatch(/Unhandled|EPIPE|ECONNRESET|\n\s+at /)
        // The demo's profile, runtime folder (with its secret) and screenshots folder are gone.
        expect(Fs.readdirSync(ownTmp)).toEqual([])
      }
      // A CHROME_PATH that names nothing is said, not passed over for another browser.
      const missing = ChildProcess.spawnSync(process.execPath, [BIN, "browser", "--headless", "--profile", Path.join(tmp, "profile"), "--ports", PORTS], {
        env: { ...env, CHROME_PATH: "/nonexistent" },
        encoding: "utf8"
      })
      expect(missing.status).toBe(1)
      expect(missing.stderr).toContain("CHROME_PATH is /nonexistent, which is not an executable file")
    } finally {
      Fs.rmSync(tmp, { recursive: true, force: true })
    }
  })

  it("with no display, says so and what to do, and exits non-zero", () => {
    const r = ChildProcess.spawnSync(process.execPath, [BIN, "browser", "--profile", Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-browser-profile-"))], {
      env: { ...process.env, TABMUX_DIR: tempRuntimeDir(), DISPLAY: "", WAYLAND_DISPLAY: "" },
      encoding: "utf8"
    })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain("no display here")
    expect(r.stderr).toContain("--headless")
  })
})
