/**
 * What `npm pack` ships works on its own: the tarball, installed into an empty project,
 * runs `tabmux --help` and answers an MCP client's tools/list; it carries the built
 * extension and no sources or source maps, installs no other package (the bin is one
 * bundle; the library's `effect`, `ws` and MCP SDK are optional peers) and stays small.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"
import { tools } from "../../src/server/tools/index.js"
import { tempRuntimeDir } from "../support/server.js"

/** Runs npm without blocking this worker (a blocked worker misses the test runner's calls). `pack` runs with --ignore-scripts: its `prepare` would rebuild dist under the other tests. */
const npm = (args: ReadonlyArray<string>, cwd: string) =>
  new Promise<string>((resolve, reject) => {
    ChildProcess.execFile("npm", [...args], { cwd, encoding: "utf8", env: { ...process.env, npm_config_audit: "false", npm_config_fund: "false" } }, (error, stdout, stderr) =>
      error ? reject(new Error(`npm ${args.join(" ")} failed:\n${stderr}`)) : resolve(stdout))
  })

describe("the npm package", () => {
  it("installs from its tarball and runs: --help, tools/list, the extension folder", { timeout: 240_000 }, async () => {
    const work = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-pack-"))
    const [packed] = JSON.parse(await npm(["pack", "--ignore-scripts", "--json", "--pack-destination", work], process.cwd())) as Array<{ filename: string; size: number; unpackedSize: number }>
    const tarball = packed!.filename
    // The README's figures are these (within 10%): they come from this command, not from memory.
    const readme = Fs.readFileSync("README.md", "utf8")
    const said = /ships the built server and extension \((\d+) kB, ([\d.]+) MB\s+installed/.exec(readme)
    expect(said, "README names the tarball's size").not.toBeNull()
    console.log(`tarball ${Math.round(packed!.size / 1e3)} kB, ${(packed!.unpackedSize / 1e6).toFixed(1)} MB unpacked; README says ${said![1]} kB, ${said![2]} MB`)
    expect(Math.abs(Number(said![1]) * 1e3 - packed!.size) / packed!.size).toBeLessThan(0.1)
    expect(Math.abs(Number(said![2]) * 1e6 - packed!.unpackedSize) / packed!.unpackedSize).toBeLessThan(0.1)
    expect(readme).toContain(`no dependencies, ${said![2]} MB)`)
    const app = Path.join(work, "app")
    Fs.mkdirSync(app)
    Fs.writeFileSync(Path.join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true }))
    await npm(["install", Path.join(work, tarball)], app)

    const installed = Path.join(app, "node_modules", "tabmux")
    const packages = Fs.readdirSync(Path.join(app, "node_modules")).filter((n) => !n.startsWith("."))
    expect(packages).toEqual(["tabmux"])
    const bytes = Number(ChildProcess.spawnSync("du", ["-sb", installed], { encoding: "utf8" }).stdout.split("\t")[0])
    console.log(`installed package: ${(bytes / 1e6).toFixed(1)} MB, ${packages.length} package`)
    expect(bytes).toBeLessThan(20e6)
    const bin = Path.join(installed, "dist", "tabmux.mjs")
    const help = ChildProcess.spawnSync(process.execPath, [bin, "--help"], { encoding: "utf8" })
    expect(help.status).toBe(0)
    expect(help.stdout).toContain("--ports")
    expect(Fs.existsSync(Path.join(app, "node_modules", ".bin", "tabmux"))).toBe(true)
    expect(JSON.parse(Fs.readFileSync(Path.join(installed, "dist", "extension", "manifest.json"), "utf8")).name).toBe("tabmux")
    const shipped = ChildProcess.spawnSync("find", [installed, "-name", "*.map", "-o", "-name", "*.ts", "-not", "-name", "*.d.ts"], { encoding: "utf8" }).stdout.trim()
    expect(shipped).toBe("")

    const client = new Client({ name: "package-test", version: "1.0.0" })
    await client.connect(new StdioClientTransport({
      command: process.execPath,
      args: [bin],
      env: { ...process.env, TABMUX_DIR: tempRuntimeDir(), TABMUX_PORTS: "18990-18999" } as Record<string, string>,
      stderr: "ignore"
    }))
    const listed = await client.listTools()
    expect(listed.tools.map((t) => t.name)).toEqual(tools.map((t) => t.name))
    await client.close()
    Fs.rmSync(work, { recursive: true, force: true })
  })
})
