/**
 * The `tabmux` command. With no command it is the MCP server over stdio (what an AI
 * client starts, once per session: only the server is loaded then); the commands are
 * for people, each loaded when asked for.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Duration, Effect, Either } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { GROUP_COLORS } from "../protocol/Frame.js"
import { parseOrigins } from "../protocol/WebContent.js"
import * as ServerConfig from "../server/Config.js"
import { defaultOrigin, extensionDir, packageVersion } from "../server/Extension.js"
import { readFileNoFollow } from "../server/Files.js"
import * as Logging from "../server/Logging.js"
import { directoryProblem } from "../server/OwnedPath.js"
import { privateFileProblem } from "../server/UserSecret.js"
import * as Flags from "./Flags.js"
import { HTTP_TOKEN, serve } from "./serve.js"

const portRange = (role: string) =>
  Flags.text({
    placeholder: "first-last",
    env: "TABMUX_PORTS",
    default: ServerConfig.formatRange(ServerConfig.DEFAULT_PORTS),
    description: `${role} Env TABMUX_PORTS; default ${ServerConfig.formatRange(ServerConfig.DEFAULT_PORTS)}.`
  })
const ports = portRange("Port range: a server claims its port from it, and the extension scans it (set both alike).")
const dir = Flags.path({
  placeholder: "directory",
  env: "TABMUX_DIR",
  default: ServerConfig.defaultDir(),
  description: `Per-user runtime directory for port records and locks (0700). Env TABMUX_DIR; default ${ServerConfig.defaultDir()}.`
})
const staleAfter = Flags.number({
  placeholder: "seconds",
  env: "TABMUX_STALE_AFTER",
  default: 15,
  description: "Seconds without heartbeat after which a live process's record or lock is reported as hung. Env TABMUX_STALE_AFTER; default 15."
})
const lockStrategy = Flags.choice({
  choices: ["auto", "kernel", "directory"],
  env: "TABMUX_LOCK_STRATEGY",
  default: "auto",
  description: "How single-instance locks are held: kernel (Linux abstract socket / Windows pipe), directory, or auto. Env TABMUX_LOCK_STRATEGY; default auto."
})

const serverFlags = {
  ports,
  dir,
  allowOrigin: Flags.list({
    placeholder: "origin",
    env: "TABMUX_ALLOW_ORIGIN",
    separator: ",",
    description: "Also accept WebSocket connections from this exact Origin. Env TABMUX_ALLOW_ORIGIN, comma-separated."
  }),
  connectWait: Flags.number({
    placeholder: "seconds",
    env: "TABMUX_CONNECT_WAIT",
    default: 5,
    description: "Seconds a tool call waits for the extension to connect before failing with advice. Env TABMUX_CONNECT_WAIT; default 5."
  }),
  exclusive: Flags.boolean({
    env: "TABMUX_EXCLUSIVE",
    description: "Refuse to start while another exclusive tabmux server runs for this user. Env TABMUX_EXCLUSIVE=1."
  }),
  lockStrategy,
  lockBackend: Flags.text({
    placeholder: "url",
    env: "TABMUX_LOCK_BACKEND",
    description: "Hold the --exclusive lock in Redis, shared by several machines: redis://[user:password@]host:port[/db]. Env TABMUX_LOCK_BACKEND; default: the local lock."
  }),
  lockBackendPasswordFile: Flags.text({
    placeholder: "file",
    env: "TABMUX_LOCK_BACKEND_PASSWORD_FILE",
    description: "Read the lock backend's password from this file (yours, not readable by others), not from the URL: a command line is visible to every user. Env TABMUX_LOCK_BACKEND_PASSWORD_FILE, or the password itself in TABMUX_LOCK_BACKEND_PASSWORD."
  }),
  staleAfter,
  onDisconnect: Flags.choice({
    choices: ["close", "release", "keep"],
    env: "TABMUX_ON_DISCONNECT",
    default: "close",
    description:
      "What happens to this agent's tabs when it goes: close them, release them to you (ungrouped), or keep them for --keep-grace seconds so a reconnect or `--resume` gets them back. Env TABMUX_ON_DISCONNECT; default close."
  }),
  keepGrace: Flags.number({
    placeholder: "seconds",
    env: "TABMUX_KEEP_GRACE",
    default: 60,
    description: "With --on-disconnect keep: seconds the tabs wait for their server to come back. Env TABMUX_KEEP_GRACE; default 60."
  }),
  allowedOrigins: Flags.text({
    placeholder: "origins",
    env: "TABMUX_ALLOWED_ORIGINS",
    description: "Let this agent's tabs load only these origins, separated by ';' (https://example.com;http://127.0.0.1:8080): its own navigations, clicks, redirects, a page's own script and frames. Env TABMUX_ALLOWED_ORIGINS; default: any web origin."
  }),
  blockedOrigins: Flags.text({
    placeholder: "origins",
    env: "TABMUX_BLOCKED_ORIGINS",
    description: "Never let this agent's tabs load these origins, separated by ';'. Env TABMUX_BLOCKED_ORIGINS."
  }),
  sessionName: Flags.text({
    placeholder: "name",
    env: "TABMUX_SESSION_NAME",
    description: "This agent's name in the browser: its tab group's title and what the tabmux popup shows (default: the MCP client's name). Env TABMUX_SESSION_NAME."
  }),
  sessionColor: Flags.choice({
    choices: ["auto", ...GROUP_COLORS],
    env: "TABMUX_SESSION_COLOR",
    default: "auto",
    description: "This agent's tab group colour (default auto: one no other connected agent uses). Env TABMUX_SESSION_COLOR."
  }),
  resume: Flags.text({
    placeholder: "token",
    env: "TABMUX_RESUME",
    description: "Take over the kept tabs of an earlier server: its token, as `tabmux status` showed it. Env TABMUX_RESUME."
  }),
  snapshotAfterAction: Flags.choice({
    choices: ["diff", "full", "none"],
    env: "TABMUX_SNAPSHOT_AFTER_ACTION",
    default: "diff",
    description:
      "What each page action (click, type, ...) answers of the page: what changed since your last snapshot of it (diff; the whole snapshot when the page is new), the whole snapshot (full), or only a short report (none). Env TABMUX_SNAPSHOT_AFTER_ACTION; default diff."
  }),
  outputDir: Flags.text({
    placeholder: "directory",
    env: "TABMUX_OUTPUT_DIR",
    description: "Where screenshots and PDFs go by default, and where relative paths lead. Env TABMUX_OUTPUT_DIR; default output/ in the runtime directory (private)."
  }),
  allowPath: Flags.list({
    placeholder: "directory",
    env: "TABMUX_ALLOW_PATH",
    separator: Path.delimiter,
    existing: "directory",
    description: "Also let agents save to and upload from this directory, besides the MCP client's roots and the output directory. Env TABMUX_ALLOW_PATH, separated like PATH."
  }),
  allowFileUrls: Flags.boolean({
    env: "TABMUX_ALLOW_FILE_URLS",
    description: "Let agents open and drive file: URLs (off by default: agents only drive web content). Env TABMUX_ALLOW_FILE_URLS=1."
  }),
  logLevel: Flags.choice({
    choices: Logging.levels,
    env: "TABMUX_LOG_LEVEL",
    default: "info",
    description: "Log level (logs go to stderr). Env TABMUX_LOG_LEVEL; default info."
  }),
  logFile: Flags.text({ placeholder: "file", env: "TABMUX_LOG_FILE", description: "Also append logs to this file. Env TABMUX_LOG_FILE." }),
  http: Flags.text({
    placeholder: "[host:]port",
    env: "TABMUX_HTTP",
    description: "Serve MCP over Streamable HTTP at http://host:port/mcp (host 127.0.0.1 unless named; port 0: any free one) instead of stdio, " +
      "one instance per session; every request needs the bearer token (--print-token). Env TABMUX_HTTP."
  }),
  printToken: Flags.boolean({ description: "Print the HTTP endpoint's bearer token (made on first use, 0600 in the runtime directory) and exit." }),
  httpAllowOrigin: Flags.list({
    placeholder: "origin",
    env: "TABMUX_HTTP_ALLOW_ORIGIN",
    separator: ",",
    description: "With --http: accept requests from web pages of this exact Origin (none by default: MCP clients send no Origin). Env TABMUX_HTTP_ALLOW_ORIGIN."
  })
}

/** Where --http listens: `port` or `host:port`, on loopback unless the user names an address. */
const httpAddress = (text: string) => {
  const m = /^(?:(\[[0-9a-f:]+\]|[a-zA-Z0-9.-]+):)?(\d{1,5})$/.exec(text.trim())
  const port = m === null ? NaN : Number(m[2])
  if (m === null || port > 65535) {
    return Effect.fail(new ServerConfig.BadConfig({ setting: "--http / TABMUX_HTTP", value: text, expected: "a port, or host:port, like 8931 or 127.0.0.1:8931" }))
  }
  return Effect.succeed({ host: (m[1] ?? "127.0.0.1").replace(/^\[|\]$/g, ""), port })
}

