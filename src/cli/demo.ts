/**
 * `tabmux demo`: two agents sharing one browser, start to finish, with nothing but this
 * package and a Chromium. It starts Chromium (headless unless `--headed`) with the
 * extension in a throwaway profile, serves a few local pages, starts two tabmux servers
 * through two MCP clients (exactly as AI clients start them), and has two scripted agents
 * work at the same time: one signs up through a form, one reads and summarises a list;
 * then both take turns on one tab the user shared. It narrates what happens, with
 * timings, saves screenshots, and cleans up. Its servers use their own port range, so a
 * tabmux extension in your own browser never sees them.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { ListRootsRequestSchema } from "@modelcontextprotocol/sdk/types.js"
import { Console, Effect } from "effect"
import * as Fs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { pathToFileURL } from "node:url"
import { packageRoot } from "../server/Extension.js"
import * as ManagedBrowser from "../server/ManagedBrowser.js"

/** The demo's own range by default: never the default one, where the user's real servers and extension live. */
export const DEMO_PORTS = "18765-18772"

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font:16px system-ui,sans-serif;margin:2em;max-width:40em}label{display:block;margin:.5em 0}li{margin:.3em 0}</style></head><body>${body}</body></html>`

const PAGES: Record<string, string> = {
  "/signup": page("Sign up", `<h1>Create your account</h1>
