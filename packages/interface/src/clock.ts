/** Injected time, so state machines can run on a fake clock. */
export interface Clock {
  /** Unix milliseconds (wall clock: may jump). */
  now: () => number
  /** Milliseconds from an arbitrary origin that never goes backwards. */
  monotonic: () => number
}

// Read once: on Node 20 `performance` is an accessor of globalThis (each read a getter call).
const perf = performance

/** The system clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => perf.now()
}

/**
 * `clock` with its monotonic time rounded up to whole milliseconds, for state kept per peer: a time stored as a
 * whole number stays a small integer inside its object, where a fractional one costs a separate 16-byte heap
 * number on Node 20's V8 (thousands of idle peers each hold several). Still never goes backwards; a fake clock
 * that counts whole milliseconds reads the same through it.
 */
export function wholeMsClock (clock: Clock): Clock {
  if (clock.monotonic === wholeMs) return clock
  return clock === systemClock ? systemWholeMsClock : { now: () => clock.now(), monotonic: () => Math.ceil(clock.monotonic()) }
}

const wholeMs = (): number => Math.ceil(perf.now())
const systemWholeMsClock: Clock = { now: () => Date.now(), monotonic: wholeMs }
