import * as Fs from "node:fs"
import { describe, expect, it } from "vitest"
import { readmeToolList, toolsMarkdown } from "../../src/server/tools/reference.js"
import { tools } from "../../src/server/tools/index.js"

describe("generated tool reference", () => {
  it("docs/TOOLS.md is what `npm run docs` writes from the registry", () => {
    expect(Fs.readFileSync("docs/TOOLS.md", "utf8")).toBe(toolsMarkdown() + "\n")
  })

  it("README lists every tool, as `npm run docs` writes it", () => {
    const readme = Fs.readFileSync("README.md", "utf8")
    const list = /<!-- tools:start -->\n([\s\S]*?)<!-- tools:end -->/.exec(readme)?.[1]
    expect(list).toBe(readmeToolList() + "\n")
    for (const t of tools) expect(list).toContain(`\`${t.name}\``)
  })

  it("every tool has a title, a description, and an object input schema with described arguments", () => {
    for (const t of tools) {
      expect(t.annotations.title.length, t.name).toBeGreaterThan(2)
      expect(t.description.length, t.name).toBeGreaterThan(20)
      expect(t.inputSchema.type, t.name).toBe("object")
      for (const [name, p] of Object.entries((t.inputSchema.properties ?? {}) as Record<string, { description?: string }>)) {
        expect(p.description, `${t.name}.${name} has no description`).toBeTruthy()
      }
    }
  })
})

describe("tool schemas every client reads", () => {
  it("no $ref, $defs or generated titles in any input or output schema; integers stay integers", () => {
    for (const t of tools) {
      for (const schema of [t.inputSchema, t.outputSchema]) {
        const text = JSON.stringify(schema ?? {})
        expect(text, t.name).not.toMatch(/"\$ref"|"\$defs"|"\$id"|"title"\s*:\s*"(int|between|unknown|greaterThan|lessThan)/)
      }
    }
    const resize = tools.find((t) => t.name === "browser_resize")!.inputSchema as any
    expect(resize.properties.width).toMatchObject({ type: "integer", minimum: 100, maximum: 10000 })
  })
})
