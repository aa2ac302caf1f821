/**
 * Logs go to stderr (stdout is the MCP channel) and, when asked, to a file too: one
 * line per entry, `time level message` plus the cause when there is one.
 */
import { Cause, HashMap, Layer, Logger, LogLevel } from "effect"
import * as Fs from "node:fs"

const line = (options: Logger.Logger.Options<unknown>) => {
  const message = Array.isArray(options.message) ? options.message.map(String).join(" ") : String(options.message)
  const annotations = HashMap.reduce(options.annotations, "", (acc, v, k) => `${acc} ${k}=${JSON.stringify(v)}`)
  const cause = Cause.isEmpty(options.cause) ? "" : `\n${Cause.pretty(options.cause)}`
  return `${options.date.toISOString()} ${options.logLevel.label.padEnd(5)} ${message}${annotations}${cause}\n`
}

const toStderr = Logger.make((entry) => {
  process.stderr.write(line(entry))
})

/** Effect's default logger writes to stdout; this replaces it (for the whole CLI, before flags are read). */
export const stderrOnly = Logger.replace(Logger.defaultLogger, toStderr)

/** The configured logger, in place of `stderrOnly`: level, and a log file when asked. */
export const layer = (options: { readonly level: LogLevel.LogLevel; readonly file?: string | undefined }) => {
  const file = options.file
  const logger = file === undefined ? toStderr : Logger.make((entry) => {
    const text = line(entry)
    process.stderr.write(text)
    try {
      Fs.appendFileSync(file, text, { mode: 0o600 })
    } catch {
      // A log file that cannot be written must not take the server down; stderr still has it.
    }
  })
  return Layer.merge(
    Layer.merge(Logger.replace(Logger.defaultLogger, logger), Logger.replace(toStderr, logger)),
    Logger.minimumLogLevel(options.level)
  )
}

export const levels = ["all", "trace", "debug", "info", "warning", "error", "fatal", "none"] as const
export type LevelName = typeof levels[number]

export const levelOf = (name: LevelName): LogLevel.LogLevel => LogLevel.fromLiteral(
  (name === "all" ? "All" : name === "none" ? "None" : name[0]!.toUpperCase() + name.slice(1)) as LogLevel.Literal
)
