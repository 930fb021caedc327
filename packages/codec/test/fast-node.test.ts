import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { CodecError, createMessageCodec, encodeValue, nodeMessages } from '../src/index.ts'
import {
  BYTES_MESSAGE_ID_OFFSET, SPLICE_BYTES, decodeBatch, decodeContactInfo, encodeBatch, encodeBatchParts, encodeMessage, encodeOwnBytesMessage,
  encodePayloadMessage, peekContactInfo
} from '../src/node.ts'
import type { MessageBytes } from '../src/node.ts'

/** The node's threshold for referencing an own message's byte payload (its REFERENCED_PAYLOAD_BYTES). */
const REFERENCED_PAYLOAD_BYTES = 16 * 1024

/** A message ID: `epoch ‖ big-endian u64 counter` (as the node makes them). */
function makeMessageId (epoch: Uint8Array, counter: number): Uint8Array {
  const id = new Uint8Array(16)
  id.set(epoch, 0)
  const view = new DataView(id.buffer)
  view.setUint32(8, Math.floor(counter / 0x1_0000_0000))
  view.setUint32(12, counter >>> 0)
  return id
}

const joinMessage = (m: MessageBytes): Uint8Array => m instanceof Uint8Array ? m : new Uint8Array(Buffer.concat([m.head, m.payload, m.tail]))

// The node's own limits (nodeCodec): the reference decoder must refuse with the same errors.
const codec = createMessageCodec(nodeMessages, { maxItems: 1 << 24 })
const epoch = new Uint8Array(8).fill(7)

/** decodeBatch's result by the schema codec alone (contact info as it is handed over: undecoded). */
const reference = (plaintext: Uint8Array): unknown => {
  const b = codec.decode(plaintext)
  if (b.t !== 'b') throw new Error('not a batch')
  // As decodeBatch reports entries: a nested batch, or a non-codec error, is a CodecError of its own.
  return {
    floor: b.f,
    messages: b.x.map(x => {
      try {
        const m = codec.decode(x)
        if (m.t === 'b') throw new CodecError('ERR_FIELD', 'nested batch')
        if (m.t === 'ci') return { t: 'ci', bytes: x } // handed over undecoded
        return m
      } catch (err) {
        return err instanceof CodecError ? err : new CodecError('ERR_FIELD', 'invalid message', { cause: err })
      }
    })
  }
}

