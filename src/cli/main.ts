/**
 * The `tabmux` command. With no subcommand it is the MCP server over stdio (what an
 * AI client starts); `status` and `doctor` are for people.
 */
import { CliConfig, Command, Options, ValidationError } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Config, Console, Duration, Effect, Option } from "effect"
import * as Path from "node:path"
import * as ServerConfig from "../server/Config.js"
import { defaultOrigin, extensionDir, packageVersion } from "../server/Extension.js"
import * as Logging from "../server/Logging.js"
import { browser, defaultProfile, lockLayer } from "./browser.js"
import { demo } from "./demo.js"
import { doctor } from "./doctor.js"
import { nativeHost } from "./nativeHost.js"
import * as NativeHost from "../server/NativeHost.js"
import * as UserSecret from "../server/UserSecret.js"
import * as Flags from "./options.js"
import { serve } from "./serve.js"
import { status } from "./status.js"

const allowOrigin = Options.text("allow-origin").pipe(
  Options.withDescription("Also accept WebSocket connections from this exact Origin (repeatable). Env TABMUX_ALLOW_ORIGIN, comma-separated."),
  Options.repeated
)
const connectWait = Options.float("connect-wait").pipe(
  Options.withDescription("Seconds a tool call waits for the extension to connect before failing with advice. Env TABMUX_CONNECT_WAIT; default 5."),
  Options.withFallbackConfig(Config.number("TABMUX_CONNECT_WAIT")),
  Options.withDefault(5)
)
const exclusive = Options.boolean("exclusive").pipe(
  Options.withDescription("Refuse to start while another exclusive tabmux server runs for this user. Env TABMUX_EXCLUSIVE=1.")
)
const lockStrategy = Options.choice("lock-strategy", ["auto", "kernel", "directory"]).pipe(
  Options.withDescription("How single-instance locks are held: kernel (Linux abstract socket / Windows pipe), directory, or auto. Env TABMUX_LOCK_STRATEGY; default auto."),
  Options.withFallbackConfig(Config.literal("auto", "kernel", "directory")("TABMUX_LOCK_STRATEGY")),
  Options.withDefault("auto" as const)
)
const lockBackend = Options.text("lock-backend").pipe(
  Options.withDescription("Hold the --exclusive lock in Redis, shared by several machines: redis://[user:password@]host:port[/db]. Env TABMUX_LOCK_BACKEND; default: the local lock."),
  Options.withFallbackConfig(Config.string("TABMUX_LOCK_BACKEND")),
  Options.optional
)
const onDisconnect = Options.choice("on-disconnect", ["close", "release", "keep"]).pipe(
  Options.withDescription("What happens to this agent's tabs when it goes: close them, release them to you (ungrouped), or keep them for --keep-grace seconds so a reconnect or `--resume` gets them back. Env TABMUX_ON_DISCONNECT; default close."),
  Options.withFallbackConfig(Config.literal("close", "release", "keep")("TABMUX_ON_DISCONNECT")),
  Options.withDefault("close" as const)
)
const keepGrace = Options.float("keep-grace").pipe(
  Options.withDescription("With --on-disconnect keep: seconds the tabs wait for their server to come back. Env TABMUX_KEEP_GRACE; default 60."),
  Options.withFallbackConfig(Config.number("TABMUX_KEEP_GRACE")),
  Options.withDefault(60)
)
const resume = Options.text("resume").pipe(
  Options.withDescription("Take over the kept tabs of an earlier server: its token, as `tabmux status` showed it. Env TABMUX_RESUME."),
  Options.withFallbackConfig(Config.string("TABMUX_RESUME")),
  Options.optional
)
const snapshotAfterAction = Options.choice("snapshot-after-action", ["full", "none"]).pipe(
  Options.withDescription("Whether each page action (click, type, ...) answers with a fresh snapshot of the page (full), or only a short report (none). Env TABMUX_SNAPSHOT_AFTER_ACTION; default full."),
  Options.withFallbackConfig(Config.literal("full", "none")("TABMUX_SNAPSHOT_AFTER_ACTION")),
  Options.withDefault("full" as const)
)
const outputDir = Options.directory("output-dir", { exists: "either" }).pipe(
  Options.withDescription("Where screenshots and PDFs go by default, and where relative paths lead. Env TABMUX_OUTPUT_DIR; default output/ in the runtime directory (private)."),
  Options.withFallbackConfig(Config.string("TABMUX_OUTPUT_DIR")),
  Options.optional
)
const allowPath = Options.directory("allow-path", { exists: "yes" }).pipe(
  Options.withDescription(
    "Also let agents save to and upload from this directory, besides the MCP client's roots and the output directory (repeatable). Env TABMUX_ALLOW_PATH, separated like PATH."
  ),
  Options.repeated
)
const allowFileUrls = Options.boolean("allow-file-urls").pipe(
  Options.withDescription("Let agents open and drive file: URLs (off by default: agents only drive web content). Env TABMUX_ALLOW_FILE_URLS=1.")
)
const staleAfter = Options.float("stale-after").pipe(
  Options.withDescription("Seconds without heartbeat after which a live process's record or lock is reported as hung. Env TABMUX_STALE_AFTER; default 15."),
  Options.withFallbackConfig(Config.number("TABMUX_STALE_AFTER")),
  Options.withDefault(15)
)

