/** Real Chromium for end-to-end tests and benchmarks: see src/server/ManagedBrowser.ts. */
export { type Browser, launch } from "../../src/server/ManagedBrowser.js"
