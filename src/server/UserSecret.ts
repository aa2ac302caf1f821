/**
 * The user's secret: 32 random bytes (64 hex digits), in `<runtime dir>/secret`, 0600,
 * in the 0700 directory. Every server of the user reads it; the native-messaging host
 * hands it to the extension. Whoever needs it first creates it, race-free: written
 * whole to a private temp file, then hard-linked into place (a link never replaces an
 * existing file, so two creators agree on the first one). It is never followed through
 * a symlink and refused when another user could have read or written it.
 */
import { Context, Data, Effect, Layer } from "effect"
import type { Stats } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { type HmacKey, importSecret, isHex32, randomHex32 } from "../protocol/Handshake.js"
import { fileOp, readFileNoFollow, removeFile, tempPathFor, writeNewPrivateFile } from "./Files.js"
import { ensurePrivateDir, type RuntimeDirError } from "./RuntimeDir.js"

export class SecretError extends Data.TaggedError("SecretError")<{ readonly path: string; readonly problem: string }> {
  override get message() {
    return `tabmux secret ${this.path}: ${this.problem}. Remove it (rm ${this.path}): servers and the extension agree on a new one at their next connection.`
  }
}

export const secretPath = (dir: string) => Path.join(dir, "secret")

/** Anything about an opened file that another user could have read or written. */
export const privateFileProblem = (stat: Stats) =>
  process.getuid && stat.uid !== process.getuid()
    ? `it belongs to uid ${stat.uid}, not to you`
    : process.platform !== "win32" && (stat.mode & 0o077) !== 0
    ? `its mode is ${(stat.mode & 0o777).toString(8)}: other users could read it`
    : undefined

/** The secret, or `undefined` when there is none yet; refuses symlinks, other owners, open modes and bad content. */
const readSecret = (path: string) =>
  readFileNoFollow(path, privateFileProblem).pipe(
    Effect.map((text) =>
      text === undefined ? undefined : isHex32(text.trim()) ? { secret: text.trim() } : { problem: "it does not hold 64 hex digits" }
    ),
    Effect.catchTag("FileError", (e) => Effect.succeed({ problem: e.message }))
  )

/**
 * Reads the user's secret in `dir` (or another secret of theirs kept the same way, by its
 * file name: the HTTP endpoint's bearer token), creating it (and the directory) when missing.
 */
export const readOrCreate = (dir: string, name = "secret"): Effect.Effect<string, SecretError | RuntimeDirError> =>
  Effect.gen(function*() {
    yield* ensurePrivateDir(dir)
    const path = Path.join(dir, name)
    for (let attempt = 0; attempt < 3; attempt++) {
      const found = yield* readSecret(path)
      if (found !== undefined) {
        if ("secret" in found) return found.secret
        return yield* new SecretError({ path, problem: found.problem })
      }
      const temp = tempPathFor(path)
      yield* writeNewPrivateFile(temp, `${randomHex32()}\n`).pipe(
        Effect.zipRight(fileOp("link", path, () => Fs.link(temp, path))),
        Effect.catchIf((e) => e.code === "EEXIST", () => Effect.void),
        Effect.ensuring(removeFile(temp).pipe(Effect.ignore)),
        Effect.mapError((e) => new SecretError({ path, problem: e.message }))
      )
    }
    return yield* new SecretError({ path, problem: "it keeps disappearing while being read" })
  })

/** The key every handshake of this server proves itself with. */
export class UserSecret extends Context.Tag("tabmux/UserSecret")<UserSecret, { readonly key: HmacKey }>() {}

export const layer = (dir: string) =>
  Layer.effect(UserSecret, Effect.map(Effect.flatMap(readOrCreate(dir), importSecret), (key) => ({ key })))

/** A fixed secret (64 hex digits): for tests and embedders that run their own extension side. */
export const layerFromHex = (secret: string) => Layer.effect(UserSecret, Effect.map(importSecret(secret), (key) => ({ key })))
