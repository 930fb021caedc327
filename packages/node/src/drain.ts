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

  get waiting (): boolean {
    return this.#waiters.length > 0
  }

  /** Resolves once `settled(peer)` (or, for `undefined`, `allSettled()`) holds at a check, or `bound` aborts. */
  wait (peer: Peer | undefined, bound: AbortSignal | undefined, check: () => void): Promise<void> {
    return new Promise(resolve => {
      const cut = (): void => {
        this.#waiters = this.#waiters.filter(w => w !== waiter)
        resolve()
      }
      const waiter: Waiter = { peer, resolve: () => { bound?.removeEventListener('abort', cut); resolve() } }
      this.#waiters.push(waiter)
      if (bound?.aborted === true) return cut()
      bound?.addEventListener('abort', cut, { once: true })
      check()
    })
  }

  /** Resolve the waiters whose condition holds now. */
  check (allSettled: () => boolean): void {
    let all: boolean | undefined
    const waiting: Waiter[] = []
    for (const w of this.#waiters) {
      const done = w.peer !== undefined ? w.peer.tx.idle() : (all ??= allSettled())
      if (done) w.resolve()
      else waiting.push(w)
    }
    this.#waiters = waiting
  }
}
