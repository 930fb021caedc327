import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { decodeRelay, deliverInPlace, encodeDeliver, encodeDeliverOne, encodeSend, encodeSendOne, relayCodec } from '../src/relay.ts'
import type { RelayMessage } from '../src/relay.ts'

const id = fc.uint8Array({ minLength: 20, maxLength: 20 })
const payload = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 300 }),
  fc.integer({ min: 1, max: 70_000 }).map(n => new Uint8Array(n).fill(n & 0xff))
)
const num = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2 ** 32 + 5 }), fc.constant(Number.MAX_SAFE_INTEGER))
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_, x: unknown) => x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x))
/** Byte equality (vitest's deep equality is slow on large arrays). */
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)
const small = fc.uint8Array({ minLength: 1, maxLength: 300 })

describe('fast rs/rd wire paths', () => {
  test('encodeSend and encodeDeliver write the schema codec\'s bytes', () => {
    fc.assert(fc.property(fc.array(fc.record({ m: num, to: id, p: payload }), { minLength: 1, maxLength: 12 }), (entries) => {
      expect(same(encodeSend(entries.map(e => ({ m: e.m, to: e.to, payload: e.p }))), relayCodec.encode({ t: 'rs', e: entries }))).toBe(true)
      const items = entries.map(e => ({ id: e.m, from: e.to, payload: e.p }))
      expect(same(encodeDeliver(items), relayCodec.encode({ t: 'rd', e: entries.map(e => ({ i: e.m, f: e.to, p: e.p })) }))).toBe(true)
      if (items.length >= 2) expect(same(encodeDeliver(items, 1, items.length), encodeDeliver(items.slice(1)))).toBe(true)
    }), { numRuns: 100 })
  })

  test('a full batch of 1 024 entries uses the 16-bit array header', () => {
    const entries = Array.from({ length: 1024 }, (_, m) => ({ m, to: new Uint8Array(20).fill(1), p: Uint8Array.of(m & 0xff) }))
    expect(same(encodeSend(entries.map(e => ({ m: e.m, to: e.to, payload: e.p }))), relayCodec.encode({ t: 'rs', e: entries }))).toBe(true)
    expect(plain(decodeRelay(encodeSend(entries.map(e => ({ m: e.m, to: e.to, payload: e.p })))))).toEqual(plain({ t: 'rs', e: entries }))
    expect(() => encodeSend([])).toThrow(RangeError)
  })

  test('decodeRelay reads what the schema codec reads, and refuses what it refuses', () => {
    fc.assert(fc.property(fc.array(fc.record({ m: num, to: id, p: small }), { minLength: 1, maxLength: 20 }), (entries) => {
      const rs = relayCodec.encode({ t: 'rs', e: entries })
      expect(plain(decodeRelay(rs))).toEqual(plain(relayCodec.decode(rs)))
      const rd = relayCodec.encode({ t: 'rd', e: entries.map(e => ({ i: e.m, f: e.to, p: e.p })) })
      expect(plain(decodeRelay(rd))).toEqual(plain(relayCodec.decode(rd)))
      // Any corruption: both agree (same message, or both throw).
      const bad = rd.slice()
      const at = entries.length % bad.byteLength
      bad[at] = bad[at]! ^ 0x55
      let expected: unknown
      try { expected = plain(relayCodec.decode(bad)) } catch { expected = 'throws' }
      let got: unknown
      try { got = plain(decodeRelay(bad)) } catch { got = 'throws' }
      expect(got).toEqual(expected)
    }), { numRuns: 100 })
  })

  test('truncated, oversized and empty batches go to the schema decoder, which refuses them', () => {
    const rd = encodeDeliver([{ id: 1, from: new Uint8Array(20), payload: Uint8Array.of(1, 2, 3) }])
    for (let n = 0; n < rd.byteLength; n++) expect(() => decodeRelay(rd.subarray(0, n))).toThrow()
    expect(() => decodeRelay(Uint8Array.of(...rd, 0))).toThrow()
    const empty = Uint8Array.of(0x83, 0xa1, 0x74, 0xa2, 0x72, 0x73, 0xa1, 0x76, 0x01, 0xa1, 0x65, 0x90)
    expect(() => decodeRelay(empty)).toThrow()
    const tooMany = Array.from({ length: 1025 }, (_, m) => ({ m, to: new Uint8Array(20), payload: Uint8Array.of(1) }))
    expect(() => encodeSend(tooMany)).toThrow(RangeError)
  })

  test('rv notices: the fast path reads what the schema codec reads', () => {
    fc.assert(fc.property(fc.array(num, { minLength: 1, maxLength: 1024 }), (m) => {
      const rv = relayCodec.encode({ t: 'rv', m })
      expect(decodeRelay(rv)).toEqual(relayCodec.decode(rv))
      for (let n = 0; n < rv.byteLength; n += 7) expect(() => decodeRelay(rv.subarray(0, n))).toThrow()
    }), { numRuns: 50 })
    expect(() => decodeRelay(Uint8Array.of(0x83, 0xa1, 0x74, 0xa2, 0x72, 0x76, 0xa1, 0x76, 0x01, 0xa1, 0x6d, 0x90))).toThrow()
  })

  test('other messages decode as before', () => {
    const messages: RelayMessage[] = [{ t: 'ra', i: 5 }, { t: 'ry', m: 3 }, { t: 'rv', m: [1, 2] }, { t: 'ri', n: 1, r: false }]
    for (const m of messages) {
      expect(decodeRelay(relayCodec.encode(m))).toEqual(m)
    }
  })
})

