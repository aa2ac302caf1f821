// Builds what runs outside tsc's output:
// - dist/tabmux.cjs: the CLI in one file. An AI client starts `tabmux` for every session;
//   loading Effect's modules one by one costs ~2 s there, the bundle ~0.5 s. Commands other
//   than the server, and the Redis client of --lock-backend, are evaluated only when used.
// - dist/tabmux.mjs: the executable, which runs that bundle with V8's code cache (src/cli/bin.ts).
// - dist/extension/: the unpacked Chrome extension (manifest + bundled service worker).
import { build } from "esbuild"
import { icon } from "./icon.mjs"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"

Fs.rmSync("dist/chunks", { recursive: true, force: true })
await build({
  entryPoints: ["src/cli/main.ts"],
  outfile: "dist/tabmux.cjs",
  bundle: true,
  platform: "node",
  // CommonJS: Node 20 caches compiled code only for scripts (see src/cli/bin.ts).
  format: "cjs",
  target: "node20",
  // Minified: less to read and parse at every start.
  minify: true,
  sourcemap: "linked",
  logLevel: "warning",
  define: { "import.meta.url": "__tabmuxModuleUrl" },
  banner: { js: "const __tabmuxModuleUrl = require('node:url').pathToFileURL(__filename).href;" }
})
await build({
  entryPoints: ["src/cli/bin.ts"],
  outfile: "dist/tabmux.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  define: { BUNDLE_SHA256: JSON.stringify(Crypto.createHash("sha256").update(Fs.readFileSync("dist/tabmux.cjs")).digest("hex")) },
  banner: { js: "#!/usr/bin/env node" }
})
Fs.chmodSync("dist/tabmux.mjs", 0o755)

Fs.rmSync("dist/extension", { recursive: true, force: true })
await build({
  entryPoints: ["extension/src/background.ts"],
  outfile: "dist/extension/background.js",
  bundle: true,
  platform: "browser",
  format: "esm",
  target: "chrome116",
  // Minified: the worker is parsed again at every start (Chrome stops idle workers).
  minify: true,
  sourcemap: "linked",
  logLevel: "warning"
})
for (const page of ["status", "options"]) {
  await build({
    entryPoints: [`extension/src/${page}-page.ts`],
    outfile: `dist/extension/${page}.js`,
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "chrome116",
    minify: true,
    logLevel: "warning"
  })
}
for (const file of ["manifest.json", "status.html", "options.html"]) Fs.copyFileSync(`extension/${file}`, `dist/extension/${file}`)
for (const size of [16, 32, 48, 128]) Fs.writeFileSync(`dist/extension/icon-${size}.png`, icon(size))
