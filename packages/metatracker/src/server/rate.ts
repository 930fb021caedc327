/** Per-sender token buckets (rate per second, burst of one second's worth), bounded in number. */
export class SenderRates {
  readonly #rate: number
  readonly #max: number
  readonly #buckets = new Map<string, { tokens: number, at: number }>()

  constructor (ratePerSecond: number, maxSenders: number) {
    this.#rate = ratePerSecond
    this.#max = maxSenders
  }

  /** Take `n` tokens for `sender` at monotonic time `now` (ms); false when its budget is spent. */
  take (sender: string, now: number, n = 1): boolean {
    let b = this.#buckets.get(sender)
    if (b === undefined) {
      // Forget the least recently seen sender when full (Map order is insertion order; a hit re-inserts).
      if (this.#buckets.size >= this.#max) this.#buckets.delete(this.#buckets.keys().next().value!)
      b = { tokens: this.#rate, at: now }
    } else {
      this.#buckets.delete(sender)
      b.tokens = Math.min(this.#rate, b.tokens + (Math.max(0, now - b.at) / 1000) * this.#rate)
      b.at = now
    }
    this.#buckets.set(sender, b)
    if (b.tokens < n) return false
    b.tokens -= n
    return true
  }

  get size (): number {
    return this.#buckets.size
  }
}
