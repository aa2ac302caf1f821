/** An MCP client that declares roots, as Claude Code or VS Code do: agents' files may be inside them. */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { ListRootsRequestSchema } from "@modelcontextprotocol/sdk/types.js"
import * as Path from "node:path"
import { pathToFileURL } from "node:url"

export const clientWithRoots = (name: string, roots: ReadonlyArray<string>) => {
  const client = new Client({ name, version: "1.0.0" }, { capabilities: { roots: { listChanged: true } } })
  let current = [...roots]
  client.setRequestHandler(ListRootsRequestSchema, () => ({
    roots: current.map((r) => ({ uri: pathToFileURL(r).href, name: Path.basename(r) }))
  }))
  return {
    client,
    /** Changes the roots and tells the server, as a client does when the user opens another folder. */
    setRoots: async (next: ReadonlyArray<string>) => {
      current = [...next]
      await client.sendRootsListChanged()
    }
  }
}
