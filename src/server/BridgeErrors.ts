/** How a call to the extension can fail. Each message says what happened and what to do. */
import { Data, Duration } from "effect"
import type { CallFailure } from "../protocol/index.js"
import { formatRange, type PortRange } from "./Config.js"

export class ExtensionNotConnected extends Data.TaggedError("ExtensionNotConnected")<{
  readonly method: string
  readonly port: number
  readonly range: PortRange
  readonly waited: Duration.Duration
  readonly extensionDir: string
  /** The user disconnected this agent in the browser (the tabmux popup's "Disconnect"). */
  readonly byUser?: boolean
  /** An extension reached this server but could not prove it is this user's (not paired with this secret). */
  readonly unpaired?: boolean
}> {
  override get message() {
    if (this.byUser === true) {
      return "The user disconnected this agent from their browser (tabmux popup: Disconnect): it may not drive the browser now. " +
        "Tell the user; they can let it back by restarting this MCP server (the client's tabmux entry)."
    }
    const waited = Duration.toMillis(this.waited) === 0 ? "it was not connected after the last wait either" : `waited ${Duration.format(this.waited)}`
    if (this.unpaired === true) {
      return `The tabmux browser extension reached this server (port ${this.port}) but could not prove it belongs to this user: ` +
        "it is not paired with this user's secret. To fix: run `tabmux install` (the native-messaging host pairs it with no clicks), " +
        "or paste the token `tabmux pair` prints into the extension's options; then reload the extension."
    }
    return `The tabmux browser extension is not connected to this server (port ${this.port}; ${waited}). ` +
      "To fix, in this order: pair it (`tabmux install` sets up the native-messaging host; where that cannot run, `tabmux pair`); " +
      `install or enable it in Chrome (chrome://extensions, "Load unpacked": ${this.extensionDir}); ` +
      `make sure its port range includes ${this.port} (this server's range is ${formatRange(this.range)}, set by --ports / TABMUX_PORTS); ` +
      "then run `tabmux status` to see servers and their connections."
  }
}

export class ExtensionDisconnected extends Data.TaggedError("ExtensionDisconnected")<{ readonly method: string }> {
  override get message() {
    return `The browser extension disconnected during ${this.method}; the call's outcome is unknown (it was not retried). ` +
      "Check the browser, then run `tabmux status`."
  }
}

export class CallTimeout extends Data.TaggedError("CallTimeout")<{ readonly method: string; readonly timeout: Duration.Duration }> {
  override get message() {
    return `${this.method} got no answer from the browser extension within ${Duration.format(this.timeout)}; it was not retried. ` +
      "The page may be busy or the browser stalled; check it, then try again."
  }
}

/** Parameters or a result that do not match the method catalogue: a version mismatch or a bug, never user input. */
export class ProtocolMismatch extends Data.TaggedError("ProtocolMismatch")<{
  readonly method: string
  readonly direction: "params" | "result"
  readonly issue: string
}> {
  override get message() {
    return `${this.method}: the ${this.direction} do not match the protocol (${this.issue}). ` +
      "Update the tabmux server and extension to the same version."
  }
}

/** The extension ran the call and reported a failure (tab not found, not owned, lock timeout, ...). */
export class ExtensionCallFailed extends Data.TaggedError("ExtensionCallFailed")<{
  readonly method: string
  readonly error: CallFailure
}> {
  override get message() {
    return this.error.message
  }
}

export type CallError = ExtensionNotConnected | ExtensionDisconnected | CallTimeout | ProtocolMismatch | ExtensionCallFailed
