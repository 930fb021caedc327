import type { Commstrat, FrameListener, InboundFrame } from '@egtp/interface'

/**
 * The node's commstrats: started and stopped together, their frames and endpoint changes passed on. Frames come
 * by a direct call from a commstrat that offers one (`setFrameListener`), else as `frame` events.
 */
export class Transports {
  readonly list: readonly Commstrat[]
  readonly #onFrame: FrameListener
  // A field initializer, not `this.#onFrameEvent = evt => ...` in the constructor: V8 (Node 20) keeps a closure
  // assigned by a store in the function that made it alive through the next scavenge, and with it all it
  // reaches (here the whole node): each short-lived node would be promoted and wait for a full collection.
  readonly #onFrameEvent = (evt: CustomEvent<InboundFrame>): void => { this.#onFrame(evt.detail.frame, evt.detail.path) }
  readonly #onEndpoints: () => void

  constructor (commstrats: readonly Commstrat[], onFrame: FrameListener, onEndpoints: () => void) {
    this.list = commstrats
    this.#onFrame = onFrame
    this.#onEndpoints = onEndpoints
  }

  /** Start every commstrat; if one fails, the others are stopped again and its error thrown. */
  async start (): Promise<void> {
    for (const c of this.list) {
      if (c.setFrameListener !== undefined) c.setFrameListener(this.#onFrame)
      else c.addEventListener('frame', this.#onFrameEvent)
      c.addEventListener('endpoints:change', this.#onEndpoints)
    }
    const started = await Promise.allSettled(this.list.map(async c => { await c.start() }))
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed === undefined) return
    await this.stop()
    throw failed.reason
  }

  /** Stop listening to them, then stop every one (failures are theirs to report). */
  async stop (): Promise<void> {
    for (const c of this.list) {
      if (c.setFrameListener !== undefined) c.setFrameListener(undefined)
      else c.removeEventListener('frame', this.#onFrameEvent)
      c.removeEventListener('endpoints:change', this.#onEndpoints)
    }
    await Promise.allSettled(this.list.map(async c => { await c.stop() }))
  }
}
