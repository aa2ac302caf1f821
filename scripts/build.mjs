// Builds what runs outside tsc's output:
// - dist/tabmux.mjs: the CLI in one file. An AI client starts `tabmux` for every session;
//   loading Effect's modules one by one costs ~2 s there, the bundle ~0.5 s. What only some
//   runs need (the Redis client of --lock-backend) is split into dist/chunks/, loaded when used.
// - dist/extension/: the unpacked Chrome extension (manifest + bundled service worker).
import { build } from "esbuild"
import * as Fs from "node:fs"

Fs.rmSync("dist/chunks", { recursive: true, force: true })
await build({
  entryPoints: { tabmux: "src/cli/main.ts" },
  outdir: "dist",
  outExtension: { ".js": ".mjs" },
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // Minified: less to read and parse at every start (an AI client starts one per session).
  minify: true,
  sourcemap: "linked",
  logLevel: "warning",
  // Some dependencies are CommonJS and call require(): give the ESM bundle one.
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __tabmuxRequire } from 'node:module'; const require = __tabmuxRequire(import.meta.url);" }
})

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
