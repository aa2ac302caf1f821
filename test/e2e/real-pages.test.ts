/**
 * Real documentation pages, as an agent with Playwright MCP's habits uses them: navigate,
 * take one snapshot, then click table-of-contents links (near the top, in the middle, far
 * down) with refs from that one snapshot, and a link to another page. Each click must land:
 * the URL takes the link's target and the section it names is on screen. At the managed
 * browser's width (1280×720, Playwright's) and in a narrow window (800×600), where pages
 * fold their navigation away (links no scroll can reach are marked `[offscreen]`, and an
 * agent picks another).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Agent, call, startAgent, text } from "../support/agent.js"
import { type Browser, launch } from "../support/chromium.js"
import { docPages, type Docs, serveDocs } from "../support/docs.js"
import { tempRuntimeDir } from "../support/server.js"

const PORTS = "18890-18891"
const pages = docPages()
let browser: Browser
let docs: Docs
let agent: Agent

beforeAll(async () => {
  if (pages.length === 0) return
  docs = await serveDocs()
  const dir = tempRuntimeDir()
  browser = await launch({ dir, ports: PORTS })
  agent = await startAgent("reader", { dir, ports: PORTS })
}, 60_000)

afterAll(async () => {
  await agent?.client.close()
  await browser?.close()
  docs?.close()
})

const links = (snapshot: string) =>
  snapshot.split("\n").filter((line) => !line.includes("[offscreen]")).flatMap((line) => {
    const m = /- link "([^"]+)"[^\n]*\[ref=(s\d+e\d+)\]/.exec(line)
    return m ? [{ name: m[1]!, ref: m[2]! }] : []
  })

/** Where a link goes (absolute), and whether it sits in a list (or a navigation) outside the page's banner, as a table of contents does. */
const linkOf = async (ref: string) =>
  JSON.parse((await call(agent, "browser_evaluate", {
    function: "(a) => ({ href: a.href, listed: !!a.closest('li, dt, dd, nav') && !a.closest('header, [role=banner]') })",
    ref
  })).structuredContent.json) as { href: string; listed: boolean }

describe.skipIf(pages.length === 0)("real documentation pages", () => {
  const cases = pages.flatMap((path) => [[path, 1280, 720], [path, 800, 600]] as const)
  it.each(cases)("%s at %i px: one snapshot, then table-of-contents links near the top, in the middle and far down, and a link to another page", { timeout: 120_000 }, async (path, width, height) => {
    const url = `${docs.base}/${path}`
    const t0 = Date.now()
    const went = await call(agent, "browser_navigate", { url })
    const navigated = Date.now() - t0
    expect(went.structuredContent).toMatchObject({ url, status: 200 })
    await call(agent, "browser_resize", { width, height })
    const t1 = Date.now()
    const snapshot = (await call(agent, "browser_snapshot")).structuredContent.snapshot as string
    console.log(`${path}: navigate ${navigated} ms, snapshot ${Date.now() - t1} ms, ${Buffer.byteLength(snapshot)} bytes`)
    expect(snapshot).toMatch(/- heading "[^"]+" \[level=\d\]/)

    // Links to sections of this page, as the snapshot lists them (the table of contents first).
    const all = links(snapshot)
    const inPage: Array<{ name: string; ref: string; href: string }> = []
    const elsewhere: Array<{ name: string; ref: string; href: string }> = []
    for (const l of all.slice(0, 400)) {
      const { href, listed } = await linkOf(l.ref)
      const [doc, hash] = href.split("#")
      if (listed && doc === url && hash) inPage.push({ ...l, href })
      else if (href.startsWith(docs.base) && doc !== url && /\.html$/.test(doc!)) elsewhere.push({ ...l, href })
      if (inPage.length >= 60 && elsewhere.length >= 1) break
    }
    expect(inPage.length, `section links in ${path}`).toBeGreaterThanOrEqual(3)
    const picks = [inPage[0]!, inPage[Math.floor(inPage.length / 2)]!, inPage[inPage.length - 1]!]
    for (const link of picks) {
      const clicked = await call(agent, "browser_click", { ref: link.ref, element: link.name })
      expect(clicked.structuredContent.url, `clicking ${link.name}`).toBe(link.href)
      // The section it names is on screen.
      const onScreen = JSON.parse((await call(agent, "browser_evaluate", {
        function: "(id) => { const e = document.getElementById(id) || document.getElementsByName(id)[0]; if (!e) return 'missing'; const r = e.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight }",
        args: [decodeURIComponent(link.href.split("#")[1]!)]
      })).structuredContent.json)
      expect(onScreen, `section ${link.href} after clicking ${link.name}`).toBe(true)
    }

    if (elsewhere.length > 0) {
      const other = elsewhere[0]!
      const clicked = await call(agent, "browser_click", { ref: other.ref, element: other.name })
      expect(clicked.structuredContent.url).toBe(other.href)
      expect(text(clicked)).toMatch(/- heading/)
    }
  })
})
