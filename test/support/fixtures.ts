/**
 * Local pages the browser tools are proven on (and benchmarked on): a form with every
 * input type, dialogs, same- and cross-origin iframes, a shadow root, console errors, a
 * fetch after a click, a long page, a covered button, drag and drop, a file input, an
 * article and a page of about 5,000 elements. Served on 127.0.0.1; `crossBase` is the
 * same server as `localhost`, another site to the browser (so its iframe runs out of
 * process). Any other path answers a small page titled with its name.
 */
import * as Fs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Path from "node:path"

/**
 * Real applications and their libraries, served under /vendor/<name>/: code editors that
 * type through a hidden input (Debian's CodeMirror 5, libjs-codemirror; Ace and Monaco from
 * npm), an OpenAPI console (swagger-ui-dist), TodoMVC's applications (todomvc: React's is
 * /vendor/todomvc/react/index.html) and a flow editor's library (drawflow), all npm
 * devDependencies.
 */
const VENDOR: Record<string, string> = {
  codemirror: "/usr/share/javascript/codemirror",
  ace: Path.resolve("node_modules/ace-builds/src-min-noconflict"),
  monaco: Path.resolve("node_modules/monaco-editor/min"),
  swagger: Path.resolve("node_modules/swagger-ui-dist"),
  todomvc: Path.resolve("node_modules/todomvc/examples"),
  drawflow: Path.resolve("node_modules/drawflow/dist")
}
const TYPES: Record<string, string> = { ".css": "text/css", ".html": "text/html", ".png": "image/png", ".json": "application/json" }
export const hasCodeMirror = () => Fs.existsSync(Path.join(VENDOR.codemirror!, "lib", "codemirror.js"))

const page = (title: string, body: string, head = "") =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>${head}</head><body>${body}</body></html>`

const show = `<p id="out" role="status"></p><script>const out = (s) => { document.getElementById("out").textContent = s }</script>`

const PAGES: Record<string, (cross: string) => string> = {
  "slow-image": () => page("Slow image", `<h1>Slow image</h1><img src="/never" alt="never loads">`),
  readonly: () =>
    page(
      "Read-only",
      `<label>Code <input name="code" value="X1" readonly></label><label>Note <input name="note"></label>` +
        `<label>Trap <input name="trap" onfocus="document.getElementsByName('note')[0].focus()"></label>`
    ),
  // 200,000 elements (and as many text nodes), built by the page itself.
  huge: () =>
    page("Huge", `<h1>Huge</h1><script>
const f = document.createDocumentFragment()
for (let i = 0; i < 200000; i++) { const d = document.createElement("div"); d.textContent = "item " + i; f.appendChild(d) }
document.body.appendChild(f)
</script>`),
  // Ways out to another origin: a link, a page's own script.
  "links-out": (cross) =>
    page("Links out", `<h1>Links out</h1><a href="${cross}/elsewhere-secret">Elsewhere</a>
<button onclick="location.href = '${cross}/elsewhere-secret'">Go by script</button>
<a href="${cross}/elsewhere-secret" target="_blank">Elsewhere in a new tab</a>
<button onclick="window.open('${cross}/elsewhere-secret')">Pop up</button>`),
  // Hostile to the budget: 120,000 elements inside one open shadow root (the light DOM holds a handful).
  "huge-shadow": () =>
    page("Huge shadow", `<h1>Huge shadow</h1><x-host></x-host><script>
const root = document.querySelector("x-host").attachShadow({ mode: "open" })
const f = document.createDocumentFragment()
for (let i = 0; i < 120000; i++) { const d = document.createElement("div"); d.textContent = "item " + i; f.appendChild(d) }
root.appendChild(f)
</script>`),
  // Three same-origin iframes of 60,000 elements each: within the budget one by one, not together.
  "huge-frames": () =>
    page("Huge frames", `<h1>Huge frames</h1>${[1, 2, 3].map((i) => `<iframe title="part ${i}" src="/many-divs"></iframe>`).join("")}`),
  "many-divs": () =>
    page("Many divs", `<script>
