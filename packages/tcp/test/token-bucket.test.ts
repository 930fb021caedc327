import { describe, expect, test } from 'vitest'
import { MAX_THROTTLE_WAIT_MS, TokenBucket } from '../src/index.ts'
import { throttleDelay } from '../src/token-bucket.ts'

const clockAt = (start = 0): { now: () => number, monotonic: () => number, advance: (ms: number) => void } => {
  let t = start
  return { now: () => t, monotonic: () => t, advance: (ms) => { t += ms } }
}

describe('TokenBucket', () => {
  test('starts full, hands out at most what it holds, refills at the rate', () => {
    const clock = clockAt()
    const bucket = new TokenBucket(1_000, 500, clock)
    expect(bucket.take(800)).toBe(500)
    expect(bucket.take(1)).toBe(0)
    clock.advance(100)
    expect(bucket.available()).toBe(100)
    expect(bucket.take(30)).toBe(30)
    expect(bucket.take(1_000)).toBe(70)
  })

  test('never holds more than the burst, however long it waits', () => {
    const clock = clockAt()
    const bucket = new TokenBucket(1_000, 500, clock)
    clock.advance(3_600_000)
    expect(bucket.available()).toBe(500)
  })

  test('keeps fractional refills: many tiny steps add up to the rate', () => {
    const clock = clockAt()
    const bucket = new TokenBucket(1_000, 1_000, clock)
    bucket.take(1_000)
    for (let i = 0; i < 1_000; i++) clock.advance(0.3)
    expect(bucket.available()).toBe(300)
  })

  test('consume goes into debt, which is repaid before tokens are available again', () => {
    const clock = clockAt()
    const bucket = new TokenBucket(1_000, 100, clock)
    bucket.consume(1_100) // 1000 in debt
    expect(bucket.available()).toBe(0)
    expect(bucket.waitMs(0)).toBe(1_000)
    clock.advance(999)
    expect(bucket.waitMs(0)).toBe(1)
    clock.advance(1)
    expect(bucket.waitMs(0)).toBe(0)
    expect(bucket.waitMs(50)).toBe(50)
    expect(bucket.waitMs(10_000)).toBe(100) // never waits for more than a burst
  })

  test('a clock that goes backwards does not mint or burn tokens', () => {
    let t = 1_000
    const clock = { now: () => t, monotonic: () => t }
    const bucket = new TokenBucket(1_000, 100, clock)
    bucket.take(100)
    t = 0
    expect(bucket.available()).toBe(0)
    t = 1_050
    expect(bucket.available()).toBe(50)
  })

  test('timer delays are clamped so a blocked connection always looks again soon', () => {
    expect(throttleDelay(0)).toBe(1)
    expect(throttleDelay(37)).toBe(37)
    expect(throttleDelay(1e9)).toBe(MAX_THROTTLE_WAIT_MS)
  })
})
