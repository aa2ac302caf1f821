/**
 * The trust boundaries (DESIGN.md §6, docs/SECURITY.md), attacked for real: headless
 * Chromium with the extension paired through its native-messaging host, real servers,
 * and, when running as root, a real second Unix user playing the attacker (a genuine
 * tabmux server of its own, a fake server, an Origin-spoofing client). Then agents that
 * try to leave web content or the client's roots, and a page too large to snapshot.
 * Uses its own port range, so it may run beside the other browser test.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { defaultOrigin } from "../../src/server/Extension.js"
import { type Browser, launch } from "../support/chromium.js"
import { type Fixtures, serveFixtures } from "../support/fixtures.js"
import { type Agent, call, failure, startAgent } from "../support/agent.js"
import { BIN, portIsFree, readRegistry, spawnTabmux, waitFor } from "../support/server.js"
import { asOther, ATTACKER, OTHER, otherDir, otherUser, readLines } from "../support/otherUser.js"

const PORTS = "18840-18847"

let browser: Browser
let fixtures: Fixtures
let workspace: string
const agents: Array<Agent> = []
const cleanups: Array<() => void> = []

const start = async (name: string, env: Record<string, string> = {}) => {
  const agent = await startAgent(name, { dir: browser.dir, ports: PORTS, roots: [workspace], env })
  agents.push(agent)
  return agent
}

const chromeTabs = () =>
  browser.evaluateInWorker<Array<{ id: number; url: string; group: number }>>(
    "chrome.tabs.query({}).then((t) => t.map((x) => ({ id: x.id, url: x.pendingUrl || x.url, group: x.groupId })))"
  )

beforeAll(async () => {
  fixtures = await serveFixtures()
  browser = await launch({ ports: PORTS })
  workspace = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-roots-"))
}, 60_000)

afterAll(async () => {
  await Promise.all(agents.map((a) => a.client.close().catch(() => {})))
  for (const f of cleanups) f()
  await browser?.close()
  fixtures?.close()
  Fs.rmSync(workspace, { recursive: true, force: true })
})

describe.sequential("same-user proof", () => {
  it("the extension pairs with no clicks through the native host installed in its profile", { timeout: 60_000 }, async () => {
    expect(Fs.existsSync(Path.join(browser.profile, "NativeMessagingHosts", "io.tabmux.host.json"))).toBe(true)
    const started = Date.now()
    const agent = await start("agent-a")
    console.log(`paired and connected ${Date.now() - started} ms after the client was spawned`)
    expect((await call(agent, "browser_tabs", { action: "list" })).structuredContent.tabs).toEqual([])
  })

  it("without a native host the extension connects to nothing until paired with `tabmux pair`'s token", { timeout: 60_000 }, async () => {
    const unpaired = await launch({ ports: "18870-18871", nativeHost: false })
    try {
      const server = spawnTabmux(["--ports", "18870-18871", "--log-level", "debug"], { TABMUX_DIR: unpaired.dir })
      cleanups.push(() => server.child.kill("SIGKILL"))
      await server.listening
      await new Promise((r) => setTimeout(r, 3_000))
      expect(readRegistry(unpaired.dir)[0].extension).toBeUndefined()
      // Not even tried: no unauthenticated attempt reached the server.
      expect(server.stderr()).not.toMatch(/refused an extension connection|extension connected/)
      const token = ChildProcess.execFileSync(process.execPath, [BIN, "pair"], { env: { ...process.env, TABMUX_DIR: unpaired.dir }, encoding: "utf8" })
        .match(/\b[0-9a-f]{64}\b/)![0]
      const paired = Date.now()
      await unpaired.evaluateInWorker(`chrome.storage.local.set({ pairing: ${JSON.stringify(token)} }).then(() => true)`)
      await waitFor(() => readRegistry(unpaired.dir)[0]?.extension, 15_000)
      console.log(`paired by token: connected ${Date.now() - paired} ms after the token was saved`)
      server.child.stdin!.end()
      await server.exited
    } finally {
      await unpaired.close()
    }
  })

  it.skipIf(otherUser === undefined)("another user's secret cannot be read", () => {
    const out = ChildProcess.execFileSync("runuser", ["-u", OTHER, "--", process.execPath, ATTACKER, "read", Path.join(browser.dir, "secret")], {
      encoding: "utf8"
    })
    expect(out.trim()).toBe("refused: EACCES")
    expect(Fs.statSync(Path.join(browser.dir, "secret")).mode & 0o777).toBe(0o600)
  })

  it.skipIf(otherUser === undefined)("another user's real tabmux server in the range is never connected to, and gets nothing", { timeout: 60_000 }, async () => {
    const dir = otherDir("tabmux-other-run-")
    cleanups.push(() => Fs.rmSync(dir, { recursive: true, force: true }))
    const child = asOther([BIN, "--log-level", "info"], { TABMUX_DIR: dir, TABMUX_PORTS: PORTS, TABMUX_CONNECT_WAIT: "1" })
    let stderr = ""
    child.stderr!.on("data", (d) => (stderr += d))
    cleanups.push(() => child.kill("SIGKILL"))
    const port = Number((await waitFor(() => /listening on 127\.0\.0\.1:(\d+)/.exec(stderr), 20_000))![1])
    // The extension tries it (the range is scanned): that server cuts our browser off as another
    // user's process before saying anything (and were it not on Linux, the proof would fail).
    await waitFor(() => /refused a connection from another user's process|refused an extension connection \(auth\)/.test(stderr), 20_000)
    await new Promise((r) => setTimeout(r, 3_000))
    expect(stderr).not.toContain("extension connected")
    const record = JSON.parse(Fs.readFileSync(Path.join(dir, "ports", `${port}.json`), "utf8"))
    expect(record.extension).toBeUndefined()
    console.log(`another user's server on port ${port}: ${stderr.split("\n").filter((l) => l.includes("refused")).length} refusal line(s) logged`)
  })

  it.skipIf(otherUser === undefined)("a fake server of another user gets a hello and nothing else; its calls are never run", { timeout: 60_000 }, async () => {
    const dir = otherDir("tabmux-attacker-")
    cleanups.push(() => Fs.rmSync(dir, { recursive: true, force: true }))
    const out = Path.join(dir, "frames.jsonl")
    const port = 18846
    const fake = asOther([ATTACKER, "fake-server", String(port), out])
    cleanups.push(() => fake.kill("SIGKILL"))
    await waitFor(() => readLines(out).length >= 1, 20_000)
    await new Promise((r) => setTimeout(r, 3_000))
    const frames = readLines(out)
    expect(frames.length).toBeGreaterThan(0)
    // Only hellos (a nonce and versions: nothing of value), never an `auth` proof nor a result.
    expect(frames.every((f) => f.type === "hello")).toBe(true)
    expect(frames.every((f) => /^[0-9a-f]{64}$/.test(f.nonce))).toBe(true)
    expect((await chromeTabs()).some((t) => t.url.includes("/evil"))).toBe(false)
    console.log(`fake server: received ${frames.length} hello(s), no proof, no result; its tabs.new was never run`)
  })

  it.skipIf(otherUser === undefined)("a client of another user spoofing the Origin gets nothing at all, and cannot race the real extension", { timeout: 60_000 }, async () => {
    const dir = otherDir("tabmux-spoof-")
    cleanups.push(() => Fs.rmSync(dir, { recursive: true, force: true }))
    const out = Path.join(dir, "frames.jsonl")
    // The attacker dials the first port of the range in a loop before and while our server starts there.
    let target = 18840
    while (!(await portIsFree(target))) target++
    const spoof = asOther([ATTACKER, "spoof-client", String(target), defaultOrigin(), out, "12"])
    cleanups.push(() => spoof.kill("SIGKILL"))
    const server = spawnTabmux(["--ports", `${target}-${target}`], { TABMUX_DIR: browser.dir })
    cleanups.push(() => server.child.kill("SIGKILL"))
    expect(await server.listening).toBe(target)
    await waitFor(() => readRegistry(browser.dir).find((r) => r.port === target && r.extension), 20_000)
    await new Promise((r) => spoof.once("exit", r))
    const frames = readLines(out)
    const types = new Set(frames.map((f) => f.type ?? `http ${f.http}`))
    console.log(`spoofing client: ${frames.length} frames received: ${[...types].join(", ")}`)
    // Cut off at accept as another user's process: not even a challenge.
    expect(frames.some((f) => f.type !== undefined)).toBe(false)
    expect(server.stderr()).toMatch(/refused a connection from another user's process/)
    server.child.kill("SIGTERM")
    await server.exited
  })
})

describe.sequential("the relay across time (SECURITY.md)", () => {
  /**
   * The attacker listens on the first free port of the range, holds the extension's
   * connection and its hello, stops listening, and when the user's server binds that port
   * dials it and relays both ways. Returns what the relay recorded and the agent on that
   * server (started once the extension's hello is held).
   */
  const relayAttack = async (relay: (args: ReadonlyArray<string>, env: Record<string, string>) => ChildProcess.ChildProcess, out: string) => {
    let target = 18841
    while (!(await portIsFree(target))) target++
    const attacker = relay([ATTACKER, "relay", String(target), out], { ORIGIN: defaultOrigin() })
    cleanups.push(() => attacker.kill("SIGKILL"))
    await waitFor(() => readLines(out).some((m) => m.from === "extension" && m.text?.includes("\"hello\"")), 20_000)
    const server = spawnTabmux(["--ports", `${target}-${target}`, "--log-level", "info"], { TABMUX_DIR: browser.dir })
    cleanups.push(() => server.child.kill("SIGKILL"))
    expect(await server.listening).toBe(target)
    return { attacker, server, target }
  }

  it.skipIf(otherUser === undefined)("another user's relay is cut off at the user's server: it never reaches a proof", { timeout: 90_000 }, async () => {
    const dir = otherDir("tabmux-relay-")
    cleanups.push(() => Fs.rmSync(dir, { recursive: true, force: true }))
    const out = Path.join(dir, "relay.jsonl")
    const { server, target } = await relayAttack((args, env) => asOther(args, env), out)
    // The extension finds the relay on its next sweep of the range (slower while the whole suite loads the machine).
    await waitFor(() => /refused a connection from another user's process/.test(server.stderr()), 40_000)
    // The extension then finds the real server itself.
    await waitFor(() => readRegistry(browser.dir).find((r) => r.port === target && r.extension), 30_000)
    const seen = readLines(out)
    console.log(`relay of another user: ${seen.filter((m) => m.from === "server").length} frame(s) from the server; ${JSON.stringify(seen.filter((m) => !m.from))}`)
    expect(seen.some((m) => m.from === "server")).toBe(false)
    server.child.kill("SIGTERM")
    await server.exited
  })

  it("a relay the kernel cannot tell apart (a process of the user's own) carries only ciphertext after the proofs", { timeout: 90_000 }, async () => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-relay-own-"))
    cleanups.push(() => Fs.rmSync(dir, { recursive: true, force: true }))
    const out = Path.join(dir, "relay.jsonl")
    const { server, target } = await relayAttack((args, env) => ChildProcess.spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: "ignore" }), out)
    await waitFor(() => readRegistry(browser.dir).find((r) => r.port === target && r.extension), 30_000)
    server.child.kill("SIGTERM")
    await server.exited
    const seen = readLines(out)
    const relayed = seen.filter((m) => m.from)
    const after = relayed.slice(relayed.findIndex((m) => m.text?.includes("\"auth\"")) + 1)
    console.log(`own-user relay: ${relayed.length} messages relayed, ${after.length} after the proofs, all binary: ${after.every((m) => m.bytes)}`)
    expect(seen.some((m) => m.relaying)).toBe(true)
    expect(after.length).toBeGreaterThan(0)
    expect(after.every((m) => m.bytes !== undefined)).toBe(true)
    const plain = after.map((m) => Buffer.from(m.bytes, "base64").toString("latin1")).join("")
    for (const word of ["welcome", "token", "instanceId", "\"call\"", "\"result\""]) expect(plain).not.toContain(word)
  })
})

