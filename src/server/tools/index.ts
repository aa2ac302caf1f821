import { browserInstances, browserTabLock, browserTabUnlock } from "./locks.js"
import { browserNavigate, browserTakeScreenshot } from "./page.js"
import { browserTabs } from "./tabs.js"

/** Every tool this server offers, in the order clients list them. */
export const tools = [browserTabs, browserNavigate, browserTakeScreenshot, browserTabLock, browserTabUnlock, browserInstances] as const