describe('batches', () => {
  const q = encodeMessage({ t: 'q', m: makeMessageId(epoch, 1), y: 'ping', p: { n: 1 }, d: 1000 })
  const k = encodeMessage({ t: 'k', m: [makeMessageId(epoch, 9)] })

  test('the spliced encoding equals the codec encoding of the same batch', () => {
    for (const parts of [[], [q], [q, k], new Array(20).fill(q)]) {
      for (const floor of [undefined, makeMessageId(epoch, 3)]) {
        const spliced = encodeBatch(floor, parts)
        const x = parts
        const viaCodec = codec.encode(floor === undefined ? { t: 'b', x } : { t: 'b', f: floor, x })
        expect(Buffer.from(spliced).toString('hex')).toBe(Buffer.from(viaCodec).toString('hex'))
      }
    }
  })

  test('the batch in pieces concatenates to the same bytes; large messages are referenced, not copied', () => {
    const big = encodeMessage({ t: 'o', m: makeMessageId(epoch, 2), y: 'bulk', p: new Uint8Array(SPLICE_BYTES).fill(3) })
    const huge = encodeMessage({ t: 'o', m: makeMessageId(epoch, 3), y: 'bulk', p: new Uint8Array(70_000).fill(4) })
    for (const parts of [[q], [big], [q, big, k], [big, huge], [huge, q, big], new Array(20).fill(q).concat([big])]) {
      for (const floor of [undefined, makeMessageId(epoch, 3)]) {
        const pieces = encodeBatchParts(floor, parts)
        expect(Buffer.concat(pieces).toString('hex')).toBe(Buffer.from(encodeBatch(floor, parts)).toString('hex'))
        for (const p of parts) if (p.byteLength >= SPLICE_BYTES) expect(pieces).toContain(p)
      }
    }
  })

  test('decodes to validated messages; one bad entry spoils only itself', () => {
    const bad = encodeValue({ t: 'q', v: 1, m: new Uint8Array(3), y: 'x', p: 1 })
    const nested = encodeBatch(undefined, [q])
    const batch = decodeBatch(encodeBatch(makeMessageId(epoch, 1), [q, bad, nested, k]))
    expect(batch.floor).toEqual(makeMessageId(epoch, 1))
    expect(batch.messages[0]).toMatchObject({ t: 'q', y: 'ping', p: { n: 1 } })
    expect(batch.messages[1]).toMatchObject({ code: 'ERR_FIELD' })
    expect(batch.messages[2]).toMatchObject({ code: 'ERR_FIELD' })
    expect(batch.messages[3]).toMatchObject({ t: 'k' })
  })

  test('plaintext that is not a batch is an EgtpError', () => {
    expect(() => decodeBatch(q)).toThrow(expect.objectContaining({ name: 'EgtpError' }))
    expect(() => decodeBatch(Uint8Array.of(0xc1))).toThrow(expect.objectContaining({ name: 'EgtpError' }))
  })

  test('a payload nested too deeply is refused when sending, not at the receiver', () => {
    let deep: unknown = 1
    for (let i = 0; i < 20; i++) deep = [deep]
    expect(() => encodePayloadMessage({ t: 'o', m: makeMessageId(epoch, 1), y: 'x', p: deep }, deep)).toThrow()
  })

  test('any payloads survive the batch round trip', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 40 }), fc.integer({ min: 1, max: 2 ** 40 }), (payloads, counter) => {
      const parts = payloads.map((p, i) => encodeMessage({ t: 'o', m: makeMessageId(epoch, counter + i), y: 't', p }))
      const out = decodeBatch(encodeBatch(makeMessageId(epoch, counter), parts))
      expect(out.messages.map(m => (m as { p: unknown }).p)).toEqual(payloads)
    }))
  })

  test('garbage never throws anything but an EgtpError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), bytes => {
      try {
        decodeBatch(bytes)
      } catch (err) {
        expect((err as Error).name).toBe('EgtpError')
      }
    }), { numRuns: 2000 })
  })
})

