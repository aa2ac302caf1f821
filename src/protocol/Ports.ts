/** The loopback port range servers claim from and the extension scans; both sides parse it the same way. */
import { Data } from "effect"

export interface PortRange {
  readonly first: number
  readonly last: number
}

export const DEFAULT_PORTS: PortRange = { first: 8765, last: 8796 }

/** A setting that could not be understood: names the setting, what was given and what is expected. */
export class BadConfig extends Data.TaggedError("BadConfig")<{
  readonly setting: string
  readonly value: string
  readonly expected: string
}> {
  override get message() {
    return `invalid ${this.setting} ${JSON.stringify(this.value)}: expected ${this.expected}`
  }
}

export const parsePortRange = (setting: string, text: string): PortRange | BadConfig => {
  const bad = new BadConfig({ setting, value: text, expected: "a port or a range like 8765-8796 (1024-65535, at most 1024 ports)" })
  const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(text)
  if (!m) return bad
  const first = Number(m[1])
  const last = m[2] === undefined ? first : Number(m[2])
  if (first < 1024 || last > 65535 || last < first || last - first >= 1024) return bad
  return { first, last }
}

export const portsOf = (range: PortRange): ReadonlyArray<number> =>
  Array.from({ length: range.last - range.first + 1 }, (_, i) => range.first + i)

export const formatRange = (range: PortRange) =>
  range.first === range.last ? `${range.first}` : `${range.first}-${range.last}`

