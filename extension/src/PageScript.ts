/**
 * The snapshot as the page computes it: one fixed function, run in tabmux's isolated world
 * of each frame (so nothing the page redefines applies), its arguments passed as values.
 * It walks the flat tree (open shadow roots, slotted content), computes each element's
 * role, accessible name, states and value as Playwright's aria snapshot does (a practical
 * subset of ARIA in HTML and accname), and writes the lines of that frame. Each element
 * keeps its ref number while it lives: the numbers are remembered in the isolated world,
 * which lives and dies with the document, and new ones are taken from `next`, a counter
 * the extension keeps for the tab, so no number ever names two elements.
 *
 * An iframe's content is another frame's: its line is followed by a marker line
 * (`\u0000<ref>`) that the extension replaces with that frame's snapshot.
 *
 * This function is sent as source (`Function.prototype.toString`): it must not use
 * anything from outside its own body.
 */
export interface SnapshotArgs {
  /** The first ref number this call may hand out. */
  readonly next: number
  /** What a ref is written as, before its number (the tab's `s<epoch>e`). */
  readonly prefix: string
  /** The deepest level shown, as Playwright's `depth` counts (0: the top lines only); deeper content is replaced by "…". */
  readonly maxDepth: number
  /** Only the subtree of this element (a ref number of this frame). */
  readonly from: number | null
  /** Each element's box, `[box=x,y,width,height]`: its frame's viewport, CSS pixels (as Playwright MCP's `boxes`). */
  readonly boxes: boolean
  /** Elements this frame may hold (light DOM and open shadow roots) for a snapshot to be taken: what the frames read before it left. */
  readonly budget: number
  /** Characters of lines this frame may write; past them the snapshot is cut, saying so. */
  readonly maxChars: number
}

export type SnapshotAnswer =
  | {
    readonly text: string
    readonly next: number
    /** Iframes whose content goes in their marker lines: their ref number, and how deep they are (as `maxDepth` counts). */
    readonly frames: ReadonlyArray<{ readonly n: number; readonly level: number }>
    readonly refs: number
    /** Elements this frame holds, shadow roots included. */
    readonly count: number
    /** The lines were cut at `maxChars`. */
    readonly cut: boolean
  }
  | { readonly error: "budget"; readonly count: number }
  | { readonly error: "stale" }

