export * from "./Frame.js"
export * from "./Methods.js"
export * from "./Ports.js"
