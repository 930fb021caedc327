import type { Clock } from '@egtp/interface'

export interface BackoffConfig {
  reconnectMinMs: number
  reconnectMaxMs: number
}

/** Reconnection of one relay link: consecutive failures, and a jittered exponential delay before the next try. */
export class Backoff {
  /** Consecutive failed connects or drops. */
  failures = 0
  readonly #config: BackoffConfig
  readonly #clock: Clock
  #lastFailureAt = -Infinity
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor (config: BackoffConfig, clock: Clock) {
    this.#config = config
    this.#clock = clock
  }

  /** A connect failed now. */
  failed (): void {
    this.failures++
    this.#lastFailureAt = this.#clock.monotonic()
  }

  /** A working connection dropped. */
  dropped (): void {
    this.failures++
  }

  succeeded (): void {
    this.failures = 0
  }

  /** Within a short pause (`reconnectMinMs`) after a failed connect: the relay is known to be unreachable. */
  recentlyFailed (): boolean {
    return this.#clock.monotonic() - this.#lastFailureAt < this.#config.reconnectMinMs
  }

  /** Run `retry` after the delay the failures call for (at once before any). */
  schedule (retry: () => void): void {
    this.cancel()
    const base = Math.min(this.#config.reconnectMaxMs, this.#config.reconnectMinMs * 2 ** Math.min(20, this.failures - 1))
    const delay = this.failures <= 0 ? 0 : Math.round(base * (0.5 + Math.random()))
    this.#timer = setTimeout(retry, delay)
    this.#timer.unref?.()
  }

  cancel (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