describe("the managed browser", () => {
  it("listens on no TCP port: DevTools goes over its pipe only, so no other user can reach it", () => {
    const listening = new Set<string>()
    for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
      for (const line of Fs.readFileSync(file, "utf8").split("\n").slice(1)) {
        const f = line.trim().split(/\s+/)
        if (f[3] === "0A") listening.add(f[9]!)
      }
    }
    const pids = Fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((pid) => {
      try {
        return Fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`--user-data-dir=${browser.profile}`)
      } catch {
        return false
      }
    })
    expect(pids.length).toBeGreaterThan(0)
    const sockets = pids.flatMap((pid) => {
      try {
        return Fs.readdirSync(`/proc/${pid}/fd`).map((fd) => {
          try {
            return /^socket:\[(\d+)\]$/.exec(Fs.readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1]
          } catch {
            return undefined
          }
        })
      } catch {
        return []
      }
    })
    expect(sockets.filter((inode) => inode !== undefined && listening.has(inode))).toEqual([])
    expect(Fs.existsSync(Path.join(browser.profile, "DevToolsActivePort"))).toBe(false)
  })
})

describe.sequential("squatting", () => {
  it.skipIf(otherUser === undefined)("another user holding every port of a range is named with its uid", { timeout: 30_000 }, async () => {
    const dir = otherDir("tabmux-squat-")
    cleanups.push(() => Fs.rmSync(dir, { recursive: true, force: true }))
    const squatters = [18860, 18861].map((port) => {
      const s = asOther([ATTACKER, "fake-server", String(port), Path.join(dir, `${port}.jsonl`)])
      cleanups.push(() => s.kill("SIGKILL"))
      return s
    })
    await waitFor(async () => !(await portIsFree(18860)) && !(await portIsFree(18861)), 10_000)
    const server = spawnTabmux(["--ports", "18860-18861"], { TABMUX_DIR: browser.dir })
    expect((await server.exited).code).toBe(1)
    expect(server.stderr()).toMatch(/18860: held by ANOTHER USER, uid \d+ \(tabmux-other\)/)
    expect(server.stderr()).toMatch(/18861: held by ANOTHER USER/)
    for (const s of squatters) s.kill("SIGKILL")
  })

  it.skipIf(otherUser === undefined)("another user cannot squat a lock: the name it can compute is not the name we use", { timeout: 30_000 }, async () => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-lockdir-"))
    Fs.chmodSync(dir, 0o700)
    cleanups.push(() => Fs.rmSync(dir, { recursive: true, force: true }))
    // Everything public about the lock: the directory, the lock's name, our uid. The old
    // naming (a plain hash of those) is what the attacker binds, with a forged owner.
    const squatter = asOther(["-e", `
      const net = require("node:net"), crypto = require("node:crypto")
      const name = "\\0tabmux/0/" + crypto.createHash("sha256").update(${JSON.stringify(`${Path.join(dir, "locks")}\0server`)}).digest("hex").slice(0, 32)
      net.createServer((s) => s.end(JSON.stringify({ pid: 1, token: "forged" }) + "\\n")).listen(name, () => console.log("squatting"))
    `])
    cleanups.push(() => squatter.kill("SIGKILL"))
    let said = ""
    squatter.stdout!.on("data", (d) => (said += d))
    await waitFor(() => said.includes("squatting"), 10_000)
    const server = spawnTabmux(["--exclusive", "--ports", "18862-18863"], { TABMUX_DIR: dir })
    expect(await server.listening).toBe(18862)
    server.child.stdin!.end()
    expect((await server.exited).code).toBe(0)
  })
})

