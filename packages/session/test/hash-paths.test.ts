import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { HASHES, NOBLE_HASHES } from '../src/noise/primitives.ts'
import type { NoiseHash } from '../src/noise/primitives.ts'

// The Noise hashes go through node:crypto (OpenSSL) when it has them and through @noble/hashes otherwise: both
// must give the same HASH and HKDF bytes (the cacophony vectors pin the node:crypto path end to end).
const NAMES = Object.keys(HASHES) as Array<NoiseHash['name']>

describe('Noise hashes through node:crypto and @noble/hashes', () => {
  it.each(NAMES)('%s: same HASH of several parts, same two- and three-output HKDF', (name) => {
    const a = HASHES[name]
    const b = NOBLE_HASHES[name]
    expect(a.hashLen).toBe(b.hashLen)
    for (const size of [0, 1, 32, 64, 65, 1000]) {
      const x = new Uint8Array(randomBytes(size))
      const y = new Uint8Array(randomBytes(7))
      const h = a.hash(x, y)
      expect(h.byteLength).toBe(a.hashLen)
      expect(h).toEqual(b.hash(x, y))
      const ck = new Uint8Array(randomBytes(a.hashLen))
      expect(a.hkdf(ck, x, 2)).toEqual(b.hkdf(ck, x, 2))
      const three = a.hkdf(ck, x, 3)
      expect(three).toHaveLength(3)
      for (const out of three) expect(out.byteLength).toBe(a.hashLen)
      expect(three).toEqual(b.hkdf(ck, x, 3))
    }
  })

  it('hands out plain Uint8Arrays (never Buffers) that the caller may zero', () => {
    const out = HASHES.BLAKE2s.hkdf(new Uint8Array(32), new Uint8Array(32), 2)
    for (const o of out) expect(o.constructor).toBe(Uint8Array)
    expect(HASHES.BLAKE2s.hash(new Uint8Array(1)).constructor).toBe(Uint8Array)
  })
})
