import { browserInstances, browserTabLock, browserTabUnlock } from "./locks.js"
import {
  browserEvaluate,
  browserNavigate,
  browserNavigateBack,
  browserNavigateForward,
  browserReload
} from "./page.js"
import { browserTabs } from "./tabs.js"

/** Every tool this server offers, in the order clients list them. */
export const tools = [
  browserTabs,
  browserNavigate,
  browserNavigateBack,
  browserNavigateForward,
  browserReload,
  browserEvaluate,
  browserTabLock,
  browserTabUnlock,
  browserInstances
] as const
