import type { Commstrat, InboundFrame } from '@egtp/interface'

/** The node's commstrats: started and stopped together, their frames and endpoint changes passed on. */
export class Transports {
  readonly list: readonly Commstrat[]
  readonly #onFrame: (evt: CustomEvent<InboundFrame>) => void
  readonly #onEndpoints: () => void

  constructor (commstrats: readonly Commstrat[], onFrame: (frame: InboundFrame) => void, onEndpoints: () => void) {
    this.list = commstrats
    this.#onFrame = evt => { onFrame(evt.detail) }
    this.#onEndpoints = onEndpoints
  }

  /** Start every commstrat; if one fails, the others are stopped again and its error thrown. */
  async start (): Promise<void> {
    for (const c of this.list) {
      c.addEventListener('frame', this.#onFrame)
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
      c.removeEventListener('frame', this.#onFrame)
      c.removeEventListener('endpoints:change', this.#onEndpoints)
    }
    await Promise.allSettled(this.list.map(async c => { await c.stop() }))
  }
}
