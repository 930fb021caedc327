/** Injected time, so state machines can run on a fake clock. */
export interface Clock {
  /** Unix milliseconds (wall clock: may jump). */
  now: () => number
  /** Milliseconds from an arbitrary origin that never goes backwards. */
  monotonic: () => number
}

/** The system clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now()
}
