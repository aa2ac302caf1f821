// The status page (also the toolbar popup): asks the worker for its state every second
// and renders it, with the user's controls: "Take back" a tab, "Disconnect" an agent,
// "Pause all agents". Text only, built with DOM calls: no HTML is pasted from strings.
import { Locks } from "../../src/protocol/index.js"
import type { Status, StatusRequest } from "./Status.js"

const ask = (request: StatusRequest) => chrome.runtime.sendMessage(request)

/** What the last control the user pressed could not do, shown until the next one. */
let notice: string | undefined

const button = (label: string, description: string, request: StatusRequest) => {
  const b = el("button", label) as HTMLButtonElement
  b.type = "button"
  b.title = description
  b.setAttribute("aria-description", description)
  b.addEventListener("click", () => {
    b.disabled = true
    void ask(request).then(
      (answer: { done?: boolean; error?: string } | undefined) => {
        notice = answer?.done === true ? undefined : `${label}: ${answer?.error ?? "nothing to do (it is gone already)"}`
      },
      (e: unknown) => {
        notice = `${label}: the tabmux worker did not answer (${String(e)})`
      }
    ).finally(refresh)
  })
  return b
}

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
  if (notice !== undefined) root.append(el("p", notice, "error"))
  if (status.trust.source === "none") {
    root.append(el("p",
      "Not paired with tabmux: the extension connects to no server until it can prove it is yours. " +
        "Run \"tabmux install\" in a terminal (then reload the extension), or paste the token \"tabmux pair\" prints into the options page. " +
        `(native host: ${status.trust.hostProblem ?? "unavailable"})`, "error"))
  } else {
    const paired = status.trust.source === "native host" ? "Paired with your tabmux servers through the native host" : "Paired with your tabmux servers by a pairing token"
    root.append(el("p", `${paired}; scanning ports ${status.range}.`, "muted"))
  }
  const pause = el("p", undefined, "controls")
  const toggle = el("input") as HTMLInputElement
  toggle.type = "checkbox"
  toggle.id = "pause"
  toggle.setAttribute("role", "switch")
  toggle.checked = status.paused
  toggle.addEventListener("change", () => void ask({ type: "pause", paused: toggle.checked }).finally(refresh))
  const label = el("label", "Pause all agents") as HTMLLabelElement
  label.htmlFor = "pause"
  pause.append(toggle, label)
  if (status.paused) pause.append(el("span", " — agents are paused: their calls fail until you resume, and no lease runs out.", "error"))
  root.append(pause)
  if (status.instances.length === 0) {
    root.append(el("p", "No tabmux server found. Start an AI client configured with tabmux, or run \"tabmux status\" in a terminal."))
  }
  for (const instance of status.instances) {
    const section = el("section", undefined, "instance")
    section.setAttribute("aria-label", instance.name)
    const head = el("h2", `${instance.name} `)
    head.append(el("span", `port ${instance.port}${instance.connected ? "" : ", not connected (its tabs are kept for it)"}`, "muted"))
    head.style.borderLeft = `6px solid ${instance.color}`
    section.append(head)
    const doing = [
      instance.busy.length > 0 ? `working in ${instance.busy.join(", ")}` : "idle",
      ...instance.leases.map((l) => `leases ${l.title} (${l.secondsLeft} s left)`)
    ]
    section.append(el("p", `Now: ${doing.join("; ")}.`, "muted"))
    const list = el("ul")
    for (const tab of instance.tabs) {
      const notes = [tab.current ? "current" : "", tab.shared ? "shared" : ""].filter(Boolean).join(", ")
      const item = el("li", `${tab.handle}${notes ? ` (${notes})` : ""}: ${tab.title || tab.url} `)
      item.title = tab.url
      item.append(button("Take back", `Take ${tab.title || tab.url} back from ${instance.name}: it leaves the agent, which can no longer drive it`, {
        type: "takeBack",
        instance: instance.id,
        handle: tab.handle
      }))
      list.append(item)
    }
    if (instance.tabs.length === 0) list.append(el("li", "no tabs", "muted"))
    section.append(list)
    section.append(el("p", `Locks since it connected: ${Locks.describe(instance.locks)}`, "muted"))
    section.append(button("Disconnect", `Disconnect ${instance.name}: its tabs are handled as it asked (closed by default), and it is not connected again`, {
      type: "disconnect",
      instance: instance.id
    }))
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
