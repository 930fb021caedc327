import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { CodecError, FrameDecoder, createMessageCodec, decodeValue, encodeFrame, nodeMessages, recordMessages, sessionMessages } from '../src/index.ts'

// Seeded: a failure prints its seed and path, and `fc.assert(..., { seed, path })` replays it.
const SEED = Number(process.env.EGTP_FUZZ_SEED ?? 2004)
const RUNS = Number(process.env.EGTP_FUZZ_RUNS ?? 3000)
const codec = createMessageCodec([...nodeMessages, ...sessionMessages, ...recordMessages])

const valid = [
  codec.encode({ t: 'q', m: new Uint8Array(16), y: 'ping', p: { a: [1, 'x', Uint8Array.of(1)] }, d: 10 }),
  codec.encode({ t: 'hd', r: 7, n: 99, c: new Uint8Array(32) }),
  codec.encode({ t: 'hi', h: new Uint8Array(96), n: 0, c: new Uint8Array(20) }),
  codec.encode({ t: 'k', m: [new Uint8Array(16)] })
]

/** decode either returns a validated value or throws a CodecError; anything else fails the property. */
function decodeOrCodecError (bytes: Uint8Array): void {
  try {
    const value = codec.decode(bytes)
    expect(codec.types).toContain(value.t)
    // A value that decoded must re-encode and decode to the same thing, and the generic path
    // (scanner + msgpackr + validate) must agree with the compiled one.
    expect(codec.decode(codec.encode(value))).toEqual(value)
    expect(codec.validate(decodeValue(bytes))).toEqual(value)
  } catch (err) {
    if (!(err instanceof CodecError)) throw err
  }
}

describe('fuzz', () => {
  test('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), decodeOrCodecError), { seed: SEED, numRuns: RUNS })
  })

  test('mutated valid messages', () => {
    fc.assert(fc.property(
      fc.constantFrom(...valid),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'set', 'cut', 'insert')), { minLength: 1, maxLength: 8 }),
      (base, edits) => {
        let bytes = Uint8Array.from(base)
        for (const [where, value, op] of edits) {
          const i = where % Math.max(bytes.length, 1)
          if (op === 'flip') bytes[i] = bytes[i]! ^ (1 << (value % 8))
          else if (op === 'set') bytes[i] = value
          else if (op === 'cut') bytes = bytes.subarray(0, i)
          else bytes = Uint8Array.from([...bytes.subarray(0, i), value, ...bytes.subarray(i)])
        }
        decodeOrCodecError(bytes)
      }), { seed: SEED, numRuns: RUNS })
  })

  test('random frame streams never hang or throw anything but CodecError', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (chunks) => {
      const dec = new FrameDecoder({ maxFrameBytes: 256 })
      try {
        for (const c of chunks) for (const body of dec.push(c)) decodeOrCodecError(body)
      } catch (err) {
        if (!(err instanceof CodecError)) throw err
      }
      expect(dec.bufferedBytes).toBeLessThanOrEqual(256 + 4)
    }), { seed: SEED, numRuns: RUNS })
    expect(new FrameDecoder().push(encodeFrame(valid[0]!))).toHaveLength(1)
  })
})
