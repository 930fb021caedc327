import { describe, expect, test } from 'vitest'
import { TokenBucket } from '../src/index.ts'

const clockAt = (start = 0): { now: () => number, monotonic: () => number, advance: (ms: number) => void } => {
  let t = start
  return { now: () => t, monotonic: () => t, advance: (ms) => { t += ms } }
}

describe('TokenBucket with a clock', () => {
  test('starts full at the burst, hands out at most what it holds, refills at the rate', () => {
    const clock = clockAt()
    const bucket = new TokenBucket(1_000, 500, clock)
    expect(bucket.take(800)).toBe(500)
    expect(bucket.take(1)).toBe(0)
    clock.advance(100)
    expect(bucket.available()).toBe(100)
    expect(bucket.take(30)).toBe(30)
    expect(bucket.take(1_000)).toBe(70)
  })

  test('never holds more than the burst; fractional refills add up', () => {
    const clock = clockAt()
    const bucket = new TokenBucket(1_000, 1_000, clock)
    bucket.take(1_000)
    for (let i = 0; i < 1_000; i++) clock.advance(0.3)
    expect(bucket.available()).toBe(300)
    clock.advance(3_600_000)
    expect(bucket.available()).toBe(1_000)
  })

  test('consume goes into debt, repaid before tokens are available again; waits are capped at a burst', () => {
    const clock = clockAt()
    const bucket = new TokenBucket(1_000, 100, clock)
    bucket.consume(1_100)
    expect(bucket.available()).toBe(0)
    expect(bucket.has(1)).toBe(false)
    expect(bucket.waitMs(0)).toBe(1_000)
    clock.advance(1_000)
    expect(bucket.waitMs(0)).toBe(0)
    expect(bucket.waitMs(50)).toBe(50)
    expect(bucket.waitMs(10_000)).toBe(100)
  })
})

describe('TokenBucket with explicit times', () => {
  test('tryTake takes all of n or nothing', () => {
    const bucket = new TokenBucket(10, 10, 0)
    expect(bucket.tryTake(4, 0)).toBe(true)
    expect(bucket.tryTake(7, 0)).toBe(false)
    expect(bucket.available(0)).toBe(6)
    expect(bucket.tryTake(6, 0)).toBe(true)
    expect(bucket.tryTake(1, 0)).toBe(false)
    expect(bucket.tryTake(1, 100)).toBe(true) // 10 per second: one token per 100 ms
    expect(bucket.tryTake(1, 150)).toBe(false)
  })

  test('has looks without taking; a request larger than the burst never passes', () => {
    const bucket = new TokenBucket(100, 200, 5_000)
    expect(bucket.has(200, 5_000)).toBe(true)
    expect(bucket.has(200, 5_000)).toBe(true)
    expect(bucket.has(201, 1e9)).toBe(false)
  })

  test('time going backwards neither mints nor burns tokens', () => {
    const bucket = new TokenBucket(1_000, 100, 1_000)
    bucket.take(100, 1_000)
    expect(bucket.available(0)).toBe(0)
    expect(bucket.available(1_050)).toBe(50)
  })

  test('no time and no clock is a programmer error', () => {
    const bucket = new TokenBucket(1, 1, 0)
    expect(() => bucket.available()).toThrow(TypeError)
  })
})
