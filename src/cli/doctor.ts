/**
 * `tabmux doctor`: checks what tabmux needs and reports what is wrong with the fix.
 * Read-only: it never removes a record or a lock (`tabmux status` sweeps stale records).
 */
import { Clock, Console, Duration, Effect, Option } from "effect"
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Chromium from "../server/Chromium.js"
import { formatRange, portsOf, type PortRange } from "../server/Config.js"
import { defaultOrigin, extensionDir } from "../server/Extension.js"
import * as InstanceLock from "../server/InstanceLock.js"
import * as NativeHost from "../server/NativeHost.js"
import { listenerUids } from "../server/LoopbackPeers.js"
import * as UserSecret from "../server/UserSecret.js"
import * as PortRegistry from "../server/PortRegistry.js"
import { ensurePrivateDir, locksDir } from "../server/RuntimeDir.js"

type Check = { readonly ok: boolean | "warn"; readonly title: string; readonly detail: ReadonlyArray<string> }

const inUse = (port: number) =>
  Effect.async<boolean>((resume) => {
    const socket = Net.connect({ port, host: "127.0.0.1" })
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed(true))
    })
    socket.once("error", () => resume(Effect.succeed(false)))
  })

const lockNames = (dir: string) =>
  Effect.promise(() => Fs.readdir(locksDir(dir)).catch(() => [] as Array<string>)).pipe(
    Effect.map((names) => [...new Set(names.flatMap((n) => /^([^.][^/]*)\.lockd?$/.exec(n)?.[1] ?? []))].sort())
  )