/**
 * Prints a failure as one clear message on stderr and exits non-zero (2 for bad input:
 * an option or variable that is not right, as for an unknown option; 1 otherwise); never a
 * stack trace for expected errors.
 */
const reportFailure = <A, E extends { readonly message: string }, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.catchAll((e) =>
      Console.error(`tabmux: ${e.message}`).pipe(Effect.zipRight(Effect.sync(() => {
        process.exitCode = (e as { readonly _tag?: unknown })._tag === "BadConfig" ? 2 : 1
      })))
    )
  )

const parsePorts = (text: string) => {
  const range = ServerConfig.parsePortRange("--ports / TABMUX_PORTS", text)
  return range instanceof ServerConfig.BadConfig ? Effect.fail(range) : Effect.succeed(range)
}

/** A token as `tabmux status` shows it (16 characters of base64url), or the bad input named. */
const resumeToken = (token: string | undefined) =>
  token === undefined || /^[A-Za-z0-9_-]{16}$/.test(token)
    ? Effect.succeed(token)
    : Effect.fail(new ServerConfig.BadConfig({ setting: "--resume / TABMUX_RESUME", value: token, expected: "a server's token as `tabmux status` shows it (16 letters, digits, - or _)" }))

/** Where the agent may go, from --allowed-origins and --blocked-origins; none when neither is given. */
const originPolicy = (allowed: string | undefined, blocked: string | undefined) =>
  Effect.gen(function*() {
    if (allowed === undefined && blocked === undefined) return undefined
    const parse = (setting: string, text: string | undefined) => {
      const origins = parseOrigins(text ?? "")
      return "error" in origins
        ? Effect.fail(new ServerConfig.BadConfig({ setting, value: text ?? "", expected: `origins separated by ';': ${origins.error}` }))
        : Effect.succeed(origins)
    }
    return { allowed: yield* parse("--allowed-origins", allowed), blocked: yield* parse("--blocked-origins", blocked) }
  })