/** Prints a failure as one clear message on stderr and exits non-zero; never a stack trace for expected errors. */
const reportFailure = <A, E extends { readonly message: string }, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.catchAll((e) =>
      Console.error(`tabmux: ${e.message}`).pipe(Effect.zipRight(Effect.sync(() => {
        process.exitCode = 1
      })))
    )
  )

const parsePorts = (text: string) => {
  const range = ServerConfig.parsePortRange("--ports / TABMUX_PORTS", text)
  return range instanceof ServerConfig.BadConfig ? Effect.fail(range) : Effect.succeed(range)
}

const withLogging = (level: Logging.LevelName, file: Option.Option<string>) =>
  Effect.provide(Logging.layer({ level: Logging.levelOf(level), file: Option.getOrUndefined(file) }))

const rootOptions = {
  ports: Flags.ports,
  dir: Flags.dir,
  allowOrigin,
  connectWait,
  exclusive,
  lockStrategy,
  lockBackend,
  staleAfter,
  onDisconnect,
  keepGrace,
  resume,
  snapshotAfterAction,
  outputDir,
  allowPath,
  allowFileUrls,
  logLevel: Flags.logLevel,
  logFile: Flags.logFile
}

const root = Command.make(
  "tabmux",
  rootOptions,
  (flags) =>
    Effect.gen(function*() {
      const ports = yield* parsePorts(flags.ports)
      const extra = (process.env.TABMUX_ALLOW_ORIGIN ?? "").split(",").map((s) => s.trim()).filter(Boolean)
      const config = ServerConfig.make({
        ports,
        dir: Flags.resolveDir(flags.dir),
        allowOrigins: [defaultOrigin(), ...flags.allowOrigin, ...extra],
        connectWait: Duration.seconds(flags.connectWait),
        staleAfter: Duration.seconds(flags.staleAfter),
        exclusive: Flags.flagOrEnv(flags.exclusive, "TABMUX_EXCLUSIVE"),
        lockStrategy: flags.lockStrategy,
        lockBackend: Option.getOrUndefined(flags.lockBackend),
        serverVersion: packageVersion(),
        onDisconnect: flags.onDisconnect,
        keepGrace: Duration.seconds(flags.keepGrace),
        resume: Option.getOrUndefined(flags.resume),
        snapshotAfterAction: flags.snapshotAfterAction,
        outputDir: Option.getOrUndefined(flags.outputDir),
        allowPaths: [...flags.allowPath, ...(process.env.TABMUX_ALLOW_PATH ?? "").split(Path.delimiter).filter(Boolean)],
        allowFileUrls: Flags.flagOrEnv(flags.allowFileUrls, "TABMUX_ALLOW_FILE_URLS")
      })
      // Zero clicks: the extension learns the user's secret from the native host. A server on
      // the default directory installs it when missing (one with --dir leaves the user's setup alone).
      if (Option.isNone(flags.dir)) {
        yield* NativeHost.ensureInstalled(config.dir).pipe(
          Effect.flatMap((installed) =>
            installed.length === 0 ? Effect.void : Effect.logInfo(
              `installed the tabmux native-messaging host for ${installed.join("; ")} (reload the tabmux extension once if it says "not paired"; \`tabmux uninstall\` removes it)`
            )
          ),
          Effect.catchAll((e) => Effect.logWarning(`could not install the native-messaging host: ${e.message}; run \`tabmux install\`, or pair with \`tabmux pair\``))
        )
      }
      yield* serve(config)
    }).pipe(reportFailure, withLogging(flags.logLevel, flags.logFile))
).pipe(Command.withDescription("MCP server over stdio that lets several AI agents share one real Chrome, each in its own tabs."))

