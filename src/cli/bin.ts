/**
 * The `tabmux` executable: runs the CLI bundle (dist/tabmux.cjs) with V8's code cache.
 *
 * An AI client starts one server per session, and compiling the 1.4 MB bundle was half of
 * each start (~200 ms) and ~25 MB of memory that stayed. The cache holds V8's compiled code
 * for this exact bundle (its SHA-256, fixed at build time: V8 itself only checks the source's
 * length) and Node version; it lives in the user's own cache folder, written privately and
 * atomically, and is used only if that folder (and its parents) and file belong to the user
 * and nobody else can write them (compiled code from elsewhere would run as the user):
 * OwnedPath.ts, the rule every directory and file the user names follows. Node 22's
 * `module.enableCompileCache()` does this for modules; tabmux supports Node 20.
 * Without a usable cache (TABMUX_CODE_CACHE=0, an unwritable home) the bundle is compiled
 * as usual. Written by hand: nothing here may load before the bundle.
 */
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Vm from "node:vm"
import { directoryProblem, readPrivate, writePrivate } from "../server/OwnedPath.js"

declare const BUNDLE_SHA256: string

const bundle = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "tabmux.cjs")

const cacheFolder = (env = process.env): string | undefined => {
  if (env.TABMUX_CODE_CACHE === "0") return undefined
  const base = process.platform === "win32"
    ? env.LOCALAPPDATA
    : process.platform === "darwin"
    ? Path.join(Os.homedir(), "Library", "Caches")
    : env.XDG_CACHE_HOME || Path.join(Os.homedir(), ".cache")
  return base ? Path.join(base, "tabmux", "code-cache") : undefined
}

/** The cache folder, when it is the user's own and nobody else can change it (or its parents). */
const privateFolder = (folder: string): boolean => {
  try {
    Fs.mkdirSync(folder, { recursive: true, mode: 0o700 })
    return Fs.lstatSync(folder).isDirectory() && directoryProblem(folder) === undefined
  } catch {
    return false
  }
}

/** Writes the cache; caches of earlier versions of tabmux or Node go. */
const writeCache = (folder: string, file: string, data: Buffer) => {
  if (!writePrivate(file, data)) return
  for (const name of Fs.readdirSync(folder)) {
    if (name.endsWith(".v8") && Path.join(folder, name) !== file) Fs.rmSync(Path.join(folder, name), { force: true })
  }
}

const folder = cacheFolder()
const usable = folder !== undefined && privateFolder(folder)
const cacheFile = folder === undefined ? "" : Path.join(folder, `${BUNDLE_SHA256.slice(0, 24)}-v8-${process.versions.v8}-${process.arch}.v8`)
const cachedData = usable ? readPrivate(cacheFile) : undefined

const wrapper = "(function (exports, require, module, __filename, __dirname) {" + Fs.readFileSync(bundle, "utf8") + "\n})"
const script = new Vm.Script(wrapper, { filename: bundle, ...(cachedData ? { cachedData } : {}) })
if (usable && (cachedData === undefined || script.cachedDataRejected === true)) {
  // Written once the start-up has run (so the functions compiled on the way are in it too),
  // or at exit for a command that ends sooner.
  let written = false
  const write = () => {
    if (written) return
    written = true
    writeCache(folder!, cacheFile, script.createCachedData())
  }
  setTimeout(write, 1000).unref()
  process.once("exit", write)
}
const module = { exports: {} }
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, Path.dirname(bundle))
