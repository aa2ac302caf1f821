import { it } from "vitest"
import { launch } from "../support/chromium.js"
import { serveFixtures } from "../support/fixtures.js"
import { tempRuntimeDir } from "../support/server.js"
it("shot", { timeout: 180_000 }, async () => {
  const fixtures = await serveFixtures()
  const browser = await launch({ dir: tempRuntimeDir(), ports: "18990-18991" })
  await browser.evaluateInWorker(`(globalThis.__shot = (async () => {
    const out = {}
    const send = (t, m, p) => chrome.debugger.sendCommand(t, m, p || {})
    const time = async (label, f) => { const t0 = performance.now(); try { await Promise.race([f(), new Promise((_, r) => setTimeout(() => r(new Error("cap")), 8000))]); out[label] = Math.round(performance.now() - t0) } catch (e) { out[label] = "fail " + e.message } }
    const fg = await chrome.tabs.create({ url: "about:blank", active: true })
    for (const variant of ["plain", "plain-again", "after-change", "screencast", "metrics", "window"]) {
      let tab
      if (variant === "window") {
        const w = await chrome.windows.create({ url: ${JSON.stringify(fixtures.base + "/article")}, focused: false })
        tab = w.tabs[0]
      } else tab = await chrome.tabs.create({ url: ${JSON.stringify(fixtures.base + "/article")}, active: false })
      await new Promise((r) => setTimeout(r, 1500))
      const t = { tabId: tab.id }
      await chrome.debugger.attach(t, "1.3")
      await send(t, "Page.enable")
      if (variant === "plain-again") { await time("warmup", () => send(t, "Page.captureScreenshot", { format: "png" })) }
      if (variant === "after-change") { await send(t, "Runtime.evaluate", { expression: "document.body.style.background = 'yellow'" }) }
      if (variant === "metrics") {
        await time(variant, async () => { await send(t, "Emulation.setDeviceMetricsOverride", { width: 800, height: 600, deviceScaleFactor: 1, mobile: false }); await send(t, "Page.captureScreenshot", { format: "png" }) })
      } else if (variant === "screencast") {
        await time(variant, () => new Promise(async (resolve) => {
          const on = (src, method, params) => { if (src.tabId === tab.id && method === "Page.screencastFrame") { chrome.debugger.onEvent.removeListener(on); send(t, "Page.screencastFrameAck", { sessionId: params.sessionId }); resolve(params.data.length) } }
          chrome.debugger.onEvent.addListener(on)
          await send(t, "Page.startScreencast", { format: "png", everyNthFrame: 1 })
        }))
      } else {
        await time(variant, () => send(t, "Page.captureScreenshot", { format: "png" }))
        await time(variant + "-2nd", () => send(t, "Page.captureScreenshot", { format: "png" }))
      }
      await chrome.debugger.detach(t)
    }
    return out
  })(), true)`)
  let r: any
  for (let i = 0; i < 120 && !r; i++) { await new Promise((x) => setTimeout(x, 1000)); r = await browser.evaluateInWorker(`Promise.race([globalThis.__shot, new Promise((r) => setTimeout(() => r(null), 100))])`) }
  console.log(JSON.stringify(r))
  await browser.close(); fixtures.close()
})
