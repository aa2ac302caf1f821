/**
 * Who is on the other end of a loopback TCP socket, as the kernel tells it (Linux:
 * /proc/net/tcp and tcp6, whose `uid` column is the socket's owner). Loopback is not a
 * boundary: any local user can connect to our port, or listen on one the extension
 * dials. Elsewhere, or when /proc cannot be read, nothing is known and the same-user
 * proof and the sealed session stand alone.
 */
import * as Fs from "node:fs"

interface Row {
  readonly localPort: number
  readonly remotePort: number
  readonly state: string
  readonly uid: number
}

const portOf = (address: string) => parseInt(address.split(":")[1] ?? "", 16)

const rows = (): Array<Row> => {
  const found: Array<Row> = []
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = ""
    try {
      text = Fs.readFileSync(file, "utf8")
    } catch {
      continue
    }
    for (const line of text.split("\n").slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid ...
      const f = line.trim().split(/\s+/)
      if (f.length < 8) continue
      found.push({ localPort: portOf(f[1]!), remotePort: portOf(f[2]!), state: f[3]!, uid: Number(f[7]) })
    }
  }
  return found
}

const LISTEN = "0A"

/** The uid listening on each loopback TCP port (Linux; empty elsewhere or when unreadable). */
export const listenerUids = (): ReadonlyMap<number, number> =>
  new Map(rows().filter((r) => r.state === LISTEN).map((r) => [r.localPort, r.uid]))

/**
 * The uid owning the client end of a connection accepted on `port` from `remotePort`
 * (the row whose local port is the client's and whose remote port is ours), or
 * `undefined` when the system does not say.
 */
export const clientUid = (port: number, remotePort: number): number | undefined =>
  rows().find((r) => r.state !== LISTEN && r.localPort === remotePort && r.remotePort === port)?.uid

/** The name of a uid, from /etc/passwd, when it has one. */
export const userName = (uid: number): string | undefined => {
  try {
    return Fs.readFileSync("/etc/passwd", "utf8").split("\n").map((l) => l.split(":")).find((f) => f[2] === String(uid))?.[0]
  } catch {
    return undefined
  }
}
