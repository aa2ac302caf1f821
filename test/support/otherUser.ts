/**
 * A real second Unix user for attacks another local user could make. Created (a system
 * user, no home, no shell) when the tests run as root, as CI does; otherwise `otherUser`
 * is `undefined` and the cross-user cases are skipped, saying why.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

export const OTHER = "tabmux-other"

export const otherUser = ((): string | undefined => {
  if (process.getuid?.() !== 0) return undefined
  try {
    ChildProcess.execFileSync("id", ["-u", OTHER], { stdio: "ignore" })
  } catch {
    try {
      ChildProcess.execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OTHER], { stdio: "ignore" })
    } catch {
      return undefined
    }
  }
  return OTHER
})()
if (otherUser === undefined) console.log("cross-user attacks skipped: they need root to create a second Unix user")

const idOf = (flag: "-u" | "-g") => ChildProcess.execFileSync("id", [flag, OTHER], { encoding: "utf8" }).trim()

/**
 * Runs `node args` as the other user. Through `setpriv` and `env`, which both exec: the
 * child is node itself, so killing it kills the attacker (`runuser` forks, and killing
 * it left its child running for the rest of the run).
 */
export const asOther = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  ChildProcess.spawn("setpriv", [
    `--reuid=${idOf("-u")}`, `--regid=${idOf("-g")}`, "--clear-groups", "--",
    "env", `HOME=/`, `USER=${OTHER}`, `LOGNAME=${OTHER}`, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), process.execPath, ...args
  ], { stdio: ["pipe", "pipe", "pipe"] })

/** A folder the other user owns (for its runtime directory and what the attacker records). */
export const otherDir = (prefix: string) => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))
  ChildProcess.execFileSync("chown", [OTHER, dir])
  Fs.chmodSync(dir, 0o700)
  return dir
}

export const ATTACKER = Path.resolve("test/support/attacker.mjs")

/** What the attacker recorded: one JSON value a line. */
export const readLines = (file: string): Array<any> =>
  Fs.existsSync(file) ? Fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)) : []
