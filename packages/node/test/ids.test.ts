import { describe, expect, test } from 'vitest'
import { counterOf, makeMessageId, toHex } from '../src/ids.ts'

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
})
