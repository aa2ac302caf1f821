/**
 * Where a Chromium-based browser is: `CHROME_PATH` when set (and then only it), else the
 * usual install paths of Chromium, Google Chrome, Microsoft Edge and Brave on Linux
 * (packages and snap), macOS and Windows (machine-wide and per-user installs). Kept as
 * plain data here: chrome-launcher's finder knows only Google Chrome and Chromium, and
 * @puppeteer/browsers finds only the builds it downloads. Also how one is started with
 * the extension over its DevTools pipe, and how its failure to start is told.
 */
import { Duration, Effect } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"

export const candidates = (env: NodeJS.ProcessEnv = process.env): ReadonlyArray<string> => {
  const windows = [env.PROGRAMFILES ?? "C:\\Program Files", env["PROGRAMFILES(X86)"] ?? "C:\\Program Files (x86)", env.LOCALAPPDATA]
    .filter((d): d is string => d !== undefined)
    .flatMap((root) => [
      Path.win32.join(root, "Google", "Chrome", "Application", "chrome.exe"),
      Path.win32.join(root, "Chromium", "Application", "chrome.exe"),
      Path.win32.join(root, "Microsoft", "Edge", "Application", "msedge.exe"),
      Path.win32.join(root, "BraveSoftware", "Brave-Browser", "Application", "brave.exe")
    ])
  return [
    ...(env.CHROME_PATH ? [env.CHROME_PATH] : []),
    // Debian's real binary: the /usr/bin/chromium wrapper adds flags and prints shell errors.
    "/usr/lib/chromium/chromium",
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/snap/bin/chromium",
    "/usr/bin/google-chrome",
    "/usr/bin/google-chrome-stable",
    "/usr/bin/microsoft-edge",
    "/usr/bin/microsoft-edge-stable",
    "/usr/bin/brave-browser",
    "/snap/bin/brave",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
    "/Applications/Brave Browser.app/Contents/MacOS/Brave Browser",
    ...windows
  ]
}

