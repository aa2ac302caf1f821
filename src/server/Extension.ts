/**
 * The extension as the server knows it: where its folder is, and its stable id. The
 * id follows from the public `key` pinned in `extension/manifest.json` (Chrome's
 * rule: the first 32 hex digits of SHA-256 of the key, written with a-p), so the
 * default Origin allowlist needs no configuration.
 */
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

/** The package root: the nearest folder above this module with tabmux's package.json (the bundle and tsc's output sit at different depths). */
export const packageRoot = ((): string => {
  let dir = Path.dirname(fileURLToPath(import.meta.url))
  while (true) {
    try {
      if (JSON.parse(Fs.readFileSync(Path.join(dir, "package.json"), "utf8")).name === "tabmux") return dir
    } catch {
      // not here: go up
    }
    const parent = Path.dirname(dir)
    if (parent === dir) throw new Error(`tabmux: cannot find its package.json above ${fileURLToPath(import.meta.url)}`)
    dir = parent
  }
})()

/** The built, unpacked extension: the folder a user loads in chrome://extensions. */
export const extensionDir = Path.join(packageRoot, "dist", "extension")

/** The built manifest (what the package ships), else the source one (a checkout not yet built). */
const manifestPath = [Path.join(extensionDir, "manifest.json"), Path.join(packageRoot, "extension", "manifest.json")]
  .find((p) => Fs.existsSync(p)) ?? Path.join(extensionDir, "manifest.json")

export const extensionIdFromKey = (base64Key: string): string =>
  [...Crypto.createHash("sha256").update(Buffer.from(base64Key, "base64")).digest("hex").slice(0, 32)]
    .map((h) => String.fromCharCode(97 + parseInt(h, 16)))
    .join("")

export const readManifest = (): { readonly version: string; readonly key: string } =>
  JSON.parse(Fs.readFileSync(manifestPath, "utf8"))

export const extensionOrigin = (id: string) => `chrome-extension://${id}`

export const defaultOrigin = () => extensionOrigin(extensionIdFromKey(readManifest().key))

export const packageVersion = (): string =>
  JSON.parse(Fs.readFileSync(Path.join(packageRoot, "package.json"), "utf8")).version