describe('own delivery frames', () => {
  test('encodeDeliverOne is a one-entry rd frame whose payload view is its tail', () => {
    const from = new Uint8Array(20).fill(9)
    const p = new Uint8Array(70_000).fill(3)
    const { frame, payload } = encodeDeliverOne(77_777, from, p)
    expect(same(frame, relayCodec.encode({ t: 'rd', e: [{ i: 77_777, f: from, p }] }))).toBe(true)
    expect(payload.buffer).toBe(frame.buffer)
    expect(same(payload, p)).toBe(true)
  })
})

describe('large sends in pieces', () => {
  test('encodeSendOne is the one-entry rs frame, its payload (or the payload\'s pieces) not copied', () => {
    const to = new Uint8Array(20).fill(8)
    const p = new Uint8Array(70_000).map((_, i) => i)
    for (const m of [0, 127, 300, 70_000, 2 ** 31]) {
      const whole = encodeSend([{ m, to, payload: p }])
      const one = encodeSendOne(m, to, p, p.byteLength)
      expect(one[1]).toBe(p)
      expect(same(new Uint8Array(Buffer.concat(one)), whole)).toBe(true)
      const pieces = [p.subarray(0, 10), p.subarray(10, 50_000), p.subarray(50_000)]
      const split = encodeSendOne(m, to, pieces, p.byteLength)
      expect(split.slice(1)).toEqual(pieces)
      expect(same(new Uint8Array(Buffer.concat(split)), whole)).toBe(true)
    }
  })
})

describe('delivering a received frame in place', () => {
  const from = new Uint8Array(20).fill(4)
  const to = new Uint8Array(20).fill(5)
  const p = new Uint8Array(20_000).fill(6)

  test('the rd head replaces the rs head before the payload, which is not copied', () => {
    for (const [m, id] of [[0, 0], [0, 127], [5, 200], [300, 60_000], [0x10000, 2 ** 32 - 1], [2 ** 32, 2 ** 32 + 1], [70_000, 2 ** 31]]) {
      const rs = encodeSend([{ m: m!, to, payload: p }]).slice() // as received: its own buffer
      const view = (decodeRelay(rs) as Extract<RelayMessage, { t: 'rs' }>).e[0]!.p
      const rd = deliverInPlace(rs, view, id!, from)
      expect(rd, `m ${m} id ${id}`).toBeDefined()
      expect(rd!.buffer).toBe(rs.buffer)
      expect(same(rd!, encodeDeliverOne(id!, from, p).frame)).toBe(true)
    }
  })

  test('refused when the rd head would not fit, or the payload is a small part of the memory it keeps', () => {
    const rs = encodeSend([{ m: 1, to, payload: p }]).slice()
    expect(deliverInPlace(rs, (decodeRelay(rs) as Extract<RelayMessage, { t: 'rs' }>).e[0]!.p, 2 ** 20, from)).toBeUndefined()
    const big = new Uint8Array(200_000)
    const inside = encodeSend([{ m: 1, to, payload: p }])
    big.set(inside, 1000)
    const shared = big.subarray(1000, 1000 + inside.byteLength)
    expect(deliverInPlace(shared, (decodeRelay(shared) as Extract<RelayMessage, { t: 'rs' }>).e[0]!.p, 1, from)).toBeUndefined()
    const two = encodeSend([{ m: 1, to, payload: p }, { m: 2, to, payload: p }]).slice()
    expect(deliverInPlace(two, (decodeRelay(two) as Extract<RelayMessage, { t: 'rs' }>).e[0]!.p, 1, from)).toBeUndefined()
  })
})
