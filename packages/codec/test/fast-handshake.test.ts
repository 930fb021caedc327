// The handshake-frame fast path (hi, hr) writes exactly the codec's canonical bytes, reads exactly what the codec
// reads, and declines everything else, which the codec then reads or refuses with its own coded error.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { CodecError } from '../src/index.ts'
import { initiationFrame, readHandshakeFrame, responseFrame, sessionCodec } from '../src/session.ts'
import type { SessionFrame } from '../src/session.ts'

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
/** A value with every byte array as hex (so views and copies compare by their bytes). */
const plain = (v: object): Record<string, unknown> =>
  Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x instanceof Uint8Array ? `${x.constructor.name}:${hex(x)}` : x]))

/** What the codec does with `bytes`: the value, or the error's class and code. */
function codecVerdict (bytes: Uint8Array): unknown {
  try {
    return { value: plain(sessionCodec.decode(bytes)) }
  } catch (err) {
    return { error: err instanceof CodecError ? err.code : String(err) }
  }
}

/** The fast reader either declines or reads what the codec reads, key order included. */
function agreeOrDecline (bytes: Uint8Array): boolean {
  const fast = readHandshakeFrame(bytes)
  if (fast === undefined) return false
  const slow = sessionCodec.decode(bytes)
  expect(Object.keys(fast)).toEqual(Object.keys(slow))
  expect(plain(fast)).toEqual(plain(slow))
  return true
}

const uintEdges = fc.constantFrom(0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x1_0000, 0xffff_ffff, 0x1_0000_0000, Number.MAX_SAFE_INTEGER)
const counter = fc.oneof(uintEdges, fc.maxSafeNat())
const index = fc.oneof(fc.constantFrom(0, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x1_0000, 0xffff_ffff), fc.integer({ min: 0, max: 0xffff_ffff }))
const bytes = (min: number, max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: min, maxLength: max })
// Sizes across the bin8 / bin16 boundary (and bin32 for c, past 64 KiB).
const hiH = fc.oneof(bytes(96, 300), fc.integer({ min: 250, max: 4096 }).map(n => new Uint8Array(n).fill(n & 0xff)))
const hrH = fc.oneof(bytes(48, 300), fc.integer({ min: 250, max: 4096 }).map(n => new Uint8Array(n).fill(n & 0xff)))
const data = fc.option(fc.record({ n: counter, c: fc.oneof(bytes(16, 300), fc.constantFrom(255, 256, 65_535, 65_536, 70_000).map(n => new Uint8Array(n).fill(9))) }), { nil: undefined })

const initiation = fc.record({ h: hiH, data, m: fc.option(bytes(16, 16), { nil: undefined }) }).map(({ h, data, m }) => {
  const msg: SessionFrame = data === undefined ? { t: 'hi', h } : { t: 'hi', h, n: data.n, c: data.c }
  if (m !== undefined) msg.m = m
  return { msg, fast: initiationFrame(h, data?.n, data?.c, m) }
})
const response = fc.record({ r: index, h: hrH, data }).map(({ r, h, data }) => ({
  msg: (data === undefined ? { t: 'hr', r, h } : { t: 'hr', r, h, n: data.n, c: data.c }) as SessionFrame,
  fast: responseFrame(r, h, data?.n, data?.c)
}))