describe.sequential("a lock name seen and squatted", () => {
  it.skipIf(otherUser === undefined)("another user who binds a released lock's name (read from /proc/net/unix) neither stops the next --exclusive server nor gets anyone killed", { timeout: 60_000 }, async () => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-lockdir-"))
    Fs.chmodSync(dir, 0o700)
    cleanups.push(() => Fs.rmSync(dir, { recursive: true, force: true }))
    const names = () => new Set(Fs.readFileSync("/proc/net/unix", "utf8").split("\n").map((l) => l.trim().split(/\s+/)[7]).filter((n) => n?.startsWith("@tabmux/")))
    const before = names()
    const first = spawnTabmux(["--exclusive", "--ports", "18864-18865"], { TABMUX_DIR: dir })
    cleanups.push(() => first.child.kill("SIGKILL"))
    await first.listening
    const held = [...names()].filter((n) => !before.has(n))
    expect(held.length).toBe(1)
    first.child.stdin!.end()
    await first.exited
    // The other user binds the name the moment it is free, answering as a "holder" with an innocent pid.
    const squatter = asOther(["-e", `
      require("node:net").createServer((s) => s.end(JSON.stringify({ pid: 1, processStartTime: null, hostname: "x", acquiredAt: 0, heartbeatAt: 0, token: "forged", strategy: "kernel", name: "server" }) + "\\n"))
        .listen(${JSON.stringify(`\0${held[0]!.slice(1).replace(/@+$/, "")}`)}, () => console.log("squatting"))
    `])
    cleanups.push(() => squatter.kill("SIGKILL"))
    let said = ""
    squatter.stdout!.on("data", (d) => (said += d))
    squatter.stderr!.on("data", (d) => (said += d))
    await waitFor(() => said.includes("squatting"), 10_000)
    const second = spawnTabmux(["--exclusive", "--ports", "18864-18865"], { TABMUX_DIR: dir })
    cleanups.push(() => second.child.kill("SIGKILL"))
    expect(await second.listening).toBe(18864)
    const third = spawnTabmux(["--exclusive", "--ports", "18864-18865"], { TABMUX_DIR: dir })
    cleanups.push(() => third.child.kill("SIGKILL"))
    expect((await third.exited).code).not.toBe(0)
    expect(third.stderr()).toContain(`kill ${second.child.pid}`)
    expect(third.stderr()).not.toContain("kill 1)")
    second.child.stdin!.end()
    await second.exited
  })
})