const statusCommand = Command.make(
  "status",
  { dir: Flags.dir, staleAfter, json: Flags.json },
  (flags) => status({ dir: Flags.resolveDir(flags.dir), staleAfter: Duration.seconds(flags.staleAfter), json: flags.json })
).pipe(Command.withDescription("List running tabmux servers (port, pid, client, uptime, extension) and sweep stale records."))

const doctorCommand = Command.make(
  "doctor",
  { dir: Flags.dir, ports: Flags.ports, staleAfter, lockStrategy },
  (flags) =>
    Effect.gen(function*() {
      const healthy = yield* doctor({
        dir: Flags.resolveDir(flags.dir),
        ports: yield* parsePorts(flags.ports),
        staleAfter: Duration.seconds(flags.staleAfter),
        lockStrategy: flags.lockStrategy
      })
      if (!healthy) process.exitCode = 1
    }).pipe(reportFailure, withLogging("warning", Option.none()))
).pipe(Command.withDescription("Check the runtime directory, port registry, port range, locks, browser and extension."))

const demoCommand = Command.make(
  "demo",
  { headed: Options.boolean("headed").pipe(Options.withDescription("Show the browser window (where a display exists).")) },
  (flags) => demo({ headed: flags.headed }).pipe(reportFailure)
).pipe(Command.withDescription("Two scripted agents sharing one Chromium (started for the demo, headless by default), narrated; screenshots saved."))

const browserCommand = Command.make(
  "browser",
  {
    profile: Options.directory("profile", { exists: "either" }).pipe(
      Options.withDescription(`The browser profile to use (default ${defaultProfile()}); one tabmux browser per profile.`),
      Options.optional
    ),
    headless: Options.boolean("headless").pipe(Options.withDescription("Run without a window.")),
    dir: Flags.dir,
    ports: Flags.ports
  },
  (flags) =>
    Effect.flatMap(parsePorts(flags.ports), (ports) =>
      browser({
        profile: Option.getOrElse(flags.profile, () => defaultProfile()),
        headless: flags.headless,
        dir: Flags.resolveDir(flags.dir),
        ports: ServerConfig.formatRange(ports)
      })).pipe(Effect.provide(lockLayer(Flags.resolveDir(flags.dir))), reportFailure)
).pipe(Command.withDescription("Start Chromium/Chrome with the tabmux extension in a dedicated profile (not your everyday one)."))

const nativeHostCommand = Command.make("native-host", { dir: Flags.dir, ports: Options.text("ports").pipe(Options.optional) }, (flags) =>
  Effect.gen(function*() {
    const range = Option.isSome(flags.ports) ? yield* parsePorts(flags.ports.value) : undefined
    yield* nativeHost(Flags.resolveDir(flags.dir), range)
  }).pipe(reportFailure)).pipe(
  Command.withDescription("The native-messaging host the browser starts for the tabmux extension (not for people to run).")
)

const installCommand = Command.make("install", { dir: Flags.dir }, (flags) =>
  Effect.gen(function*() {
    const dir = Flags.resolveDir(flags.dir)
    yield* UserSecret.readOrCreate(dir)
    const result = yield* NativeHost.install({ runtimeDir: dir })
    yield* Console.log(`installed the tabmux native-messaging host (launcher ${result.launcher}, runtime directory ${dir}) for:`)
    for (const line of result.installed) yield* Console.log(`  ${line}`)
    yield* Console.log("Reload the tabmux extension (chrome://extensions) if it was already running.")
  }).pipe(reportFailure)).pipe(
    Command.withDescription("Install the native-messaging host for Chrome, Chromium, Edge and Brave, so the extension pairs with your servers with no clicks.")
  )

