import {
  browserClick,
  browserDrag,
  browserDrop,
  browserFileUpload,
  browserFillForm,
  browserHandleDialog,
  browserHover,
  browserPressKey,
  browserSelectOption,
  browserType
} from "./input.js"
import { browserFind } from "./find.js"
import { browserInstances, browserTabLock, browserTabUnlock } from "./locks.js"
import {
  browserClose,
  browserConsoleMessages,
  browserEvaluate,
  browserNavigate,
  browserNavigateBack,
  browserNavigateForward,
  browserNetworkRequest,
  browserNetworkRequests,
  browserPdfSave,
  browserReload,
  browserResize,
  browserSnapshot,
  browserTakeScreenshot,
  browserWaitFor
} from "./page.js"
import { browserTabs } from "./tabs.js"

/** Every tool this server offers, in the order clients list them. */
export const tools = [
  browserTabs,
  browserNavigate,
  browserNavigateBack,
  browserNavigateForward,
  browserReload,
  browserSnapshot,
  browserFind,
  browserClick,
  browserHover,
  browserDrag,
  browserType,
  browserFillForm,
  browserSelectOption,
  browserPressKey,
  browserFileUpload,
  browserDrop,
  browserHandleDialog,
  browserWaitFor,
  browserTakeScreenshot,
  browserEvaluate,
  browserConsoleMessages,
  browserNetworkRequests,
  browserNetworkRequest,
  browserResize,
  browserPdfSave,
  browserTabLock,
  browserTabUnlock,
  browserInstances,
  browserClose
] as const