/** A session name as the browser shows it: one line, at most 64 characters; empty means none. */
const sessionName = (given: string | undefined) => {
  const name = given?.replace(/\s+/g, " ").trim().slice(0, 64)
  return name === "" ? undefined : name
}

/**
 * The lock backend's password from the environment or a private file; a password in a URL
 * given on the command line works, with a warning (every user can read /proc/PID/cmdline).
 */
const lockBackendPassword = (flags: Flags.Values<typeof serverFlags>) =>
  Effect.gen(function*() {
    const url = flags.lockBackend
    if (url !== undefined && process.argv.includes(url) && /^[a-z][a-z0-9+.-]*:\/\/[^\s@]*:[^\s]*@/i.test(url)) {
      yield* Effect.logWarning(
        "the --lock-backend URL on the command line holds a password, which every user of this machine can read in the process list: " +
          "put it in TABMUX_LOCK_BACKEND_PASSWORD or a private file named by --lock-backend-password-file"
      )
    }
    if (flags.lockBackendPasswordFile === undefined) return process.env.TABMUX_LOCK_BACKEND_PASSWORD || undefined
    const path = Path.resolve(flags.lockBackendPasswordFile)
    const bad = (problem: string) =>
      new ServerConfig.BadConfig({ setting: "--lock-backend-password-file", value: path, expected: `a private file of yours holding the password (${problem})` })
    const text = yield* readFileNoFollow(path, privateFileProblem).pipe(Effect.mapError((e) => bad(e.message)))
    if (text === undefined) return yield* bad("it does not exist")
    return text.replace(/\r?\n$/, "")
  })