describe('fast paths (byte-identical to the schema codec)', () => {
  const ascii = fc.string({ minLength: 1, maxLength: 40 })
  const anyType = fc.oneof(ascii, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }))
  const bytes = fc.oneof({ arbitrary: fc.uint8Array({ maxLength: 300 }), weight: 8 }, { arbitrary: fc.constantFrom(255, 256, 65_535, 65_536, 70_000).map(n => new Uint8Array(n).fill(n & 0xff)), weight: 1 })
  const d = fc.option(fc.oneof(fc.integer({ min: 0, max: 2 ** 32 + 5 }), fc.constant(Number.MAX_SAFE_INTEGER)), { nil: undefined })
  test('a query or one-way message with a byte-string payload encodes as the codec encodes it', () => {
    fc.assert(fc.property(fc.constantFrom('o' as const, 'q' as const), fc.integer({ min: 1, max: 2 ** 40 }), anyType, bytes, d, (t, c, y, p, dd) => {
      const m = dd === undefined ? { t, m: makeMessageId(epoch, c), y, p } : { t, m: makeMessageId(epoch, c), y, p, d: dd }
      const fast = encodePayloadMessage(m, p)
      expect(Buffer.from(fast).equals(Buffer.from(codec.encode(m)))).toBe(true)
    }), { numRuns: 300 })
  })

  test('a query or one-way message with an array of byte strings encodes as the codec encodes it', () => {
    // Array lengths around the fixarray (16) and array16 (65 536) boundaries; mixed arrays go to the codec.
    const list = fc.oneof(
      fc.array(bytes, { maxLength: 20 }),
      fc.constantFrom(15, 16, 17, 65_535, 65_536).map(n => Array.from({ length: n }, (_, i) => new Uint8Array(i % 3))),
      fc.array(fc.oneof(bytes, fc.integer()), { maxLength: 5 })
    )
    fc.assert(fc.property(fc.constantFrom('o' as const, 'q' as const), fc.integer({ min: 1, max: 2 ** 40 }), anyType, list, d, (t, c, y, p, dd) => {
      const m = dd === undefined ? { t, m: makeMessageId(epoch, c), y, p } : { t, m: makeMessageId(epoch, c), y, p, d: dd }
      const fast = encodePayloadMessage(m, p)
      expect(Buffer.from(fast).equals(Buffer.from(codec.encode(m)))).toBe(true)
    }), { numRuns: 200 })
  })

  test('an own message is written from epoch and counter, its ID readable in place', () => {
    fc.assert(fc.property(fc.constantFrom('o' as const, 'q' as const), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.string({ minLength: 1, maxLength: 31, unit: fc.integer({ min: 0, max: 127 }).map(c => String.fromCharCode(c)) }), bytes, d, (t, c, y, p, dd) => {
      const m = makeMessageId(epoch, c)
      const own = encodeOwnBytesMessage(t, epoch, c, y, p, dd, REFERENCED_PAYLOAD_BYTES)!
      const viaCodec = codec.encode(dd === undefined ? { t, m, y, p } : { t, m, y, p, d: dd })
      expect(Buffer.from(joinMessage(own)).equals(Buffer.from(viaCodec))).toBe(true)
      const head = own instanceof Uint8Array ? own : own.head
      expect(head.subarray(BYTES_MESSAGE_ID_OFFSET, BYTES_MESSAGE_ID_OFFSET + 16)).toEqual(m)
    }), { numRuns: 200 })
  })

  test('a large byte payload is referenced, not copied, and batches as if it were copied', () => {
    const big = new Uint8Array(REFERENCED_PAYLOAD_BYTES + 5).map((_, i) => i * 13)
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 40 }), d, fc.array(bytes, { maxLength: 3 }), (c, dd, small) => {
      const own = encodeOwnBytesMessage('o', epoch, c, 'big', big, dd, REFERENCED_PAYLOAD_BYTES)!
      expect(own instanceof Uint8Array).toBe(false)
      if (own instanceof Uint8Array) return
      expect(own.payload).toBe(big)
      const m = makeMessageId(epoch, c)
      const viaCodec = codec.encode(dd === undefined ? { t: 'o', m, y: 'big', p: big } : { t: 'o', m, y: 'big', p: big, d: dd })
      expect(Buffer.from(joinMessage(own)).equals(Buffer.from(viaCodec))).toBe(true)
      const messages = [...small, own, ...small]
      const batch = Buffer.concat(encodeBatchParts(m, messages))
      expect(batch.equals(Buffer.from(encodeBatch(m, messages.map(joinMessage))))).toBe(true)
    }), { numRuns: 50 })
  })

  test('batches decode as the codec decodes them, whatever the payloads', () => {
    const payload = fc.oneof(bytes, fc.integer({ min: 0, max: 200 }), fc.constant(null), fc.string({ maxLength: 10 }), fc.array(fc.integer(), { maxLength: 3 }), fc.double())
    const message = fc.record({ t: fc.constantFrom('o' as const, 'q' as const), c: fc.integer({ min: 1, max: 2 ** 40 }), y: anyType, p: payload, d })
    fc.assert(fc.property(fc.array(message, { maxLength: 12 }), fc.option(fc.integer({ min: 1, max: 2 ** 40 }), { nil: undefined }), (ms, floor) => {
      const parts = ms.map(({ t, c, y, p, d: dd }) => {
        const m = dd === undefined ? { t, m: makeMessageId(epoch, c), y, p } : { t, m: makeMessageId(epoch, c), y, p, d: dd }
        return encodePayloadMessage(m, p)
      })
      parts.push(encodeMessage({ t: 'k', e: epoch, c: [1, 2, 3] }))
      const plaintext = encodeBatch(floor === undefined ? undefined : makeMessageId(epoch, floor), parts)
      expect(decodeBatch(plaintext)).toEqual(reference(plaintext))
      expect(decodeBatch(Buffer.from(plaintext))).toEqual(reference(plaintext))
    }), { numRuns: 100 })
  })

  test('acknowledgements decode as the codec decodes them', () => {
    const counter = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }))
    const ack = fc.oneof(
      fc.array(counter, { minLength: 1, maxLength: 40 }).map(c => encodeMessage({ t: 'k', e: epoch, c })),
      fc.constantFrom(1, 15, 16, 8192).map(n => encodeMessage({ t: 'k', e: epoch, c: Array.from({ length: n }, (_, i) => i * 1000) })),
      fc.array(counter, { minLength: 1, maxLength: 5 }).map(c => encodeMessage({ t: 'k', m: [makeMessageId(epoch, 3)], e: epoch, c })),
      fc.constant(encodeValue({ t: 'k', v: 1, e: epoch, c: new Array(8193).fill(1) })),
      fc.constant(encodeValue({ t: 'k', v: 1, e: epoch, c: [] })),
      fc.constant(encodeValue({ t: 'k', v: 1, e: epoch, c: [-1] }))
    )
    fc.assert(fc.property(fc.array(ack, { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 255 }), (parts, at, value) => {
      const plaintext = encodeBatch(undefined, parts)
      expect(decodeBatch(plaintext)).toEqual(reference(plaintext))
      const damaged = parts.map(p => p.slice())
      const first = damaged[0]!
      if (at < first.byteLength) first[at] = value
      const bad = encodeBatch(undefined, damaged)
      expect(decodeBatch(bad)).toEqual(reference(bad))
    }), { numRuns: 300 })
  })

  test('a reply with a byte-string payload and an acknowledgement by IDs encode as the codec encodes them', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 40 }), bytes, fc.integer({ min: 1, max: 600 }), (c, p, n) => {
      const reply = { t: 'a' as const, m: makeMessageId(epoch, c), p }
      expect(Buffer.from(encodePayloadMessage(reply, p)).equals(Buffer.from(codec.encode(reply)))).toBe(true)
      const ids = Array.from({ length: n }, (_, i) => makeMessageId(epoch, c + i))
      expect(Buffer.from(encodeMessage({ t: 'k', m: ids })).equals(Buffer.from(codec.encode({ t: 'k', m: ids })))).toBe(true)
    }), { numRuns: 200 })
  })

  test('replies and acknowledgements by IDs decode as the codec decodes them, damaged or not', () => {
    const reply = fc.tuple(fc.integer({ min: 1, max: 2 ** 40 }), bytes).map(([c, p]) => encodePayloadMessage({ t: 'a', m: makeMessageId(epoch, c), p }, p))
    const other = fc.constantFrom(
      encodeMessage({ t: 'a', m: makeMessageId(epoch, 4), e: { c: 'ERR_X', s: 'no' } }),
      encodeMessage({ t: 'a', m: makeMessageId(epoch, 4), p: { n: 1 } }),
      encodeMessage({ t: 'a', m: makeMessageId(epoch, 4) }),
      encodeValue({ t: 'k', v: 1, m: [] }),
      encodeValue({ t: 'k', v: 1, m: [new Uint8Array(15)] }),
      encodeValue({ t: 'k', v: 1, m: new Array(513).fill(new Uint8Array(16)) })
    )
    const idAck = fc.array(fc.integer({ min: 1, max: 2 ** 40 }), { minLength: 1, maxLength: 20 }).map(cs => encodeMessage({ t: 'k', m: cs.map(c => makeMessageId(epoch, c)) }))
    fc.assert(fc.property(fc.array(fc.oneof(reply, idAck, other), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 255 }), fc.nat(), (parts, at, value, cut) => {
      const plaintext = encodeBatch(undefined, parts)
      expect(decodeBatch(plaintext)).toEqual(reference(plaintext))
      const damaged = parts.map(p => p.slice())
      const first = damaged[0]!
      if (at < first.byteLength) first[at] = value
      damaged[0] = first.subarray(0, Math.max(1, first.byteLength - (cut % 3)))
      const bad = encodeBatch(undefined, damaged)
      expect(decodeBatch(bad)).toEqual(reference(bad))
    }), { numRuns: 400 })
  })

  test('damaged canonical messages are refused exactly as the codec refuses them', () => {
    const m = { t: 'o' as const, m: makeMessageId(epoch, 5), y: 'type', p: new Uint8Array(20).fill(1), d: 1000 }
    const good = encodePayloadMessage(m, m.p)
    fc.assert(fc.property(fc.integer({ min: 0, max: good.byteLength - 1 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: good.byteLength }), (at, value, cut) => {
      const bad = good.slice(0, Math.max(1, cut === good.byteLength ? good.byteLength : cut + 1))
      if (at < bad.byteLength) bad[at] = value
      const plaintext = encodeBatch(undefined, [bad, good])
      expect(decodeBatch(plaintext)).toEqual(reference(plaintext))
    }), { numRuns: 500 })
  })
})

