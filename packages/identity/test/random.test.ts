import { describe, expect, test } from 'vitest'
import { RANDOM_POOL_BYTES, randomBytesPooled } from '../src/index.ts'

describe('randomBytesPooled', () => {
  test('returns fresh arrays of the asked length, never the same bytes twice, across pool refills', () => {
    const seen = new Set<string>()
    // Several refills of the pool: 16-byte draws, each a 128-bit value that repeats only if bytes are reused.
    for (let i = 0; i < (RANDOM_POOL_BYTES / 16) * 5; i++) {
      const b = randomBytesPooled(16)
      expect(b).toBeInstanceOf(Uint8Array)
      expect(b.byteLength).toBe(16)
      expect(b.byteOffset).toBe(0)
      expect(b.buffer.byteLength).toBe(16) // its own memory, not a view of the pool
      const hex = Buffer.from(b).toString('hex')
      expect(seen.has(hex)).toBe(false)
      seen.add(hex)
    }
  })

  test('a returned array is the caller\'s: zeroing it changes no later draw', () => {
    const a = randomBytesPooled(32)
    a.fill(0)
    const b = randomBytesPooled(32)
    expect(b.some(x => x !== 0)).toBe(true)
  })

  test('large requests and zero bytes', () => {
    const big = randomBytesPooled(RANDOM_POOL_BYTES * 2)
    expect(big.byteLength).toBe(RANDOM_POOL_BYTES * 2)
    expect(big.some(x => x !== 0)).toBe(true)
    expect(randomBytesPooled(0).byteLength).toBe(0)
  })

  test('bytes are roughly uniform (a broken pool handing out zeros or repeats would fail)', () => {
    const counts = new Array<number>(256).fill(0)
    for (let i = 0; i < 2000; i++) for (const x of randomBytesPooled(8)) counts[x]!++
    // 16 000 bytes, 62.5 expected per value: every value occurs, none absurdly often.
    expect(Math.min(...counts)).toBeGreaterThan(10)
    expect(Math.max(...counts)).toBeLessThan(150)
  })

  test('rejects a bad length', () => {
    expect(() => randomBytesPooled(-1)).toThrow(RangeError)
    expect(() => randomBytesPooled(1.5)).toThrow(RangeError)
  })
})
