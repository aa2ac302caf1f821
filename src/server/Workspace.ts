/**
 * Where an agent's files may go and come from (invariant 11): inside the MCP client's
 * roots (`roots/list`, refreshed on `roots/list_changed`), the server's working directory
 * when the client names no roots (and it is a folder of the user's own, not their home or
 * above it), a directory the user allowed (`--allow-path`), or the output directory
 * (`--output-dir`; by default `output/` in the private runtime directory). As in
 * Playwright MCP, a relative path is in the client's first root, else in the working
 * directory; a file saved under a name of tabmux's choosing goes to the output directory. Every path is resolved to its real path first (symlinks
 * followed, `..` gone) and only then checked, so neither `../` nor a symlink leads out.
 * Files are written whole to a private (0600, O_EXCL|O_NOFOLLOW) temp file beside the
 * target and renamed over it: never written through a symlink. This module owns the
 * roots; the MCP layer tells it what the client said.
 */
import { Context, Deferred, Duration, Effect, Layer, Ref } from "effect"
import { constants, statSync } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { BadConfig, ServerConfig } from "./Config.js"
import { fileOp, removeFile, tempPathFor } from "./Files.js"
import { directoryProblem } from "./OwnedPath.js"
import { ensurePrivateDir } from "./RuntimeDir.js"
import { BadArguments } from "./tools/Tool.js"

