/**
 * Logs go to stderr (stdout is the MCP channel) and, when asked, to a file too: one
 * line per entry, `time level message` plus the cause when there is one.
 */
import { Cause, Context, Effect, HashMap, Layer, Logger, LogLevel, type Scope } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { redactCredentials } from "./Redact.js"

/** Strings as they are, other values as JSON: `Effect.logDebug("tool x", args)` formats `args` only if the line is written. */
const show = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value) ?? String(value))

const line = (options: Logger.Logger.Options<unknown>) => {
  const message = (Array.isArray(options.message) ? options.message : [options.message]).map(show).join(" ")
  const annotations = HashMap.reduce(options.annotations, "", (acc, v, k) => `${acc} ${k}=${JSON.stringify(v)}`)
  const cause = Cause.isEmpty(options.cause) ? "" : `\n${Cause.pretty(options.cause)}`
  return redactCredentials(`${options.date.toISOString()} ${options.logLevel.label.padEnd(5)} ${message}${annotations}${cause}\n`)
}

const toStderr = Logger.make((entry) => {
  process.stderr.write(line(entry))
})

/** Effect's default logger writes to stdout; this replaces it (for the whole CLI, before flags are read). */
export const stderrOnly = Logger.replace(Logger.defaultLogger, toStderr)

/**
 * Changes the level of the configured logger while it runs (an MCP client's
 * logging/setLevel): quieter than the user's --log-level, never more verbose.
 */
export class LevelControl extends Context.Tag("tabmux/LogLevelControl")<LevelControl, {
  readonly set: (level: LogLevel.LogLevel) => Effect.Effect<void>
  /** Hands every line written, with its level, to `listener` for the scope's life (the MCP client's log notifications). */
  readonly forward: (listener: (level: LogLevel.LogLevel, line: string) => void) => Effect.Effect<void, never, Scope.Scope>
}>() {}

/** A log file is kept under this size: past it, it becomes `<file>.1` (replacing the one before) and a new one starts. */
export const LOG_FILE_BYTES = 8 * 1024 * 1024

/**
 * The log file, appended to through one descriptor opened without following a symlink
 * and checked to be the user's own; `undefined` (said once on stderr) when it cannot be.
 */
const openLogFile = (path: string): number | undefined => {
  try {
    const fd = Fs.openSync(path, Fs.constants.O_WRONLY | Fs.constants.O_APPEND | Fs.constants.O_CREAT | Fs.constants.O_NOFOLLOW, 0o600)
    const stat = Fs.fstatSync(fd)
    const problem = !stat.isFile()
      ? "it is not a regular file"
      : process.getuid !== undefined && stat.uid !== process.getuid()
      ? `it belongs to uid ${stat.uid}, not to you`
      : undefined
    if (problem === undefined) return fd
    Fs.closeSync(fd)
    process.stderr.write(`tabmux: log file ${path} not used: ${problem}; logs go to stderr only\n`)
  } catch (e) {
    process.stderr.write(`tabmux: log file ${path} cannot be opened (${(e as Error).message}); logs go to stderr only\n`)
  }
  return undefined
}

/** The configured logger, in place of `stderrOnly`: level (changeable through `LevelControl`), and a log file when asked. */
export const layer = (options: { readonly level: LogLevel.LogLevel; readonly file?: string | undefined; readonly fileBytes?: number }) => {
  const file = options.file === undefined ? undefined : Path.resolve(options.file)
  const limit = options.fileBytes ?? LOG_FILE_BYTES
  // The level belongs to this logger: `LevelControl` is the only way to change it.
  let level = options.level
  let fd = file === undefined ? undefined : openLogFile(file)
  let size = fd === undefined ? 0 : Fs.fstatSync(fd).size
  const write = (text: string) => {
    process.stderr.write(text)
    if (fd === undefined || file === undefined) return
    try {
      const bytes = Buffer.from(text)
      if (size > 0 && size + bytes.length > limit) {
        Fs.closeSync(fd)
        Fs.renameSync(file, `${file}.1`)
        fd = openLogFile(file)
        size = 0
        if (fd === undefined) return
      }
      size += Fs.writeSync(fd, bytes)
    } catch {
      // A log file that cannot be written must not take the server down; stderr still has it.
    }
  }
  const listeners = new Set<(level: LogLevel.LogLevel, line: string) => void>()
  const logger = Logger.make((entry) => {
    if (!LogLevel.greaterThanEqual(entry.logLevel, level)) return
    const text = line(entry)
    write(text)
    for (const listener of listeners) listener(entry.logLevel, text.trimEnd())
  })
  return Layer.mergeAll(
    Logger.replace(Logger.defaultLogger, logger),
    Logger.replace(toStderr, logger),
    // Entries below the user's level are not made at all: not written, and not exported as span events either.
    Logger.minimumLogLevel(options.level),
    Layer.succeed(LevelControl, {
      set: (next) => Effect.sync(() => void (level = next)),
      forward: (listener) =>
        Effect.acquireRelease(Effect.sync(() => void listeners.add(listener)), () => Effect.sync(() => void listeners.delete(listener)))
    }),
    Layer.scopedDiscard(Effect.addFinalizer(() => Effect.sync(() => fd !== undefined && Fs.closeSync(fd))))
  )
}

/** An Effect level as MCP's (RFC 5424) name. */
export const toMcpLevel = (level: LogLevel.LogLevel): "debug" | "info" | "warning" | "error" | "critical" =>
  LogLevel.greaterThanEqual(level, LogLevel.Fatal)
    ? "critical"
    : LogLevel.greaterThanEqual(level, LogLevel.Error)
    ? "error"
    : LogLevel.greaterThanEqual(level, LogLevel.Warning)
    ? "warning"
    : LogLevel.greaterThanEqual(level, LogLevel.Info)
    ? "info"
    : "debug"

/** MCP's logging levels (RFC 5424) as Effect's. */
export const fromMcpLevel = (name: string): LogLevel.LogLevel => {
  switch (name) {
    case "debug":
      return LogLevel.Debug
    case "info":
    case "notice":
      return LogLevel.Info
    case "warning":
      return LogLevel.Warning
    case "error":
      return LogLevel.Error
    default:
      return LogLevel.Fatal
  }
}

export const levels = ["all", "trace", "debug", "info", "warning", "error", "fatal", "none"] as const
export type LevelName = typeof levels[number]

export const levelOf = (name: LevelName): LogLevel.LogLevel => LogLevel.fromLiteral(
  (name === "all" ? "All" : name === "none" ? "None" : name[0]!.toUpperCase() + name.slice(1)) as LogLevel.Literal
)
