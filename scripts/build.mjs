// Bundles the CLI into one file: an AI client starts `tabmux` for every session, and
// loading Effect's modules one by one costs ~2 s there, the bundle ~0.4 s.
import { build } from "esbuild"

await build({
  entryPoints: ["src/cli/main.ts"],
  outfile: "dist/tabmux.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  logLevel: "warning",
  // Some dependencies are CommonJS and call require(): give the ESM bundle one.
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __tabmuxRequire } from 'node:module'; const require = __tabmuxRequire(import.meta.url);" }
})