const executable = (path: string) => {
  try {
    if (!Fs.statSync(path).isFile()) return false
    Fs.accessSync(path, Fs.constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** The browser to start; none when there is none, or `CHROME_PATH` names something that cannot be one (it is never passed over). */
export const find = (env: NodeJS.ProcessEnv = process.env): string | undefined =>
  env.CHROME_PATH ? (executable(env.CHROME_PATH) ? env.CHROME_PATH : undefined) : candidates(env).find(executable)

/** Why no browser was found, and what to do. */
export const notFound = (env: NodeJS.ProcessEnv = process.env): string =>
  env.CHROME_PATH
    ? `CHROME_PATH is ${env.CHROME_PATH}, which is not an executable file: set it to a Chromium or Chrome binary, or unset it to look in the usual places`
    : `no Chromium or Chrome found (looked at ${candidates(env).join(", ")}): install one (Debian/Ubuntu: apt-get install chromium), or set CHROME_PATH to its binary`

/**
 * Flags for a Chromium that loads the tabmux extension in its own profile. Headless
 * (`--headless=new`) runs extensions, their service workers and chrome.debugger. The
 * sandbox is off only where Chromium refuses it (running as root).
 */
export const flags = (o: {
  readonly profile: string
  readonly headless: boolean
  readonly extension: ExtensionRoute
  /** The window's size (default 1280×720, Playwright's: pages lay out as agents trained on it expect). */
  readonly window?: { readonly width: number; readonly height: number } | undefined
}): Array<string> => [
  ...(o.headless ? ["--headless=new", "--disable-gpu"] : []),
  `--window-size=${o.window?.width ?? 1280},${o.window?.height ?? 720}`,
  ...(process.getuid?.() === 0 ? ["--no-sandbox"] : []),
  "--disable-quic", "--no-first-run", "--no-default-browser-check",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  `--user-data-dir=${o.profile}`,
  ...(o.extension.by === "flag"
    ? [`--load-extension=${o.extension.path}`, `--disable-extensions-except=${o.extension.path}`]
    : ["--remote-debugging-pipe", "--enable-unsafe-extension-debugging"])
]

/**
 * How the extension gets into the browser: the `--load-extension` flag (Chromium; Google
 * Chrome 137 and later ignore it), or CDP's `Extensions.loadUnpacked` over
 * `--remote-debugging-pipe` (every Chromium-based browser since 126, branded Chrome
 * included; the browser also exits when the pipe's other end does).
 */
export type ExtensionRoute = { readonly by: "flag"; readonly path: string } | { readonly by: "pipe" }

/** DevTools over the browser's pipe (`--remote-debugging-pipe`): commands by id, flat sessions. */
export interface DevToolsPipe {
  /** One command (on a flat session when `sessionId` is given); fails with the browser's error. */
  readonly send: (method: string, params?: object, sessionId?: string) => Effect.Effect<any, Error>
  /** The flat sessions attached now. */
  readonly attached: ReadonlySet<string>
}

/**
 * The browser's DevTools pipe (fd 3 to the browser, fd 4 from it; messages end with a NUL
 * byte). It stays open (closing it ends the browser) and is read to its end, so the
 * browser never blocks on it. No TCP port: nobody else can reach it.
 */
export const devtoolsPipe = (child: ChildProcess.ChildProcess): DevToolsPipe => {
  const toBrowser = child.stdio[3] as NodeJS.WritableStream
  const fromBrowser = child.stdio[4] as NodeJS.ReadableStream
  let nextId = 1
  let buffer = ""
  const pending = new Map<number, (message: { result?: unknown; error?: { message?: unknown } }) => void>()
  const attached = new Set<string>()
  let closed = false
  fromBrowser.on("close", () => {
    closed = true
    for (const answer of pending.values()) answer({ error: { message: "the browser closed its DevTools pipe (it exited)" } })
    pending.clear()
  })
  fromBrowser.on("data", (d: Buffer) => {
    buffer += d.toString("utf8")
    for (let end = buffer.indexOf("\0"); end >= 0; end = buffer.indexOf("\0")) {
      let message: { id?: number; method?: string; params?: { sessionId?: string }; result?: { sessionId?: string } }
      try {
        message = JSON.parse(buffer.slice(0, end))
      } catch {
        message = {}
      }
      buffer = buffer.slice(end + 1)
      const session = message.params?.sessionId
      if (message.method === "Target.attachedToTarget" && session !== undefined) attached.add(session)
      if (message.method === "Target.detachedFromTarget" && session !== undefined) attached.delete(session)
      if (typeof message.result?.sessionId === "string") attached.add(message.result.sessionId)
      const answer = message.id === undefined ? undefined : pending.get(message.id)
      if (answer === undefined) continue
      pending.delete(message.id!)
      answer(message)
    }
  })
  const send = (method: string, params: object = {}, sessionId?: string) =>
    Effect.async<any, Error>((resume) => {
      if (closed) return resume(Effect.fail(new Error(`${method}: the browser closed its DevTools pipe (it exited)`)))
      const id = nextId++
      pending.set(id, (m) => resume(m.error ? Effect.fail(new Error(`${method}: ${String(m.error.message ?? JSON.stringify(m.error))}`)) : Effect.succeed(m.result)))
      toBrowser.write(`${JSON.stringify({ id, method, params, ...(sessionId === undefined ? {} : { sessionId }) })}\0`)
      return Effect.sync(() => void pending.delete(id))
    })
  return { send, attached }
}

/** A browser started with its DevTools pipe. */
export interface Running {
  readonly child: ChildProcess.ChildProcess
  readonly pipe: DevToolsPipe
  /** Ends when the browser has exited, or could not start: its exit code (null: killed by a signal). */
  readonly exited: Effect.Effect<number | null>
  /** Its last lines on stderr, on one line (empty if it said nothing). */
  readonly said: () => string
}

/**
 * Starts a browser with its DevTools pipe. Nothing about it can crash this process: a
 * binary that cannot run, a browser that exits at once (say, "No usable sandbox!") and
 * the pipes it closes are all told through `exited` and `said`.
 */
export const start = (binary: string, args: ReadonlyArray<string>, options: { readonly detached?: boolean } = {}): Running => {
  const child = ChildProcess.spawn(binary, args, { detached: options.detached ?? false, stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] })
  let stderr = ""
  let spawnError: string | undefined
  child.stderr?.on("data", (d: Buffer) => void (stderr = (stderr + d.toString("utf8")).slice(-4000)))
  for (const stream of [child.stdio[2], child.stdio[3], child.stdio[4]]) stream?.on("error", () => undefined)
  const ended = new Promise<number | null>((resolve) => {
    child.once("error", (e) => {
      spawnError = e.message
      resolve(null)
    })
    child.once("exit", (code) => resolve(code))
  })
  return {
    child,
    pipe: devtoolsPipe(child),
    exited: Effect.promise(() => ended),
    said: () => spawnError ?? stderr.trim().split("\n").slice(-3).join(" / ")
  }
}

/**
 * Loads the extension into a started browser, or says why not, with the browser's own
 * words: its refusal, its exit (with what it printed), or no answer within 30 s.
 */
export const loadExtension = (running: Running, path: string): Effect.Effect<{ readonly id: string } | { readonly error: string }> => {
  type Loaded = { readonly id: string } | { readonly error: string }
  const exitedEarly = (code: number | null): Loaded => ({ error: `the browser exited${code === null ? "" : ` (code ${code})`} before loading the extension` })
  return Effect.raceFirst<Loaded, never, never, Loaded, never, never>(loadUnpacked(running.pipe, path), Effect.map(running.exited, exitedEarly)).pipe(
    Effect.timeoutTo({ duration: Duration.seconds(30), onSuccess: (r): Loaded => r, onTimeout: (): Loaded => ({ error: "the browser did not answer within 30 s" }) }),
    // Its pipe closes a moment before its exit is reported: a refusal then is the exit.
    Effect.flatMap((r): Effect.Effect<Loaded> =>
      "error" in r
        ? Effect.map(Effect.option(Effect.timeout(running.exited, Duration.seconds(1))), (code) => (code._tag === "Some" ? exitedEarly(code.value) : r))
        : Effect.succeed(r)
    ),
    Effect.map((r) => {
      if (!("error" in r)) return r
      const said = running.said()
      return { error: `${r.error}${said ? `; it said: ${said}` : ""}` }
    })
  )
}

/** Loads the unpacked extension through the browser's DevTools pipe. */
export const loadUnpacked = (pipe: DevToolsPipe, path: string) =>
  pipe.send("Extensions.loadUnpacked", { path }).pipe(
    Effect.map((r): { readonly id: string } | { readonly error: string } =>
      typeof r?.id === "string" ? { id: r.id } : { error: "it refused the extension: no id in its answer" }),
    Effect.catchAll((e) =>
      Effect.succeed({ error: `it refused the extension: ${e.message} (Chromium-based browsers from version 126 load it this way)` }))
  )
