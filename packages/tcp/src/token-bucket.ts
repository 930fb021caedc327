import type { Clock } from '@egtp/interface'

/** Longest a throttled connection sleeps before looking at the bucket again. */
export const MAX_THROTTLE_WAIT_MS = 100

/**
 * A token bucket counting bytes. Tokens refill continuously from the injected clock (no reset timer to forget:
 * v1's 10 s budget stalled forever because its timer was never started), capped at `burstBytes`. The balance
 * may go negative (`consume`): inbound bytes that already arrived are paid for by waiting longer.
 */
export class TokenBucket {
  readonly bytesPerSec: number
  readonly burstBytes: number
  readonly #clock: Clock
  #tokens: number
  #last: number

  constructor (bytesPerSec: number, burstBytes: number, clock: Clock) {
    this.bytesPerSec = bytesPerSec
    this.burstBytes = burstBytes
    this.#clock = clock
    this.#tokens = burstBytes
    this.#last = clock.monotonic()
  }

  #refill (): void {
    const now = this.#clock.monotonic()
    if (now > this.#last) {
      this.#tokens = Math.min(this.burstBytes, this.#tokens + (now - this.#last) * this.bytesPerSec / 1000)
      this.#last = now
    }
  }

  /** Whole tokens available now (0 when in debt). */
  available (): number {
    this.#refill()
    return this.#tokens > 0 ? Math.floor(this.#tokens) : 0
  }

  /** Take up to `max` tokens; returns how many were taken (possibly 0). */
  take (max: number): number {
    const n = Math.min(max, this.available())
    this.#tokens -= n
    return n
  }

  /** Take `n` tokens unconditionally; the balance may go negative. */
  consume (n: number): void {
    this.#refill()
    this.#tokens -= n
  }

  /** Milliseconds until at least `min(want, burstBytes)` tokens are available (0 if they are now). */
  waitMs (want: number): number {
    this.#refill()
    const need = Math.min(want, this.burstBytes) - this.#tokens
    return need <= 0 ? 0 : Math.ceil(need * 1000 / this.bytesPerSec)
  }
}

/** Clamp a bucket wait into a timer delay: at least 1 ms, at most {@link MAX_THROTTLE_WAIT_MS}. */
export function throttleDelay (waitMs: number): number {
  return Math.max(1, Math.min(MAX_THROTTLE_WAIT_MS, waitMs))
}
