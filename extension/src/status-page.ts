// The status page (also the toolbar popup): asks the worker for its state every second
// and renders it. Text only, built with DOM calls: no HTML is pasted from strings.
import { Locks } from "../../src/protocol/index.js"
import type { Status } from "./Status.js"

const el = (tag: string, text?: string, className?: string) => {
  const node = document.createElement(tag)
  if (text !== undefined) node.textContent = text
  if (className !== undefined) node.className = className
  return node
}

const render = (status: Status) => {
  const root = document.getElementById("root")!
  root.replaceChildren()
  root.append(el("h1", `tabmux: ${status.instances.length} agent${status.instances.length === 1 ? "" : "s"} connected`))
  if (status.trust.source === "none") {
    root.append(el("p",
      "Not paired with tabmux: the extension connects to no server until it can prove it is yours. " +
        "Run `tabmux install` in a terminal (then reload the extension), or paste the token of `tabmux pair` into the options page. " +
        `(native host: ${status.trust.hostProblem ?? "unavailable"})`, "error"))
  } else {
    root.append(el("p", `Paired through the ${status.trust.source}.`, "muted"))
  }
  if (status.instances.length === 0) {
    root.append(el("p", "No tabmux server found. Start an AI client configured with tabmux, or run `tabmux status` in a terminal."))
  }
  for (const instance of status.instances) {
    const section = el("section", undefined, "instance")
    const head = el("h2", `${instance.name} `)
    head.append(el("span", `port ${instance.port}`, "muted"))
    head.style.borderLeft = `6px solid ${instance.color}`
    section.append(head)
    const list = el("ul")
    for (const tab of instance.tabs) {
      const notes = [tab.current ? "current" : "", tab.shared ? "shared" : ""].filter(Boolean).join(", ")
      list.append(el("li", `${tab.handle}${notes ? ` (${notes})` : ""}: ${tab.title || tab.url}`))
    }
    if (instance.tabs.length === 0) list.append(el("li", "no tabs", "muted"))
    section.append(list)
    section.append(el("p", `Locks since it connected: ${Locks.describe(instance.locks)}`, "muted"))
    root.append(section)
  }
  if (status.locks.length > 0) {
    root.append(el("h2", "Locks"))
    const list = el("ul")
    for (const lock of status.locks) {
      const parts = [
        lock.leasedBy ? `leased by ${lock.leasedBy} (${lock.leaseEndsIn} s left)` : "",
        lock.busyWith ? `in use by ${lock.busyWith}` : "",
        lock.waiting.length ? `waiting: ${lock.waiting.join(", ")}` : ""
      ].filter(Boolean)
      list.append(el("li", `${lock.title}: ${parts.join("; ")}`))
    }
    root.append(list)
  }
}

const refresh = () =>
  chrome.runtime.sendMessage({ type: "status" }).then(
    (status: Status) => render(status),
    (e: unknown) => {
      document.getElementById("root")!.replaceChildren(el("p", `The tabmux worker did not answer: ${String(e)}`))
    }
  )

void refresh()
setInterval(refresh, 1000)
