// Plays another local user's attacks on tabmux (run as that user by test/e2e/trust.test.ts).
// Every frame it receives is appended, one JSON line each, to OUTFILE, for the test to read.
//   fake-server PORT OUTFILE        listens in the extension's range like a tabmux server, answers
//                                   hello with a made-up challenge and sends calls as if obeyed
//   spoof-client PORT ORIGIN OUTFILE SECONDS
//                                   dials a real server with the extension's Origin, again and again,
//                                   and answers its challenge with a forged proof
//   dial PORT ORIGIN OUTFILE        connects once with the extension's Origin and a hello, and records
//                                   what comes back: {open}, frames, {http: status}, {error: code}, {closed}
//   relay PORT OUTFILE              the relay across time (SECURITY.md): listens on PORT until the
//                                   extension dials it and says hello, stops listening but keeps that
//                                   connection, waits for a server to bind PORT, dials it, and relays
//                                   both ways, recording every message ({from, text | bytes})
//   read FILE                       tries to read FILE (the secret), prints what happened
// PROTOCOL in the environment is the protocol version to claim (default: the current one).
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import WebSocket, { WebSocketServer } from "ws"

const [mode, ...args] = process.argv.slice(2)
const record = (file, frame) => Fs.appendFileSync(file, `${JSON.stringify(frame)}\n`)
const hex = () => Crypto.randomBytes(32).toString("hex")
const PROTOCOL = Number(process.env.PROTOCOL ?? 4)

if (mode === "fake-server") {
  const [port, out] = args
  const wss = new WebSocketServer({ host: "127.0.0.1", port: Number(port) })
  wss.on("connection", (ws) => {
    ws.on("message", (data) => {
      let frame
      try {
        frame = JSON.parse(String(data))
      } catch {
        frame = { raw: String(data).slice(0, 200) }
      }
      record(out, frame)
      if (frame.type === "hello") {
        ws.send(JSON.stringify({ type: "challenge", nonce: hex(), proof: hex() }))
        // An extension that skipped the proof would take these.
        ws.send(JSON.stringify({
          type: "welcome", protocol: frame.protocol, instanceId: "evil", clientName: "evil", pid: 1, serverVersion: "0",
          token: "evil", onDisconnect: "close", graceSeconds: 1
        }))
        ws.send(JSON.stringify({ type: "call", id: 1, method: "tabs.new", params: { url: "http://127.0.0.1:1/evil" } }))
        ws.send(JSON.stringify({ type: "call", id: 2, method: "tabs.list", params: {} }))
      }
    })
  })
  wss.on("listening", () => console.log("listening"))
} else if (mode === "spoof-client") {
  const [port, origin, out, seconds] = args
  const until = Date.now() + Number(seconds) * 1000
  const attempt = () =>
    new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`, { headers: { Origin: origin } })
      ws.on("open", () => {
        ws.send(JSON.stringify({ type: "hello", protocol: PROTOCOL, extensionVersion: "0.1.0", browser: "Chromium 156", nonce: hex() }))
      })
      ws.on("message", (data) => {
        const frame = JSON.parse(String(data))
        record(out, frame)
        if (frame.type === "challenge") ws.send(JSON.stringify({ type: "auth", proof: hex() }))
      })
      ws.on("unexpected-response", (_req, res) => {
        record(out, { http: res.statusCode })
        resolve()
      })
      ws.on("error", () => resolve())
      ws.on("close", () => resolve())
    })
  while (Date.now() < until) {
    await attempt()
    await new Promise((r) => setTimeout(r, 20))
  }
} else if (mode === "dial") {
  const [port, origin, out] = args
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, { headers: { Origin: origin } })
  ws.on("open", () => {
    record(out, { open: true })
    ws.send(JSON.stringify({ type: "hello", protocol: PROTOCOL, extensionVersion: "0.1.0", browser: "Chromium 156", nonce: hex() }))
  })
  ws.on("message", (data) => record(out, { frame: String(data).slice(0, 500) }))
  ws.on("unexpected-response", (_req, res) => record(out, { http: res.statusCode }))
  ws.on("error", (e) => record(out, { error: e.code ?? e.message }))
  ws.on("close", () => {
    record(out, { closed: true })
    process.exit(0)
  })
} else if (mode === "relay") {
  const [port, out] = args
  const net = await import("node:net")
  const entry = (from, data, isBinary) =>
    isBinary ? { from, bytes: Buffer.from(data).toString("base64") } : { from, text: String(data) }
  const wss = new WebSocketServer({ host: "127.0.0.1", port: Number(port) })
  wss.on("listening", () => console.log("listening"))
  wss.once("connection", (extension) => {
    const early = []
    extension.on("message", (data, isBinary) => {
      record(out, entry("extension", data, isBinary))
      early.push([data, isBinary])
    })
    // Stop listening (the connection stays), then wait for the user's server to bind the port.
    wss.close()
    for (const c of wss.clients) if (c !== extension) c.terminate()
    const dialWhenBound = () => {
      const probe = net.connect({ port: Number(port), host: "127.0.0.1" })
      probe.on("connect", () => {
        probe.destroy()
        const server = new WebSocket(`ws://127.0.0.1:${port}`, { headers: { Origin: process.env.ORIGIN } })
        server.on("open", () => {
          record(out, { relaying: true })
          for (const [data, isBinary] of early.splice(0)) server.send(data, { binary: isBinary })
          extension.removeAllListeners("message")
          extension.on("message", (data, isBinary) => {
            record(out, entry("extension", data, isBinary))
            server.send(data, { binary: isBinary })
          })
        })
        server.on("message", (data, isBinary) => {
          record(out, entry("server", data, isBinary))
          extension.send(data, { binary: isBinary })
        })
        server.on("unexpected-response", (_req, res) => record(out, { http: res.statusCode }))
        server.on("error", (e) => record(out, { error: e.code ?? e.message }))
        server.on("close", () => {
          record(out, { closed: "server" })
          extension.close()
        })
      })
      probe.on("error", () => setTimeout(dialWhenBound, 20))
    }
    dialWhenBound()
  })
} else if (mode === "read") {
  try {
    Fs.readFileSync(args[0])
    console.log("read it")
  } catch (e) {
    console.log(`refused: ${e.code}`)
  }
}