const f = document.createDocumentFragment()
for (let i = 0; i < 60000; i++) { const d = document.createElement("div"); d.textContent = "item " + i; f.appendChild(d) }
document.body.appendChild(f)
</script>`),
  // Within the element budget, but every name as long as a snapshot shows (300 characters): some 25 MB of lines.
  "long-names": () =>
    page("Long names", `<script>
const f = document.createDocumentFragment()
for (let i = 0; i < 70000; i++) { const b = document.createElement("button"); b.setAttribute("aria-label", i + " " + "long name ".repeat(40)); f.appendChild(b) }
document.body.appendChild(f)
</script>`),
  // A page whose title getter returns 300 MB (its real <title> is short).
  "huge-title": () =>
    page("Short title", `<h1>Huge title</h1><script>
const big = "x".repeat(300 * 1024 * 1024)
Object.defineProperty(document, "title", { get: () => big })
</script>`),
  // A page that lies to in-page checks: elementFromPoint says the button is on top, while a
  // cross-origin frame covers it.
  "lying-cover": (cross) =>
    page("Lying cover", `<button id="target" onclick="out('target clicked')" style="position:absolute;top:40px;left:40px;width:160px;height:40px">Covered target</button>
<iframe title="over it" src="${cross}/inner" style="position:absolute;top:20px;left:20px;width:300px;height:100px;border:0;background:white"></iframe>${show}
<script>
const real = Document.prototype.elementFromPoint
Document.prototype.elementFromPoint = function () { return document.getElementById("target") }
Element.prototype.getBoundingClientRect = function () { return new DOMRect(0, 0, 5000, 5000) }
</script>`),
  // A page that slips another element under the pointer as it arrives, and moves focus into a
  // cross-origin frame when a field is focused.
  "bait-and-switch": (cross) =>
    page("Bait and switch", `<button id="bait" onclick="out('bait clicked')" style="position:absolute;top:40px;left:40px;width:160px;height:40px">Bait</button>
<div id="trap" onclick="out('trap clicked')" style="display:none;position:absolute;top:0;left:0;width:400px;height:200px;background:red">Trap</div>
<label style="position:absolute;top:240px;left:40px">Secret <input id="secret" onfocus="document.querySelector('iframe').focus()"></label>
<iframe title="elsewhere" src="${cross}/inner" style="position:absolute;top:300px;left:40px;width:400px;height:150px"></iframe>${show}
<script>
document.getElementById("bait").addEventListener("pointermove", () => { document.getElementById("trap").style.display = "block" })
</script>`),
  form: () =>
    page("Form", `
<h1>Sign up</h1>
<form id="f" onsubmit="event.preventDefault(); const d = new FormData(this); out(JSON.stringify(Object.fromEntries([...d.keys()].map((k) => [k, d.getAll(k).length > 1 ? d.getAll(k) : d.get(k)])))); document.title = 'Submitted'">
  <label>Name <input name="name"></label>
  <label>Email <input type="email" name="email"></label>
  <label>Password <input type="password" name="password"></label>
  <label>Age <input type="number" name="age"></label>
  <label>Birthday <input type="date" name="birthday"></label>
  <label>Bio <textarea name="bio"></textarea></label>
  <label><input type="checkbox" name="news" value="yes"> Newsletter</label>
  <fieldset><legend>Plan</legend>
    <label><input type="radio" name="plan" value="free" checked> Free</label>
    <label><input type="radio" name="plan" value="pro"> Pro</label>
  </fieldset>
  <label>Volume <input type="range" name="volume" min="0" max="10" value="5"></label>
  <label>Country <select name="country"><option value="fr">France</option><option value="de">Germany</option><option value="jp">Japan</option></select></label>
  <label>Colours <select name="colours" multiple><option>Red</option><option>Green</option><option>Blue</option></select></label>
  <button type="button" disabled>Disabled</button>
  <button type="submit">Submit</button>
</form>${show}`),
  dialogs: () =>
    page("Dialogs", `
<button onclick="alert('Hello from alert'); out('alert closed')">Alert</button>
<button onclick="out(confirm('Are you sure?') ? 'confirmed' : 'cancelled')">Confirm</button>
<button onclick="out('name: ' + prompt('Your name?', 'nobody'))">Prompt</button>
<button onclick="alert('first'); alert('second'); out('both closed')">Two alerts</button>${show}`),
  inner: () =>
    page("Inner", `<label>Inner field <input id="inner" oninput="document.getElementById('echo').textContent = this.value"></label>