describe('contact info in a batch', () => {
  const wire = (q: number, e: unknown[] = []): Record<string, unknown> => ({
    id: new Uint8Array(20).map((_, i) => i + 1), k: new Uint8Array(32).fill(9), q, x: 1_800_000_000_000, e, s: [], g: new Uint8Array(64).fill(5)
  })
  const seqs = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2 ** 32 + 5 }), fc.constant(Number.MAX_SAFE_INTEGER))

  test('is handed over undecoded; its first bytes tell whose record it is and its seq; it decodes as the codec decodes it', () => {
    fc.assert(fc.property(seqs, fc.boolean(), (q, withEndpoint) => {
      const r = wire(q, withEndpoint ? [{ kind: 'tcp', host: '127.0.0.1', port: 4000 }] : [])
      const ci = encodeMessage({ t: 'ci', r } as never)
      const batch = decodeBatch(encodeBatch(undefined, [k(), ci]))
      const entry = batch.messages[1]!
      if (entry instanceof Error || entry.t !== 'ci') throw new Error('not a ci entry')
      expect(Buffer.from(entry.bytes).equals(Buffer.from(ci))).toBe(true)
      expect(peekContactInfo(entry)).toEqual({ id: r.id, seq: q })
      expect(decodeContactInfo(entry)).toEqual((codec.decode(ci) as { r: unknown }).r)
    }), { numRuns: 100 })
  })

  test('one the schema refuses (fields out of order) is refused as the schema refuses it, not handed over', () => {
    const r = wire(7)
    const reordered = encodeValue({ v: 1, t: 'ci', r: { k: r.k, id: r.id, q: r.q, x: r.x, e: r.e, s: r.s, g: r.g } })
    const plaintext = encodeBatch(undefined, [reordered])
    expect(decodeBatch(plaintext).messages[0]).toBeInstanceOf(CodecError)
    expect(decodeBatch(plaintext)).toEqual(reference(plaintext))
  })

  test('damage after the first bytes shows when it is decoded, as a coded error; another message is refused', () => {
    const ci = encodeMessage({ t: 'ci', r: wire(7) } as never)
    const damaged = ci.slice()
    damaged[damaged.byteLength - 70] = 0xc1 // inside the record, past q: the fast reader does not look there
    const entry = decodeBatch(encodeBatch(undefined, [damaged])).messages[0]!
    if (entry instanceof Error || entry.t !== 'ci') throw new Error('not a ci entry')
    expect(peekContactInfo(entry)).toEqual({ id: wire(7).id, seq: 7 })
    expect(() => decodeContactInfo(entry)).toThrow(CodecError)
    expect(() => decodeContactInfo({ t: 'ci', bytes: k() })).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_TYPE' }))
  })

  test('a record without endpoints or services (read without the schema decoder) decodes as the codec decodes it, damaged or not', () => {
    const ci = encodeMessage({ t: 'ci', r: wire(300) } as never)
    const schema = (bytes: Uint8Array): unknown => {
      try {
        return (codec.decode(bytes) as { r: unknown }).r
      } catch (err) {
        return err instanceof CodecError ? 'refused' : err
      }
    }
    const fast = (bytes: Uint8Array): unknown => {
      try {
        return decodeContactInfo({ t: 'ci', bytes })
      } catch (err) {
        return err instanceof CodecError ? 'refused' : err
      }
    }
    expect(fast(ci)).toEqual(schema(ci))
    for (let len = 0; len < ci.byteLength; len++) expect(fast(ci.subarray(0, len))).toEqual(schema(ci.subarray(0, len)))
    expect(fast(Uint8Array.of(...ci, 0))).toEqual(schema(Uint8Array.of(...ci, 0)))
    for (let bit = 0; bit < ci.byteLength * 8; bit++) {
      const bad = ci.slice()
      bad[bit >> 3]! ^= 1 << (bit & 7)
      expect(fast(bad), `bit ${bit}`).toEqual(schema(bad))
    }
  })

  const k = (): Uint8Array => encodeMessage({ t: 'k', m: [makeMessageId(epoch, 9)] })
})
