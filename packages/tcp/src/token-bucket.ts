/** Longest a throttled connection sleeps before looking at the bucket again. */
export const MAX_THROTTLE_WAIT_MS = 100

/**
 * The shared token bucket of @egtp/interface, counting bytes here: it refills from the injected clock, capped at
 * the burst, and inbound bytes that already arrived go into debt (`consume`), paid for by waiting longer.
 */
export { TokenBucket } from '@egtp/interface'

/** Clamp a bucket wait into a timer delay: at least 1 ms, at most {@link MAX_THROTTLE_WAIT_MS}. */
export function throttleDelay (waitMs: number): number {
  return Math.max(1, Math.min(MAX_THROTTLE_WAIT_MS, waitMs))
}
