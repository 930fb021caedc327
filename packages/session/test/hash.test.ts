import { randomBytes } from 'node:crypto'
import { blake2b, blake2s } from '@noble/hashes/blake2.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256, sha512 } from '@noble/hashes/sha2.js'
import { describe, expect, it } from 'vitest'
import { HASHES } from '../src/noise/hash.ts'

// The Noise hashes reuse their noble instances between calls: every result must equal a fresh computation with
// noble's own one-shot functions, in any order of calls and lengths.
const NOBLE = { BLAKE2s: blake2s, BLAKE2b: blake2b, SHA256: sha256, SHA512: sha512 } as const
const u8 = (n: number): Uint8Array => new Uint8Array(randomBytes(n))
const cat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts))

/** Noise §4.3 HKDF, written out with noble's hmac. */
function referenceHkdf (fn: typeof sha256, ck: Uint8Array, ikm: Uint8Array): Uint8Array[] {
  const temp = hmac(fn, ck, ikm)
  const o1 = hmac(fn, temp, Uint8Array.of(1))
  const o2 = hmac(fn, temp, cat(o1, Uint8Array.of(2)))
  const o3 = hmac(fn, temp, cat(o2, Uint8Array.of(3)))
  return [o1, o2, o3]
}

describe('Noise HASH and HKDF over reused noble instances', () => {
  for (const [name, fn] of Object.entries(NOBLE)) {
    const h = HASHES[name as keyof typeof NOBLE]
    it(`${name}: HASH of any parts equals noble's hash of their concatenation`, () => {
      for (const lengths of [[0], [32], [32, 32], [64, 1], [65, 200, 3], [h.hashLen, 48], [1000]]) {
        const parts = lengths.map(u8)
        expect(h.hash(...parts)).toEqual(fn(cat(...parts)))
      }
    })

    it(`${name}: HKDF with 1, 2 and 3 outputs equals noble's HMAC, calls interleaved with hashes`, () => {
      for (const ikmLength of [0, 1, 32, 64, 65, 300]) {
        const ck = u8(h.hashLen)
        const ikm = u8(ikmLength)
        const want = referenceHkdf(fn as typeof sha256, ck, ikm)
        expect(h.hkdf(ck, ikm, 3)).toEqual(want)
        h.hash(u8(77)) // leaves its own state in the reused instance
        expect(h.hkdf(ck, ikm, 2)).toEqual(want.slice(0, 2))
        expect(h.hkdf(ck, ikm, 1)).toEqual(want.slice(0, 1))
      }
    })

    it(`${name}: a key longer than a block is hashed first (RFC 2104), as noble's HMAC does`, () => {
      const key = u8(300)
      const ikm = u8(20)
      expect(h.hkdf(key, ikm, 1)[0]).toEqual(hmac(fn as typeof sha256, hmac(fn as typeof sha256, key, ikm), Uint8Array.of(1)))
    })
  }
})
