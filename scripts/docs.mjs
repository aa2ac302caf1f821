// Writes docs/TOOLS.md and README's tool list from the built tool registry (run `npm run build` first).
import * as Fs from "node:fs"
import { readmeToolList, toolsMarkdown } from "../dist/server/tools/reference.js"

Fs.writeFileSync("docs/TOOLS.md", toolsMarkdown() + "\n")
const readme = Fs.readFileSync("README.md", "utf8")
const marked = /(<!-- tools:start -->\n)[\s\S]*?(<!-- tools:end -->)/
if (!marked.test(readme)) throw new Error("README.md has no <!-- tools:start --> / <!-- tools:end --> markers")
Fs.writeFileSync("README.md", readme.replace(marked, (_, start, end) => `${start}${readmeToolList()}\n${end}`))
console.log("wrote docs/TOOLS.md and README.md's tool list")
