/**
 * Captures of a tab's page, which also make a background tab draw. Chrome draws a tab
 * that is not in front only when asked, and in headless Chromium a capture of such a tab
 * is answered only every second request (see docs/PERFORMANCE.md): a new request starts
 * every 300 ms while none has answered, and the first answer wins. A drawn frame is what
 * a background tab needs to take a new viewport size, and to route pointer input into
 * its out-of-process frames where they are now (not where they were last drawn).
 */
import { Deferred, Duration, Effect, Fiber, Queue, Schema, Stream } from "effect"
import type { CallFailure } from "../../src/protocol/index.js"
import { Driver } from "./Driver.js"
import { pageError } from "./PageRecord.js"

const RETRY = Duration.millis(300)
const TRIES = 6
/** How long a capture waits, after its answer, for the requests it sent before (see below). */
const SETTLE = Duration.seconds(2)
const CAPTURE_CAP = Duration.seconds(15)
const Captured = Schema.Struct({ data: Schema.String })

const failed = (message: string) => pageError("Page.captureScreenshot", message)

/** A capture (base64 image data), however many requests the browser needs to answer one. */
export const capture = (tab: number, params: object): Effect.Effect<string, CallFailure, Driver> =>
  Effect.flatMap(Driver, (driver) => {
    const once = driver.send(tab, "Page.captureScreenshot", params).pipe(
      Effect.mapError((e) => failed(e.message)),
      Effect.flatMap((r) => Schema.decodeUnknown(Captured)(r).pipe(Effect.mapError(() => failed("unexpected answer from the browser")))),
      Effect.map((r) => r.data)
    )
    return Effect.gen(function*() {
      const first = yield* Deferred.make<string, CallFailure>()
      let failures = 0
      // A request once sent runs to its answer: abandoned, it would still run in the browser
      // later, and a capture restores the page's metrics as they were when it began (undoing
      // a resize made meanwhile). Requests not yet sent when one answers are not sent.
      const requests = yield* Effect.forEach(Array.from({ length: TRIES }, (_, i) => i), (i) =>
        Effect.fork(Effect.delay(
          Effect.uninterruptible(once.pipe(
            Effect.matchEffect({
              onSuccess: (data) => Deferred.succeed(first, data),
              onFailure: (e) => (++failures === TRIES ? Deferred.fail(first, e) : Effect.void)
            })
          )),
          Duration.times(RETRY, i)
        )))
      return yield* Deferred.await(first).pipe(
        Effect.timeoutFail({ duration: CAPTURE_CAP, onTimeout: () => failed("the browser produced no image") }),
        // The browser answers every pending capture of a tab when it draws it: waiting for them is short.
        Effect.ensuring(Effect.ignore(Effect.timeout(Fiber.interruptAll(requests), SETTLE)))
      )
    })
  })

/** Makes the tab draw a frame now (a one-pixel capture); never fails. */
export const drawFrame = (tab: number) =>
  capture(tab, { format: "png", clip: { x: 0, y: 0, width: 1, height: 1, scale: 1 } }).pipe(Effect.ignore)

/** How long `drawing` waits for the frame that shows what was just done. */
const NEXT_FRAME_CAP = Duration.millis(500)

/**
 * Makes a background tab draw every frame while the scope lasts (a screencast of one tiny
 * image a frame, each acknowledged so the next comes), as a tab in front does: what a page
 * draws at its next frame (an editor's lines, say) is drawn as it happens. `frame` waits for
 * the next frame drawn (at most 500 ms: a page with nothing new to draw makes none).
 */
export const drawing = (tab: number) =>
  Effect.gen(function*() {
    const driver = yield* Driver
    const events = yield* driver.subscribe
    const frames = yield* Queue.sliding<void>(1)
    yield* Stream.fromQueue(events).pipe(
      Stream.filter((e) => e.tab === tab && e.session === undefined && e.method === "Page.screencastFrame"),
      Stream.runForEach((e) =>
        driver.send(tab, "Page.screencastFrameAck", { sessionId: (e.params as { sessionId: number }).sessionId }).pipe(
          Effect.ignore,
          Effect.zipRight(Queue.offer(frames, undefined))
        )
      ),
      Effect.forkScoped
    )
    yield* Effect.acquireRelease(
      driver.send(tab, "Page.startScreencast", { format: "jpeg", quality: 1, maxWidth: 16, maxHeight: 16 }).pipe(Effect.ignore),
      () => driver.send(tab, "Page.stopScreencast").pipe(Effect.ignore)
    )
    return {
      frame: Queue.takeAll(frames).pipe(Effect.zipRight(Queue.take(frames)), Effect.timeout(NEXT_FRAME_CAP), Effect.ignore)
    }
  })
