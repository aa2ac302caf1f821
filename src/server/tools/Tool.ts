/**
 * A tool is an Effect Schema for its input, an optional one for its output, MCP
 * annotations, and an Effect handler. Arguments are decoded before the handler runs;
 * every failure becomes an `isError` result whose text says what was wrong and what to do.
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Duration, Effect, JSONSchema, Metric, ParseResult, Schema, SchemaAST } from "effect"
import * as Metrics from "../Metrics.js"

export interface ToolAnnotations {
  readonly title: string
  readonly readOnlyHint: boolean
  readonly destructiveHint: boolean
  readonly idempotentHint: boolean
  readonly openWorldHint: boolean
}

export type ToolResult = CallToolResult

/** What a handler returns: text for every client, and structure for those that read `structuredContent`. */
export interface ToolOutput<O> {
  readonly text: string
  readonly structured: O
  /** Images shown to the agent after the text (screenshots). */
  readonly images?: ReadonlyArray<{ readonly data: string; readonly mimeType: string }>
}

export interface Tool<R> {
  readonly name: string
  readonly description: string
  readonly annotations: ToolAnnotations
  readonly inputSchema: Record<string, unknown>
  readonly outputSchema: Record<string, unknown> | undefined
  readonly run: (args: unknown) => Effect.Effect<ToolResult, never, R>
}

/** Arguments that do not match the tool's input schema, or that contradict each other. */
export class BadArguments extends Schema.TaggedError<BadArguments>()("BadArguments", {
  tool: Schema.String,
  issue: Schema.String
}) {
  override get message() {
    return `Invalid arguments for ${this.tool}: ${this.issue}`
  }
}

/**
 * What was wrong with the arguments, one line per argument, in words an agent can act
 * on: `action: expected one of "list", "new", got "explode"`.
 */
export const describeIssues = (error: ParseResult.ParseError): string => {
  const byPath = new Map<string, Array<ParseResult.ArrayFormatterIssue>>()
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const key = issue.path.map(String).join(".")
    byPath.set(key, [...(byPath.get(key) ?? []), issue])
  }
  return [...byPath].map(([path, issues]) => {
    if (path === "") return "the arguments must be an object"
    if (issues.some((i) => i._tag === "Missing")) return `${path}: is required`
    if (issues.some((i) => i._tag === "Unexpected")) return `${path}: is not an argument of this tool`
    const expected: Array<string> = []
    let actual = ""
    for (const issue of issues) {
      const m = /^Expected (.*), actual (.*)$/s.exec(issue.message)
      if (m === null) expected.push(issue.message)
      else if (m[1] !== "undefined") {
        expected.push(m[1]!.replace(/\.$/, ""))
        actual = m[2]!
      }
    }
    const want = expected.length > 1 ? `one of ${expected.join(", ")}` : expected[0] ?? "a valid value"
    return `${path}: expected ${want}${actual ? `, got ${actual}` : ""}`
  }).join("; ")
}

/**
 * A JSON Schema that every client reads: each `$ref` into `$defs` inlined (several MCP
 * clients mishandle references), and the titles and ids Effect generates ("int",
 * "between(1, 100)") dropped: descriptions say what a field is.
 */
const plain = (node: unknown, defs: Record<string, unknown>): unknown => {
  if (Array.isArray(node)) return node.map((n) => plain(n, defs))
  if (typeof node !== "object" || node === null) return node
  const { $ref, $defs: _defs, $id: _id, title: _title, ...rest } = node as Record<string, unknown>
  const target = typeof $ref === "string" && $ref.startsWith("#/$defs/") ? defs[$ref.slice("#/$defs/".length)] : undefined
  const merged = target === undefined ? rest : { ...(plain(target, defs) as object), ...rest }
  return Object.fromEntries(Object.entries(merged).map(([k, v]) => [k, k === "properties" ? mapValues(v, defs) : plain(v, defs)]))
}

/** Property names are keys, not schema keywords: a property called "title" is kept. */
const mapValues = (properties: unknown, defs: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(properties as Record<string, unknown>).map(([k, v]) => [k, plain(v, defs)]))

/**
 * JSON Schema for an MCP tool, which must describe an object: `$schema` dropped,
 * references inlined, generated titles dropped; an empty `Struct({})` (which Effect
 * renders as "any non-nullish value") becomes `{}`'s object schema. Anything else that
 * is not an object is a bug in the tool's definition.
 */
