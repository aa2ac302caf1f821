/**
 * `tabmux native-host`: what Chrome starts when the extension opens its native port.
 * Chrome's native-messaging framing on stdio (a 32-bit length in native byte order,
 * then JSON). It tells the extension the user's secret (creating it when missing) and
 * the ports of the user's servers from the registry, again whenever either changes:
 * the runtime and ports directories are watched, and read again every few seconds in
 * case a change was missed. It runs until Chrome closes stdin. stdout is the channel:
 * nothing else is written there. It reads nothing from the extension but the end of stdin.
 */
import { Effect, Either, Queue, Ref, Schedule } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import { type HostMessage, type PortRange } from "../protocol/index.js"
import { ensurePrivateDir, portsDir } from "../server/RuntimeDir.js"
import * as UserSecret from "../server/UserSecret.js"

/** How often the directories are read again even when no change was seen. */
const RESCAN = "5 seconds"

const send = (message: HostMessage) =>
  Effect.async<void>((resume) => {
    const body = Buffer.from(JSON.stringify(message), "utf8")
    const header = Buffer.alloc(4)
    if (Os.endianness() === "LE") header.writeUInt32LE(body.length)
    else header.writeUInt32BE(body.length)
    process.stdout.write(Buffer.concat([header, body]), () => resume(Effect.void))
  })

/** Ports that have a registry record (`<port>.json`); the extension proves each server anyway. */
const registeredPorts = (dir: string) =>
  Effect.try(() => Fs.readdirSync(portsDir(dir))).pipe(
    Effect.map((names) =>
      names
        .flatMap((name) => (/^\d{1,5}\.json$/.test(name) ? [Number(name.slice(0, -5))] : []))
        .filter((p) => p >= 1 && p <= 65535)
        .sort((a, b) => a - b)
    ),
    Effect.orElseSucceed(() => [] as Array<number>)
  )

/** Resolves when Chrome closes our stdin or stdout (the extension's port closed). */
const channelClosed = Effect.async<void>((resume) => {
  const done = () => resume(Effect.void)
  process.stdin.on("data", () => {})
  process.stdin.once("end", done)
  process.stdin.once("close", done)
  process.stdout.once("error", done)
})

export const nativeHost = (dir: string, range?: PortRange) =>
  Effect.scoped(Effect.gen(function*() {
    const last = yield* Ref.make({ secret: "", ports: undefined as string | undefined })

    const tell = Effect.gen(function*() {
      const seen = yield* Ref.get(last)
      const secret = yield* Effect.either(UserSecret.readOrCreate(dir))
      const said = Either.match(secret, { onLeft: (e) => e.message, onRight: (s) => s })
      if (said !== seen.secret) {
        yield* send(Either.isLeft(secret) ? { type: "error", message: said } : { type: "secret", secret: said })
      }
      const ports = yield* registeredPorts(dir)
      if (ports.join() !== seen.ports) yield* send({ type: "servers", ports })
      yield* Ref.set(last, { secret: said, ports: ports.join() })
    })

    // Watchers first, then the first reading: a change made meanwhile is not missed. A burst
    // of changes is read once (the queue keeps one wake-up).
    const wake = yield* Queue.sliding<void>(1)
    yield* Effect.ignore(Effect.zipRight(ensurePrivateDir(dir), ensurePrivateDir(portsDir(dir))))
    for (const path of [dir, portsDir(dir)]) {
      yield* Effect.acquireRelease(
        Effect.try(() => Fs.watch(path, () => Queue.unsafeOffer(wake, undefined)).on("error", () => {})),
        (watcher) => Effect.sync(() => watcher.close())
      ).pipe(Effect.ignore)
    }
    yield* Effect.forkScoped(Effect.repeat(Queue.offer(wake, undefined), Schedule.spaced(RESCAN)))
    if (range !== undefined) yield* send({ type: "range", first: range.first, last: range.last })
    yield* tell
    const changes = Effect.forever(Effect.zipRight(Queue.take(wake), tell))
    yield* Effect.raceFirst(changes, channelClosed)
  }))
