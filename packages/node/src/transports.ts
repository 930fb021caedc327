import type { Commstrat, FrameListener, InboundFrame } from '@egtp/interface'

/**
 * The node's commstrats: started and stopped together, their frames and endpoint changes passed on. Frames come
 * by a direct call from a commstrat that offers one (`setFrameListener`), else as `frame` events.
 */
export class Transports {
  readonly list: readonly Commstrat[]
  readonly #onFrame: FrameListener
  readonly #onFrameEvent: (evt: CustomEvent<InboundFrame>) => void
  readonly #onEndpoints: () => void

  constructor (commstrats: readonly Commstrat[], onFrame: FrameListener, onEndpoints: () => void) {
    this.list = commstrats
    this.#onFrame = onFrame
    this.#onFrameEvent = evt => { onFrame(evt.detail.frame, evt.detail.path) }
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