describe.sequential("agents stay in web content", () => {
  let agent: Agent
  const base = () => fixtures.base

  it("no agent opens or navigates to the extension's pages, chrome:, devtools:, view-source:, file: or about: pages", { timeout: 60_000 }, async () => {
    agent = agents[0] ?? await start("agent-a")
    const extensionPage = `${defaultOrigin()}/status.html`
    for (const url of [extensionPage, "chrome://version/", "chrome-extension://abcdefghijklmnopabcdefghijklmnop/x.html", "devtools://devtools/bundled/inspector.html", "view-source:https://example.com/", "file:///etc/passwd", "about:version"]) {
      expect(await failure(agent, "browser_tabs", { action: "new", url })).toMatch(/not web content|not allowed/)
    }
    await call(agent, "browser_tabs", { action: "new", url: `${base()}/start` })
    for (const url of [extensionPage, "chrome://settings/", "file:///etc/passwd", "javascript:alert(1)"]) {
      expect(await failure(agent, "browser_navigate", { url })).toMatch(/not web content|not allowed/)
    }
    expect((await chromeTabs()).some((t) => t.url.startsWith("chrome-extension://") || t.url.startsWith("chrome://settings") || t.url.startsWith("file:"))).toBe(false)
  })

  it("a tab that comes to show the extension's page is refused at the next call; one dragged into the group is not adopted", { timeout: 60_000 }, async () => {
    const tabs = (await call(agent, "browser_tabs", { action: "list" })).structuredContent.tabs
    const mine = tabs[tabs.length - 1].tab
    // The user (or anything outside the agent) points the agent's tab at the extension's own page.
    const extensionPage = `${defaultOrigin()}/status.html`
    await browser.evaluateInWorker(`(async () => {
      const [t] = await chrome.tabs.query({ url: ${JSON.stringify(`${base()}/start`)} })
      await chrome.tabs.update(t.id, { url: ${JSON.stringify(extensionPage)} })
      return true
    })()`)
    await waitFor(async () => (await chromeTabs()).some((t) => t.url === extensionPage))
    for (const [tool, args] of [["browser_evaluate", { function: "() => typeof chrome.debugger" }], ["browser_snapshot", {}], ["browser_take_screenshot", {}], ["browser_navigate_back", {}]] as const) {
      expect(await failure(agent, tool, { ...args, tab: mine })).toContain("not web content")
    }
    // A chrome: page dragged into the agent's group stays the user's.
    const group = (await chromeTabs()).find((t) => t.url === extensionPage)!.group
    await browser.evaluateInWorker(`(async () => {
      const t = await chrome.tabs.create({ url: "chrome://version/", active: false })
      await chrome.tabs.group({ tabIds: [t.id], groupId: ${group} })
      return true
    })()`)
    const listed = (await call(agent, "browser_tabs", { action: "list" })).structuredContent.tabs
    expect(listed.some((t: any) => t.url.startsWith("chrome://"))).toBe(false)
    await call(agent, "browser_tabs", { action: "close", tab: mine })
  })

  it("a page that sends itself to about:blank#x is still the agent's web content: snapshot, evaluate and navigate work", { timeout: 60_000 }, async () => {
    await call(agent, "browser_navigate", { url: `${base()}/start` })
    await call(agent, "browser_evaluate", { function: "() => { location.href = 'about:blank#x'; return true }" })
    await waitFor(async () => (await call(agent, "browser_tabs", { action: "list" })).structuredContent.tabs.some((t: any) => t.url === "about:blank#x"), 10_000)
    expect((await call(agent, "browser_evaluate", { function: "() => location.href" })).content[0].text).toContain("about:blank#x")
    await call(agent, "browser_snapshot")
    await call(agent, "browser_navigate", { url: `${base()}/start` })
  })

  it("data: URLs open (written into a blank tab: Chrome will not load them for an extension); a type that is no page is refused saying so", { timeout: 60_000 }, async () => {
    await call(agent, "browser_tabs", { action: "new" })
    const opened = await call(agent, "browser_navigate", { url: "data:text/html,<title>Inline</title><h1>Inline</h1><button onclick=\"this.textContent='Pressed'\">Press</button>" })
    expect(opened.structuredContent).toMatchObject({ url: "about:blank", title: "Inline" })
    const ref = /button "Press" \[ref=(\w+)\]/.exec(opened.structuredContent.snapshot)![1]
    expect((await call(agent, "browser_click", { ref })).structuredContent.snapshot).toContain(`button "Pressed"`)
    // Base64, and text that is not HTML (shown as text, never run).
    const b64 = await call(agent, "browser_navigate", { url: `data:text/html;base64,${Buffer.from("<h1>Encoded</h1>").toString("base64")}` })
    expect(b64.structuredContent.snapshot).toContain(`heading "Encoded"`)
    const plain = await call(agent, "browser_navigate", { url: "data:text/plain,<script>document.title='ran'</script>" })
    expect(plain.structuredContent.title).not.toBe("ran")
    expect(plain.structuredContent.snapshot).toContain("<script>")
    // A new tab takes one too.
    await call(agent, "browser_tabs", { action: "new", url: "data:text/html,<h1>In a new tab</h1>" })
    expect((await call(agent, "browser_snapshot")).structuredContent.snapshot).toContain(`heading "In a new tab"`)
    expect(await failure(agent, "browser_navigate", { url: "data:image/png;base64,iVBORw0KGgo=" })).toContain("not a page tabmux can show")
  })
})

