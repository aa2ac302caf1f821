// Runs benchmarks: each bench/<part>.ts is bundled with esbuild (packages stay external)
// into .bench/ and run with node. `node bench/run.mjs all` runs every part in turn.
// Usage: npm run build && node bench/run.mjs <part|all> [args...]
import * as ChildProcess from "node:child_process"
import * as esbuild from "esbuild"

const PARTS = ["footprint", "routing", "discovery", "tools", "scale"]
const [part = "all", ...args] = process.argv.slice(2)
const parts = part === "all" ? PARTS : [part]
for (const p of parts) {
  if (!PARTS.includes(p)) throw new Error(`unknown benchmark ${p}: one of ${PARTS.join(", ")}, or all`)
  await esbuild.build({ entryPoints: [`bench/${p}.ts`], bundle: true, platform: "node", format: "esm", packages: "external", outfile: `.bench/${p}.mjs`, logLevel: "warning" })
  console.log(`\n=== bench ${p} ===`)
  const code = await new Promise((resolve) => ChildProcess.spawn(process.execPath, [`.bench/${p}.mjs`, ...args], { stdio: "inherit" }).once("exit", resolve))
  if (code !== 0) process.exitCode = 1
}
