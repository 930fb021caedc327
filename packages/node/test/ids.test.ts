import { describe, expect, test } from 'vitest'
import { bytesKey, counterOf, makeMessageId, toHex } from '../src/ids.ts'

const epoch = new Uint8Array(8).fill(7)

describe('message IDs', () => {
  test('epoch ‖ big-endian counter, up to 2^53', () => {
    for (const c of [1, 255, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
      const id = makeMessageId(epoch, c)
      expect(id.subarray(0, 8)).toEqual(epoch)
      expect(counterOf(id)).toBe(c)
    }
    expect(toHex(makeMessageId(epoch, 1))).toBe('07070707070707070000000000000001')
  })

  test('bytesKey: one UTF-16 unit per byte, for 16-byte IDs and 8-byte epochs alike', () => {
    const id = Uint8Array.from({ length: 16 }, (_, i) => (i * 37 + 200) & 0xff)
    const expected = Array.from(id, b => String.fromCharCode(b)).join('')
    expect(bytesKey(id)).toBe(expected)
    expect(bytesKey(id.subarray(0, 8))).toBe(expected.slice(0, 8))
    const other = id.slice()
    other[15]! ^= 1
    expect(bytesKey(other)).not.toBe(expected)
  })
})