describe('hi / hr fast path', () => {
  it('writes the codec\'s bytes and reads back what the codec reads, on every valid frame (seeded)', () => {
    fc.assert(fc.property(fc.oneof(initiation, response), ({ msg, fast }) => {
      const canonical = sessionCodec.encode(msg)
      expect(hex(fast)).toBe(hex(canonical))
      expect(agreeOrDecline(canonical)).toBe(true)
      // From a Buffer too (a transport's read): plain Uint8Array views, as the codec gives.
      expect(agreeOrDecline(Buffer.from(canonical))).toBe(true)
    }), { seed: 16, numRuns: 600 })
  })

  it('reads the smallest and largest frames of each field, and frames at an offset in a larger buffer', () => {
    const frames = [
      sessionCodec.encode({ t: 'hi', h: new Uint8Array(96) }),
      sessionCodec.encode({ t: 'hi', h: new Uint8Array(4096), n: Number.MAX_SAFE_INTEGER, c: new Uint8Array(16), m: new Uint8Array(16) }),
      sessionCodec.encode({ t: 'hr', r: 0, h: new Uint8Array(48) }),
      sessionCodec.encode({ t: 'hr', r: 0xffff_ffff, h: new Uint8Array(4096), n: 0, c: new Uint8Array(70_000) })
    ]
    for (const f of frames) {
      expect(agreeOrDecline(f)).toBe(true)
      const big = new Uint8Array(f.byteLength + 7)
      big.set(f, 3)
      expect(agreeOrDecline(big.subarray(3, 3 + f.byteLength))).toBe(true)
    }
  })

  it('declines any other frame, and every mutation it reads is read the same way by the codec (seeded)', () => {
    expect(readHandshakeFrame(sessionCodec.encode({ t: 'hd', r: 1, n: 2, c: new Uint8Array(16) }))).toBeUndefined()
    const k = new Uint8Array(32)
    const g = new Uint8Array(64)
    expect(readHandshakeFrame(sessionCodec.encode({ t: 'hu', r: 1, k, g }))).toBeUndefined()
    expect(readHandshakeFrame(sessionCodec.encode({ t: 'hk', k, x: new Uint8Array(24), c: k }))).toBeUndefined()
    fc.assert(fc.property(fc.oneof(initiation, response), fc.nat(), fc.integer({ min: 0, max: 7 }), fc.nat(), ({ fast }, at, bit, cut) => {
      const good = fast.slice()
      // Truncated or extended: declined (the codec then refuses it).
      const short = good.subarray(0, cut % good.byteLength)
      expect(readHandshakeFrame(short)).toBeUndefined()
      expect(codecVerdict(short)).toHaveProperty('error')
      expect(readHandshakeFrame(Uint8Array.of(...good, 0))).toBeUndefined()
      // One bit flipped in the structure (the first 40 bytes: header, keys, lengths, integers) or anywhere.
      const mutated = good.slice()
      const i = (at % 2 === 0 ? at % Math.min(40, good.byteLength) : at % good.byteLength)
      mutated[i]! ^= 1 << bit
      agreeOrDecline(mutated)
    }), { seed: 17, numRuns: 1500 })
  })

  it('leaves non-canonical and invalid encodings to the codec: the same value or the same coded error', () => {
    const h = new Uint8Array(96).fill(3)
    const good = sessionCodec.encode({ t: 'hi', h, n: 9, c: new Uint8Array(16) })
    const nAt = good.indexOf(0x6e) + 1
    // n = 9 written as 0xcc 0x09 (not shortest): the codec accepts it, the fast path declines.
    const long = Uint8Array.of(...good.subarray(0, nAt), 0xcc, ...good.subarray(nAt))
    expect(readHandshakeFrame(long)).toBeUndefined()
    expect(codecVerdict(long)).toEqual({ value: plain(sessionCodec.decode(good)) })
    // An optional field written as nil (the codec reads it as absent).
    const bare = sessionCodec.encode({ t: 'hi', h })
    const nil = Uint8Array.of(0x84, ...bare.subarray(1), 0xa1, 0x6e, 0xc0)
    expect(readHandshakeFrame(nil)).toBeUndefined()
    expect(codecVerdict(nil)).toEqual({ value: plain(sessionCodec.decode(bare)) })
    // Fields out of bounds: h too short for an initiation, a c below 16 bytes, an m of 15: ERR_FIELD from the codec.
    const invalid = [
      sessionCodec.encode({ t: 'hi', h: new Uint8Array(95) }),
      sessionCodec.encode({ t: 'hr', r: 1, h: new Uint8Array(47) }),
      sessionCodec.encode({ t: 'hi', h, n: 1, c: new Uint8Array(15) }),
      sessionCodec.encode({ t: 'hi', h, m: new Uint8Array(15) }),
      sessionCodec.encode({ t: 'hi', h: new Uint8Array(4097) })
    ]
    for (const f of invalid) {
      expect(readHandshakeFrame(f)).toBeUndefined()
      expect(codecVerdict(f)).toEqual({ error: 'ERR_FIELD' })
    }
    // A wrong version: ERR_VERSION from the codec.
    const v2 = good.slice()
    v2[8] = 2
    expect(readHandshakeFrame(v2)).toBeUndefined()
    expect(codecVerdict(v2)).toEqual({ error: 'ERR_VERSION' })
    // Fields in another order (c before n): the codec reads it, the fast path declines.
    const reordered = Uint8Array.of(0x85, ...good.subarray(1, nAt - 2), ...good.subarray(nAt + 1), 0xa1, 0x6e, 9)
    expect(readHandshakeFrame(reordered)).toBeUndefined()
    expect(codecVerdict(reordered)).toEqual({ value: plain(sessionCodec.decode(good)) })
  })
})
