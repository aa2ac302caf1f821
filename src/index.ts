/**
 * tabmux as a library: the server Layer and its services, for embedding in another
 * Effect program, and the protocol both sides speak.
 */
export * as Protocol from "./protocol/index.js"
export * as Bridge from "./server/Bridge.js"
export * as BridgeErrors from "./server/BridgeErrors.js"
export * as Config from "./server/Config.js"
export * as InstanceLock from "./server/InstanceLock.js"
export * as Mcp from "./server/Mcp.js"
/** tabmux's Effect metrics; an embedder's own tracer sees the extension's spans when it provides `Bridge.ExportSpans` true. */
export * as Metrics from "./server/Metrics.js"
export * as PortClaims from "./server/PortClaims.js"
export * as PortRegistry from "./server/PortRegistry.js"
export * as ServerIdentity from "./server/ServerIdentity.js"
export * as TabmuxServer from "./server/TabmuxServer.js"
/** The user's secret: `Bridge.layerWithoutListener` needs it (`UserSecret.layer(dir)`, or `layerFromHex` where the embedder runs its own extension side). */
export * as UserSecret from "./server/UserSecret.js"