const serveServer = (flags: Flags.Values<typeof serverFlags>, defaultDir: boolean) =>
  Effect.gen(function*() {
    const config = ServerConfig.make({
      ports: yield* parsePorts(flags.ports),
      dir: flags.dir,
      allowOrigins: [defaultOrigin(), ...flags.allowOrigin],
      connectWait: Duration.seconds(flags.connectWait),
      staleAfter: Duration.seconds(flags.staleAfter),
      exclusive: flags.exclusive,
      lockStrategy: flags.lockStrategy,
      lockBackend: flags.lockBackend,
      lockBackendPassword: yield* lockBackendPassword(flags),
      serverVersion: packageVersion(),
      onDisconnect: flags.onDisconnect,
      keepGrace: Duration.seconds(flags.keepGrace),
      resume: yield* resumeToken(flags.resume),
      origins: yield* originPolicy(flags.allowedOrigins, flags.blockedOrigins),
      sessionName: sessionName(flags.sessionName),
      sessionColor: flags.sessionColor === "auto" ? undefined : flags.sessionColor,
      snapshotAfterAction: flags.snapshotAfterAction,
      outputDir: flags.outputDir,
      allowPaths: flags.allowPath,
      allowFileUrls: flags.allowFileUrls
    })
    if (flags.printToken) {
      const UserSecret = yield* Effect.promise(() => import("../server/UserSecret.js"))
      yield* Console.log(yield* UserSecret.readOrCreate(config.dir, HTTP_TOKEN))
      return
    }
    const http = flags.http === undefined ? undefined : { ...(yield* httpAddress(flags.http)), allowOrigins: flags.httpAllowOrigin }
    yield* serve(config, { installHost: defaultDir, http })
  }).pipe(reportFailure, Effect.provide(Logging.layer({ level: Logging.levelOf(flags.logLevel), file: flags.logFile })))

interface Command<F extends Flags.Flags> {
  readonly description: string
  readonly flags: F
  readonly run: (flags: Flags.Values<F>) => Effect.Effect<void>
}
const command = <F extends Flags.Flags>(c: Command<F>) => c

