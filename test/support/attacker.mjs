// Plays another local user's attacks on tabmux (run as that user by test/e2e/trust.test.ts).
// Every frame it receives is appended, one JSON line each, to OUTFILE, for the test to read.
//   fake-server PORT OUTFILE        listens in the extension's range like a tabmux server, answers
//                                   hello with a made-up challenge and sends calls as if obeyed
//   spoof-client PORT ORIGIN OUTFILE SECONDS
//                                   dials a real server with the extension's Origin, again and again,
//                                   and answers its challenge with a forged proof
//   read FILE                       tries to read FILE (the secret), prints what happened
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import WebSocket, { WebSocketServer } from "ws"

const [mode, ...args] = process.argv.slice(2)
const record = (file, frame) => Fs.appendFileSync(file, `${JSON.stringify(frame)}\n`)
const hex = () => Crypto.randomBytes(32).toString("hex")

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
        ws.send(JSON.stringify({ type: "hello", protocol: 3, extensionVersion: "0.1.0", browser: "Chromium 156", nonce: hex() }))
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
} else if (mode === "read") {
  try {
    Fs.readFileSync(args[0])
    console.log("read it")
  } catch (e) {
    console.log(`refused: ${e.code}`)
  }
}
