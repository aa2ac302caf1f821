/**
 * What an agent's tab may show: web content only (invariant 10). Never the extension's
 * own pages (evaluating there would hand an agent `chrome.debugger`), another
 * extension, `chrome:`, `devtools:`, `view-source:`, or `about:` pages other than
 * `about:blank`; `file:` only when the user started the server with `--allow-file-urls`;
 * and only the origins the user let the agent go to, when they named any. Checked on a URL
 * an agent asks for and on the tab's current URL before every call.
 */

export interface WebContentOptions {
  /** The user allowed `file:` URLs (`--allow-file-urls`). */
  readonly allowFile: boolean
  /** Where the user lets this agent go (`--allowed-origins`, `--blocked-origins`); none: anywhere on the web. */
  readonly origins?: OriginPolicy | undefined
}

/** Origins (`scheme://host[:port]`) an agent may load: only `allowed` when there are any, never `blocked`. */
export interface OriginPolicy {
  readonly allowed: ReadonlyArray<string>
  readonly blocked: ReadonlyArray<string>
}

/**
 * A `;`-separated list of origins (Playwright MCP's syntax for `--allowed-origins`), each
 * `http(s)://host[:port]`, normalised; or what is wrong with it.
 */
export const parseOrigins = (text: string): ReadonlyArray<string> | { readonly error: string } => {
  const origins: Array<string> = []
  for (const given of text.split(";").map((o) => o.trim()).filter(Boolean)) {
    let url: URL
    try {
      url = new URL(given)
    } catch {
      return { error: `"${given}" is not an origin (like https://example.com or http://127.0.0.1:8080)` }
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return { error: `"${given}": only http and https origins can be named` }
    if (url.pathname !== "/" || url.search !== "" || url.hash !== "" || url.username !== "") {
      return { error: `"${given}" is more than an origin: give scheme, host and port only (${url.origin})` }
    }
    origins.push(url.origin)
  }
  return origins
}

/** Why `url` is outside the agent's origins, or `undefined`. */
export const originRefusal = (url: URL, policy: OriginPolicy | undefined): string | undefined => {
  if (policy === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) return undefined
  if (policy.blocked.includes(url.origin)) return `${url.origin} is blocked for this agent (--blocked-origins)`
  if (policy.allowed.length > 0 && !policy.allowed.includes(url.origin)) {
    return `${url.origin} is not among the origins this agent may visit (--allowed-origins: ${policy.allowed.join("; ")})`
  }
  return undefined
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
  if (WEB.has(url.protocol)) return originRefusal(url, options.origins)
  // A blank document (a page can give itself a fragment or query: about:blank#x) is its opener's web content; so is a srcdoc frame its parent's.
  if (url.protocol === "about:" && (url.pathname === "blank" || url.pathname === "srcdoc")) return undefined
  if (url.protocol === "blob:" && /^https?:$/.test(safeProtocol(url.pathname))) return undefined
  if (url.protocol === "file:") {
    return options.allowFile ? undefined : "file: URLs are not allowed (the user can allow them with --allow-file-urls)"
  }
  return `${url.protocol} pages are not web content: agents may only load and drive web pages (http, https) and about:blank`
}

const safeProtocol = (inner: string) => {
  try {
    return new URL(inner).protocol
  } catch {
    return ""
  }
}