export const doctor = (options: {
  readonly dir: string
  readonly ports: PortRange
  readonly staleAfter: Duration.Duration
  readonly lockStrategy: "auto" | "kernel" | "directory"
}) =>
  Effect.gen(function*() {
    // Before any check reads it (the lock check does): whether the secret was there already.
    const existed = yield* Effect.promise(() => Fs.access(UserSecret.secretPath(options.dir)).then(() => true, () => false))
    const checks: Array<Check> = []
    const now = yield* Clock.currentTimeMillis

    const major = Number(process.versions.node.split(".")[0])
    checks.push({ ok: major >= 20, title: `Node.js ${process.versions.node}`, detail: major >= 20 ? [] : ["tabmux needs Node.js 20.10 or newer."] })

    const dirOk = yield* Effect.either(ensurePrivateDir(options.dir))
    checks.push({
      ok: dirOk._tag === "Right",
      title: `runtime directory ${options.dir}`,
      detail: dirOk._tag === "Left" ? [dirOk.left.message] : ["private (0700, yours)"]
    })

    const entries = yield* PortRegistry.list(options.dir, now, options.staleAfter)
    const count = (v: PortRegistry.Verdict) => entries.filter((e) => Option.contains(e.verdict, v)).length
    const stale = count("dead") + count("reused")
    const unreadable = entries.filter((e) => Option.isNone(e.record))
    checks.push({
      ok: stale + unreadable.length === 0 && count("hung") === 0 ? true : "warn",
      title: `port registry: ${count("live")} live, ${count("hung")} hung, ${stale} stale, ${unreadable.length} unreadable`,
      detail: [
        ...(stale > 0 ? ["`tabmux status` sweeps stale records."] : []),
        ...entries.filter((e) => Option.contains(e.verdict, "hung")).map((e) =>
          `port ${e.port}: pid ${Option.getOrThrow(e.record).pid} is alive but its heartbeat stopped (hung?)`
        ),
        ...unreadable.map((e) => `not a tabmux record: ${e.path} (remove it if no tabmux server uses port ${e.port})`)
      ]
    })

    const range = portsOf(options.ports)
    const used = yield* Effect.filter(range, inUse, { concurrency: 16 })
    const foreign = used.filter((p) => !entries.some((e) => e.port === p && Option.isSome(e.record)))
    const uids = listenerUids()
    checks.push({
      ok: used.length < range.length ? (foreign.length > 0 ? "warn" : true) : false,
      title: `port range ${formatRange(options.ports)}: ${used.length} of ${range.length} in use`,
      detail: [
        ...(foreign.length > 0 ? [`in use by other programs: ${foreign.map((p) => {
          const uid = uids.get(p)
          return uid === undefined ? String(p) : `${p} (uid ${uid}${uid === process.getuid?.() ? ", you" : ", ANOTHER USER"})`
        }).join(", ")}`] : []),
        ...(used.length === range.length ? ["No free port: stop unused servers or widen the range (--ports / TABMUX_PORTS)."] : [])
      ]
    })

    const lockResult = yield* Effect.either(Effect.gen(function*() {
      const lock = yield* InstanceLock.InstanceLock
      return yield* Effect.forEach(yield* lockNames(options.dir), (name) =>
        Effect.map(lock.inspect(name), (state) =>
          state._tag === "Held"
            ? `${name}: ${state.error.message}`
            : state.leftover.length > 0
            ? `${name}: free (leftover from a dead holder: ${state.leftover.join(", ")}; harmless, replaced on next use)`
            : `${name}: free`))
    }).pipe(Effect.provide(InstanceLock.layer({
      dir: options.dir,
      strategy: options.lockStrategy,
      heartbeatInterval: Duration.seconds(5),
      staleAfter: options.staleAfter
    }))))
    checks.push({
      ok: lockResult._tag === "Right" ? true : false,
      title: `locks (${InstanceLock.chooseStrategy(options.lockStrategy)} strategy)`,
      detail: lockResult._tag === "Right" ? (lockResult.right.length ? lockResult.right : ["none"]) : [lockResult.left.message]
    })

    const secret = yield* Effect.either(UserSecret.readOrCreate(options.dir))
    checks.push({
      ok: secret._tag === "Right",
      title: `user secret ${UserSecret.secretPath(options.dir)}`,
      detail: secret._tag === "Right"
        ? [`${existed ? "present" : "created now (it was missing)"}, 0600: servers and the extension prove to each other they are yours with it`]
        : [secret.left.message]
    })

    const host = yield* NativeHost.check
    const installedFor = host.browsers.filter((b) => b.installed).map((b) => b.browser)
    const otherDir = host.runtimeDir !== undefined && host.runtimeDir !== options.dir
    checks.push({
      ok: host.ok && !otherDir ? true : "warn",
      title: `native-messaging host: ${installedFor.length > 0 ? `installed for ${installedFor.join(", ")}` : "not installed"}`,
      detail: [
        ...(installedFor.length > 0 ? [`launcher ${host.launcher}`] : [
          "The extension cannot pair with your servers with no clicks: run `tabmux install` (a server on the default directory does it itself),",
          "or pair once with `tabmux pair` (token pasted into the extension's options)."
        ]),
        ...(installedFor.length > 0 && !host.launcherOk ? [`the launcher is missing or does not run this tabmux (${NativeHost.cliPath()}): run \`tabmux install\``] : []),
        ...(otherDir ? [`the host reads ${host.runtimeDir}, not ${options.dir}: servers on this directory are not paired; run \`tabmux install --dir ${options.dir}\``] : [])
      ]
    })

    const chromium = Chromium.find()
    checks.push({
      ok: chromium !== undefined ? true : "warn",
      title: chromium !== undefined ? `browser: ${chromium}` : "browser: no Chromium or Chrome found",
      detail: chromium !== undefined ? [] : [
        "Install one (Debian/Ubuntu: apt-get install chromium) or set CHROME_PATH. Looked at:",
        ...Chromium.candidates()
      ]
    })

    const origin = yield* Effect.try(() => defaultOrigin()).pipe(Effect.option)
    const built = yield* Effect.promise(() => Fs.access(`${extensionDir}/background.js`).then(() => true, () => false))
    checks.push({
      ok: Option.isSome(origin) && built,
      title: `extension folder ${extensionDir}`,
      detail: [
        ...(built ? ["load it in chrome://extensions (Developer mode, \"Load unpacked\")"] : ["not built: run `npm run build`"]),
        ...Option.match(origin, {
          onNone: () => ["manifest.json missing or without a key: reinstall tabmux."],
          onSome: (o) => [`allowed origin ${o}`]
        })
      ]
    })

    for (const c of checks) {
      yield* Console.log(`${c.ok === true ? "ok  " : c.ok === "warn" ? "warn" : "FAIL"}  ${c.title}`)
      for (const d of c.detail) yield* Console.log(`      ${d}`)
    }
    return checks.every((c) => c.ok !== false)
  })
