/**
 * The snapshot script (extension/src/PageScript.ts) on its own, in a real Chromium page:
 * which lines markup becomes (roles, names, states, values, what is hidden), and how ref
 * numbers are handed out and kept. Run in the page's main world here; the extension runs
 * it in its isolated world.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { pageElement, pageSnapshot } from "../../extension/src/PageScript.js"
import { type Browser, launch } from "../support/chromium.js"
import { tempRuntimeDir } from "../support/server.js"

const MARKUP = `<!doctype html><html lang="en"><head><title>Script</title></head><body>
<h1>Title</h1>
<nav aria-label="Main"><a href="/a">Home</a> <a>No href</a></nav>
<label>Name <input name="n" value="Ada"></label>
<input type="checkbox" id="c" checked><label for="c">News</label>
<button disabled>Send</button>
<input type="password" value="secret" aria-label="Pass">
<input placeholder="Search the docs">
<select aria-label="Country"><option>France</option><option selected>Japan</option></select>
<div aria-hidden="true"><button>Hidden</button></div>
<div style="display:none"><button>None</button></div>
<div style="visibility:hidden"><button>Invisible</button><span style="visibility:visible">Shown anyway</span></div>
<img alt="Logo" width="10" height="10">
<img alt="" width="10" height="10">
<div role="button" aria-pressed="true">Bold</div>
<p>Hello <b>world</b>!</p>
<div>Plain block</div>
<x-host><span slot="s">Slotted text</span></x-host>
<table><tr><th>Key</th><th>Value</th></tr><tr><td>a</td><td><button>Edit a</button></td></tr></table>
<details open><summary>More</summary><p>Inside details</p></details>
<script>customElements.define("x-host", class extends HTMLElement {
  constructor() { super(); this.attachShadow({ mode: "open" }).innerHTML = "<button>In shadow</button><slot name=s></slot>" }
})</script>
</body></html>`

let browser: Browser
let server: Http.Server
let url: string

const args = (o: Partial<{ next: number; maxDepth: number; from: number | null; budget: number }> = {}) =>
  ({ next: 1, prefix: "e", maxDepth: 1000, from: null, budget: 100_000, ...o })
const snapshot = (o: Parameters<typeof args>[0] = {}) =>
  browser.evaluateInPage<any>(url, `(${pageSnapshot.toString()})(${JSON.stringify(args(o))})`)
const inPage = <A>(expression: string) => browser.evaluateInPage<A>(url, expression)

beforeAll(async () => {
  server = Http.createServer((_, res) => res.writeHead(200, { "content-type": "text/html" }).end(MARKUP))
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  browser = await launch({ dir: tempRuntimeDir(), ports: "18995-18996" })
  await browser.openPage(url)
  for (let i = 0; i < 100 && !(await inPage<boolean>("document.readyState === 'complete'").catch(() => false)); i++) {
    await new Promise((r) => setTimeout(r, 50))
  }
}, 60_000)

afterAll(async () => {
  await browser?.close()
  server?.close()
})

describe("the snapshot script", () => {
  it("writes roles, names, states and values; leaves out what is hidden and what only wraps", async () => {
    const shot = await snapshot()
    expect(shot.text).toBe([
      `- heading "Title" [level=1] [ref=e1]`,
      `- navigation "Main" [ref=e2]`,
      `  - link "Home" [ref=e3]`,
      `  - text: No href`,
      `- textbox "Name" [ref=e4]: Ada`,
      `- checkbox "News" [checked] [ref=e5]`,
      `- button "Send" [disabled] [ref=e6]`,
      `- textbox "Pass" [ref=e7]: ••••••`,
      `- textbox "Search the docs" [ref=e8]`,
      `- combobox "Country" [ref=e9]: Japan`,
      `- text: Shown anyway`,
      `- img "Logo" [ref=e10]`,
      `- button "Bold" [pressed] [ref=e11]`,
      `- paragraph [ref=e12]: Hello world!`,
      `- generic [ref=e13]: Plain block`,
      `- button "In shadow" [ref=e14]`,
      `- generic [ref=e15]: Slotted text`,
      `- table [ref=e16]`,
      `  - row [ref=e17]`,
      `    - columnheader "Key"`,
      `    - columnheader "Value"`,
      `  - row [ref=e18]`,
      `    - cell "a"`,
      `    - cell [ref=e19]`,
      `      - button "Edit a" [ref=e20]`,
      `- group [ref=e21]`,
      `  - button "More" [expanded] [ref=e22]`,
      `  - paragraph [ref=e23]: Inside details`
    ].join("\n"))
    expect(shot).toMatchObject({ next: 24, frames: [], refs: 23 })
  })

  it("an element keeps its number while it lives; new ones count on from `next`; a gone one is never found again", async () => {
    const again = await snapshot({ next: 24 })
    expect(again.text).toContain(`- textbox "Name" [ref=e4]: Ada`)
    expect(again.next).toBe(24)
    await inPage(`document.body.insertAdjacentHTML("afterbegin", "<button>New</button>"); true`)
    const grown = await snapshot({ next: 24 })
    expect(grown.text.split("\n")[0]).toBe(`- button "New" [ref=e24]`)
    expect(grown.next).toBe(25)
    expect(await inPage(`(${pageElement.toString()})(4)?.name`)).toBe("n")
    await inPage(`document.querySelector("input[name=n]").closest("label").remove(); true`)
    expect(await inPage(`(${pageElement.toString()})(4)`)).toBe(null)
    expect((await snapshot({ next: 25 })).text).not.toContain("e4]")
  })

  it("a subtree starts at its element; depth cuts nesting and marks what it hid; too many elements are refused", async () => {
    expect((await snapshot({ next: 25, from: 16 })).text.split("\n").slice(0, 2)).toEqual([`- table [ref=e16]`, `  - row [ref=e17]`])
    const shallow = await snapshot({ next: 25, maxDepth: 1 })
    expect(shallow.text).toContain(`- table [ref=e16] …`)
    expect(shallow.text).not.toContain("row")
    expect(await snapshot({ next: 25, from: 4 })).toEqual({ error: "stale" })
    const count = await inPage<number>(`document.getElementsByTagName("*").length`)
    expect(await snapshot({ next: 25, budget: count - 1 })).toEqual({ error: "budget", count })
  })
})
