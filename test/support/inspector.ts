/** The MCP Inspector's CLI (pinned devDependency), a client nobody here wrote: one run, its parsed JSON answer. */
import * as ChildProcess from "node:child_process"
import * as Path from "node:path"

/** It looks for its package.json from its own folder, so it runs there. */
const CLI_DIR = Path.resolve("node_modules/@modelcontextprotocol/inspector-cli/build")

export const inspector = (args: ReadonlyArray<string>) =>
  new Promise<any>((resolve, reject) => {
    const child = ChildProcess.spawn(process.execPath, ["cli.js", "--cli", ...args], { cwd: CLI_DIR, stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    let err = ""
    child.stdout.on("data", (d) => (out += d))
    child.stderr.on("data", (d) => (err += d))
    child.on("exit", (code) => {
      try {
        resolve(JSON.parse(out))
      } catch {
        reject(new Error(`inspector exited ${code}: ${out.slice(0, 500)} ${err.slice(0, 1500)}`))
      }
    })
  })
