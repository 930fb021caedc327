// The record writer gives exactly encodeCanonical's bytes for a contact record's signed fields, or declines.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { canonicalRecordFields, encodeCanonical } from '../src/index.ts'
import type { RecordSignedFields } from '../src/index.ts'

const HEAD = Uint8Array.of(1, 2, 3)
const hex = (b: Uint8Array | undefined): string | undefined => b === undefined ? undefined : Buffer.from(b).toString('hex')
const expected = (fields: unknown): string => '010203' + hex(encodeCanonical(fields))!

const ascii = (min: number, max: number): fc.Arbitrary<string> => fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map(c => String.fromCharCode(c)), minLength: min, maxLength: max })
// Integers around every msgpack size boundary (fixint, u8, u16, u32, float64 above 2^32) and any safe integer.
const uint = fc.oneof(
  fc.constantFrom(0, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x1_0000, 0xffff_ffff, 0x1_0000_0000, Number.MAX_SAFE_INTEGER, 1_799_999_999_999),
  fc.maxSafeNat())
const endpoint = fc.oneof(
  fc.record({ kind: fc.constant('tcp'), host: ascii(1, 253), port: fc.integer({ min: 0, max: 65_535 }) }),
  fc.record({ kind: fc.constant('relay'), relay: ascii(1, 64), host: ascii(1, 253), port: fc.integer({ min: 0, max: 65_535 }) }))
const fields: fc.Arbitrary<RecordSignedFields> = fc.record({
  id: fc.uint8Array({ minLength: 20, maxLength: 20 }),
  k: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  q: uint,
  x: uint,
  e: fc.array(endpoint, { maxLength: 15 }),
  s: fc.array(ascii(1, 32), { maxLength: 15 })
})

describe('canonical record fields', () => {
  it('writes encodeCanonical\'s bytes after the head, for any record of ASCII strings (seeded)', () => {
    fc.assert(fc.property(fields, f => {
      expect(hex(canonicalRecordFields(HEAD, f))).toBe(expected(f))
    }), { seed: 16, numRuns: 1000 })
  })

  it('writes the common records (no endpoints, a tcp endpoint) the same way', () => {
    const base = { id: new Uint8Array(20).fill(1), k: new Uint8Array(32).fill(2), q: 1, x: 1_799_999_999_999, e: [], s: [] }
    for (const f of [base, { ...base, e: [{ kind: 'tcp', host: '127.0.0.1', port: 4001 }] }, { ...base, s: ['echo', 'chat'] }]) {
      expect(hex(canonicalRecordFields(HEAD, f))).toBe(expected(f))
    }
  })

  it('declines what it does not expect (the caller then encodes generically)', () => {
    const base = { id: new Uint8Array(20), k: new Uint8Array(32), q: 1, x: 2, e: [], s: [] }
    const declined: unknown[] = [
      { ...base, s: ['café'] },
      { ...base, e: [{ kind: 'tcp', host: 'hôte', port: 1 }] },
      { ...base, e: [{ kind: 'udp', host: 'h', port: 1 }] },
      { ...base, e: [{ kind: 'tcp', host: 'h', port: 1, relay: 'r' }] },
      { ...base, q: 1.5 },
      { ...base, x: -1 },
      { ...base, extra: 1 },
      { ...base, s: Array.from({ length: 16 }, () => 'a') }
    ]
    for (const f of declined) expect(canonicalRecordFields(HEAD, f as RecordSignedFields)).toBeUndefined()
  })
})
