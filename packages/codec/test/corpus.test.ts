import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { decodeBatch, decodeContactInfo, encodeBatch, encodeBatchParts, encodeBytesMessage, encodeOwnBytesMessage } from '../src/node.ts'
import type { MessageBytes } from '../src/node.ts'
import { decodeRelay, encodeDeliver, encodeSend } from '../src/relay.ts'
import { dataFrame, dataFrameHead, readDataFrame } from '../src/session.ts'
import { corpusCodecs } from './corpus/codecs.ts'
import type { CorpusCodec } from './corpus/frames.ts'
import { hex, loadBytes, toJsonSafe } from './corpus/json.ts'

// The wire corpus recorded at beae43d (test/corpus/record.ts): every frame must decode to the recorded value and
// re-encode to the recorded bytes, whatever the code below the decoders has become; and the fast paths of the node,
// relay and session wire write and read those frames exactly as the schema codec does.
interface Entry { name: string, codec: CorpusCodec, hex?: string, gzip?: string, value: unknown }
const corpus = JSON.parse(readFileSync(new URL('./corpus/wire-corpus.json', import.meta.url), 'utf8')) as { frames: Entry[] }

describe('wire corpus', () => {
  test('covers every message type of every codec', () => {
    const types = new Set(corpus.frames.map(e => `${e.codec}:${(e.value as { t?: string }).t ?? ''}`))
    for (const t of ['q', 'a', 'o', 'k', 'u', 'ci', 'b']) expect(types).toContain(`node:${t}`)
    for (const t of ['hi', 'hr', 'hd', 'hu', 'hc']) expect(types).toContain(`session:${t}`)
    for (const t of ['rc', 'rh', 'rw', 'rr', 'rs', 'ry', 'rx', 'rl', 'rv', 'rd', 'ra', 'rp', 'rq', 'ri']) expect(types).toContain(`relay:${t}`)
    for (const t of ['mp', 'ml', 'md', 'mg']) expect(types).toContain(`trackerRequest:${t}`)
    for (const t of ['mpa', 'mla', 'mda', 'mga']) expect(types).toContain(`trackerAnswer:${t}`)
    expect(types).toContain('record:cr')
    expect(types).toContain('bootpage:')
  })

  describe.each(corpus.frames.map(e => [e.name, e] as const))('%s', (_name, entry) => {
    const bytes = loadBytes(entry)
    const codec = corpusCodecs[entry.codec]

    test('the schema codec decodes it to the recorded value and re-encodes the same bytes', () => {
      const decoded = codec.decode(bytes)
      expect(toJsonSafe(decoded)).toEqual(entry.value)
      expect(hex(codec.encode(decoded as Record<string, unknown>))).toBe(hex(bytes))
    })

    const value = codec.decode(bytes) as Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any -- any frame
    if (entry.codec === 'node' && (value.t === 'q' || value.t === 'o') && value.p instanceof Uint8Array && fastNodeType(value.y)) {
      test('the node\'s fast encoders write the recorded bytes', () => {
        expect(hex(encodeBytesMessage(value.t, value.m, value.y, value.p, value.d)!)).toBe(hex(bytes))
        const counter = Number(new DataView(value.m.buffer, value.m.byteOffset + 8, 8).getBigUint64(0))
        for (const referenceFrom of [Infinity, 1]) {
          const own = encodeOwnBytesMessage(value.t, value.m.subarray(0, 8), counter, value.y, value.p, value.d, referenceFrom)!
          expect(hex(joined(own))).toBe(hex(bytes))
        }
      })
    }
    if (entry.codec === 'node' && value.t === 'b') {
      test('the node\'s batch encoders write the recorded bytes, its batch reader reads the recorded entries', () => {
        expect(hex(encodeBatch(value.f, value.x))).toBe(hex(bytes))
        expect(hex(Buffer.concat(encodeBatchParts(value.f, value.x)))).toBe(hex(bytes))
        const batch = decodeBatch(bytes)
        expect(toJsonSafe(batch.floor)).toEqual(toJsonSafe(value.f))
        // Contact info is handed over undecoded (its bytes); it decodes to the recorded record.
        expect(toJsonSafe(batch.messages)).toEqual(toJsonSafe(value.x.map((x: Uint8Array) => {
          const m = codec.decode(x) as { t: string, r?: unknown }
          return m.t === 'ci' ? { t: 'ci', bytes: x } : m
        })))
        for (const m of batch.messages) {
          if (!(m instanceof Error) && m.t === 'ci') expect(toJsonSafe(decodeContactInfo(m))).toEqual(toJsonSafe((codec.decode(m.bytes) as { r: unknown }).r))
        }
      })
    }
    if (entry.codec === 'relay') {
      test('the relay\'s fast reader reads the recorded value', () => {
        expect(toJsonSafe(decodeRelay(bytes))).toEqual(entry.value)
      })
    }
    if (entry.codec === 'relay' && (value.t === 'rs' || value.t === 'rd')) {
      test('the relay\'s fast encoders write the recorded bytes', () => {
        const out = value.t === 'rs'
          ? encodeSend(value.e.map((e: { m: number, to: Uint8Array, p: Uint8Array }) => ({ m: e.m, to: e.to, payload: e.p })))
          : encodeDeliver(value.e.map((e: { i: number, f: Uint8Array, p: Uint8Array }) => ({ id: e.i, from: e.f, payload: e.p })))
        expect(hex(out)).toBe(hex(bytes))
      })
    }
    if (entry.codec === 'session' && value.t === 'hd') {
      test('the session\'s transport-frame writer and reader agree with the recording', () => {
        const { frame, cOffset } = dataFrame(value.r, value.n, value.c.byteLength)
        frame.set(value.c, cOffset)
        expect(hex(frame)).toBe(hex(bytes))
        expect(hex(Buffer.concat([dataFrameHead(value.r, value.n, value.c.byteLength), value.c]))).toBe(hex(bytes))
        expect(toJsonSafe(readDataFrame(bytes))).toEqual(entry.value)
      })
    }
  })
})

/** Types the node's fast encoder covers: 1..31 ASCII characters (others are left to the schema codec). */
function fastNodeType (y: string): boolean {
  return y.length >= 1 && y.length <= 31 && [...y].every(c => c.charCodeAt(0) < 0x80)
}

function joined (m: MessageBytes): Uint8Array {
  return m instanceof Uint8Array ? m : new Uint8Array(Buffer.concat([m.head, m.payload, m.tail]))
}
