export * from "./Frame.js"
export * from "./Methods.js"