<button onclick="this.textContent = 'Inner clicked'">Inner button</button><p id="echo"></p>`),
  frames: (cross) =>
    page("Frames", `<h1>Frames</h1>
<iframe title="same origin" src="/inner" width="400" height="150"></iframe>
<iframe title="cross origin" src="${cross}/inner" width="400" height="150"></iframe>`),
  // A page that embeds an extension's page: Chrome then lets no other extension's debugger drive it.
  "extension-frame": () =>
    page("Extension frame", `<iframe title="extension page" src="chrome-extension://jejkldfklbhljdabcdbhnbmgjpdmpfji/status.html"></iframe>`),
  // An old-style frameset page (no body): its frames are read as iframes are.
  frameset: () =>
    `<!doctype html><html lang="en"><head><title>Frameset</title></head><frameset cols="50%,50%"><frame src="/inner" title="left"><frame src="/form" title="right"></frameset></html>`,
  // A srcdoc iframe: its parent's content.
  "srcdoc-frame": () => page("Srcdoc frame", `<iframe title="inline" srcdoc="<button>Srcdoc button</button>"></iframe>`),
  shadow: () =>
    page("Shadow", `<h1>Shadow</h1><x-panel></x-panel>${show}
<script>customElements.define("x-panel", class extends HTMLElement {
  connectedCallback() {
    const root = this.attachShadow({ mode: "open" })
    root.innerHTML = '<p>Inside the shadow</p><button>Shadow button</button>'
    root.querySelector("button").onclick = () => out("shadow clicked")
  }
})</script>`),
  errors: () =>
    page("Errors", `<h1>Errors</h1><button onclick="console.error('clicked error'); null.boom">Fail</button>
<script>console.log("hello log"); console.warn("a warning"); console.error("an error", 42); setTimeout(() => { throw new Error("thrown later") }, 0)</script>`),
  // A fixed header over the top, a sticky sidebar, and a button deep in a scrolled container.
  layout: () =>
    page("Layout", `<header style="position:fixed;top:0;left:0;right:0;height:80px;background:#eee;z-index:10">Fixed header</header>
<div style="display:flex;margin-top:80px">
  <nav style="position:sticky;top:80px;align-self:flex-start;width:160px"><a href="#s1" onclick="out('side 1')">Side one</a><br><a href="#s9" onclick="out('side 9')">Side nine</a></nav>
  <main style="flex:1">
    <div style="height:200px;overflow:auto;border:1px solid"><div style="height:1500px"></div><button onclick="out('inner clicked')">Deep inside</button></div>
    ${Array.from({ length: 10 }, (_, i) => `<h2 id="s${i}">Section ${i}</h2><p style="height:400px">Text ${i}</p><button onclick="out('section ${i}')">Button ${i}</button>`).join("")}
  </main>
</div>${show}`),
  download: () => page("Download", `<a href="/report.csv">Get the report</a>`),
  // Links to other applications (Chrome asks the user, in a prompt that blocks the page).
  "app-links": () => page("App links", `<a href="mailto:someone@example.com">Write to us</a> <a href="ftp://example.com/">Files</a> <a href="/form">The form</a>`),
  // A click whose navigation starts a moment later (as an app's router does).
  "late-navigation": () => page("Late navigation", `<button onclick="setTimeout(() => { location.href = '/form' }, 100)">Go later</button>`),
  "drop-zone": () =>
    page("Drop zone", `<div id="zone" role="region" aria-label="Drop zone" style="width:300px;height:120px;border:2px dashed">Drop files here</div>${show}