<form onsubmit="event.preventDefault(); const d = new FormData(this); document.title = 'Signed up'; document.getElementById('out').textContent = 'Welcome, ' + d.get('name') + '! Plan: ' + d.get('plan') + '.'">
<label>Name <input name="name" required></label>
<label>Email <input name="email" type="email" required></label>
<label>Plan <select name="plan"><option>Free</option><option>Pro</option><option>Team</option></select></label>
<label><input type="checkbox" name="terms" required> I accept the terms</label>
<button>Create account</button></form><p id="out" role="status"></p>`),
  "/news": page("Top stories", `<h1>Top stories</h1><ol>${
    [["Browsers learn to share", 412], ["A field guide to tab groups", 288], ["Why agents need leases", 256], ["Loopback, explained", 190],
      ["The accessibility tree as an API", 171], ["Ports, ranges and races", 96], ["Service workers that sleep", 64], ["One browser, many hands", 51]]
      .map(([t, p]) => `<li><a href="#">${t}</a> — ${p} points</li>`).join("")
  }</ol>`),
  "/board": page("Team board", `<h1>Team board</h1><label>Note <input id="note"></label><button onclick="const li = document.createElement('li'); li.textContent = note.value; notes.append(li); note.value = ''">Post</button><ul id="notes"></ul>`)
}

interface Agent {
  readonly name: string
  readonly client: Client
  readonly call: (tool: string, args?: Record<string, unknown>, onProgress?: (message: string) => void) => Promise<any>
}

const text = (r: any): string => (r.content ?? []).filter((c: any) => c.type === "text").map((c: any) => c.text).join("\n")
const refOf = (snapshot: string, line: RegExp) => {
  const ref = /\[ref=(s\d+e\d+)\]/.exec(snapshot.split("\n").find((l) => line.test(l)) ?? "")?.[1]
  if (ref === undefined) throw new Error(`the page has no element matching ${line}`)
  return ref
}

export interface DemoOptions {
  readonly headed: boolean
  /** The port range of the demo's servers and browser. */
  readonly ports: string
  /** Where to keep the screenshots (a folder of the user's own); none: taken into a temporary folder, removed at the end. */
  readonly screenshots: string | undefined
}

export const demo = (options: DemoOptions) =>
  Effect.scoped(Effect.gen(function*() {
    const started = performance.now()
    const say = (who: string, what: string) => Console.log(`[${((performance.now() - started) / 1000).toFixed(2).padStart(6)} s] ${who.padEnd(13)} ${what}`)
    const sayNow = (who: string, what: string) => Effect.runSync(say(who, what))
    const headless = !options.headed || (process.platform === "linux" && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY)
    if (options.headed && headless) yield* say("demo", "no display here: running headless instead")

    // Pages, browser, runtime directory, screenshots.
    const server = yield* Effect.acquireRelease(
      Effect.async<Http.Server>((resume) => {
        const s = Http.createServer((req, res) => {
          const body = PAGES[new URL(req.url ?? "/", "http://x").pathname]
          res.writeHead(body ? 200 : 404, { "content-type": "text/html" }).end(body ?? page("Not found", "<h1>Not found</h1>"))
        })
        s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
      }),
      (s) => Effect.sync(() => s.close())
    )
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const browser = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => ManagedBrowser.launch({ headless, ports: options.ports }), catch: (e) => e as Error }),
      (b) => Effect.promise(() => b.close())
    )
    yield* say("demo", `started Chromium (${headless ? "headless" : "with a window"}) with the tabmux extension, in a throwaway profile paired with this demo's servers (native-messaging host)`)
    const dir = browser.dir
    const shots = options.screenshots ?? (yield* Effect.acquireRelease(
      Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-demo-screenshots-"))),
      (folder) => Effect.sync(() => Fs.rmSync(folder, { recursive: true, force: true }))
    ))

    // Two servers, started as MCP clients start them.
    const start = (name: string) =>
      Effect.acquireRelease(
        Effect.tryPromise({
          try: async (): Promise<Agent> => {
            const transport = new StdioClientTransport({
              command: process.execPath,
              args: [Path.join(packageRoot, "dist", "tabmux.mjs")],
              env: { ...process.env, TABMUX_DIR: dir, TABMUX_PORTS: options.ports, TABMUX_CONNECT_WAIT: "30", TABMUX_LOG_LEVEL: process.env.TABMUX_DEMO_DEBUG ? "debug" : "warning" } as Record<string, string>,
              stderr: process.env.TABMUX_DEMO_DEBUG ? "inherit" : "ignore"
            })
            // Like Claude Code or VS Code, the client names its roots: the agents may save their screenshots there.
            const client = new Client({ name, version: "1.0.0" }, { capabilities: { roots: {} } })
            client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [{ uri: pathToFileURL(shots).href, name: "screenshots" }] }))
            await client.connect(transport)
            return {
              name,
              client,
              call: async (tool, args = {}, onProgress) => {
                const r: any = await client.callTool({ name: tool, arguments: args }, undefined, {
                  timeout: 120_000,
                  ...(onProgress ? { onprogress: (p) => onProgress(String(p.message ?? "waiting")) } : {})
                })
                if (r.isError) throw new Error(`${name} ${tool}: ${text(r)}`)
                return r
              }
            }
          },
          catch: (e) => e as Error
        }),
        (a) => Effect.promise(() => a.client.close().catch(() => undefined))
      )
    const forms = yield* start("agent-forms")
    const reader = yield* start("agent-reader")
    const found = performance.now()
    // The first call waits for the extension to find the server (it scans about once a second).
    yield* Effect.tryPromise({ try: () => Promise.all([forms.call("browser_instances"), reader.call("browser_instances")]), catch: (e) => e as Error })
    yield* say("demo", `two tabmux servers started by two MCP clients; the extension connected to both within ${Math.round(performance.now() - found)} ms`)

    const fill = async (a: Agent) => {
      await a.call("browser_tabs", { action: "new", url: `${base}/signup` })
      sayNow(a.name, "opened t1: Sign up (in its own tab group, in the background)")
      const snap = (await a.call("browser_snapshot")).structuredContent.snapshot as string
      sayNow(a.name, `read the page: ${snap.split("\n").length} lines, ${Buffer.byteLength(snap)} bytes`)
      const filled = (await a.call("browser_fill_form", {
        fields: [
          { name: "Name", type: "textbox", ref: refOf(snap, /textbox "Name"/), value: "Ada Lovelace" },
          { name: "Email", type: "textbox", ref: refOf(snap, /textbox "Email"/), value: "ada@example.com" },
          { name: "Plan", type: "combobox", ref: refOf(snap, /combobox "Plan"/), value: "Pro" },
          { name: "Terms", type: "checkbox", ref: refOf(snap, /checkbox "I accept the terms"/), value: "true" }
        ]
      })).structuredContent
      const told = filled.snapshotIs === "changes" ? "what changed" : filled.snapshotIs === "whole" ? "the whole page (not much smaller as changes)" : "no snapshot"
      sayNow(a.name, `filled in name, email, plan and terms (the result showed ${told}: ${Buffer.byteLength(filled.snapshot ?? "")} bytes; the refs it read stay valid)`)
      const done = (await a.call("browser_click", { ref: refOf(snap, /button "Create account"/), element: "Create account" })).structuredContent
      sayNow(a.name, `submitted: the page now says "${/- status[^\n]*?\]: (.*)/.exec(done.snapshot ?? "")?.[1] ?? done.title}"`)
      const file = Path.join(shots, "agent-forms-signup.png")
      await a.call("browser_take_screenshot", { path: file })
      sayNow(a.name, `saved a screenshot: ${file}`)
    }
    const read = async (a: Agent) => {
      await a.call("browser_tabs", { action: "new", url: `${base}/news` })
      sayNow(a.name, "opened t1: Top stories (its own tab group; it cannot see agent-forms' tab)")
      const snap = (await a.call("browser_snapshot")).structuredContent.snapshot as string
      const stories = snap.split("\n").filter((l) => /- listitem/.test(l) || /- link "/.test(l))
        .map((l) => /link "([^"]+)"/.exec(l)?.[1]).filter((s): s is string => s !== undefined)
      const points = [...snap.matchAll(/— (\d+) points/g)].map((m) => Number(m[1]))
      sayNow(a.name, `summary: ${stories.length} stories, ${points.reduce((x, y) => x + y, 0)} points in all; top: "${stories[0]}" (${points[0]} points)`)
      const mine = (await a.call("browser_tabs", { action: "list" })).structuredContent.tabs
      sayNow(a.name, `its tabs: ${mine.map((t: any) => `${t.tab} ${t.title}`).join(", ")}`)
      const file = Path.join(shots, "agent-reader-news.png")
      await a.call("browser_take_screenshot", { path: file })
      sayNow(a.name, `saved a screenshot: ${file}`)
    }
    yield* say("demo", "both agents start working, at the same time")
    yield* Effect.tryPromise({ try: () => Promise.all([fill(forms), read(reader)]), catch: (e) => e as Error })

    // The user shares one tab (its "tabmux · shared" group); the agents take turns on it.
    yield* Effect.promise(() =>
      browser.evaluateInWorker(`(async () => {
        const tab = await chrome.tabs.create({ url: ${JSON.stringify(`${base}/board`)}, active: false })
        const group = await chrome.tabs.group({ tabIds: [tab.id] })
        await chrome.tabGroups.update(group, { title: "tabmux · shared", color: "grey" })
        return true
      })()`)
    )
    yield* say("demo", "the user shares a tab (Team board) by putting it in the \"tabmux · shared\" group")
    const sharedOf = async (a: Agent) => (await a.call("browser_tabs", { action: "list" })).structuredContent.tabs.find((t: any) => t.shared)?.tab as string
    const post = async (a: Agent, tab: string, note: string) => {
      const snap = (await a.call("browser_snapshot", { tab })).structuredContent.snapshot as string
      await a.call("browser_type", { tab, ref: refOf(snap, /textbox "Note"/), text: note })
      await a.call("browser_click", { tab, ref: refOf(snap, /button "Post"/) })
      const after = (await a.call("browser_snapshot", { tab })).structuredContent.snapshot as string
      return after.split("\n").filter((l) => /- listitem/.test(l)).length
    }
    yield* Effect.tryPromise({
      try: async () => {
        const [a, b] = await Promise.all([sharedOf(forms), sharedOf(reader)])
        await forms.call("browser_tab_lock", { tab: a, ttlSeconds: 30 })
        sayNow(forms.name, `leases the shared tab (${a}) for its multi-step work`)
        let releasedAt = 0
        const waiting = reader.call("browser_tab_lock", { tab: b, ttlSeconds: 30, waitSeconds: 30 }, (m) => sayNow(reader.name, `waits: ${m}`))
        // Settled either way now, so a failure below cannot leave it rejected with no one listening.
        const waited = waiting.then(() => undefined, (e: Error) => e)
        await new Promise((r) => setTimeout(r, 300))
        const count = await post(forms, a, "Signed Ada up for Pro")
        sayNow(forms.name, `posted a note (${count} on the board); unlocks`)
        await forms.call("browser_tab_unlock", { tab: a })
        releasedAt = performance.now()
        const failed = await waited
        if (failed) throw failed
        sayNow(reader.name, `got the shared tab ${Math.round(performance.now() - releasedAt)} ms after agent-forms let go`)
        const total = await post(reader, b, "Top story: Browsers learn to share")
        sayNow(reader.name, `posted its note (${total} on the board); unlocks`)
        await reader.call("browser_tab_unlock", { tab: b })
      },
      catch: (e) => e as Error
    })

    // Leaving: an agent's tabs go with it; shared tabs stay.
    yield* Effect.promise(() => forms.client.close())
    const left = yield* Effect.promise(() =>
      ManagedBrowser.waitFor(async () => {
        const urls = await browser.evaluateInWorker<Array<string>>("chrome.tabs.query({}).then((t) => t.map((x) => x.url))")
        return urls.some((u) => u.endsWith("/signup")) ? undefined : urls
      }, 15_000)
    )
    yield* say("agent-forms", `exited: its tab was closed; ${left.filter((u) => u.startsWith(base)).length} demo tabs remain (agent-reader's and the shared one)`)
    yield* say("demo", `done in ${((performance.now() - started) / 1000).toFixed(1)} s; ` + (options.screenshots === undefined
      ? "the screenshots were removed with the demo's temporary folders (keep them with --screenshots <folder>)"
      : `screenshots in ${shots}`))
  }))