export class Workspace extends Context.Tag("tabmux/Workspace")<Workspace, {
  /** The client's roots (`file:` URIs; others are ignored), as `roots/list` answered. */
  readonly setRoots: (uris: ReadonlyArray<string>) => Effect.Effect<void>
  /** The directories files may be in, for messages and `tabmux status`. */
  readonly allowed: Effect.Effect<ReadonlyArray<string>>
  /** Writes `data` to `path` (relative: in the first root, else the working directory; none: `defaultName` in the output directory); the real path written. */
  readonly save: (tool: string, path: string | undefined, defaultName: string, data: Uint8Array) => Effect.Effect<string, BadArguments>
  /** The real paths of existing regular files inside the allowed directories, for an upload. */
  readonly readable: (tool: string, paths: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<string>, BadArguments>
}>() {}

const inside = (dir: string, path: string) => {
  const rel = Path.relative(dir, path)
  return rel === "" || (!rel.startsWith("..") && !Path.isAbsolute(rel))
}

const realpath = (path: string) => Effect.promise(() => Fs.realpath(path).catch(() => undefined))

/**
 * The working directory, when agents may use it with no roots: a folder of the user's own
 * (theirs, nobody else can change it), and neither their home nor a folder above it (a
 * client started from the desktop runs in one of those, and a page would then be handed
 * any of their files).
 */
export const usableWorkingDir = (cwd: string = process.cwd(), home: string = Os.homedir()): string | undefined => {
  const dir = Path.resolve(cwd)
  if (inside(dir, Path.resolve(home))) return undefined
  try {
    if (process.getuid !== undefined && statSync(dir).uid !== process.getuid()) return undefined
  } catch {
    return undefined
  }
  return directoryProblem(dir) === undefined ? dir : undefined
}

export const make = Effect.gen(function*() {
  const config = yield* ServerConfig
  const workingDir = usableWorkingDir()
  const outputDir = Path.resolve(config.outputDir ?? Path.join(config.dir, "output"))
  // The directories the user named are checked at start: a server does not run on a folder another user could change.
  for (const [setting, dir] of [
    ...(config.outputDir === undefined ? [] : [["--output-dir", outputDir] as const]),
    ...config.allowPaths.map((p) => ["--allow-path", Path.resolve(p)] as const)
  ]) {
    const problem = directoryProblem(dir)
    if (problem !== undefined) {
      return yield* new BadConfig({ setting, value: dir, expected: `a directory only you can change (${problem})` })
    }
  }
  const roots = yield* Ref.make<ReadonlyArray<string>>([])
  /** Done once the client has answered `roots/list` (or has no roots): a first call right after start waits for it, briefly. */
  const rootsKnown = yield* Deferred.make<void>()

  const allowed = Effect.map(Ref.get(roots), (r) => [
    ...r,
    ...(r.length === 0 && workingDir !== undefined ? [workingDir] : []),
    ...config.allowPaths.map((p) => Path.resolve(p)),
    outputDir
  ])

  /** Where a relative path leads: the client's first root, else the working directory, else the output directory. */
  const relativeBase = Effect.map(Ref.get(roots), (r) => r[0] ?? workingDir ?? outputDir)

  /** The allowed directories as real paths (those that exist). */
  const realAllowed = Effect.zipRight(Effect.ignore(Effect.timeout(Deferred.await(rootsKnown), Duration.seconds(2))), allowed).pipe(Effect.flatMap((dirs) =>
    Effect.map(Effect.forEach(dirs, realpath), (real) => real.filter((d): d is string => d !== undefined))))

  const refuse = (tool: string, issue: string) => new BadArguments({ tool, issue })

  const outside = (tool: string, given: string, real: string) =>
    Effect.flatMap(allowed, (dirs) =>
      Effect.fail(refuse(
        tool,
        `path: ${given} is ${real === given ? "" : `really ${real}, `}outside the directories this agent may use (${dirs.join(", ")}). ` +
          "Use a path inside the client's roots or the output directory, or start tabmux with --allow-path DIR."
      )))

  /** Refuses a directory another user could change (OwnedPath.ts), naming why. */
  const ownDirectory = (tool: string, dir: string) =>
    Effect.suspend(() => {
      const problem = directoryProblem(dir)
      return problem === undefined
        ? Effect.void
        : Effect.fail(refuse(tool, `${dir} is not safely yours: ${problem}. Use a directory only you can change.`))
    })

  const ensureOutputDir = config.outputDir === undefined
    ? ensurePrivateDir(outputDir).pipe(Effect.mapError((e) => refuse("save", e.message)))
    : fileOp("create", outputDir, () => Fs.mkdir(outputDir, { recursive: true, mode: 0o700 })).pipe(
      Effect.mapError((e) => refuse("save", e.message)),
      Effect.zipRight(ownDirectory("save", outputDir))
    )

  const save = (tool: string, path: string | undefined, defaultName: string, data: Uint8Array) =>
    Effect.gen(function*() {
      yield* ensureOutputDir
      yield* Effect.ignore(Effect.timeout(Deferred.await(rootsKnown), Duration.seconds(2)))
      const target = path === undefined ? Path.join(outputDir, defaultName) : Path.resolve(yield* relativeBase, path)
      const parent = yield* realpath(Path.dirname(target))
      if (parent === undefined) return yield* refuse(tool, `path: the folder ${Path.dirname(target)} does not exist`)
      const real = Path.join(parent, Path.basename(target))
      const dirs = yield* realAllowed
      if (!dirs.some((d) => inside(d, real))) return yield* outside(tool, path ?? defaultName, real)
      yield* ownDirectory(tool, parent)
      const existing = yield* Effect.promise(() => Fs.lstat(real).catch(() => undefined))
      if (existing?.isDirectory()) return yield* refuse(tool, `path: ${real} is a folder; give a file name`)
      const temp = tempPathFor(real)
      yield* fileOp("write", real, async () => {
        const handle = await Fs.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
        try {
          await handle.writeFile(data)
        } finally {
          await handle.close()
        }
        await Fs.rename(temp, real)
      }).pipe(
        Effect.tapError(() => removeFile(temp).pipe(Effect.ignore)),
        Effect.mapError((e) => refuse(tool, `path: ${e.message}`))
      )
      return real
    })

  const readable = (tool: string, paths: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const dirs = yield* realAllowed
      const base = yield* relativeBase
      return yield* Effect.forEach(paths, (given, i) =>
        Effect.gen(function*() {
          const absolute = Path.resolve(base, given)
          const real = yield* realpath(absolute)
          if (real === undefined) return yield* refuse(tool, `paths.${i}: ${absolute} does not exist`)
          if (!dirs.some((d) => inside(d, real))) return yield* outside(tool, given, real)
          const stat = yield* Effect.promise(() => Fs.stat(real).catch(() => undefined))
          if (stat === undefined || !stat.isFile()) return yield* refuse(tool, `paths.${i}: ${real} is not a regular file`)
          // The browser reads it by path later: only a folder no one else can change keeps it the file checked here.
          yield* ownDirectory(tool, Path.dirname(real))
          return real
        }))
    })

  return Workspace.of({
    setRoots: (uris) =>
      Ref.set(
        roots,
        uris.flatMap((uri) => {
          try {
            return uri.startsWith("file:") ? [Path.resolve(fileURLToPath(uri))] : []
          } catch {
            return []
          }
        })
      ).pipe(Effect.zipRight(Deferred.succeed(rootsKnown, undefined))),
    allowed,
    save,
    readable
  })
})

export const layer = Layer.effect(Workspace, make)
