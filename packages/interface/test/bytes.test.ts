import { describe, expect, test } from 'vitest'
import { COMPACT_COPY_MAX_BYTES, COMPACT_SLAB_BYTES, bytesEqual, bytesStartWith, compactCopy, toHex } from '../src/index.ts'

describe('bytes helpers', () => {
  test('bytesEqual: same length and same bytes, views compared by content', () => {
    expect(bytesEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 3))).toBe(true)
    expect(bytesEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true)
    expect(bytesEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 4))).toBe(false)
    expect(bytesEqual(Uint8Array.of(0, 2, 3), Uint8Array.of(1, 2, 3))).toBe(false)
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3))).toBe(false)
    const big = Uint8Array.of(9, 1, 2, 3, 9)
    expect(bytesEqual(big.subarray(1, 4), Uint8Array.of(1, 2, 3))).toBe(true)
    expect(bytesEqual(Buffer.from([1, 2]), Uint8Array.of(1, 2))).toBe(true)
  })

  test('bytesStartWith: a prefix of any length up to the whole', () => {
    const b = Uint8Array.of(1, 2, 3)
    expect(bytesStartWith(b, new Uint8Array(0))).toBe(true)
    expect(bytesStartWith(b, Uint8Array.of(1, 2))).toBe(true)
    expect(bytesStartWith(b, b)).toBe(true)
    expect(bytesStartWith(b, Uint8Array.of(1, 3))).toBe(false)
    expect(bytesStartWith(b, Uint8Array.of(1, 2, 3, 4))).toBe(false)
  })

  test('toHex: lowercase, two digits a byte, a view shows only its bytes', () => {
    expect(toHex(Uint8Array.of(0, 1, 0x0f, 0xa0, 0xff))).toBe('00010fa0ff')
    expect(toHex(new Uint8Array(0))).toBe('')
    const all = Uint8Array.from({ length: 256 }, (_, i) => i)
    expect(toHex(all)).toBe(Buffer.from(all).toString('hex'))
    expect(toHex(all.subarray(254))).toBe('feff')
  })

  test('compactCopy: an independent copy of the same bytes; small ones share a slab, never overlapping', () => {
    const src = Uint8Array.of(1, 2, 3, 4, 5)
    const copies = Array.from({ length: 2 * COMPACT_SLAB_BYTES / 8 }, () => compactCopy(src))
    for (const c of copies) expect([...c]).toEqual([1, 2, 3, 4, 5])
    src[0] = 9
    expect(copies[0]![0]).toBe(1)
    copies[0]![1] = 7
    expect(copies[1]![1]).toBe(2) // no two copies overlap
    expect(copies[0]!.buffer).toBe(copies[1]!.buffer)
    expect(copies[0]!.buffer.byteLength).toBe(COMPACT_SLAB_BYTES)
    expect(new Set(copies.map(c => c.buffer)).size).toBeGreaterThan(1) // a full slab is followed by a new one
    const big = compactCopy(new Uint8Array(COMPACT_COPY_MAX_BYTES + 1).fill(3))
    expect(big.buffer.byteLength).toBe(COMPACT_COPY_MAX_BYTES + 1)
    expect(big.every(b => b === 3)).toBe(true)
    expect(compactCopy(new Uint8Array(0)).byteLength).toBe(0)
  })
})
