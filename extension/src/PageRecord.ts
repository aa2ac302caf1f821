/**
 * What the extension keeps about a page it drives, fed by CDP events: the page's child
 * sessions (out-of-process iframes), its console messages and network requests since it
 * loaded, an open dialog or file chooser, and the refs of its latest snapshot. A record
 * lives as long as its tab's session (TabSessions). Records are changed only inside one
 * synchronous step (an event, or a `modify`), so no two fibers ever interleave on one.
 */
import { type CallFailure, NotWebContent, PageError } from "../../src/protocol/index.js"
import type { DriverError } from "./Driver.js"

export type ConsoleLevel = "error" | "warning" | "info" | "debug"

export interface ConsoleEntry {
  /** Increases across the whole page record: "new since" is a comparison. */
  readonly seq: number
  readonly level: ConsoleLevel
  /** What wrote it, as the console API names it (`log`, `info`, `warning`, ...). */
  readonly type: string
  readonly text: string
  readonly where: string | undefined
}

export interface RequestEntry {
  readonly id: string
  readonly session: string | undefined
  /** The document load it belongs to. */
  readonly loaderId: string | undefined
  readonly method: string
  readonly url: string
  readonly type: string
  readonly requestHeaders: Record<string, string>
  readonly postData: string | undefined
  status?: number
  statusText?: string
  mimeType?: string
  responseHeaders?: Record<string, string>
  size?: number
  failed?: string
  finished: boolean
}

export type Modal =
  | { readonly kind: "dialog"; readonly type: string; readonly message: string; readonly defaultPrompt: string; readonly session: string | undefined }
  | { readonly kind: "fileChooser"; readonly backendNodeId: number; readonly multiple: boolean; readonly session: string | undefined }

/** A frame of the page: the session (page or out-of-process frame) it is reached through, and its id. */
export interface FrameRef {
  readonly session: string | undefined
  readonly frameId: string
}

/** An element a snapshot ref points at: its frame, and (once resolved) its DOM node there. */
export interface NodeRef extends FrameRef {
  readonly backendNodeId: number
}

/**
 * Where script runs in a frame: the page's own world ("main", where an agent's
 * `browser_evaluate` runs), or tabmux's isolated world ("isolated", where every helper of
 * ours runs, so nothing the page redefines, `elementFromPoint` or `focus` say, applies).
 */
export type World = "main" | "isolated"

/** The name of tabmux's isolated world in every frame. */
export const WORLD_NAME = "tabmux"

export const contextKey = (session: string | undefined, frameId: string, world: World) => `${session ?? ""}|${frameId}|${world}`

/**
 * The refs handed out for a page (invariant 13): one per element, kept while the element
 * lives, so an agent can take one snapshot and then act several times. A ref is
 * `s<epoch>e<n>`: the epoch is this record's (a ref from another tab, or from before a
 * worker restart, never matches), `n` counts up for the record's life and is never reused.
 * The page's script remembers which element has which number; the table remembers which
 * frame handed out which numbers.
 */
export interface RefTable {
  readonly epoch: number
  next: number
  /** Numbers `from` (inclusive) to `to` (exclusive) were handed out in `frame`. */
  readonly handedOut: Array<{ readonly from: number; readonly to: number; readonly frame: FrameRef }>
}

export interface PageRecord {
  readonly tab: number
  mainFrame: string
  /** Out-of-process iframes: frame id (which is also the target id) → child session. */
  readonly children: Map<string, string>
  /** Child session → the iframe element that holds it, in its parent's session (learnt by snapshots). */
  readonly owners: Map<string, NodeRef>
  console: Array<ConsoleEntry>
  consoleSeq: number
  /** `consoleSeq` when the current document loaded: later messages are its own. */
  documentSeq: number
  /** Downloads the page started (numbered on the console's sequence, so an action finds its own). */
  readonly downloads: Array<{ readonly seq: number; readonly url: string; readonly filename: string }>
  requests: Map<string, RequestEntry>
  modal: Modal | undefined
  readonly refs: RefTable
  /** Execution contexts by `contextKey`, as Runtime's events announce them. */
  readonly contexts: Map<string, number>
}