export function pageSnapshot(args: SnapshotArgs): SnapshotAnswer {
  type Store = { refs: Map<number, WeakRef<Element>>; ids: WeakMap<Element, number> }
  const g = globalThis as unknown as { __tabmuxRefs?: Store }
  const store: Store = g.__tabmuxRefs ??= { refs: new Map(), ids: new WeakMap() }

  // Every element the walk could reach counts: the light DOM and every open shadow root in it.
  const countElements = (limit: number) => {
    let n = 0
    const roots: Array<Document | ShadowRoot> = [document]
    while (roots.length > 0) {
      const all = roots.pop()!.querySelectorAll("*")
      n += all.length
      if (n > limit) return n
      for (let i = 0; i < all.length; i++) {
        const shadow = all[i]!.shadowRoot
        if (shadow !== null) roots.push(shadow)
      }
    }
    return n
  }
  const count = countElements(args.budget)
  if (count > args.budget) return { error: "budget", count }

  let next = args.next
  let shown = 0
  const frames: Array<{ n: number; level: number }> = []
  const refOf = (el: Element) => {
    let n = store.ids.get(el)
    if (n === undefined) {
      n = next++
      store.ids.set(el, n)
      store.refs.set(n, new WeakRef(el))
    }
    shown++
    return n
  }
  // Forget elements that are gone, so the map does not grow with a page that churns.
  if (store.refs.size > 4 * count + 1000) {
    for (const [n, ref] of store.refs) if (!ref.deref()?.isConnected) store.refs.delete(n)
  }

  const MAX_TEXT = 300
  const norm = (s: string) => s.replace(/[\s\u200b]+/g, " ").trim()
  const clip = (s: string) => {
    const one = norm(s)
    return one.length > MAX_TEXT ? `${one.slice(0, MAX_TEXT)}…` : one
  }
  const squeeze = (s: string) => s.replace(/\s+/g, "")

  const styles = new Map<Element, CSSStyleDeclaration>()
  const style = (el: Element) => {
    let s = styles.get(el)
    if (s === undefined) {
      s = getComputedStyle(el)
      styles.set(el, s)
    }
    return s
  }
  const SKIP_TAGS = new Set(["script", "style", "noscript", "template", "head", "meta", "link", "title", "base"])
  /** Not rendered at all, or hidden from assistive technology: neither it nor its content is shown. */
  const excluded = (el: Element) => {
    if (SKIP_TAGS.has(el.localName)) return true
    if (el.getAttribute("aria-hidden") === "true") return true
    if ((el as HTMLElement).inert) return true
    const s = style(el)
    return s.display === "none"
  }
  const invisible = (el: Element) => {
    const v = style(el).visibility
    return v === "hidden" || v === "collapse"
  }

  const INPUT_ROLES: Record<string, string> = {
    button: "button", submit: "button", reset: "button", image: "button", file: "button", color: "button",
    checkbox: "checkbox", radio: "radio", range: "slider", number: "spinbutton", search: "searchbox",
    email: "textbox", tel: "textbox", text: "textbox", url: "textbox", password: "textbox",
    date: "textbox", "datetime-local": "textbox", month: "textbox", time: "textbox", week: "textbox"
  }
  // Text-level elements (strong, em, code, mark, time, ...) are read as part of their text.
  const TAG_ROLES: Record<string, string> = {
    article: "article", aside: "complementary", blockquote: "blockquote", button: "button", caption: "caption",
    dd: "definition", details: "group", dialog: "dialog", dt: "term", fieldset: "group", figcaption: "caption",
    figure: "figure", frame: "iframe", hr: "separator", html: "document", iframe: "iframe", legend: "legend", li: "listitem",
    main: "main", math: "math", menu: "list", meter: "meter", nav: "navigation", ol: "list", optgroup: "group",
    option: "option", output: "status", p: "paragraph", progress: "progressbar", search: "search",
    summary: "button", table: "table", textarea: "textbox", tr: "row", ul: "list"
  }
  const LANDMARK_PARENTS = "article, aside, main, nav, section, [role=article], [role=complementary], [role=main], [role=navigation], [role=region]"
  const VALID_ROLES = new Set([
    "alert", "alertdialog", "application", "article", "banner", "blockquote", "button", "caption", "cell", "checkbox",
    "code", "columnheader", "combobox", "complementary", "contentinfo", "definition", "deletion", "dialog", "directory",
    "document", "emphasis", "feed", "figure", "form", "generic", "grid", "gridcell", "group", "heading", "img",
    "image", "insertion", "link", "list", "listbox", "listitem", "log", "main", "mark", "marquee", "math", "menu",
    "menubar", "menuitem", "menuitemcheckbox", "menuitemradio", "meter", "navigation", "none", "note", "option",
    "paragraph", "presentation", "progressbar", "radio", "radiogroup", "region", "row", "rowgroup", "rowheader",
    "scrollbar", "search", "searchbox", "separator", "slider", "spinbutton", "status", "strong", "subscript",
    "superscript", "switch", "tab", "table", "tablist", "tabpanel", "term", "textbox", "time", "timer", "toolbar",
    "tooltip", "tree", "treegrid", "treeitem"
  ])

  const implicitRole = (el: Element): string => {
    const tag = el.localName
    switch (tag) {
      case "a":
      case "area":
        return el.hasAttribute("href") ? "link" : "generic"
      case "input": {
        const input = el as HTMLInputElement
        if (input.type === "hidden") return "none"
        const role = INPUT_ROLES[input.type] ?? "textbox"
        return (role === "textbox" || role === "searchbox") && input.hasAttribute("list") ? "combobox" : role
      }
      case "select": {
        const select = el as HTMLSelectElement
        return select.multiple || select.size > 1 ? "listbox" : "combobox"
      }
      case "img":
        return el.getAttribute("alt") === "" && !el.hasAttribute("title") ? "presentation" : "img"
      case "svg":
        return "img"
      case "h1":
      case "h2":
      case "h3":
      case "h4":
      case "h5":
      case "h6":
        return "heading"
      case "header":
        return el.parentElement?.closest(LANDMARK_PARENTS) ? "generic" : "banner"
      case "footer":
        return el.parentElement?.closest(LANDMARK_PARENTS) ? "generic" : "contentinfo"
      case "section":
        return el.hasAttribute("aria-label") || el.hasAttribute("aria-labelledby") ? "region" : "generic"
      case "form":
        return el.hasAttribute("aria-label") || el.hasAttribute("aria-labelledby") || el.hasAttribute("name") ? "form" : "generic"
      case "td":
        return el.closest("table")?.getAttribute("role") === "grid" ? "gridcell" : "cell"
      case "th": {
        const scope = el.getAttribute("scope")
        if (scope === "row" || scope === "rowgroup") return "rowheader"
        if (scope === "col" || scope === "colgroup") return "columnheader"
        return el.parentElement?.parentElement?.localName === "thead" || !el.parentElement?.querySelector("td") ? "columnheader" : "rowheader"
      }
      case "summary":
        return el.parentElement?.localName === "details" ? "button" : "generic"
      default:
        if (TAG_ROLES[tag] !== undefined) return TAG_ROLES[tag]!
        if ((el as HTMLElement).isContentEditable && !el.parentElement?.isContentEditable) return "textbox"
        return "generic"
    }
  }
  const roleOf = (el: Element): string => {
    const explicit = (el.getAttribute("role") ?? "").trim().split(/\s+/).find((r) => VALID_ROLES.has(r))
    if (explicit === "image") return "img"
    // A focusable element keeps its meaning when marked presentational.
    if ((explicit === "none" || explicit === "presentation") && (el as HTMLElement).tabIndex >= 0 && el.hasAttribute("tabindex")) return implicitRole(el)
    return explicit ?? implicitRole(el)
  }

  const FROM_CONTENT = new Set([
    "button", "cell", "checkbox", "columnheader", "gridcell", "heading", "link", "menuitem", "menuitemcheckbox",
    "menuitemradio", "option", "radio", "row", "rowheader", "switch", "tab", "tooltip", "treeitem", "caption", "legend", "term"
  ])
  const LABELABLE = new Set(["input", "select", "textarea", "meter", "progress", "output", "button"])

  const childrenOf = (node: Node): ArrayLike<Node> => {
    if (node instanceof Element) {
      if (node.shadowRoot) return node.shadowRoot.childNodes
      if (node.localName === "slot") {
        const assigned = (node as HTMLSlotElement).assignedNodes({ flatten: true })
        if (assigned.length > 0) return assigned
      }
    }
    return node.childNodes
  }

  /** The text an element's content gives its name (accname's name from content, simplified). */
  const contentText = (root: Node, skip: Element | undefined, budget: { left: number }): string => {
    const parts: Array<string> = []
    const visit = (node: Node) => {
      if (budget.left <= 0) return
      if (node.nodeType === Node.TEXT_NODE) {
        const t = node.nodeValue ?? ""
        budget.left -= t.length
        parts.push(t)
        return
      }
      if (!(node instanceof Element) || node === skip || excluded(node)) return
      const label = node.getAttribute("aria-label")
      if (label && label.trim()) {
        parts.push(` ${label} `)
        return
      }
      const tag = node.localName
      if (tag === "img" || (tag === "input" && (node as HTMLInputElement).type === "image")) {
        parts.push(` ${node.getAttribute("alt") ?? ""} `)
        return
      }
      if (tag === "input" || tag === "textarea") {
        const input = node as HTMLInputElement
        parts.push(` ${input.type === "password" ? "" : ["button", "submit", "reset"].includes(input.type) ? input.value : input.value} `)
        return
      }
      if (tag === "select") {
        parts.push(` ${(node as HTMLSelectElement).selectedOptions[0]?.text ?? ""} `)
        return
      }
      const block = style(node).display !== "inline"
      if (block) parts.push(" ")
      const kids = childrenOf(node)
      for (let i = 0; i < kids.length; i++) visit(kids[i]!)
      if (block) parts.push(" ")
    }
    const kids = childrenOf(root)
    for (let i = 0; i < kids.length; i++) visit(kids[i]!)
    return norm(parts.join(""))
  }

  const byIds = (el: Element, attr: string) =>
    (el.getAttribute(attr) ?? "").split(/\s+/).filter(Boolean).map((id) => (el.getRootNode() as Document | ShadowRoot).getElementById?.(id) ?? document.getElementById(id))
      .filter((x): x is HTMLElement => x !== null)

  const nameOf = (el: Element, role: string): string => {
    const labelledBy = byIds(el, "aria-labelledby")
    if (labelledBy.length > 0) return norm(labelledBy.map((l) => l.getAttribute("aria-label") || contentText(l, undefined, { left: 2000 })).join(" "))
    const label = el.getAttribute("aria-label")
    if (label && label.trim()) return norm(label)
    const tag = el.localName
    if (tag === "input") {
      const input = el as HTMLInputElement
      if (["button", "submit", "reset"].includes(input.type)) return input.value || (input.type === "submit" ? "Submit" : input.type === "reset" ? "Reset" : "")
      if (input.type === "image") return input.alt || input.value || "Submit"
    }
    if (LABELABLE.has(tag)) {
      const labels = (el as HTMLInputElement).labels
      if (labels && labels.length > 0) {
        const text = norm(Array.from(labels).map((l) => contentText(l, el, { left: 2000 })).join(" "))
        if (text) return text
      }
    }
    if (tag === "img" || tag === "area") {
      const alt = el.getAttribute("alt")
      if (alt !== null && alt.trim()) return norm(alt)
    }
    if (tag === "fieldset") {
      const legend = Array.from(el.children).find((c) => c.localName === "legend")
      if (legend) return contentText(legend, undefined, { left: 2000 })
    }
    if (tag === "table") {
      const caption = (el as HTMLTableElement).caption
      if (caption) return contentText(caption, undefined, { left: 2000 })
    }
    if (tag === "figure") {
      const caption = Array.from(el.children).find((c) => c.localName === "figcaption")
      if (caption) return contentText(caption, undefined, { left: 2000 })
    }
    if (tag === "svg") {
      const title = Array.from(el.children).find((c) => c.localName === "title")
      if (title) return norm(title.textContent ?? "")
    }
    if (FROM_CONTENT.has(role)) {
      const text = contentText(el, undefined, { left: 2000 })
      if (text) return text
    }
    const title = el.getAttribute("title")
    if (title && title.trim()) return norm(title)
    const placeholder = el.getAttribute("placeholder")
    if (placeholder && placeholder.trim() && (tag === "input" || tag === "textarea")) return norm(placeholder)
    // An unlabelled file input is the button Chrome draws, by its words (as Playwright names it).
    if (tag === "input" && (el as HTMLInputElement).type === "file") return (el as HTMLInputElement).multiple ? "Choose Files" : "Choose File"
    return ""
  }

  const deepActive = (() => {
    let a: Element | null = document.activeElement
    while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement
    return a
  })()

  /**
   * Whether no scroll can bring the element into view: it lies outside the viewport and
   * either before the page's start or in a fixed container (a closed off-canvas menu).
   */
  const unreachable = (el: Element) => {
    const r = el.getBoundingClientRect()
    if (r.width === 0 && r.height === 0) return false
    if (r.right > 0 && r.bottom > 0 && r.left < innerWidth && r.top < innerHeight) return false
    if (r.right + scrollX <= 0 || r.bottom + scrollY <= 0) return true
    for (let a = el.parentElement; a !== null; a = a.parentElement) if (style(a).position === "fixed") return true
    return false
  }

  const statesOf = (el: Element, role: string): string => {
    const out: Array<string> = []
    const aria = (name: string) => el.getAttribute(name)
    const input = el as HTMLInputElement
    if (role === "checkbox" || role === "radio" || role === "switch" || role === "menuitemcheckbox" || role === "menuitemradio") {
      const checked = el.localName === "input" && (input.type === "checkbox" || input.type === "radio")
        ? (input.indeterminate ? "mixed" : input.checked ? "true" : "false")
        : aria("aria-checked")
      if (checked === "true") out.push("checked")
      else if (checked === "mixed") out.push("checked=mixed")
    }
    const pressed = aria("aria-pressed")
    if (pressed === "true") out.push("pressed")
    else if (pressed === "mixed") out.push("pressed=mixed")
    if (el.matches(":disabled") || aria("aria-disabled") === "true") out.push("disabled")
    if ((el.localName === "option" && (el as HTMLOptionElement).selected) || aria("aria-selected") === "true") out.push("selected")
    const expanded = aria("aria-expanded") ?? (el.localName === "summary" && el.parentElement?.localName === "details" ? String((el.parentElement as HTMLDetailsElement).open) : null)
    if (expanded === "true") out.push("expanded")
    if (el === deepActive && el !== document.body && el !== document.documentElement) out.push("focused")
    if (role === "heading") {
      const level = Number(aria("aria-level")) || (/^h[1-6]$/.test(el.localName) ? Number(el.localName[1]) : 2)
      out.push(`level=${level}`)
    }
    if ((el as HTMLInputElement).required === true || aria("aria-required") === "true") out.push("required")
    if (((role === "textbox" || role === "searchbox" || role === "spinbutton") && input.readOnly === true) || aria("aria-readonly") === "true") out.push("readonly")
    if (aria("aria-invalid") === "true") out.push("invalid")
    if (ACTIONABLE.has(role) && unreachable(el)) out.push("offscreen")
    if ((el.localName === "dialog" && el.matches(":modal")) || aria("aria-modal") === "true") out.push("modal")
    return out.map((s) => ` [${s}]`).join("")
  }

  const VALUED = new Set(["textbox", "searchbox", "combobox", "spinbutton", "slider"])
  const valueOf = (el: Element, role: string): string => {
    if (!VALUED.has(role)) return ""
    const tag = el.localName
    if (tag === "select") return clip((el as HTMLSelectElement).selectedOptions[0]?.text ?? "")
    if (tag === "input" || tag === "textarea") {
      const input = el as HTMLInputElement
      return input.type === "password" ? "•".repeat(Math.min(input.value.length, 20)) : clip(input.value)
    }
    if ((el as HTMLElement).isContentEditable) return clip(el.textContent ?? "")
    return clip(el.getAttribute("aria-valuetext") ?? el.getAttribute("aria-valuenow") ?? "")
  }

  const WRAPPERS = new Set(["generic", "none", "presentation"])
  const ACTIONABLE = new Set([
    "button", "link", "textbox", "searchbox", "checkbox", "radio", "combobox", "listbox", "option", "slider", "spinbutton",
    "switch", "tab", "menuitem", "menuitemcheckbox", "menuitemradio", "treeitem", "iframe", "img"
  ])
  const CELLS = new Set(["cell", "gridcell", "columnheader", "rowheader"])
  /** Roles whose content is their value or their own widget, not lines of the snapshot. */
  const LEAVES = new Set(["textbox", "searchbox", "combobox", "spinbutton", "slider", "img", "separator", "progressbar", "meter"])

  /**
   * `lift`: how many wrappers left out of the snapshot lie between a line and the line it is
   * shown under, that Playwright's snapshot shows (a generic block of two or more parts). They
   * count toward `depth` as Playwright counts it, so a depth shows what Playwright's shows.
   */
  type Line =
    | { readonly kind: "text"; readonly text: string; readonly raw: string; readonly lift?: number }
    | { readonly kind: "node"; readonly el: Element; readonly role: string; readonly name: string; readonly kids: () => Array<Line>; readonly lift?: number }

  const walkChildren = (node: Node, parentName: string, hidden: boolean): Array<Line> => {
    const out: Array<Line> = []
    const kids = childrenOf(node)
    for (let i = 0; i < kids.length; i++) {
      for (const line of walk(kids[i]!, parentName, hidden)) {
        const last = out[out.length - 1]
        // Neighbouring text (split by inline elements) reads as one, spaced as in the page.
        if (line.kind === "text" && last?.kind === "text") {
          const raw = last.raw + line.raw
          out[out.length - 1] = { kind: "text", text: norm(raw), raw, lift: Math.min(last.lift ?? 0, line.lift ?? 0) }
        }
        else out.push(line)
      }
    }
    return out.filter((line) => line.kind !== "text" || line.text !== "")
  }

  const walk = (node: Node, parentName: string, hidden: boolean): Array<Line> => {
    if (node.nodeType === Node.TEXT_NODE) {
      if (hidden) return []
      // Whitespace alone is kept until neighbouring text is joined (it spaces inline elements).
      const raw = node.nodeValue ?? ""
      return [{ kind: "text", text: norm(raw), raw }]
    }
    if (!(node instanceof Element)) return []
    if (excluded(node)) return []
    const isHidden = invisible(node)
    const role = roleOf(node)
    if (isHidden || WRAPPERS.has(role)) {
      const label = WRAPPERS.has(role) && !isHidden ? node.getAttribute("aria-label") : null
      if (!label) {
        const inner = walkChildren(node, parentName, isHidden)
        // A block (or a clickable inline element) that holds only text is something to point
        // at: it is shown as Playwright shows it, "- generic [ref=…]: text".
        const only = inner.length === 1 ? inner[0] : undefined
        if (only?.kind === "text" && !isHidden && (style(node).display !== "inline" || style(node).cursor === "pointer")) {
          return [{ kind: "node", el: node, role: "generic", name: "", kids: () => inner }]
        }
        return role === "generic" && !isHidden && inner.length > 1 ? inner.map((l) => ({ ...l, lift: (l.lift ?? 0) + 1 })) : inner
      }
    }
    const name = clip(nameOf(node, role))
    const kids = () =>
      LEAVES.has(role) || node.localName === "iframe" || node.localName === "frame" || (role === "combobox" && node.localName === "select")
        ? []
        : walkChildren(node, name || parentName, false)
    return [{ kind: "node", el: node, role, name, kids }]
  }

  const lines: Array<string> = []
  let written = 0
  let cut = false
  const push = (line: string) => {
    if (cut || written + line.length + 1 > args.maxChars) {
      cut = true
      return
    }
    written += line.length + 1
    lines.push(line)
  }
  /** Leaves out text, legends and captions that only repeat a name already shown. */
  const unrepeated = (ls: Array<Line>, parentName: string) =>
    ls.filter((l) =>
      l.kind === "text"
        ? !parentName.includes(l.text) && !ls.some((o) => o.kind === "node" && o.name.includes(l.text))
        : !((l.role === "legend" || l.role === "caption") && l.name !== "" && l.name === parentName))

  /** `level`: the line's depth as Playwright counts it (wrappers it shows included). */
  const emit = (line: Line, indent: number, level: number, parentName: string) => {
    if (cut) return
    const pad = "  ".repeat(indent)
    if (line.kind === "text") {
      push(`${pad}- text: ${clip(line.text)}`)
      return
    }
    const el = line.el
    const value = valueOf(el, line.role)
    const kids = unrepeated(line.kids(), line.name || parentName).filter((k) => !(value && k.kind === "text" && k.text === value))
    const isFrame = el.localName === "iframe" || el.localName === "frame"
    if (!line.name && !value && kids.length === 0 && !ACTIONABLE.has(line.role) && !isFrame) return
    const plainCell = CELLS.has(line.role) && kids.length === 0
    const said = kids.length > 0 && squeeze(kids.map((k) => (k.kind === "text" ? k.text : k.name)).join("")) === squeeze(line.name)
    const name = said ? "" : line.name
    const box = args.boxes && !plainCell ? (() => {
      const r = el.getBoundingClientRect()
      return ` [box=${Math.round(r.x)},${Math.round(r.y)},${Math.round(r.width)},${Math.round(r.height)}]`
    })() : ""
    const ref = plainCell ? "" : ` [ref=${args.prefix}${refOf(el)}]${box}`
    const head = `${pad}- ${line.role}${name ? ` ${JSON.stringify(name)}` : ""}${statesOf(el, line.role)}${ref}`
    if (isFrame) {
      push(head)
      if (level < args.maxDepth) {
        const n = store.ids.get(el)!
        frames.push({ n, level })
        push(`${"  ".repeat(indent + 1)}\u0000${n}`)
      }
      return
    }
    const only = kids.length === 1 ? kids[0] : undefined
    if (!value && only?.kind === "text" && !line.name) {
      push(`${head}: ${clip(only.text)}`)
      return
    }
    if (level >= args.maxDepth) {
      push(kids.length > 0 ? `${head} …` : value ? `${head}: ${value}` : head)
      return
    }
    push(value ? `${head}: ${value}` : head)
    for (const kid of kids) emit(kid, indent + 1, level + 1 + (kid.lift ?? 0), line.name || parentName)
  }

  if (typeof args.from === "number") {
    const el = store.refs.get(args.from)?.deref()
    if (el === undefined || !el.isConnected) return { error: "stale" }
    const role = roleOf(el)
    const name = clip(nameOf(el, role))
    emit({ kind: "node", el, role, name, kids: () => walkChildren(el, name, false) }, 0, 0, "")
  } else if (document.documentElement !== null) {
    for (const line of unrepeated(walkChildren(document.documentElement, "", false), "")) emit(line, 0, line.lift ?? 0, "")
  }
  return { text: lines.join("\n"), next, frames, refs: shown, count, cut }
}

