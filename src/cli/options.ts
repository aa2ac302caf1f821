/** Flags shared by the commands; each has a `TABMUX_*` variable and a default. */
import { Options } from "@effect/cli"
import { Config, Option } from "effect"
import * as ServerConfig from "../server/Config.js"
import * as Logging from "../server/Logging.js"

const fromEnv = <A>(options: Options.Options<A>, config: Config.Config<A>) => Options.withFallbackConfig(options, config)

export const ports = fromEnv(
  Options.text("ports").pipe(Options.withDescription(`Port range to claim a port from (the extension scans the same range). Env TABMUX_PORTS; default ${ServerConfig.formatRange(ServerConfig.DEFAULT_PORTS)}.`)),
  Config.string("TABMUX_PORTS")
).pipe(Options.withDefault(ServerConfig.formatRange(ServerConfig.DEFAULT_PORTS)))

export const dir = fromEnv(
  Options.directory("dir", { exists: "either" }).pipe(Options.withDescription(`Per-user runtime directory for port records and locks (0700). Env TABMUX_DIR; default ${ServerConfig.defaultDir()}.`)),
  Config.string("TABMUX_DIR")
).pipe(Options.optional)

export const logLevel = fromEnv(
  Options.choice("log-level", Logging.levels).pipe(Options.withDescription("Log level (logs go to stderr). Env TABMUX_LOG_LEVEL; default info.")),
  Config.literal(...Logging.levels)("TABMUX_LOG_LEVEL")
).pipe(Options.withDefault("info" as Logging.LevelName))

export const logFile = fromEnv(
  Options.file("log-file").pipe(Options.withDescription("Also append logs to this file. Env TABMUX_LOG_FILE.")),
  Config.string("TABMUX_LOG_FILE")
).pipe(Options.optional)

export const json = Options.boolean("json").pipe(Options.withDescription("Print JSON instead of a table."))

export const resolveDir = (d: Option.Option<string>) => Option.getOrElse(d, () => ServerConfig.defaultDir())

/** A boolean flag, or its variable set to 1/true/yes. */
export const flagOrEnv = (flag: boolean, name: string) => flag || /^(1|true|yes)$/i.test(process.env[name] ?? "")
