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
