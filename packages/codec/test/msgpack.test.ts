import { pack } from 'msgpackr'
import { describe, expect, test } from 'vitest'
import { decodeValue, encodeCanonical, encodeValue, scanValue } from '../src/index.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))

describe('canonical encoding', () => {
  test('key order does not change the bytes', () => {
    expect(hex(encodeCanonical({ b: 1, a: [{ d: 2, c: 3 }] }))).toBe(hex(encodeCanonical({ a: [{ c: 3, d: 2 }], b: 1 })))
  })

  test('pinned bytes: shortest integers, bin for bytes, sorted keys, undefined omitted', () => {
    const value = { z: undefined, b: Uint8Array.of(1, 2), a: 200, c: -1, d: 'hi', e: 1.5, f: null, g: true }
    // 87 = map of 7; a: cc c8 (uint8 200); b: c4 02 0102 (bin8); c: ff; d: a2 6869; e: cb float64; f: c0; g: c3
    expect(hex(encodeCanonical(value))).toBe('87a161ccc8a162c4020102a163ffa164a26869a165cb3ff8000000000000a166c0a167c3')
  })

  test('round trips', () => {
    const value = { list: [1, 'two', Uint8Array.of(3), null, false, -70000, 2 ** 40], nested: { x: { y: [] } } }
    expect(decodeValue(encodeCanonical(value))).toEqual(value)
  })
})

describe('hostile msgpack', () => {
  const cases: Array<[string, string]> = [
    ['empty input', ''],
    ['truncated str', 'a5616263'],
    ['trailing bytes', 'c0c0'],
    ['never-used byte 0xc1', 'c1'],
    ['ext type', 'd40102'],
    ['timestamp ext', 'd6ff00000000'],
    ['non-string map key', '810102'],
    ['duplicate key', '82a16101a16102'],
    ['__proto__ key', '81a95f5f70726f746f5f5f80'],
    ['constructor key', '81ab636f6e7374727563746f7280'],
    ['array32 claiming 4 billion items', 'ddffffffff'],
    ['map32 claiming 4 billion entries', 'dfffffffff'],
    ['bin32 claiming 4 GiB', 'c6ffffffff00'],
    ['uint64 beyond 2^53', 'cfffffffffffffffff'],
    ['int64 beyond -2^53', 'd38000000000000000']
  ]
  test.each(cases)('%s is ERR_MALFORMED', (_name, input) => {
    expect(() => decodeValue(bytes(input))).toThrow(expect.objectContaining({ name: 'EgtpError', code: 'ERR_MALFORMED' }))
  })

  test('nesting beyond the depth limit is refused without recursion', () => {
    const deep = new Uint8Array(1_000_000).fill(0x91)
    expect(() => scanValue(deep)).toThrow(/nested deeper than the depth limit/)
    const ok = Uint8Array.of(...new Array(16).fill(0x91), 0xc0)
    expect(() => scanValue(ok)).not.toThrow()
    expect(() => scanValue(Uint8Array.of(...new Array(17).fill(0x91), 0xc0))).toThrow(/deeper/)
  })

  test('the item limit bounds total work', () => {
    const arr = pack(new Array(100).fill(0))
    expect(() => decodeValue(arr, { maxItems: 99 })).toThrow(/more than 99 items/)
    expect(decodeValue(arr, { maxItems: 100 })).toHaveLength(100)
  })

  test('decodes no prototype from the wire', () => {
    const evil = encodeValue({ a: { b: 1 } })
    const obj = decodeValue(evil) as Record<string, unknown>
    expect(Object.getPrototypeOf(obj)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).b).toBeUndefined()
  })

  test('a non-Uint8Array is a programmer error', () => {
    expect(() => decodeValue('x' as unknown as Uint8Array)).toThrow(TypeError)
  })
})
