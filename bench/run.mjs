// Runs benchmarks: bench/<part>.ts, bundled and run by scripts/run-ts.mjs.
// Usage: npm run build && node bench/run.mjs <part|all> [args...]
import { runTs } from "../scripts/run-ts.mjs"

const PARTS = ["footprint", "routing", "discovery", "tools", "apps", "scale", "sessions"]
const [part = "all", ...args] = process.argv.slice(2)
for (const p of part === "all" ? PARTS : [part]) {
  if (!PARTS.includes(p)) throw new Error(`unknown benchmark ${p}: one of ${PARTS.join(", ")}, or all`)
  console.log(`\n=== bench ${p} ===`)
  if ((await runTs(`bench/${p}.ts`, args)) !== 0) process.exitCode = 1
}