const uninstallCommand = Command.make("uninstall", {}, () =>
  Effect.gen(function*() {
    const removed = yield* NativeHost.uninstall
    yield* Console.log(removed.length === 0 ? "no native-messaging host was installed" : `removed:\n${removed.map((r) => `  ${r}`).join("\n")}`)
  }).pipe(reportFailure)).pipe(Command.withDescription("Remove the native-messaging host that `tabmux install` (or a server) installed."))

const pairCommand = Command.make("pair", { dir: Flags.dir }, (flags) =>
  Effect.gen(function*() {
    const dir = Flags.resolveDir(flags.dir)
    const secret = yield* UserSecret.readOrCreate(dir)
    yield* Console.log(
      `Pairing token for the tabmux extension (only where the native host cannot run; keep it private, it is your secret):\n\n  ${secret}\n\n` +
        "Paste it in the extension's options page (chrome://extensions → tabmux → Extension options → Pairing). " +
        `It stays valid until ${UserSecret.secretPath(dir)} is removed.`
    )
  }).pipe(reportFailure)).pipe(Command.withDescription("Print the one-time pairing token for a browser where the native-messaging host cannot run."))

const extensionPathCommand = Command.make("extension-path", {}, () => Console.log(extensionDir)).pipe(
  Command.withDescription("Print the folder to load as an unpacked extension (chrome://extensions, Developer mode, Load unpacked).")
)

const cli = Command.run(Command.withSubcommands(root, [
  statusCommand,
  doctorCommand,
  demoCommand,
  browserCommand,
  extensionPathCommand,
  installCommand,
  uninstallCommand,
  pairCommand,
  nativeHostCommand
]), {
  name: "tabmux",
  version: packageVersion()
})

/** Colour only for a terminal that wants it: piped, or under NO_COLOR, help and tables are plain text. */
const plain = !process.stdout.isTTY || (process.env.NO_COLOR ?? "") !== ""
const stripAnsi = (a: unknown) => (typeof a === "string" ? a.replace(/\u001b\[[0-9;]*m/g, "") : a)
const plainConsole = Effect.map(Effect.console, (c): Console.Console =>
  Object.assign(Object.create(c) as Console.Console, {
    log: (...args: Array<unknown>) => c.log(...args.map(stripAnsi)),
    error: (...args: Array<unknown>) => c.error(...args.map(stripAnsi)),
    unsafe: Object.assign(Object.create(c.unsafe) as Console.UnsafeConsole, {
      log: (...args: Array<unknown>) => c.unsafe.log(...args.map(stripAnsi)),
      error: (...args: Array<unknown>) => c.unsafe.error(...args.map(stripAnsi))
    })
  }))

const USAGE = "usage: tabmux [options] (the MCP server) | tabmux <status|doctor|demo|browser|install|uninstall|pair|extension-path> [options]; see tabmux --help"

/** Options the server itself takes (before any command), as typed on the command line. */
const rootFlags = new Set(["--help", "-h", "--version", ...Object.keys(rootOptions).map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`)])

/** An unknown option of the server is named on one line, with the usage, exit code 2 (not taken for a command). */
const unknownRootFlag = (argv: ReadonlyArray<string>): string | undefined => {
  for (const arg of argv.slice(2)) {
    if (!arg.startsWith("-")) return undefined
    const name = arg.split("=")[0]!
    if (!rootFlags.has(name)) return name
  }
  return undefined
}

const unknown = unknownRootFlag(process.argv)
const main = unknown !== undefined
  ? Effect.sync(() => {
    process.stderr.write(`tabmux: unknown option ${unknown}\n${USAGE}\n`)
    process.exitCode = 2
  })
  : cli(process.argv).pipe(
    // @effect/cli has said what was wrong (one line); the usage follows, and exit code 2.
    Effect.catchIf(ValidationError.isValidationError, () =>
      Effect.sync(() => {
        process.stderr.write(`${USAGE}\n`)
        process.exitCode = 2
      }))
  )

main.pipe(
  (effect) => (plain ? Effect.flatMap(plainConsole, (c) => Effect.withConsole(effect, c)) : effect),
  Effect.provide(CliConfig.layer({ showBuiltIns: false, showTypes: false })),
  Effect.provide(NodeContext.layer),
  Effect.provide(Logging.stderrOnly),
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