const commands = {
  serve: command({
    description: "The MCP server: over stdio (what no command runs), or over Streamable HTTP with --http (one instance per session).",
    flags: serverFlags,
    run: (flags) => serveServer(flags, flags.dir === ServerConfig.defaultDir({ ...process.env, TABMUX_DIR: undefined }))
  }),
  status: command({
    description: "List running tabmux servers (port, pid, client, uptime, extension) and sweep stale records.",
    flags: { dir, staleAfter, json: Flags.boolean({ description: "Print JSON instead of a table." }) },
    run: (flags) =>
      Effect.promise(() => import("./status.js")).pipe(
        Effect.flatMap(({ status }) => status({ dir: flags.dir, staleAfter: Duration.seconds(flags.staleAfter), json: flags.json })),
        reportFailure
      )
  }),
  doctor: command({
    description: "Check the runtime directory, port registry, port range, locks, browser and extension.",
    flags: { dir, ports, staleAfter, lockStrategy },
    run: (flags) =>
      Effect.gen(function*() {
        const { doctor } = yield* Effect.promise(() => import("./doctor.js"))
        const healthy = yield* doctor({ dir: flags.dir, ports: yield* parsePorts(flags.ports), staleAfter: Duration.seconds(flags.staleAfter), lockStrategy: flags.lockStrategy })
        if (!healthy) process.exitCode = 1
      }).pipe(reportFailure, Effect.provide(Logging.layer({ level: Logging.levelOf("warning") })))
  }),
  demo: command({
    description: "Two scripted agents sharing one Chromium (started for the demo, headless by default), narrated; screenshots saved.",
    flags: {
      headed: Flags.boolean({ description: "Show the browser window (where a display exists)." }),
      ports: Flags.text({
        placeholder: "first-last",
        default: "18765-18772",
        description: "The demo's own port range, for its two servers and its browser (not TABMUX_PORTS: the demo keeps off your servers' range); default 18765-18772."
      }),
      screenshots: Flags.text({ placeholder: "folder", description: "Keep the agents' screenshots in this folder of yours (default: not kept)." })
    },
    run: (flags) =>
      Effect.gen(function*() {
        const range = ServerConfig.parsePortRange("--ports", flags.ports)
        if (range instanceof ServerConfig.BadConfig) return yield* range
        if (range.last - range.first < 1) {
          return yield* new ServerConfig.BadConfig({ setting: "--ports", value: flags.ports, expected: "a range of at least 2 ports (one per demo agent)" })
        }
        const screenshots = flags.screenshots === undefined ? undefined : Path.resolve(flags.screenshots)
        if (screenshots !== undefined) {
          Fs.mkdirSync(screenshots, { recursive: true, mode: 0o700 })
          const problem = directoryProblem(screenshots)
          if (problem !== undefined) return yield* new ServerConfig.BadConfig({ setting: "--screenshots", value: flags.screenshots!, expected: `a folder of your own (${problem})` })
        }
        const { demo } = yield* Effect.promise(() => import("./demo.js"))
        yield* demo({ headed: flags.headed, ports: ServerConfig.formatRange(range), screenshots })
      }).pipe(reportFailure)
  }),
  browser: command({
    description: "Start Chromium/Chrome with the tabmux extension in a dedicated profile (not your everyday one).",
    flags: {
      profile: Flags.text({ placeholder: "directory", description: "The browser profile to use (default: tabmux's own, in your data folder; printed at start); one tabmux browser per profile." }),
      headless: Flags.boolean({ description: "Run without a window." }),
      windowSize: Flags.text({ placeholder: "WxH", description: "The window's size (default 1280x720, Playwright's); a narrow one, like 800x600, shows pages' mobile layouts." }),
      dir,
      ports: portRange("The range the extension in this browser scans for servers: your servers' range.")
    },
    run: (flags) =>
      Effect.gen(function*() {
        const { browser, defaultProfile, lockLayer } = yield* Effect.promise(() => import("./browser.js"))
        const range = yield* parsePorts(flags.ports)
        const size = /^(\d{3,5})x(\d{3,5})$/.exec(flags.windowSize ?? "1280x720")
        if (size === null) {
          return yield* new ServerConfig.BadConfig({ setting: "--window-size", value: flags.windowSize ?? "", expected: "WIDTHxHEIGHT in pixels, like 1280x720" })
        }
        const window = { width: Number(size[1]), height: Number(size[2]) }
        yield* browser({ profile: flags.profile ?? defaultProfile(), headless: flags.headless, window, dir: flags.dir, ports: ServerConfig.formatRange(range) }).pipe(
          Effect.provide(lockLayer(flags.dir))
        )
      }).pipe(reportFailure)
  }),
  "extension-path": command({
    description: "Print the folder to load as an unpacked extension (chrome://extensions, Developer mode, Load unpacked).",
    flags: {},
    run: () => Console.log(extensionDir)
  }),
  install: command({
    description: "Install the native-messaging host for Chrome, Chromium, Edge and Brave, so the extension pairs with your servers with no clicks.",
    flags: { dir },
    run: (flags) =>
      Effect.gen(function*() {
        const [UserSecret, NativeHost] = yield* Effect.promise(() => Promise.all([import("../server/UserSecret.js"), import("../server/NativeHost.js")]))
        yield* UserSecret.readOrCreate(flags.dir)
        const result = yield* NativeHost.install({ runtimeDir: flags.dir })
        if (result.installed.length === 0) {
          return yield* Console.error(
            `no Chromium-family browser has run as this user yet (${result.absent.join(", ")}): start yours once, then run tabmux install again; ` +
              "or pair the extension by hand (tabmux pair)"
          ).pipe(Effect.zipRight(Effect.sync(() => void (process.exitCode = 1))))
        }
        yield* Console.log(`installed the tabmux native-messaging host (launcher ${result.launcher}, runtime directory ${flags.dir}) for:`)
        for (const line of result.installed) yield* Console.log(`  ${line}`)
        if (result.absent.length > 0) yield* Console.log(`not for ${result.absent.join(", ")}: not run as this user yet (tabmux install again after starting one)`)
        yield* Console.log("Reload the tabmux extension (chrome://extensions) if it was already running.")
      }).pipe(reportFailure)
  }),
  uninstall: command({
    description: "Remove the native-messaging host that `tabmux install` (or a server) installed; says what stays.",
    flags: { dir },
    run: (flags) =>
      Effect.gen(function*() {
        const [NativeHost, UserSecret] = yield* Effect.promise(() => Promise.all([import("../server/NativeHost.js"), import("../server/UserSecret.js")]))
        const removed = yield* NativeHost.uninstall
        yield* Console.log(removed.length === 0 ? "no native-messaging host was installed" : `removed:\n${removed.map((r) => `  ${r}`).join("\n")}`)
        yield* Console.log(
          `Kept: your secret (${UserSecret.secretPath(flags.dir)}; a server started later uses it, and installs the host again), ` +
            "and the extension in your browser (remove it in chrome://extensions). Remove the runtime directory to forget the secret."
        )
      }).pipe(reportFailure)
  }),
  pair: command({
    description: "Print the one-time pairing token for a browser where the native-messaging host cannot run.",
    flags: { dir },
    run: (flags) =>
      Effect.gen(function*() {
        const UserSecret = yield* Effect.promise(() => import("../server/UserSecret.js"))
        const secret = yield* UserSecret.readOrCreate(flags.dir)
        yield* Console.log(
          `Pairing token for the tabmux extension (only where the native host cannot run; keep it private, it is your secret):\n\n  ${secret}\n\n` +
            "Paste it in the extension's options page (chrome://extensions → tabmux → Extension options → Pairing). " +
            `It stays valid until ${UserSecret.secretPath(flags.dir)} is removed.`
        )
      }).pipe(reportFailure)
  }),
  "native-host": command({
    description: "The native-messaging host the browser starts for the tabmux extension (not for people to run).",
    flags: { dir, ports: Flags.text({ placeholder: "first-last", description: "The port range the extension should scan." }) },
    run: (flags) =>
      Effect.gen(function*() {
        // It writes the user's secret to stdout: only ever into the browser's pipe, never onto a screen.
        if (process.stdout.isTTY || process.stdin.isTTY) {
          return yield* Effect.sync(() => {
            process.stderr.write(
              "tabmux: native-host is started by the browser for the tabmux extension, and says the user's secret on its stdout; " +
                "it does not run on a terminal. To check it, run `tabmux doctor`; to pair a browser by hand, `tabmux pair`.\n"
            )
            process.exitCode = 2
          })
        }
        const { nativeHost } = yield* Effect.promise(() => import("./nativeHost.js"))
        yield* nativeHost(flags.dir, flags.ports === undefined ? undefined : yield* parsePorts(flags.ports))
      }).pipe(reportFailure)
  })
}

