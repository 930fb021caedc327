import type { Clock } from './clock.ts'

/**
 * A token bucket: `ratePerSecond` tokens refill continuously (no reset timer to forget: v1's 10 s budget stalled
 * forever because its timer was never started), capped at `burst`; it starts full. Time is monotonic
 * milliseconds, given to each call as `now` (sans-I/O state machines) or read from the `Clock` the bucket was
 * made with when `now` is left out. A clock that goes backwards neither mints nor burns tokens. The balance may
 * go negative (`consume`): what already happened is paid for by waiting longer.
 */
export class TokenBucket {
  readonly ratePerSecond: number
  readonly burst: number
  readonly #clock: Clock | undefined
  #tokens: number
  #last: number

  /** @param clockOrNow the clock to read when a call gives no `now`, or the current monotonic time */
  constructor (ratePerSecond: number, burst: number, clockOrNow: Clock | number) {
    this.ratePerSecond = ratePerSecond
    this.burst = burst
    this.#clock = typeof clockOrNow === 'number' ? undefined : clockOrNow
    this.#tokens = burst
    this.#last = typeof clockOrNow === 'number' ? clockOrNow : clockOrNow.monotonic()
  }

  #refill (now: number | undefined): void {
    const t = now ?? this.#clock?.monotonic()
    if (t === undefined) throw new TypeError('TokenBucket: no `now` given and no clock')
    if (t > this.#last) {
      this.#tokens = Math.min(this.burst, this.#tokens + (t - this.#last) * this.ratePerSecond / 1000)
      this.#last = t
    }
  }

  /** Whole tokens available (0 when in debt). */
  available (now?: number): number {
    this.#refill(now)
    return this.#tokens > 0 ? Math.floor(this.#tokens) : 0
  }

  /** Whether `n` tokens are available (nothing is taken). */
  has (n: number, now?: number): boolean {
    this.#refill(now)
    return this.#tokens >= n
  }

  /** Take `n` tokens if they are all available; whether they were. */
  tryTake (n: number, now?: number): boolean {
    this.#refill(now)
    if (this.#tokens < n) return false
    this.#tokens -= n
    return true
  }

  /** Take up to `max` whole tokens; returns how many were taken (possibly 0). */
  take (max: number, now?: number): number {
    const n = Math.min(max, this.available(now))
    this.#tokens -= n
    return n
  }

  /** Take `n` tokens unconditionally; the balance may go negative. */
  consume (n: number, now?: number): void {
    this.#refill(now)
    this.#tokens -= n
  }

  /** Milliseconds until at least `min(want, burst)` tokens are available (0 if they are now). */
  waitMs (want: number, now?: number): number {
    this.#refill(now)
    const need = Math.min(want, this.burst) - this.#tokens
    return need <= 0 ? 0 : Math.ceil(need * 1000 / this.ratePerSecond)
  }
}
