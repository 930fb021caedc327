// The transport-frame fast path writes and reads exactly the codec's canonical bytes.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { dataFrame, readDataFrame, sessionCodec } from '../src/session.ts'

const edges = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x1_0000, 0xffff_ffff]
const nEdges = [...edges, 0x1_0000_0000, Number.MAX_SAFE_INTEGER]
const cEdges = [16, 0xff, 0x100, 0xffff, 0x1_0000, 70_000]

const same = (x: Uint8Array, y: Uint8Array): boolean => Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength))

/** The fast reader and the codec read the same frame the same way. */
function agree (frame: Uint8Array): void {
  const fast = readDataFrame(frame)!
  const slow = sessionCodec.decode(frame) as { t: string, r: number, n: number, c: Uint8Array }
  expect({ t: fast.t, r: fast.r, n: fast.n }).toEqual({ t: slow.t, r: slow.r, n: slow.n })
  expect(same(fast.c, slow.c)).toBe(true)
}

function viaFastPath (r: number, n: number, c: Uint8Array): Uint8Array {
  const { frame, cOffset } = dataFrame(r, n, c.byteLength)
  frame.set(c, cOffset)
  return frame
}

describe('hd fast path', () => {
  it('encodes byte for byte like the codec, and reads back what the codec reads, at every size boundary', () => {
    for (const r of edges) {
      for (const n of nEdges) {
        for (const len of cEdges) {
          const c = new Uint8Array(len).fill(len & 0xff)
          const canonical = sessionCodec.encode({ t: 'hd', r, n, c })
          expect(same(viaFastPath(r, n, c), canonical)).toBe(true)
          agree(canonical)
        }
      }
    }
  })

  it('agrees with the codec on random frames (seeded)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 0xffff_ffff }), fc.maxSafeNat(), fc.uint8Array({ minLength: 16, maxLength: 600 }),
      (r, n, c) => {
        const canonical = sessionCodec.encode({ t: 'hd', r, n, c })
        expect(same(viaFastPath(r, n, c), canonical)).toBe(true)
        agree(canonical)
      }), { seed: 7, numRuns: 500 })
  })

  it('declines anything that is not exactly a canonical hd frame (the codec then decides)', () => {
    const good = sessionCodec.encode({ t: 'hd', r: 5, n: 9, c: new Uint8Array(16) })
    expect(readDataFrame(good)).toBeDefined()
    for (let len = 0; len < good.byteLength; len++) expect(readDataFrame(good.subarray(0, len))).toBeUndefined()
    expect(readDataFrame(Uint8Array.of(...good, 0))).toBeUndefined()
    // n = 9 written as 0xcc 0x09 (not shortest): the codec accepts it, the fast path leaves it to the codec.
    const i = good.indexOf(0x6e) + 1
    const long = Uint8Array.of(...good.subarray(0, i), 0xcc, ...good.subarray(i))
    expect(readDataFrame(long)).toBeUndefined()
    expect(sessionCodec.decode(long)).toMatchObject({ t: 'hd', n: 9 })
    for (let bit = 0; bit < good.byteLength * 8; bit++) {
      const g = good.slice()
      g[bit >> 3]! ^= 1 << (bit & 7)
      const fast = readDataFrame(g)
      if (fast !== undefined) agree(g)
    }
  })
})
