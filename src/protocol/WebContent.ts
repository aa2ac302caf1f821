/**
 * What an agent's tab may show: web content only (invariant 10). Never the extension's
 * own pages (evaluating there would hand an agent `chrome.debugger`), another
 * extension, `chrome:`, `devtools:`, `view-source:`, or `about:` pages other than
 * `about:blank`; `file:` only when the user started the server with `--allow-file-urls`.
 * Checked on a URL an agent asks for and on the tab's current URL before every call.
 */

export interface WebContentOptions {
  /** The user allowed `file:` URLs (`--allow-file-urls`). */
  readonly allowFile: boolean
}

const WEB = new Set(["http:", "https:", "data:"])

/** Why `text` is not web content an agent may load or drive, or `undefined` when it is. */
export const notWebContent = (text: string, options: WebContentOptions): string | undefined => {
  // A tab that has not committed its first navigation reports "".
  if (text === "") return undefined
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return `"${text}" is not an absolute URL (like https://example.com/)`
  }
  if (WEB.has(url.protocol)) return undefined
  // A blank document (a page can give itself a fragment or query: about:blank#x) is its opener's web content; so is a srcdoc frame its parent's.
  if (url.protocol === "about:" && (url.pathname === "blank" || url.pathname === "srcdoc")) return undefined
  if (url.protocol === "blob:" && /^https?:$/.test(safeProtocol(url.pathname))) return undefined
  if (url.protocol === "file:") {
    return options.allowFile ? undefined : "file: URLs are not allowed (the user can allow them with --allow-file-urls)"
  }
  return `${url.protocol} pages are not web content: agents may only load and drive http, https, data and about:blank`
}

const safeProtocol = (inner: string) => {
  try {
    return new URL(inner).protocol
  } catch {
    return ""
  }
}
