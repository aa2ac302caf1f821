/**
 * `tabmux native-host`: what Chrome starts when the extension opens its native port.
 * Chrome's native-messaging framing on stdio (a 32-bit length in native byte order,
 * then JSON). It tells the extension the user's secret (creating it when missing) and
 * the ports of the user's servers from the registry, again whenever either changes
 * (checked every second), until Chrome closes stdin. stdout is the channel: nothing
 * else is written there. It reads nothing from the extension but the end of stdin.
 */
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import { type HostMessage } from "../protocol/index.js"
import { portsDir } from "../server/RuntimeDir.js"
import * as UserSecret from "../server/UserSecret.js"

const send = (message: HostMessage) =>
  new Promise<void>((resolve) => {
    const body = Buffer.from(JSON.stringify(message), "utf8")
    const header = Buffer.alloc(4)
    if (Os.endianness() === "LE") header.writeUInt32LE(body.length)
    else header.writeUInt32BE(body.length)
    process.stdout.write(Buffer.concat([header, body]), () => resolve())
  })

/** Ports that have a registry record (`<port>.json`); the extension proves each server anyway. */
const registeredPorts = (dir: string): Array<number> => {
  try {
    return Fs.readdirSync(portsDir(dir))
      .flatMap((name) => (/^\d{1,5}\.json$/.test(name) ? [Number(name.slice(0, -5))] : []))
      .filter((p) => p >= 1 && p <= 65535)
      .sort((a, b) => a - b)
  } catch {
    return []
  }
}

export const nativeHost = (dir: string) =>
  Effect.async<void>((resume) => {
    let lastSecret = ""
    let lastPorts: string | undefined
    let busy = false
    const tick = async () => {
      if (busy) return
      busy = true
      try {
        const secret = await Effect.runPromise(Effect.either(UserSecret.readOrCreate(dir)))
        if (secret._tag === "Left") {
          if (lastSecret !== secret.left.message) await send({ type: "error", message: secret.left.message })
          lastSecret = secret.left.message
        } else if (secret.right !== lastSecret) {
          lastSecret = secret.right
          await send({ type: "secret", secret: secret.right })
        }
        const ports = registeredPorts(dir)
        if (ports.join() !== lastPorts) {
          lastPorts = ports.join()
          await send({ type: "servers", ports })
        }
      } finally {
        busy = false
      }
    }
    void tick()
    const timer = setInterval(() => void tick(), 1000)
    const done = () => {
      clearInterval(timer)
      resume(Effect.void)
    }
    process.stdin.on("data", () => {})
    process.stdin.once("end", done)
    process.stdin.once("close", done)
    process.stdout.once("error", done)
    return Effect.sync(() => clearInterval(timer))
  })
