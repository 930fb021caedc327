import type { OutboundFrame } from '@egtp/interface'

/** An accepted message kept for its delivered notice (the written message itself: no extra object). */
export interface Custodied { readonly to: Uint8Array, readonly payload: OutboundFrame, readonly size: number }

export interface CustodyLimits {
  maxTrackedDeliveries: number
  maxTrackedDeliveryBytes: number
}

/**
 * Messages a relay accepted on the current connection, by message number, kept until it reports them delivered
 * (`rv`) or lost (`rl`), so that a loss can be reported. Bounded by count and bytes: past either, the oldest are
 * forgotten (their loss could then not be reported).
 */
export class Custody {
  readonly #limits: CustodyLimits
  readonly #items = new Map<number, Custodied>()
  #bytes = 0

  constructor (limits: CustodyLimits) {
    this.#limits = limits
  }

  get size (): number {
    return this.#items.size
  }

  keep (m: number, item: Custodied): void {
    const limits = this.#limits
    while (this.#items.size > 0 && (this.#items.size >= limits.maxTrackedDeliveries || this.#bytes + item.size > limits.maxTrackedDeliveryBytes)) {
      this.take(this.#items.keys().next().value!)
    }
    this.#items.set(m, item)
    this.#bytes += item.size
  }

  /** Stop tracking message `m`; returns it if it was tracked. */
  take (m: number): Custodied | undefined {
    const item = this.#items.get(m)
    if (item === undefined) return undefined
    this.#items.delete(m)
    this.#bytes -= item.size
    return item
  }

  /** Forget everything (notices refer to one connection's numbers); returns what was tracked. */
  clear (): Custodied[] {
    const items = [...this.#items.values()]
    this.#items.clear()
    this.#bytes = 0
    return items
  }
}
