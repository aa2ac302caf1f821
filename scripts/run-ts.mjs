// Runs a TypeScript script of this repository: bundled with esbuild (packages stay
// external) into .bench/, then run with node. Usage: node scripts/run-ts.mjs <file.ts> [args...]
import * as ChildProcess from "node:child_process"
import * as Path from "node:path"
import * as esbuild from "esbuild"

export const runTs = async (file, args = []) => {
  const outfile = Path.join(".bench", `${Path.basename(file, ".ts")}.mjs`)
  await esbuild.build({ entryPoints: [file], bundle: true, platform: "node", format: "esm", packages: "external", outfile, logLevel: "warning" })
  return new Promise((resolve) => ChildProcess.spawn(process.execPath, [outfile, ...args], { stdio: "inherit" }).once("exit", resolve))
}

if (import.meta.url === `file://${Path.resolve(process.argv[1] ?? "")}`) {
  const [file, ...args] = process.argv.slice(2)
  if (!file) throw new Error("usage: node scripts/run-ts.mjs <file.ts> [args...]")
  process.exitCode = (await runTs(file, args)) === 0 ? 0 : 1
}
