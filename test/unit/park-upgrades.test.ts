/** A WebSocket client that arrives while the server is still starting waits, and is served once the endpoint attaches. */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { describe, expect, it } from "vitest"
import WebSocket, { WebSocketServer } from "ws"
import { parkUpgrades } from "../../src/server/PortClaims.js"

describe("parked upgrades", () => {
  it("an upgrade that arrives before the handler is served once the handler attaches; later ones directly", async () => {
    const server = Http.createServer((_q, r) => r.writeHead(403).end())
    const serve = parkUpgrades(server)
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`
    const early = new WebSocket(url)
    let opened = false
    early.once("open", () => void (opened = true))
    early.once("error", () => undefined)
    await new Promise((r) => setTimeout(r, 300))
    expect(opened).toBe(false) // parked, not refused
    const wss = new WebSocketServer({ noServer: true })
    wss.on("connection", (ws) => ws.on("message", (d) => ws.send(d)))
    const detach = serve((request, socket, head) => wss.handleUpgrade(request, socket, head, (ws) => wss.emit("connection", ws, request)))
    await new Promise((r) => early.once("open", r).readyState === WebSocket.OPEN && r(undefined))
    const late = new WebSocket(url)
    await new Promise((r) => late.once("open", r))
    const echoed = await new Promise((r) => {
      late.once("message", (d) => r(String(d)))
      late.send("hi")
    })
    expect(echoed).toBe("hi")
    early.close()
    late.close()
    detach()
    wss.close()
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })
})