<script>
const zone = document.getElementById("zone")
zone.addEventListener("dragover", (e) => e.preventDefault())
zone.addEventListener("drop", async (e) => {
  e.preventDefault()
  const files = await Promise.all([...e.dataTransfer.files].map(async (f) => f.name + ":" + (await f.text()).length))
  out("files " + files.join(",") + " text " + e.dataTransfer.getData("text/plain"))
})
</script>`),
  // An image that loads (binary) and one that is missing (404).
  assets: () => page("Assets", `<h1>Assets</h1><img src="/pixel.png" alt="pixel" width="2" height="2"><img src="/missing" alt="broken" width="2" height="2">`),
  fetch: () =>
    page("Fetch", `<button onclick="fetch('/api/slow?ms=400').then((r) => r.json()).then((j) => out('loaded ' + j.items.length + ' items'))">Load</button>${show}`),
  long: () =>
    page("Long", `<h1>Top</h1><div style="height:5000px"></div><button onclick="this.textContent = 'Bottom clicked'">Bottom button</button>`),
  covered: () =>
    page("Covered", `<button onclick="document.title = 'clicked'">Covered button</button>
<div class="overlay" style="position:fixed;inset:0;background:rgba(0,0,0,.3)">Cookie banner</div>`),
  // A code editor (CodeMirror 5, as Debian ships it): keys go through its hidden textarea; brackets close themselves.
  "code-editor": () =>
    page("Code editor", `<h1>Code editor</h1><label for="name">File name</label> <input id="name" value="main.js"><div id="editor"></div>
<script src="/vendor/codemirror/lib/codemirror.js"></script><script src="/vendor/codemirror/mode/javascript/javascript.js"></script>
<script src="/vendor/codemirror/addon/edit/closebrackets.js"></script>
<script>window.editor = CodeMirror(document.getElementById("editor"), { value: "// notes", mode: "javascript", autoCloseBrackets: true, lineNumbers: true }); editor.setCursor(0, 8)</script>`, '<link rel="stylesheet" href="/vendor/codemirror/lib/codemirror.css">'),
  // Ace (npm's ace-builds): its input is a transparent textarea.
  "ace-editor": () =>
    page("Ace editor", `<h1>Ace editor</h1><div id="editor" style="width:600px;height:200px"></div>
<script src="/vendor/ace/ace.js"></script>
<script>ace.config.set("basePath", "/vendor/ace"); window.editor = ace.edit("editor", { mode: "ace/mode/javascript", value: "// notes", behavioursEnabled: true }); editor.navigateFileEnd()</script>`),
  // Monaco (npm's monaco-editor, VS Code's editor): its input is a textarea of next to no size.
  "monaco-editor": () =>
    page("Monaco editor", `<h1>Monaco editor</h1><div id="editor" style="width:600px;height:200px"></div>
<script src="/vendor/monaco/vs/loader.js"></script>
<script>// Monaco's language workers start from a data: URL that loads them from this server (its cross-origin recipe).
window.MonacoEnvironment = { getWorkerUrl: () => "data:text/javascript;charset=utf-8," + encodeURIComponent(
  "self.MonacoEnvironment = { baseUrl: '" + location.origin + "/vendor/monaco/' }; importScripts('" + location.origin + "/vendor/monaco/vs/base/worker/workerMain.js')") }
require.config({ paths: { vs: "/vendor/monaco/vs" } }); require(["vs/editor/editor.main"], () => {
  window.editor = monaco.editor.create(document.getElementById("editor"), { value: "// notes", language: "javascript", autoClosingBrackets: "always", minimap: { enabled: false } })
  editor.setPosition({ lineNumber: 1, column: 9 })
  // Ready once its JavaScript rules (the brackets it closes, its indenting) are loaded: they come a moment after the editor.
  require(["vs/basic-languages/javascript/javascript"], () => setTimeout(() => { document.title = "Monaco editor ready" }, 50))
})</script>`),
  // A real OpenAPI console (npm's swagger-ui-dist) for this server's own small API (/openapi.json).
  "openapi-console": () =>
    page("API console", `<div id="ui"></div><script src="/vendor/swagger/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#ui" })</script>`, '<link rel="stylesheet" href="/vendor/swagger/swagger-ui.css">'),
  // A flow editor (npm's drawflow, as its own demo uses it): nodes are dragged from a palette onto the canvas.
  "flow-editor": () =>
    page("Flow editor", `<div style="display:flex;height:600px"><ul id="palette" style="width:160px">
