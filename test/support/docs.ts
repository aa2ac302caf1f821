/**
 * Real pages nobody here wrote: the HTML documentation Debian packages install under
 * /usr/share/doc (Node.js's API reference, Valgrind's manual, libxslt's tutorial), served
 * from loopback as any static site would be. Used by the real-pages tests and the bench.
 */
import * as Fs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Path from "node:path"

export const DOC_ROOT = "/usr/share/doc"

/** Long reference pages with a table of contents (the first and largest first). */
const CANDIDATES = [
  "nodejs/api/fs.html",
  "nodejs/api/assert.html",
  "valgrind/html/manual-core.html",
  "libxslt1-dev/html/tutorial/libxslttutorial.html"
]

/** The candidate pages this machine has. */
export const docPages = (): ReadonlyArray<string> => CANDIDATES.filter((p) => Fs.existsSync(Path.join(DOC_ROOT, p)))

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css",
  ".js": "text/javascript",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".gif": "image/gif",
  ".woff2": "font/woff2"
}

export interface Docs {
  readonly base: string
  readonly close: () => void
}

/** Serves DOC_ROOT read-only on 127.0.0.1 (nothing outside it, no listings). */
export const serveDocs = async (): Promise<Docs> => {
  const server = Http.createServer((req, res) => {
    let file: string
    try {
      file = Path.resolve(DOC_ROOT, `.${decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)}`)
    } catch {
      res.writeHead(400).end()
      return
    }
    if (!file.startsWith(`${DOC_ROOT}/`) || !Fs.existsSync(file) || !Fs.statSync(file).isFile()) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found")
      return
    }
    res.writeHead(200, { "content-type": TYPES[Path.extname(file)] ?? "application/octet-stream" }).end(Fs.readFileSync(file))
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() }
}