/** Where this frame's document is from. */
export function pageUrl(): string {
  return location.href
}

/** The element with ref number `n` in this frame, while it is in the document; else null. */
export function pageElement(n: number): Element | null {
  const store = (globalThis as unknown as { __tabmuxRefs?: { refs: Map<number, WeakRef<Element>> } }).__tabmuxRefs
  const el = store?.refs.get(n)?.deref()
  return el !== undefined && el.isConnected ? el : null
}

export type SelectAnswer =
  | { readonly n: number; readonly next: number }
  | { readonly error: string }

/**
 * The one element a CSS selector matches in this frame, numbered as the snapshot numbers
 * elements (an element seen before keeps its number; a new one takes `next`), for agents
 * that name targets by selector as Playwright MCP allows.
 */
export function pageSelect(args: { readonly selector: string; readonly next: number }): SelectAnswer {
  type Store = { refs: Map<number, WeakRef<Element>>; ids: WeakMap<Element, number> }
  const g = globalThis as unknown as { __tabmuxRefs?: Store }
  const store: Store = g.__tabmuxRefs ??= { refs: new Map(), ids: new WeakMap() }
  let found: NodeListOf<Element>
  try {
    found = document.querySelectorAll(args.selector)
  } catch (e) {
    return { error: `is neither a ref (like s3e12, from browser_snapshot) nor a valid CSS selector (${(e as Error).message})` }
  }
  if (found.length === 0) return { error: "matches no element in the page" }
  if (found.length > 1) return { error: `matches ${found.length} elements: make the selector match one, or use a ref from browser_snapshot` }
  const el = found[0]!
  const known = store.ids.get(el)
  if (known !== undefined) return { n: known, next: args.next }
  store.ids.set(el, args.next)
  store.refs.set(args.next, new WeakRef(el))
  return { n: args.next, next: args.next + 1 }
}
