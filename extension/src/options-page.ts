// The options page: the port range to scan, checked with the same rule the server uses.
import { DEFAULT_PORTS, formatRange, isHex32, parsePortRange } from "../../src/protocol/index.js"

const input = document.getElementById("ports") as HTMLInputElement
const message = document.getElementById("message")!

const say = (text: string, error = false) => {
  message.textContent = text
  message.className = error ? "error" : ""
}

const shareAll = document.getElementById("shareAll") as HTMLInputElement

// The range in use, as the worker scans it (saved here, or the one `tabmux browser --ports` gave, or the default).
void chrome.runtime.sendMessage({ type: "status" }).then(
  (status: { range?: string }) => {
    input.value = status.range ?? formatRange(DEFAULT_PORTS)
    say(`Scanning ${input.value} now.`)
  },
  () => chrome.storage.local.get("ports").then((stored) => {
    input.value = typeof stored.ports === "string" ? stored.ports : formatRange(DEFAULT_PORTS)
  })
)
void chrome.storage.local.get("shareAll").then((stored) => {
  shareAll.checked = stored.shareAll === true
})

shareAll.addEventListener("change", () => {
  void chrome.storage.local.set({ shareAll: shareAll.checked }).then(() =>
    say(shareAll.checked
      ? "Every tab no agent owns is now shared with all agents: an agent acts on one only while it leases it."
      : "Only the tabmux · shared group is shared."))
})

document.getElementById("save")!.addEventListener("click", () => {
  const range = parsePortRange("port range", input.value)
  if (!("first" in range)) return say(range.message, true)
  void chrome.storage.local.set({ ports: formatRange(range) }).then(() => say(`Saved: scanning ${formatRange(range)}.`))
})

// Pairing: the token `tabmux pair` prints (the user's secret). Kept in this extension's
// local storage, which no web page can read.
const pairing = document.getElementById("pairing") as HTMLInputElement
const pairMessage = document.getElementById("pairMessage")!
const sayPaired = (text: string, error = false) => {
  pairMessage.textContent = text
  pairMessage.className = error ? "error" : ""
}
void chrome.storage.local.get("pairing").then((stored) => {
  if (typeof stored.pairing === "string") sayPaired("Paired (token saved).")
})
document.getElementById("pair")!.addEventListener("click", () => {
  const token = pairing.value.trim().toLowerCase()
  if (!isHex32(token)) return sayPaired("A pairing token is 64 hex digits, as the command tabmux pair prints it.", true)
  void chrome.storage.local.set({ pairing: token }).then(() => {
    pairing.value = ""
    sayPaired("Paired: servers of this user will be found within a few seconds.")
  })
})
document.getElementById("unpair")!.addEventListener("click", () => {
  void chrome.storage.local.remove("pairing").then(() => sayPaired("Pairing forgotten."))
})
