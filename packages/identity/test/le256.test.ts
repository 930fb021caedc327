// The direct little-endian reading behind ed25519MapsToX25519 gives noble's bytesToNumberLE, top bit masked or not.
import { randomBytes } from 'node:crypto'
import { bytesToNumberLE } from '@noble/curves/utils.js'
import { describe, expect, test } from 'vitest'
import { le256 } from '../src/identity.ts'

describe('le256', () => {
  test('reads 32 bytes as noble does, with and without the top bit', () => {
    const cases = [new Uint8Array(32), new Uint8Array(32).fill(0xff), Uint8Array.from({ length: 32 }, (_, i) => i)]
    for (let i = 0; i < 32; i++) {
      const one = new Uint8Array(32)
      one[i] = 0x80
      cases.push(one)
    }
    for (let i = 0; i < 500; i++) cases.push(new Uint8Array(randomBytes(32)))
    for (const b of cases) {
      expect(le256(b, 0xffff_ffff)).toBe(bytesToNumberLE(b))
      const y = b.slice()
      y[31]! &= 0x7f
      expect(le256(b, 0x7fff_ffff)).toBe(bytesToNumberLE(y))
      // A view at an offset in a larger buffer (a key inside a frame).
      const big = new Uint8Array(40)
      big.set(b, 5)
      expect(le256(big.subarray(5, 37), 0xffff_ffff)).toBe(bytesToNumberLE(b))
    }
  })
})
