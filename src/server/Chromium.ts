/**
 * Where a Chromium-based browser is: `CHROME_PATH` first, then the usual install paths of
 * Chromium, Google Chrome, Microsoft Edge and Brave on Linux (packages and snap), macOS and
 * Windows (machine-wide and per-user installs). Kept as plain data here: chrome-launcher's
 * finder knows only Google Chrome and Chromium, and @puppeteer/browsers finds only the
 * builds it downloads.
 */
import { Effect } from "effect"
import type * as ChildProcess from "node:child_process"
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

export const find = (env: NodeJS.ProcessEnv = process.env): string | undefined =>
  candidates(env).find((path) => {
    try {
      Fs.accessSync(path, Fs.constants.X_OK)
      return true
    } catch {
      return false
    }
  })

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
      const id = nextId++
      pending.set(id, (m) => resume(m.error ? Effect.fail(new Error(`${method}: ${String(m.error.message ?? JSON.stringify(m.error))}`)) : Effect.succeed(m.result)))
      toBrowser.write(`${JSON.stringify({ id, method, params, ...(sessionId === undefined ? {} : { sessionId }) })}\0`)
      return Effect.sync(() => void pending.delete(id))
    })
  return { send, attached }
}

/** Loads the unpacked extension through the browser's DevTools pipe. */
export const loadUnpacked = (pipe: DevToolsPipe, path: string) =>
  pipe.send("Extensions.loadUnpacked", { path }).pipe(
    Effect.map((r): { readonly id: string } | { readonly error: string } =>
      typeof r?.id === "string" ? { id: r.id } : { error: "it refused the extension: no id in its answer" }),
    Effect.catchAll((e) =>
      Effect.succeed({ error: `it refused the extension: ${e.message} (Chromium-based browsers from version 126 load it this way)` }))
  )
