/** A token bucket on the monotonic clock: `rate` tokens per second, holding at most `rate` (a one-second burst). */
export class TokenBucket {
  readonly #rate: number
  #tokens: number
  #at: number

  constructor (ratePerSecond: number, now: number) {
    this.#rate = ratePerSecond
    this.#tokens = ratePerSecond
    this.#at = now
  }

  /** Take one token if there is one. */
  take (now: number): boolean {
    if (now > this.#at) {
      this.#tokens = Math.min(this.#rate, this.#tokens + (now - this.#at) * this.#rate / 1000)
      this.#at = now
    }
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }
}