const objectJsonSchema = (name: string, schema: Schema.Schema.Any): Record<string, unknown> => {
  const { $schema: _, ...generated } = JSONSchema.make(schema, { target: "jsonSchema7" }) as unknown as Record<string, unknown>
  const rest = plain(generated, (generated.$defs ?? {}) as Record<string, unknown>) as Record<string, unknown>
  if (rest.type === "object") return rest
  if (SchemaAST.isTypeLiteral(schema.ast) && schema.ast.propertySignatures.length === 0) {
    return { type: "object", properties: {}, additionalProperties: false }
  }
  throw new Error(`tool ${name}: its input and output schemas must be objects`)
}

/** Playwright MCP 0.0.83's names for our arguments: agents trained on either just work. */
/** Other names agents use for our arguments (Playwright MCP's, and our own earlier ones). */
const ALIASES: Readonly<Record<string, string>> = { target: "ref", startTarget: "startRef", endTarget: "endRef", static: "includeStatic", path: "filename" }

/** Renames aliased arguments (at the top and in `fields` items) unless the canonical one is given too. */
export const unalias = (args: unknown): unknown => {
  if (typeof args !== "object" || args === null || Array.isArray(args)) return args
  const renamed = (o: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [ALIASES[k] !== undefined && !(ALIASES[k]! in o) ? ALIASES[k]! : k, v]))
  const top = renamed(args as Record<string, unknown>)
  return Array.isArray(top.fields)
    ? { ...top, fields: top.fields.map((f) => (typeof f === "object" && f !== null ? renamed(f as Record<string, unknown>) : f)) }
    : top
}

/** What an agent types or runs (a password, a script) is never written to a log or a trace, even at debug: its length stands in. */
const TYPED = new Set(["text", "value", "values", "function", "code", "password", "promptText"])

export const withoutTypedText = (args: unknown, key = ""): unknown =>
  typeof args === "string"
    ? TYPED.has(key) ? `<${args.length} chars>` : args
    : Array.isArray(args)
    ? args.map((a) => withoutTypedText(a, key))
    : typeof args === "object" && args !== null
    ? Object.fromEntries(Object.entries(args).map(([k, v]) => [k, withoutTypedText(v, k)]))
    : args

export const errorResult = (message: string): ToolResult => ({ content: [{ type: "text", text: message }], isError: true })

export const make = <I, IE, O, OE, E extends { readonly message: string }, R>(spec: {
  readonly name: string
  readonly description: string
  readonly annotations: ToolAnnotations
  readonly input: Schema.Schema<I, IE>
  readonly output: Schema.Schema<O, OE>
  readonly handler: (input: I) => Effect.Effect<ToolOutput<O>, E, R>
}): Tool<R> => {
  const decode = Schema.decodeUnknown(spec.input, { errors: "all", onExcessProperty: "error" })
  const encodeOutput = Schema.encode(spec.output)
  // JSON Schemas are made when first listed, not at every server start.
  let schemas: { readonly input: Record<string, unknown>; readonly output: Record<string, unknown> } | undefined
  const jsonSchemas = () => (schemas ??= { input: objectJsonSchema(spec.name, spec.input), output: objectJsonSchema(spec.name, spec.output) })
  return {
    name: spec.name,
    description: spec.description,
    annotations: spec.annotations,
    get inputSchema() {
      return jsonSchemas().input
    },
    get outputSchema() {
      return jsonSchemas().output
    },
    run: (args) =>
      Effect.logDebug(`tool ${spec.name}`, withoutTypedText(args ?? {})).pipe(
        Effect.zipRight(decode(unalias(args ?? {}))),
        Effect.mapError((e) => new BadArguments({ tool: spec.name, issue: describeIssues(e) })),
        Effect.flatMap(spec.handler),
        Effect.flatMap((out) =>
          Effect.map(encodeOutput(out.structured).pipe(Effect.orDie), (structured): ToolResult => ({
            content: [{ type: "text", text: out.text }, ...(out.images ?? []).map((i) => ({ type: "image" as const, data: i.data, mimeType: i.mimeType }))],
            structuredContent: structured as Record<string, unknown>
          }))
        ),
        Effect.catchAll((e) => Effect.succeed(errorResult(e.message))),
        Effect.timed,
        Effect.flatMap(([took, result]) =>
          Effect.as(
            Effect.zipRight(
              Metric.update(Metrics.toolDuration.pipe(Metric.tagged("tool", spec.name)), Duration.toMillis(took)),
              Metric.update(Metrics.toolCalls.pipe(Metric.tagged("tool", spec.name), Metric.tagged("outcome", result.isError ? "error" : "ok")), 1)
            ),
            result
          )
        ),
        Effect.withSpan(`tool ${spec.name}`)
      )
  }
}
