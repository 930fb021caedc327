import { describe, expect, test } from 'vitest'
import { bytes, fakeClock, listening, make, rawClient, rawServer, settle } from './helpers.ts'

// Byte counts are checked against the token budget of an injected clock that stands still unless advanced;
// `settle` only gives the throttle's retry timers time to show they do NOT send more.
describe('throttling', () => {
  test('outbound: exactly the token budget leaves while the clock stands still; the burst caps savings', async () => {
    const raw = await rawServer()
    const clock = fakeClock()
    const strat = make({ throttle: { outBytesPerSec: 10_000, burstBytes: 1_000 } }, { clock })
    const conn = await strat.dial(raw.endpoint)
    for (let i = 0; i < 10; i++) await conn.send(bytes(496)) // 10 × 500 wire bytes
    await expect.poll(() => raw.received()).toBe(1_000)
    await settle(150)
    expect(raw.received()).toBe(1_000)
    clock.advance(50) // +500 tokens
    await expect.poll(() => raw.received()).toBe(1_500)
    await settle(150)
    expect(raw.received()).toBe(1_500)
    clock.advance(60_000) // a long pause saves at most burstBytes
    await expect.poll(() => raw.received()).toBe(2_500)
    await settle(150)
    expect(raw.received()).toBe(2_500)
    for (let t = 0; t < 3; t++) clock.advance(100)
    await expect.poll(() => raw.received()).toBe(3_500)
    clock.advance(100)
    await expect.poll(() => raw.received()).toBe(4_500)
    clock.advance(100)
    await expect.poll(() => raw.received()).toBe(5_000)
  })

  test('outbound with the real clock keeps moving (no stall like v1) and delivers every frame', async () => {
    const { strat: b, endpoint } = await listening()
    let count = 0
    b.addEventListener('frame', () => { count++ })
    const a = make({ throttle: { outBytesPerSec: 400_000, burstBytes: 20_000 } })
    await a.start()
    for (let i = 0; i < 100; i++) await a.send('b', endpoint, bytes(1_000))
    await expect.poll(() => count, { timeout: 10_000 }).toBe(100)
  })

  test('inbound: reading pauses once the budget is spent and resumes as tokens come back', async () => {
    const clock = fakeClock()
    const { strat: b, endpoint } = await listening({ throttle: { inBytesPerSec: 10_000, burstBytes: 1_000 } }, { clock })
    const sender = await rawClient(endpoint)
    const frame = Buffer.alloc(1_000)
    frame.writeUInt32BE(996)
    const total = 400
    sender.write(Buffer.concat(Array.from({ length: total }, () => frame))) // 400 KB queued at the sender
    await expect.poll(() => b.stats().bytesIn).toBeGreaterThan(0)
    await settle(150)
    const first = b.stats().bytesIn
    await settle(150)
    expect(b.stats().bytesIn).toBe(first) // paused: nothing more is read while the clock stands still
    expect(first).toBeLessThan(total * 1_000)
    // debt = first - 1000 tokens; paying it off (and a bit) lets reading resume
    clock.advance(Math.ceil((first - 1_000) / 10) + 100)
    await expect.poll(() => b.stats().bytesIn).toBeGreaterThan(first)
    let elapsed = Math.ceil((first - 1_000) / 10) + 100
    // over time the bytes read never exceed the budget plus one socket read
    for (let i = 0; i < 100 && b.stats().framesIn < total; i++) {
      const before = b.stats().bytesIn
      clock.advance(10_000)
      elapsed += 10_000
      await expect.poll(() => b.stats().bytesIn).toBeGreaterThan(before)
      expect(b.stats().bytesIn).toBeLessThanOrEqual(1_000 + elapsed * 10 + 65_536)
    }
    await expect.poll(() => b.stats().framesIn).toBe(total)
  })
})
