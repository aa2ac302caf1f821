import { browserInstances, browserTabLock, browserTabUnlock } from "./locks.js"
import { browserTabs } from "./tabs.js"

/** Every tool this server offers, in the order clients list them. */
export const tools = [browserTabs, browserTabLock, browserTabUnlock, browserInstances] as const
