/**
 * Command-line flags, declared once per command: parsed with `node:util`'s `parseArgs`,
 * with each flag's `TABMUX_*` variable as the fallback, and printed as help from the same
 * declaration. (A CLI library was measured to cost every server start ~90 ms and 16 MB,
 * and an AI client starts one server per session; see docs/PERFORMANCE.md.)
 */
import { Data, Either } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { parseArgs } from "node:util"

/** What was wrong with the command line; printed on one line with the usage, exit code 2. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

export interface Flag<A> {
  readonly type: "string" | "boolean"
  readonly multiple: boolean
  /** Shown after the flag in help: `--ports <range>`. */
  readonly placeholder: string
  readonly description: string
  /** The variable read when the flag is not given. */
  readonly env: string | undefined
  /** The values given on the command line (none when absent), else the variable's text, to the flag's value or what was wrong. */
  readonly decode: (given: ReadonlyArray<string>, variable: string | undefined) => Either.Either<A, string>
}

type Base = { readonly description: string; readonly env?: string }

const flag = <A>(f: Flag<A>) => f
const last = (given: ReadonlyArray<string>) => given[given.length - 1]
const fromEnv = (variable: string | undefined) => (variable === undefined || variable === "" ? undefined : variable)

export function text(o: Base & { readonly placeholder: string; readonly default: string }): Flag<string>
export function text(o: Base & { readonly placeholder: string }): Flag<string | undefined>
export function text(o: Base & { readonly placeholder: string; readonly default?: string }): Flag<string | undefined> {
  return flag({
    type: "string",
    multiple: false,
    placeholder: o.placeholder,
    description: o.description,
    env: o.env,
    decode: (given, variable) => Either.right(last(given) ?? fromEnv(variable) ?? o.default)
  })
}

/** A path, made absolute against the working directory (what is saved, like a native host's launcher, must not depend on where it was typed). */
export const path = (o: Base & { readonly placeholder: string; readonly default: string }): Flag<string> => {
  const given = text(o)
  return { ...given, decode: (values, variable) => Either.map(given.decode(values, variable), (p) => Path.resolve(p)) }
}

export const number = (o: Base & { readonly placeholder: string; readonly default: number }): Flag<number> =>
  flag({
    type: "string",
    multiple: false,
    placeholder: o.placeholder,
    description: o.description,
    env: o.env,
    decode: (given, variable) => {
      const value = last(given) ?? fromEnv(variable)
      if (value === undefined) return Either.right(o.default)
      const n = Number(value)
      return value.trim() !== "" && Number.isFinite(n) && n >= 0 ? Either.right(n) : Either.left(`expected a number of ${o.placeholder}, got "${value}"`)
    }
  })

export const choice = <const C extends string>(o: Base & { readonly choices: ReadonlyArray<C>; readonly default: C }): Flag<C> =>
  flag({
    type: "string",
    multiple: false,
    placeholder: o.choices.join("|"),
    description: o.description,
    env: o.env,
    decode: (given, variable) => {
      const value = last(given) ?? fromEnv(variable) ?? o.default
      return (o.choices as ReadonlyArray<string>).includes(value)
        ? Either.right(value as C)
        : Either.left(`expected one of ${o.choices.join(", ")}, got "${value}"`)
    }
  })

/** Set by the flag, or by its variable set to 1, true or yes. */
export const boolean = (o: Base): Flag<boolean> =>
  flag({
    type: "boolean",
    multiple: false,
    placeholder: "",
    description: o.description,
    env: o.env,
    decode: (given, variable) => Either.right(given.length > 0 || /^(1|true|yes)$/i.test(variable ?? ""))
  })

/** Repeatable; the variable holds several values, split at `separator`. `existing` checks each is a directory that exists. */
export const list = (o: Base & { readonly placeholder: string; readonly separator: string; readonly existing?: "directory" }): Flag<ReadonlyArray<string>> =>
  flag({
    type: "string",
    multiple: true,
    placeholder: o.placeholder,
    description: o.description,
    env: o.env,
    decode: (given, variable) => {
      const values = [...given, ...(variable ?? "").split(o.separator).map((s) => s.trim()).filter(Boolean)]
      const missing = o.existing ? values.find((v) => !isDirectory(v)) : undefined
      return missing === undefined ? Either.right(values) : Either.left(`${missing} is not an existing directory`)
    }
  })

const isDirectory = (path: string) => {
  try {
    return Fs.statSync(path).isDirectory()
  } catch {
    return false
  }
}

export type Flags = Record<string, Flag<any>>
export type Values<F extends Flags> = { readonly [K in keyof F]: F[K] extends Flag<infer A> ? A : never }

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)

/**
 * Parses `args` (after the command's name) against `flags`. `--help` is reported as
 * `"help"`, to be answered by the caller. Unknown options, missing values, positional
 * arguments and bad values are a `UsageError` naming the flag (or the variable) and what was wrong.
 */
export const parse = <F extends Flags>(
  flags: F,
  args: ReadonlyArray<string>,
  env: NodeJS.ProcessEnv = process.env
): Either.Either<Values<F> | "help", UsageError> => {
  const options: Record<string, { type: "string" | "boolean"; multiple: boolean; short?: string }> = { help: { type: "boolean", multiple: false, short: "h" } }
  for (const [key, f] of Object.entries(flags)) options[kebab(key)] = { type: f.type, multiple: f.multiple }
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: true })
  } catch (e) {
    return Either.left(new UsageError({ message: argumentProblem(e) }))
  }
  if (parsed.values.help === true) return Either.right("help")
  if (parsed.positionals.length > 0) return Either.left(new UsageError({ message: `unexpected argument "${parsed.positionals[0]}"` }))
  const values: Record<string, unknown> = {}
  for (const [key, f] of Object.entries(flags)) {
    const raw = parsed.values[kebab(key)]
    const given = raw === undefined ? [] : Array.isArray(raw) ? raw.map(String) : [String(raw)]
    const variable = f.env
    const decoded = f.decode(given, variable === undefined ? undefined : env[variable])
    if (Either.isLeft(decoded)) {
      const source = given.length > 0 || variable === undefined ? `--${kebab(key)}` : `--${kebab(key)} / ${variable}`
      return Either.left(new UsageError({ message: `${source}: ${decoded.left}` }))
    }
    values[key] = decoded.right
  }
  return Either.right(values as Values<F>)
}

/** parseArgs' own messages, shortened to what a person typed. */
const argumentProblem = (e: unknown): string => {
  const error = e as { code?: string; message?: string }
  const option = /'(-[^ ']+)/.exec(error.message ?? "")?.[1]
  switch (error.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${option ?? ""}`.trim()
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return option && /argument missing/.test(error.message ?? "") ? `${option} needs a value` : String(error.message)
    default:
      return String(error.message ?? e)
  }
}

/** The options part of help: each flag with its placeholder, then its description indented. */
export const help = (flags: Flags): string =>
  Object.entries(flags)
    .map(([key, f]) => `--${kebab(key)}${f.placeholder ? ` <${f.placeholder}>` : ""}${f.multiple ? " (repeatable)" : ""}\n  ${f.description}`)
    .join("\n\n")
