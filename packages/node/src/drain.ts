import type { Peer } from './peers.ts'

interface Waiter {
  /** One peer, or every peer and nothing unacknowledged (`undefined`). */
  readonly peer: Peer | undefined
  readonly resolve: () => void
}

/**
 * Who waits for the sender to have nothing on its way (stop), or nothing for one peer (disconnect). The sender
 * calls {@link check} when something settles while someone waits (`waiting`): no timer, no polling.
 */
export class DrainWaiters {
  #waiters: Waiter[] = []
  readonly #allSettled: () => boolean

  /** `allSettled`: nothing unacknowledged, and nothing waits or is on its way to any peer. */
  constructor (allSettled: () => boolean) {
    this.#allSettled = allSettled
  }

  get waiting (): boolean {
    return this.#waiters.length > 0
  }

  /** Resolves once `peer` is idle (`undefined`: everything settled) at a check, or `bound` aborts. */
  wait (peer: Peer | undefined, bound: AbortSignal | undefined): Promise<void> {
    return new Promise(resolve => {
      const cut = (): void => {
        this.#waiters = this.#waiters.filter(w => w !== waiter)
        resolve()
      }
      const waiter: Waiter = { peer, resolve: () => { bound?.removeEventListener('abort', cut); resolve() } }
      this.#waiters.push(waiter)
      if (bound?.aborted === true) return cut()
      bound?.addEventListener('abort', cut, { once: true })
      this.check()
    })
  }

  /** Resolve the waiters whose condition holds now. */
  check (): void {
    let all: boolean | undefined
    const waiting: Waiter[] = []
    for (const w of this.#waiters) {
      const done = w.peer !== undefined ? w.peer.tx.idle() : (all ??= this.#allSettled())
      if (done) w.resolve()
      else waiting.push(w)
    }
    this.#waiters = waiting
  }
}
