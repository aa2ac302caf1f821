// The options page: the port range to scan, checked with the same rule the server uses.
import { DEFAULT_PORTS, formatRange, parsePortRange } from "../../src/protocol/index.js"

const input = document.getElementById("ports") as HTMLInputElement
const message = document.getElementById("message")!

const say = (text: string, error = false) => {
  message.textContent = text
  message.className = error ? "error" : ""
}

const shareAll = document.getElementById("shareAll") as HTMLInputElement

void chrome.storage.local.get(["ports", "shareAll"]).then((stored) => {
  input.value = typeof stored.ports === "string" ? stored.ports : formatRange(DEFAULT_PORTS)
  shareAll.checked = stored.shareAll === true
})

shareAll.addEventListener("change", () => {
  void chrome.storage.local.set({ shareAll: shareAll.checked }).then(() =>
    say(shareAll.checked ? "Every tab no agent owns is now shared with all agents." : "Only the tabmux · shared group is shared."))
})

document.getElementById("save")!.addEventListener("click", () => {
  const range = parsePortRange("port range", input.value)
  if (!("first" in range)) return say(range.message, true)
  void chrome.storage.local.set({ ports: formatRange(range) }).then(() => say(`Saved: scanning ${formatRange(range)}.`))
})
