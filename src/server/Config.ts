/**
 * Everything a tabmux server can be told, in one value. The CLI builds it from flags
 * and `TABMUX_*` variables; embedders and tests build it with `ServerConfig.make`.
 */
import { Context, Duration } from "effect"
import * as Os from "node:os"
import * as Path from "node:path"

import type { DisconnectPolicy, GroupColor } from "../protocol/Frame.js"
import { DEFAULT_PORTS, type PortRange } from "../protocol/Ports.js"
import type { OriginPolicy } from "../protocol/WebContent.js"

export { BadConfig, DEFAULT_PORTS, formatRange, parsePortRange, type PortRange, portsOf } from "../protocol/Ports.js"

export type LockStrategy = "auto" | "kernel" | "directory"

export interface ServerConfig {
  readonly ports: PortRange
  /** Per-user runtime directory (0700): port registry and lock files. */
  readonly dir: string
  /** Exact `Origin` values allowed to connect; the extension's own origin is always first. */
  readonly allowOrigins: ReadonlyArray<string>
  /** How long a tool call waits for the extension before failing with advice. */
  readonly connectWait: Duration.Duration
  readonly handshakeTimeout: Duration.Duration
  readonly keepaliveInterval: Duration.Duration
  /** Unanswered keepalives after which the connection is closed. */
  readonly keepaliveMisses: number
  readonly heartbeatInterval: Duration.Duration
  /** A record or lock whose heartbeat is this old, while its process lives, is reported as hung. */
  readonly staleAfter: Duration.Duration
  /** Hold the `server` InstanceLock: at most one such server per user and runtime dir. */
  readonly exclusive: boolean
  readonly lockStrategy: LockStrategy
  /** A shared lock backend (`redis://host:port[/db]`) for `--exclusive`, instead of the local one. */
  readonly lockBackend?: string | undefined
  /** The lock backend's password (from TABMUX_LOCK_BACKEND_PASSWORD or --lock-backend-password-file), kept off the command line. */
  readonly lockBackendPassword?: string | undefined
  readonly serverVersion: string
  /** Where agents of this server may go (`--allowed-origins`, `--blocked-origins`); none: anywhere on the web. */
  readonly origins?: OriginPolicy | undefined
  /** The agent's name in the browser (its tab group's title), instead of the MCP client's name (`--session-name`). */
  readonly sessionName?: string | undefined
  /** Its tab group's colour (`--session-color`); else one no other connected agent uses. */
  readonly sessionColor?: GroupColor | undefined
  /** What the extension does with this instance's tabs when the server goes. */
  readonly onDisconnect: DisconnectPolicy
  /** With `keep`: how long the tabs wait for a reconnect or a `--resume`. */
  readonly keepGrace: Duration.Duration
  /** The token of an earlier server whose kept tabs this one takes over. */
  readonly resume: string | undefined
  /**
   * What a page action's result says of the page: what changed since the agent's last snapshot of
   * the tab (`diff`; the whole snapshot when the page is new), the whole snapshot (`full`), or
   * nothing (`none`: agents call browser_snapshot).
   */
  readonly snapshotAfterAction: "full" | "diff" | "none"
  /** Where screenshots and PDFs go by default, and relative paths are resolved (default `<dir>/output`, private). */
  readonly outputDir: string | undefined
  /** Directories, besides the client's roots and the output directory, that agents' files may be in. */
  readonly allowPaths: ReadonlyArray<string>
  /** Whether agents may load and drive `file:` URLs. */
  readonly allowFileUrls: boolean
}

export const ServerConfig = Context.GenericTag<ServerConfig>("tabmux/ServerConfig")

/** `$TABMUX_DIR`, else `$XDG_RUNTIME_DIR/tabmux`, else `%LOCALAPPDATA%\tabmux` on Windows, else `~/.cache/tabmux`. */
export const defaultDir = (env: NodeJS.ProcessEnv = process.env): string => {
  if (env.TABMUX_DIR) return Path.resolve(env.TABMUX_DIR)
  if (env.XDG_RUNTIME_DIR) return Path.join(env.XDG_RUNTIME_DIR, "tabmux")
  if (process.platform === "win32" && env.LOCALAPPDATA) return Path.join(env.LOCALAPPDATA, "tabmux")
  return Path.join(Os.homedir(), ".cache", "tabmux")
}

export const make = (overrides: Partial<ServerConfig> & { readonly allowOrigins: ReadonlyArray<string> }): ServerConfig => ({
  ports: DEFAULT_PORTS,
  dir: defaultDir(),
  connectWait: Duration.seconds(5),
  handshakeTimeout: Duration.seconds(5),
  keepaliveInterval: Duration.seconds(20),
  keepaliveMisses: 2,
  heartbeatInterval: Duration.seconds(5),
  staleAfter: Duration.seconds(15),
  exclusive: false,
  lockStrategy: "auto",
  serverVersion: "0.0.0",
  onDisconnect: "close",
  keepGrace: Duration.seconds(60),
  resume: undefined,
  snapshotAfterAction: "diff",
  outputDir: undefined,
  allowPaths: [],
  allowFileUrls: false,
  ...overrides
})
