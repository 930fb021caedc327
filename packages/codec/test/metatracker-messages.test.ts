import { describe, expect, test } from 'vitest'
import {
  createMessageCodec, trackerAnswerMessages, trackerRequestMessages, MAX_DISCOVER_RECORDS, MAX_LOOKUP_IDS,
  MAX_TRACKER_RECORD_BYTES
} from '../src/index.ts'

const requests = createMessageCodec(trackerRequestMessages)
const answers = createMessageCodec(trackerAnswerMessages)
const id = new Uint8Array(20).fill(7)

describe('metatracker messages', () => {
  test.each([
    { t: 'mp', r: Uint8Array.of(1, 2, 3) },
    { t: 'ml', ids: [id, id] },
    { t: 'md', s: 'relay', n: 400 },
    { t: 'mg', id, k: new Uint8Array(32), q: 9, g: new Uint8Array(64) }
  ] as const)('request $t round-trips canonically', (m) => {
    const bytes = requests.encode(m as never)
    expect(requests.decode(bytes)).toEqual(m)
    expect(requests.encode(requests.decode(bytes))).toEqual(bytes)
  })

  test.each([
    { t: 'mpa', h: 1_800_000 },
    { t: 'mpa', c: 'ERR_SIGNATURE' },
    { t: 'mla', r: [Uint8Array.of(1)] },
    { t: 'mda', c: 'ERR_RATE_LIMITED', r: [] },
    { t: 'mga', d: true }
  ] as const)('answer $t round-trips canonically', (m) => {
    expect(answers.decode(answers.encode(m as never))).toEqual(m)
  })

  test('bounds are enforced when decoding', () => {
    const tooMany = { t: 'ml', v: 1, ids: Array.from({ length: MAX_LOOKUP_IDS + 1 }, () => id) }
    expect(() => requests.validate(tooMany)).toThrow(/^ERR_FIELD/)
    expect(() => requests.validate({ t: 'md', v: 1, s: 'relay', n: MAX_DISCOVER_RECORDS + 1 })).toThrow(/^ERR_FIELD/)
    expect(() => requests.validate({ t: 'mp', v: 1, r: new Uint8Array(MAX_TRACKER_RECORD_BYTES + 1) })).toThrow(/^ERR_FIELD/)
    expect(() => requests.validate({ t: 'mg', v: 1, id: new Uint8Array(19), k: new Uint8Array(32), q: 1, g: new Uint8Array(64) })).toThrow(/^ERR_FIELD/)
    expect(() => requests.decode(Uint8Array.of(0x81, 0xa1, 0x74, 0xa2, 0x6d, 0x78))).toThrow(/^ERR_/)
  })
})