const MAX_CONSOLE = 500
const MAX_REQUESTS = 500

/** A fresh record for a tab (its refs numbered in `epoch`). */
export const empty = (tab: number, epoch: number): PageRecord => ({
  tab,
  mainFrame: "",
  children: new Map(),
  owners: new Map(),
  console: [],
  consoleSeq: 0,
  documentSeq: 0,
  downloads: [],
  requests: new Map(),
  modal: undefined,
  refs: { epoch, next: 1, handedOut: [] },
  contexts: new Map()
})

/**
 * A CDP command that failed, named by its method. Chrome refuses every command on a page
 * that embeds another extension's page: that is said plainly, with what to do instead.
 */
export const pageError = (method: string, message: string): CallFailure =>
  /chrome-extension:\/\/ URL of different extension/.test(message)
    ? new NotWebContent({
      message: "this page embeds another extension's page, and Chrome lets no other extension drive such a page: " +
        "use another tab for other pages (browser_tabs new), and close this one (browser_tabs close)"
    })
    : new PageError({ message: `${method}: ${message}` })

export const driverError = (e: DriverError): CallFailure => pageError(e.method, e.message)

const text = (arg: { value?: unknown; description?: string; unserializableValue?: string; type?: string }) =>
  arg.value !== undefined ? (typeof arg.value === "string" ? arg.value : JSON.stringify(arg.value)) : arg.unserializableValue ?? arg.description ?? arg.type ?? ""

const consoleLevel = (type: string): ConsoleLevel =>
  type === "error" || type === "assert" ? "error" : type === "warning" || type === "warn" ? "warning" : type === "debug" || type === "verbose" ? "debug" : "info"

const headers = (h: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries((h ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]))

const addConsole = (page: PageRecord, type: string, text: string, where: string | undefined) => {
  page.consoleSeq += 1
  page.console.push({ seq: page.consoleSeq, level: consoleLevel(type), type: type.slice(0, 32), text: text.slice(0, 2000), where })
  if (page.console.length > MAX_CONSOLE) page.console.splice(0, page.console.length - MAX_CONSOLE)
}

