import { describe, expect, test } from 'vitest'
import { MAX_THROTTLE_WAIT_MS, TokenBucket } from '../src/index.ts'
import { throttleDelay } from '../src/token-bucket.ts'

// The bucket itself is @egtp/interface's (tested there); what tcp adds is how long a throttled connection sleeps.
describe('throttling', () => {
  test('timer delays are clamped so a blocked connection always looks again soon', () => {
    expect(throttleDelay(0)).toBe(1)
    expect(throttleDelay(37)).toBe(37)
    expect(throttleDelay(1e9)).toBe(MAX_THROTTLE_WAIT_MS)
  })

  test('the exported bucket counts bytes on the injected clock', () => {
    let t = 0
    const bucket = new TokenBucket(1_000, 500, { now: () => t, monotonic: () => t })
    expect(bucket.take(800)).toBe(500)
    t = 100
    expect(bucket.waitMs(200)).toBe(100)
  })
})