<li draggable="true" data-node="source" ondragstart="event.dataTransfer.setData('node', 'source')">Source</li>
<li draggable="true" data-node="sink" ondragstart="event.dataTransfer.setData('node', 'sink')">Sink</li></ul>
<div id="drawflow" style="flex:1;position:relative;background:#f4f4f4" ondragover="event.preventDefault()"
 ondrop="event.preventDefault(); add(event.dataTransfer.getData('node'), event.clientX, event.clientY)"></div></div>
<script src="/vendor/drawflow/drawflow.min.js"></script>
<script>window.editor = new Drawflow(document.getElementById("drawflow")); editor.start()
function add(kind, x, y) {
  const r = editor.precanvas.getBoundingClientRect()
  editor.addNode(kind, kind === "source" ? 0 : 1, kind === "source" ? 1 : 0, x - r.x, y - r.y, kind, {}, \`<div>\${kind}</div>\`)
}</script>`, '<link rel="stylesheet" href="/vendor/drawflow/drawflow.min.css">'),
  // An application that fetches its data once loaded, then renders it (as single-page applications do).
  "render-after-load": () =>
    page("Render after load", `<main id="app">Loading…</main>
<script>addEventListener("load", () => fetch("/api/slow?ms=400").then((r) => r.json()).then((d) => {
  document.getElementById("app").innerHTML = "<h1>Items</h1>" + d.items.map((i) => "<button>Item " + i + "</button>").join("")
}))</script>`),
  // A toast over the Deploy button for 1.5 s after an import, as a flow editor shows one.
  toast: () =>
    page("Toast", `<button onclick="const t = document.getElementById('toast'); t.style.display = 'block'; setTimeout(() => { t.style.display = 'none' }, 1500)">Import</button>
<button style="position:fixed;left:20px;top:200px" onclick="out('deployed')">Deploy</button>
<div id="toast" style="display:none;position:fixed;left:0;top:180px;width:300px;height:80px;background:#333;color:white">Imported: 2 nodes</div>${show}`),
  // A closed off-canvas menu (fixed, moved out of the viewport) holding a link also on the page.
  offcanvas: () =>
    page("Off canvas", `<nav id="menu" class="offcanvas" style="position:fixed;top:0;left:0;width:250px;height:100%;transform:translateX(-100%)"><a href="#docs" onclick="out('menu docs')">Docs</a></nav>
<main><h1>Off canvas</h1><a href="#docs" onclick="out('page docs')">Docs</a></main>${show}`),
  link: () => page("Link", `<a href="/form">Go to the form</a>`),
  hover: () =>
    page("Hover", `<div id="h" style="padding:20px" onmouseenter="this.textContent = 'Hovered!'">Hover me</div>`),
  drag: () =>
    page("Drag", `<div id="src" draggable="true" ondragstart="event.dataTransfer.setData('text/plain', 'card')" style="width:80px;height:40px;background:#9cf">Card</div>
<div id="dst" ondragover="event.preventDefault()" ondrop="event.preventDefault(); out('dropped ' + event.dataTransfer.getData('text/plain'))" style="margin-top:60px;width:200px;height:80px;background:#fc9">Drop zone</div>${show}`),
  upload: () =>
    page("Upload", `<label>Attachment <input type="file" multiple onchange="out([...this.files].map((f) => f.name + ':' + f.size).join(','))"></label><input type="file" id="bare">${show}`),
  clicks: () =>
    page("Clicks", `<button id="b" onclick="log(event)" ondblclick="log(event)" oncontextmenu="event.preventDefault(); log(event)" onauxclick="event.button === 1 && log(event)">Target</button><p id="log"></p>
<script>function log(e) { document.getElementById("log").textContent += e.type + (e.shiftKey ? "+shift" : "") + (e.altKey ? "+alt" : "") + (e.type === "auxclick" ? e.button : "") + " " }</script>`),
  search: () =>
    page("Search", `<form onsubmit="event.preventDefault(); out('searched ' + q.value + ' after ' + keys + ' keys')"><label>Query <input id="q" onkeydown="keys++"></label></form>
<script>var keys = 0</script>${show}`),
  keys: () =>
    page("Keys", `<label>Keys <input id="k" onkeydown="document.getElementById('log').textContent += event.key + ' '"></label><p id="log"></p>`),
  article: () =>
    page("An article", `<header><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/about">About</a></nav></header>
<main><article><h1>Why tabs matter</h1><p>By <a href="/author">A. Writer</a>, 21 November 2026</p>
${Array.from({ length: 12 }, (_, i) => `<h2>Section ${i + 1}</h2><p>${"Browsers keep many pages open at once, and agents need their own. ".repeat(6)}</p>`).join("\n")}
<figure><img alt="A diagram of tabs" width="300" height="100" src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><figcaption>Tabs, grouped.</figcaption></figure>
</article><aside><h2>Related</h2><ul>${Array.from({ length: 8 }, (_, i) => `<li><a href="/r${i}">Related story ${i + 1}</a></li>`).join("")}</ul></aside></main>
<footer><p>© 2026 Example</p></footer>`),
  big: () =>
    page("Big", `<h1>Big table</h1><table><thead><tr><th>#</th><th>Name</th><th>Status</th><th>Action</th></tr></thead><tbody>${
      Array.from({ length: 1000 }, (_, i) => `<tr><td>${i}</td><td>Item ${i}</td><td>${i % 3 ? "ok" : "late"}</td><td><button>Open ${i}</button></td></tr>`).join("")
    }</tbody></table>`)
}

