// Server start-up and idle memory: spawns the built CLI the way an MCP client does,
// times spawn → "listening" and reads the idle RSS from /proc (Linux). Prints a table,
// then one JSON line. Usage: npm run build && node bench/startup.mjs [runs]
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const runs = Number(process.argv[2] ?? 10)
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-bench-"))
Fs.chmodSync(dir, 0o700)
const rssMb = (pid) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(Fs.readFileSync(`/proc/${pid}/status`, "utf8"))
  return m ? Number(m[1]) / 1024 : NaN
}
const starts = []
const rss = []
for (let i = 0; i < runs; i++) {
  const t = process.hrtime.bigint()
  const child = ChildProcess.spawn(process.execPath, ["dist/tabmux.mjs", "--ports", "18750-18760"], {
    env: { ...process.env, TABMUX_DIR: dir }, stdio: ["pipe", "ignore", "pipe"]
  })
  let err = ""
  await new Promise((resolve, reject) => {
    child.stderr.on("data", (d) => { err += d; if (err.includes("listening on")) resolve() })
    child.once("exit", () => reject(new Error(err)))
  })
  starts.push(Number(process.hrtime.bigint() - t) / 1e6)
  await new Promise((r) => setTimeout(r, 1000))
  rss.push(rssMb(child.pid))
  child.stdin.end()
  await new Promise((r) => child.once("exit", r))
}
Fs.rmSync(dir, { recursive: true, force: true })
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
console.log(`server start-up, ${runs} runs`)
console.log(`spawn → listening   median ${med(starts).toFixed(0)} ms   max ${Math.max(...starts).toFixed(0)} ms`)
console.log(`idle RSS after 1 s  median ${med(rss).toFixed(1)} MB   max ${Math.max(...rss).toFixed(1)} MB`)
console.log(JSON.stringify({ bench: "startup", runs, node: process.version, startMedianMs: med(starts), rssMedianMb: med(rss), rssMaxMb: Math.max(...rss) }))