describe.sequential("files stay in the client's roots", () => {
  let agent: Agent

  it("screenshots and PDFs are written inside the roots or the private output directory, 0600, never elsewhere", { timeout: 60_000 }, async () => {
    agent = agents[0]!
    await call(agent, "browser_navigate", { url: `${fixtures.base}/files` })
    const inRoot = Path.join(workspace, "shot.png")
    expect((await call(agent, "browser_take_screenshot", { path: inRoot })).structuredContent.path).toBe(Fs.realpathSync(inRoot))
    expect(Fs.statSync(inRoot).mode & 0o777).toBe(0o600)
    // A relative name is in the client's first root, as in Playwright MCP.
    const saved = (await call(agent, "browser_snapshot", { filename: "page.yml" })).structuredContent.path
    expect(saved).toBe(Path.join(Fs.realpathSync(workspace), "page.yml"))
    expect(Fs.readFileSync(saved, "utf8")).toContain("[ref=")
    const webp = await call(agent, "browser_take_screenshot", { type: "webp" })
    expect(webp.content[1].mimeType).toBe("image/webp")
    expect(Buffer.from(webp.content[1].data, "base64").subarray(8, 12).toString()).toBe("WEBP")
    const pdf = (await call(agent, "browser_pdf_save")).structuredContent.path
    expect(pdf.startsWith(Fs.realpathSync(Path.join(browser.dir, "output")))).toBe(true)
    expect(Fs.statSync(pdf).mode & 0o777).toBe(0o600)
    // Outside: ../, an absolute path, a symlink out of the root, a symlinked file.
    const outside = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-outside-"))
    cleanups.push(() => Fs.rmSync(outside, { recursive: true, force: true }))
    Fs.symlinkSync(outside, Path.join(workspace, "escape"))
    Fs.symlinkSync(Path.join(outside, "target.png"), Path.join(workspace, "link.png"))
    for (const path of [Path.join(workspace, "..", "up.png"), Path.join(outside, "x.png"), Path.join(workspace, "escape", "x.png"), "../../x.pdf"]) {
      expect(await failure(agent, "browser_take_screenshot", { path })).toContain("outside the directories this agent may use")
    }
    // A symlink named as the target is replaced, never written through.
    await call(agent, "browser_take_screenshot", { path: Path.join(workspace, "link.png") })
    expect(Fs.existsSync(Path.join(outside, "target.png"))).toBe(false)
    expect(Fs.lstatSync(Path.join(workspace, "link.png")).isSymbolicLink()).toBe(false)
    expect(Fs.readdirSync(outside)).toEqual([])
  })

  it("uploads read only from the roots; a symlink out of them is refused", { timeout: 60_000 }, async () => {
    for (const path of ["/etc/passwd", Path.join(workspace, "escape", "anything")]) {
      expect(await failure(agent, "browser_file_upload", { paths: [path] })).toMatch(/outside the directories|does not exist/)
    }
    Fs.symlinkSync("/etc/hostname", Path.join(workspace, "hostname"))
    expect(await failure(agent, "browser_file_upload", { paths: [Path.join(workspace, "hostname")] })).toContain("really /etc/hostname")
  })

  it("tools that write files do not claim to be read-only", async () => {
    const { tools } = await agent.client.listTools()
    for (const name of ["browser_take_screenshot", "browser_pdf_save", "browser_file_upload", "browser_snapshot"]) {
      expect(tools.find((t) => t.name === name)!.annotations!.readOnlyHint, name).toBe(false)
    }
  })
})

