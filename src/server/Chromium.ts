/** Where a Chromium or Chrome binary is: `CHROME_PATH` first, then the usual install paths. */
import * as Fs from "node:fs"

export const candidates = (env: NodeJS.ProcessEnv = process.env): ReadonlyArray<string> => [
  ...(env.CHROME_PATH ? [env.CHROME_PATH] : []),
  // Debian's real binary: the /usr/bin/chromium wrapper adds flags and prints shell errors.
  "/usr/lib/chromium/chromium",
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
  "/Applications/Chromium.app/Contents/MacOS/Chromium",
  "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"
]

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
export const flags = (o: { readonly profile: string; readonly extension: string; readonly headless: boolean }): Array<string> => [
  ...(o.headless ? ["--headless=new", "--disable-gpu"] : []),
  ...(process.getuid?.() === 0 ? ["--no-sandbox"] : []),
  "--disable-quic", "--no-first-run", "--no-default-browser-check",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  `--user-data-dir=${o.profile}`, `--load-extension=${o.extension}`, `--disable-extensions-except=${o.extension}`
]
