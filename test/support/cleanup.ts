/**
 * Global setup of the test run: whatever a test leaves behind, even one that failed
 * half-way, goes when the run ends. The temporary folders the run made (`tabmux-*` in the
 * temporary directory, with the secrets some hold), every process of the second Unix user
 * (only tests run as it), and that user itself when this run created it.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

/** `otherUser.ts`'s OTHER, not imported: importing that module creates the user. */
const OTHER = "tabmux-other"

/** The teardown for what appears in `tmp` and for `user` from now on. */
export const leftovers = (tmp: string, user: string) => {
  const temporary = () => new Set(Fs.readdirSync(tmp).filter((name) => name.startsWith("tabmux-")))
  const userExists = () => ChildProcess.spawnSync("id", ["-u", user], { stdio: "ignore" }).status === 0
  const before = temporary()
  const hadUser = userExists()
  return () => {
    if (userExists()) {
      ChildProcess.spawnSync("pkill", ["-KILL", "-u", user], { stdio: "ignore" })
      if (!hadUser) ChildProcess.spawnSync("userdel", [user], { stdio: "ignore" })
    }
    for (const name of temporary()) {
      if (!before.has(name)) Fs.rmSync(Path.join(tmp, name), { recursive: true, force: true })
    }
  }
}

export default function setup() {
  return leftovers(Os.tmpdir(), OTHER)
}
