// Fuzzed bootpage documents: random text, mutated valid pages (bytes and JSON fields), and JSON values of any
// shape. Parsing and verifying either succeeds (only for the untouched page) or throws a coded EgtpError;
// never a TypeError, a hang, or a page accepted after a change to anything signed.
// EGTP_FUZZ_RUNS / EGTP_FUZZ_SEED as in the other fuzz suites.
import fc from 'fast-check'
import { isEgtpError } from '@egtp/interface'
import { describe, expect, test } from 'vitest'
import { verifyBootpage } from '../src/index.ts'
import { fixture } from './helpers.ts'

const SEED = Number(process.env.EGTP_FUZZ_SEED ?? 2004)
const RUNS = Number(process.env.EGTP_FUZZ_RUNS ?? 1000)

describe('fuzzed bootpages', () => {
  const { signer, page } = fixture()
  const key = signer.nodeId

  function verifyOrCoded (input: string | Uint8Array): boolean {
    try {
      verifyBootpage(input, { key })
      return true
    } catch (err) {
      expect(isEgtpError(err), `not coded: ${String(err)}`).toBe(true)
      return false
    }
  }

  test('the untouched page verifies', () => {
    expect(verifyOrCoded(page)).toBe(true)
  })

  test('random text and bytes: refused with codes', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 400 }), fc.uint8Array({ maxLength: 400 })), (input) => {
      expect(verifyOrCoded(input)).toBe(false)
    }), { seed: SEED, numRuns: RUNS })
  })

  test('byte edits of a valid page: refused with codes unless the JSON means the same', () => {
    const bytes = new TextEncoder().encode(page)
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
      const b = Uint8Array.from(bytes)
      for (const [i, v] of edits) b[i % b.length] = v
      const ok = verifyOrCoded(b)
      // Accepted only when the edit changed nothing that is read (whitespace, a byte set to its own value, the
      // case of a base32 node ID): the verified page is then the original's, node IDs in canonical form.
      if (ok) expect(verifyBootpage(b, { key })).toEqual(verifyBootpage(page, { key }))
    }), { seed: SEED, numRuns: RUNS })
  })

  test('any JSON value in any field: refused with codes', () => {
    const doc = JSON.parse(page) as Record<string, unknown>
    const fields = Object.keys(doc)
    fc.assert(fc.property(fc.constantFrom(...fields), fc.jsonValue({ maxDepth: 3 }), (field, value) => {
      const changed = { ...doc, [field]: value }
      const ok = verifyOrCoded(JSON.stringify(changed))
      if (ok) expect(value).toEqual(doc[field])
    }), { seed: SEED, numRuns: RUNS })
  })
})