describe.sequential("one page cannot hurt other agents", () => {
  it("a page of 200,000 elements is refused a snapshot quickly; another agent's calls go on meanwhile", { timeout: 120_000 }, async () => {
    const heavy = agents[0]!
    const other = await start("agent-b")
    await call(other, "browser_tabs", { action: "new", url: `${fixtures.base}/form` })
    await call(heavy, "browser_tabs", { action: "new" })
    // Loaded first (the page's own build takes its renderer seconds): what is timed is the snapshot alone.
    await call(heavy, "browser_navigate", { url: `${fixtures.base}/huge` })
    const started = Date.now()
    const snapshot = failure(heavy, "browser_snapshot").then((message) => ({ message, ms: Date.now() - started }))
    const others: Array<number> = []
    while (others.length < 10) {
      const t = Date.now()
      await call(other, "browser_snapshot")
      others.push(Date.now() - t)
    }
    const refused = await snapshot
    console.log(`huge page: refused in ${refused.ms} ms; the other agent's 10 snapshots meanwhile took ${others.join(", ")} ms`)
    expect(refused.message).toContain("page too large")
    expect(refused.ms).toBeLessThan(10_000)
    expect(Math.max(...others)).toBeLessThan(5_000)
    // Both servers are still connected.
    expect(readRegistry(browser.dir).filter((r) => r.extension).length).toBeGreaterThanOrEqual(2)
  })

  it("one budget for everything a snapshot reads: a huge open shadow root, or three frames that are huge together, are refused fast; the tab stays usable", { timeout: 120_000 }, async () => {
    const agent = agents[0]!
    for (const page of ["huge-shadow", "huge-frames"]) {
      await call(agent, "browser_navigate", { url: `${fixtures.base}/${page}` })
      if (page === "huge-frames") await new Promise((r) => setTimeout(r, 2_000))
      const started = Date.now()
      const refused = await failure(agent, "browser_snapshot")
      console.log(`${page}: refused in ${Date.now() - started} ms: ${refused.slice(0, 120)}`)
      expect(refused).toContain("page too large")
      expect(Date.now() - started).toBeLessThan(10_000)
      // The tab's next call works.
      expect((await call(agent, "browser_evaluate", { function: "() => document.title" })).content[0].text).toContain("Huge")
    }
  })

  it("nothing a page makes large crosses whole: a 300 MB title, a 25 MB snapshot, a 100 MB value; the connection and the tabs stay", { timeout: 120_000 }, async () => {
    const agent = agents[0]!
    const before = (await call(agent, "browser_tabs", { action: "list" })).structuredContent.tabs.length
    const navigated = await call(agent, "browser_navigate", { url: `${fixtures.base}/huge-title` })
    expect(navigated.content[0].text).toContain("Short title")
    await call(agent, "browser_navigate", { url: `${fixtures.base}/long-names` })
    const snapshot = (await call(agent, "browser_snapshot")).content[0].text as string
    console.log(`long names: snapshot of ${(snapshot.length / 1024 / 1024).toFixed(1)} MB, cut: ${snapshot.includes("snapshot cut at")}`)
    expect(snapshot).toContain("snapshot cut at")
    expect(snapshot.length).toBeLessThan(8 * 1024 * 1024)
    const value = (await call(agent, "browser_evaluate", { function: "() => 'y'.repeat(100 * 1024 * 1024)" })).content[0].text as string
    expect(value.length).toBeLessThan(1024 * 1024)
    expect(value).toContain("(cut at 64 KB)")
    expect((await call(agent, "browser_tabs", { action: "list" })).structuredContent.tabs.length).toBe(before)
    expect(readRegistry(browser.dir).find((r) => r.port === agent.port)?.extension).toBeDefined()
  })
})