/** The API the OpenAPI console shows: one operation, one parameter. */
const OPENAPI = {
  openapi: "3.0.3",
  info: { title: "Greeter", version: "1.0.0" },
  paths: {
    "/api/greet": {
      get: {
        summary: "Greet someone",
        parameters: [{ name: "name", in: "query", required: true, schema: { type: "string" } }],
        responses: { "200": { description: "A greeting", content: { "application/json": { schema: { type: "object", properties: { greeting: { type: "string" } } } } } } }
      }
    }
  }
}

/** A 1×1 PNG: a binary response body. */
export const PIXEL = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64")

export interface Fixtures {
  readonly base: string
  /** The same server under another site name (localhost), for cross-origin iframes. */
  readonly crossBase: string
  readonly close: () => void
}

export const serveFixtures = async (): Promise<Fixtures> => {
  let cross = ""
  const server = Http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x")
    const name = decodeURIComponent(url.pathname.slice(1)) || "index"
    const vendor = /^vendor\/([a-z]+)\/(.+)$/.exec(name)
    if (vendor !== null) {
      const root = VENDOR[vendor[1]!]
      const file = root === undefined ? "" : Path.join(root, Path.normalize(vendor[2]!).replace(/^(\.\.[/\\])+/, ""))
      if (root === undefined || !file.startsWith(root + Path.sep) || !Fs.statSync(file, { throwIfNoEntry: false })?.isFile()) return void res.writeHead(404).end()
      res.writeHead(200, { "content-type": TYPES[Path.extname(file)] ?? "text/javascript" }).end(Fs.readFileSync(file))
      return
    }
    if (name === "openapi.json") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(OPENAPI))
      return
    }
    if (name === "api/greet") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ greeting: `Hello, ${url.searchParams.get("name") ?? "nobody"}!` }))
      return
    }
    if (name === "api/slow") {
      setTimeout(() => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ items: [1, 2, 3] })), Number(url.searchParams.get("ms") ?? 0))
      return
    }
    // Never answered: a resource that keeps a page from firing its load event.
    if (name === "never") return
    if (name === "report.csv") {
      res.writeHead(200, { "content-type": "text/csv", "content-disposition": "attachment; filename=\"report.csv\"" }).end("a,b\n1,2\n")
      return
    }
    if (name === "pixel.png") {
      res.writeHead(200, { "content-type": "image/png" }).end(PIXEL)
      return
    }
    if (name === "redirect") {
      res.writeHead(302, { location: url.searchParams.get("to") ?? "/" }).end()
      return
    }
    if (name === "missing") {
      res.writeHead(404, { "content-type": "text/html" }).end(page("Not found", "<h1>Not found</h1>"))
      return
    }
    const render = PAGES[name]
    res.writeHead(200, { "content-type": "text/html" }).end(render ? render(cross) : page(name, `<h1>${name}</h1>`))
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  const port = (server.address() as AddressInfo).port
  cross = `http://localhost:${port}`
  return { base: `http://127.0.0.1:${port}`, crossBase: cross, close: () => server.close() }
}
