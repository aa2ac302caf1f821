/**
 * How a call can fail in the browser, defined once for both ends of the wire: the
 * extension fails with these classes, the frame carries them as `{_tag, message, ...}`,
 * and the server decodes them back into the same classes. Each message says what
 * happened and what to do; it is what the agent reads. Fields beside it carry what a
 * program (an embedder) may act on: the tab handle, the holder of a lock, the address.
 */
import { Schema } from "effect"

const fields = { message: Schema.String }

/** Parameters that do not fit the method (a bug or a version mismatch: the server checks arguments first). */
export class BadParams extends Schema.TaggedError<BadParams>()("BadParams", fields) {}
/** A method this extension does not know (update it). */
export class UnknownMethod extends Schema.TaggedError<UnknownMethod>()("UnknownMethod", fields) {}
/** No such tab among the caller's (another agent's tabs are never named). */
export class TabNotFound extends Schema.TaggedError<TabNotFound>()("TabNotFound", {
  ...fields,
  /** The handle asked for (none: the caller has no current tab). */
  tab: Schema.optional(Schema.String)
}) {}
/** The tab was closed (by the user, or the browser) before or while the call ran. */
export class TabClosed extends Schema.TaggedError<TabClosed>()("TabClosed", { ...fields, tab: Schema.optional(Schema.String) }) {}
/** The caller may use the tab but not do this with it (close a tab the user shared). */
export class NotOwned extends Schema.TaggedError<NotOwned>()("NotOwned", fields) {}
/** Waited its limit for a tab another call or agent holds. */
export class LockTimeout extends Schema.TaggedError<LockTimeout>()("LockTimeout", {
  ...fields,
  tab: Schema.String,
  /** Who held it when the wait ended (another agent's display name), if anyone still did. */
  holder: Schema.optional(Schema.String),
  waitedSeconds: Schema.Number
}) {}
/** The call did not finish in the browser in time; it was stopped and its tab released. */
export class Timeout extends Schema.TaggedError<Timeout>()("Timeout", fields) {}
/** Loading a page failed (DNS, refused, HTTP-level abort). */
export class NavigationFailed extends Schema.TaggedError<NavigationFailed>()("NavigationFailed", { ...fields, url: Schema.optional(Schema.String) }) {}
/** The page or the browser refused or broke a step (a CDP error, a page too large). */
export class PageError extends Schema.TaggedError<PageError>()("PageError", fields) {}
/** A snapshot ref whose element is gone, or from an older snapshot. */
export class StaleRef extends Schema.TaggedError<StaleRef>()("StaleRef", fields) {}
/** The element cannot take the action (hidden, disabled, covered by another, the wrong kind). */
export class NotActionable extends Schema.TaggedError<NotActionable>()("NotActionable", fields) {}
/** A dialog or file chooser is open (or none is, for the tools that answer one). */
export class ModalOpen extends Schema.TaggedError<ModalOpen>()("ModalOpen", fields) {}
/** The tab shows, or the call would load, something other than web content (invariant 10). */
export class NotWebContent extends Schema.TaggedError<NotWebContent>()("NotWebContent", {
  ...fields,
  /** The address refused (the tab's, or the one it would load). */
  url: Schema.optional(Schema.String)
}) {}
/** The user took the tab back from the agent (the status page's "Take back"): it is theirs again. */
export class TakenBack extends Schema.TaggedError<TakenBack>()("TakenBack", { ...fields, tab: Schema.String }) {}
/** The user paused all agents (the status page's "Pause all agents"): nothing is done in the browser until they resume. */
export class UserPaused extends Schema.TaggedError<UserPaused>()("UserPaused", fields) {}
/** Something in the extension that should not happen; the message says what. */
export class Internal extends Schema.TaggedError<Internal>()("Internal", fields) {}
/** A frame the peer could not decode (answered, never fatal). */
export class FrameRefused extends Schema.TaggedError<FrameRefused>()("FrameRefused", fields) {}

/** Every failure a call can end with in the browser. */
export const CallFailure = Schema.Union(
  BadParams,
  UnknownMethod,
  TabNotFound,
  TabClosed,
  NotOwned,
  LockTimeout,
  Timeout,
  NavigationFailed,
  PageError,
  StaleRef,
  NotActionable,
  ModalOpen,
  NotWebContent,
  TakenBack,
  UserPaused,
  Internal,
  FrameRefused
)
export type CallFailure = typeof CallFailure.Type