/** Applies one CDP event to the page's record; returns the commands the event calls for (a new child session to enable). */
export const apply = (page: PageRecord, session: string | undefined, method: string, params: any): ReadonlyArray<string> => {
  switch (method) {
    case "Target.attachedToTarget": {
      if (params.targetInfo?.type !== "iframe") return []
      page.children.set(params.targetInfo.targetId, params.sessionId)
      return [params.sessionId]
    }
    case "Target.detachedFromTarget": {
      for (const [frame, child] of page.children) if (child === params.sessionId) page.children.delete(frame)
      page.owners.delete(params.sessionId)
      for (const key of page.contexts.keys()) if (key.startsWith(`${params.sessionId}|`)) page.contexts.delete(key)
      return []
    }
    case "Page.frameNavigated": {
      // A new document in the main frame: what the old one logged and loaded is history.
      if (session === undefined && params.frame?.parentId === undefined && params.type !== "BackForwardCacheRestore") {
        page.mainFrame = params.frame.id
        // What the old document logged is kept (for `all`), behind this mark.
        page.documentSeq = page.consoleSeq
        // A file chooser belonged to the document that opened it.
        if (page.modal?.kind === "fileChooser") page.modal = undefined
        // Its elements are gone: their refs are stale (the counter goes on, so no ref comes back).
        page.refs.handedOut.length = 0
        // Keep the new document's own request (sent before it committed).
        page.requests = new Map([...page.requests].filter(([, r]) => r.loaderId === params.frame.loaderId))
      }
      return []
    }
    case "Runtime.executionContextCreated": {
      const c = params.context ?? {}
      const frameId = c.auxData?.frameId
      if (typeof c.id !== "number" || typeof frameId !== "string") return []
      if (c.auxData?.isDefault === true) page.contexts.set(contextKey(session, frameId, "main"), c.id)
      else if (c.name === WORLD_NAME) page.contexts.set(contextKey(session, frameId, "isolated"), c.id)
      return []
    }
    case "Runtime.executionContextDestroyed": {
      for (const [key, id] of page.contexts) {
        if (id === params.executionContextId && key.startsWith(`${session ?? ""}|`)) page.contexts.delete(key)
      }
      return []
    }
    case "Runtime.executionContextsCleared": {
      for (const key of page.contexts.keys()) if (key.startsWith(`${session ?? ""}|`)) page.contexts.delete(key)
      return []
    }
    case "Runtime.consoleAPICalled": {
      const frame = params.stackTrace?.callFrames?.[0]
      addConsole(page, String(params.type ?? "log"), (params.args ?? []).map(text).join(" "), frame ? `${frame.url}:${frame.lineNumber + 1}` : undefined)
      return []
    }
    case "Runtime.exceptionThrown": {
      const d = params.exceptionDetails ?? {}
      addConsole(page, "error", `Uncaught ${d.exception?.description ?? d.text ?? "exception"}`, d.url ? `${d.url}:${(d.lineNumber ?? 0) + 1}` : undefined)
      return []
    }
    case "Log.entryAdded": {
      const e = params.entry ?? {}
      addConsole(page, String(e.level ?? "info"), String(e.text ?? ""), e.url)
      return []
    }
    case "Network.requestWillBeSent": {
      const r = params.request ?? {}
      page.requests.set(params.requestId, {
        id: params.requestId,
        session,
        loaderId: params.loaderId,
        method: String(r.method ?? "GET"),
        url: String(r.url ?? ""),
        type: String(params.type ?? "Other"),
        requestHeaders: headers(r.headers),
        postData: typeof r.postData === "string" ? r.postData.slice(0, 16_384) : undefined,
        finished: false
      })
      if (page.requests.size > MAX_REQUESTS) page.requests.delete(page.requests.keys().next().value!)
      return []
    }
    case "Network.responseReceived": {
      const entry = page.requests.get(params.requestId)
      if (entry) {
        entry.status = params.response?.status
        entry.statusText = params.response?.statusText
        entry.mimeType = params.response?.mimeType
        entry.responseHeaders = headers(params.response?.headers)
      }
      return []
    }
    case "Network.dataReceived": {
      // The body's bytes as the page gets them (encodedDataLength at the end can be 0, or count the headers).
      const entry = page.requests.get(params.requestId)
      if (entry && typeof params.dataLength === "number") entry.size = (entry.size ?? 0) + params.dataLength
      return []
    }
    case "Network.loadingFinished": {
      const entry = page.requests.get(params.requestId)
      if (entry) {
        entry.finished = true
        entry.size ??= params.encodedDataLength
      }
      return []
    }
    case "Network.loadingFailed": {
      const entry = page.requests.get(params.requestId)
      if (entry) {
        entry.finished = true
        entry.failed = params.canceled ? "canceled" : String(params.errorText ?? "failed")
      }
      return []
    }
    case "Page.javascriptDialogOpening": {
      page.modal = { kind: "dialog", type: params.type, message: params.message ?? "", defaultPrompt: params.defaultPrompt ?? "", session }
      return []
    }
    case "Page.javascriptDialogClosed": {
      if (page.modal?.kind === "dialog") page.modal = undefined
      return []
    }
    case "Page.downloadWillBegin": {
      page.downloads.push({ seq: ++page.consoleSeq, url: String(params.url ?? ""), filename: String(params.suggestedFilename ?? "") })
      if (page.downloads.length > 50) page.downloads.shift()
      return []
    }
    case "Page.fileChooserOpened": {
      page.modal = { kind: "fileChooser", backendNodeId: params.backendNodeId, multiple: params.mode === "selectMultiple", session }
      return []
    }
    default:
      return []
  }
}
