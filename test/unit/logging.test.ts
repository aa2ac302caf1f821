import { Effect, LogLevel } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import * as Logging from "../../src/server/Logging.js"

const dirs: Array<string> = []
const tempDir = () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tabmux-log-"))
  dirs.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of dirs.splice(0)) Fs.rmSync(dir, { recursive: true, force: true })
})

const logLines = (file: string, n: number, fileBytes?: number) =>
  Effect.runPromise(Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) => Effect.logWarning(`line ${i} ${"x".repeat(80)}`), { discard: true }).pipe(
    Effect.provide(Logging.layer({ level: LogLevel.Info, file, ...(fileBytes === undefined ? {} : { fileBytes }) }))
  ))

describe("log file", () => {
  it("is bounded: past its size it becomes <file>.1 and a new one starts; never more than twice the bound on disk", async () => {
    const file = Path.join(tempDir(), "tabmux.log")
    const write = process.stderr.write
    process.stderr.write = () => true
    try {
      await logLines(file, 2_000, 16 * 1024)
    } finally {
      process.stderr.write = write
    }
    expect(Fs.statSync(file).size).toBeLessThanOrEqual(16 * 1024)
    expect(Fs.statSync(`${file}.1`).size).toBeLessThanOrEqual(16 * 1024)
    expect(Fs.readFileSync(file, "utf8")).toContain("line 1999")
    expect(Fs.statSync(file).mode & 0o777).toBe(0o600)
  })

  it("is never written through a symlink, nor when another user owns it; it says so on stderr", async () => {
    const dir = tempDir()
    const target = Path.join(dir, "elsewhere")
    Fs.writeFileSync(target, "")
    Fs.symlinkSync(target, Path.join(dir, "link.log"))
    const said: Array<string> = []
    const write = process.stderr.write
    process.stderr.write = ((text: string) => said.push(String(text))) as any
    try {
      await logLines(Path.join(dir, "link.log"), 3)
      await logLines(Path.join(dir, "missing", "x.log"), 1)
    } finally {
      process.stderr.write = write
    }
    expect(Fs.readFileSync(target, "utf8")).toBe("")
    expect(said.join("")).toMatch(/link\.log cannot be opened/)
    expect(said.join("")).toMatch(/x\.log cannot be opened/)
  })
})