type Name = keyof typeof commands
const names = Object.keys(commands) as Array<Name>

const USAGE = `usage: tabmux [options] (the MCP server) | tabmux <${names.join("|")}> [options]; see tabmux --help`

const rootHelp = () =>
  [
    `tabmux ${packageVersion()}: an MCP server over stdio that lets several AI agents share one real Chrome, each in its own tabs.`,
    "",
    "USAGE",
    "  tabmux [options]              the MCP server (what an AI client starts)",
    "  tabmux <command> [options]    tabmux <command> --help for its options",
    "",
    "COMMANDS",
    ...names.map((name) => `  ${name.padEnd(16)}${commands[name].description}`),
    "",
    "OPTIONS",
    "",
    Flags.help(serverFlags),
    ""
  ].join("\n")

const commandHelp = (name: Name) => {
  const flags: Flags.Flags = commands[name].flags
  return [`tabmux ${name}: ${commands[name].description}`, "", `USAGE\n  tabmux ${name}${Object.keys(flags).length > 0 ? " [options]" : ""}`, "", ...(Object.keys(flags).length > 0 ? ["OPTIONS", "", Flags.help(flags), ""] : [])].join("\n")
}

const usageError = (e: Flags.UsageError) =>
  Effect.sync(() => {
    process.stderr.write(`tabmux: ${e.message}\n${USAGE}\n`)
    process.exitCode = 2
  })

const print = (text: string) => Effect.sync(() => void process.stdout.write(text.endsWith("\n") ? text : `${text}\n`))

const main = (argv: ReadonlyArray<string>): Effect.Effect<void> => {
  const [first, ...rest] = argv
  // The spellings people try first: `tabmux -v`, `tabmux help [command]`.
  if (first === "-v" && rest.length === 0) return print(packageVersion())
  if (first === "help") {
    const about = rest[0]
    if (about === undefined) return print(rootHelp())
    return (names as Array<string>).includes(about)
      ? print(commandHelp(about as Name))
      : usageError(new Flags.UsageError({ message: `unknown command "${about}"` }))
  }
  if (first === undefined || first.startsWith("-")) {
    if (argv.includes("--version")) return print(packageVersion())
    const parsed = Flags.parse(serverFlags, argv)
    if (Either.isLeft(parsed)) return usageError(parsed.left)
    if (parsed.right === "help") return print(rootHelp())
    // Neither --dir nor TABMUX_DIR: the user's own directory, whose native host the server may install.
    return serveServer(parsed.right, parsed.right.dir === ServerConfig.defaultDir({ ...process.env, TABMUX_DIR: undefined }))
  }
  if (!(names as Array<string>).includes(first)) return usageError(new Flags.UsageError({ message: `unknown command "${first}"` }))
  const name = first as Name
  const c = commands[name] as Command<Flags.Flags>
  const parsed = Flags.parse(c.flags, rest)
  if (Either.isLeft(parsed)) return usageError(parsed.left)
  return parsed.right === "help" ? print(commandHelp(name)) : c.run(parsed.right)
}

main(process.argv.slice(2)).pipe(Effect.provide(Logging.stderrOnly), NodeRuntime.runMain({ disablePrettyLogger: true }))
