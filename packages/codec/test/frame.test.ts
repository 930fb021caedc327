import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { CodecError, FrameDecoder, encodeFrame, encodeFrames, MAX_FRAME_BYTES_LIMIT } from '../src/index.ts'
import { dataFrame } from '../src/session.ts'
import { SLAB_BYTES, slabBytes } from '../src/fast/primitives.ts'

const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let pos = 0
  for (const p of parts) { out.set(p, pos); pos += p.byteLength }
  return out
}

describe('framing', () => {
  test('frames survive arbitrary re-chunking, one byte at a time too', () => {
    fc.assert(fc.property(
      fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 20 }),
      fc.integer({ min: 1, max: 64 }),
      (bodies, cut) => {
        const wire = encodeFrames(bodies)
        for (const size of [1, cut]) {
          const dec = new FrameDecoder({ maxFrameBytes: 4096 })
          const out: Uint8Array[] = []
          for (let i = 0; i < wire.length; i += size) out.push(...dec.push(wire.subarray(i, i + size)))
          expect(out.map(b => Array.from(b))).toEqual(bodies.map(b => Array.from(b)))
          expect(dec.bufferedBytes).toBe(0)
        }
      }), { seed: 20041, numRuns: 200 })
  })

  test('encodeFrames equals concatenated encodeFrame', () => {
    const bodies = [Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3)]
    expect(encodeFrames(bodies)).toEqual(concat(bodies.map(b => encodeFrame(b))))
  })

  test('a data frame is framed in place (its prefix was written in front of it), with the bytes of a copy', () => {
    for (const cLength of [16, 80, 900]) {
      const { frame, cOffset } = dataFrame(7, 9, cLength)
      frame.fill(0xab, cOffset)
      const expected = encodeFrame(frame)
      const framed = encodeFrames([frame])
      expect(framed).toEqual(expected)
      const inPlace = (framed: Uint8Array): boolean => framed.buffer === frame.buffer && framed.byteOffset === frame.byteOffset - 4
      expect(inPlace(framed)).toBe(true) // no copy
      // Only once, and only for that very frame: a second framing, or a frame among others, is a copy.
      expect(inPlace(encodeFrames([frame]))).toBe(false)
      const other = dataFrame(7, 10, cLength).frame
      const both = encodeFrames([other, frame])
      expect(both).toEqual(concat([encodeFrame(other), expected]))
      expect(both.buffer === other.buffer && both.byteOffset === other.byteOffset - 4).toBe(false)
      expect(inPlace(encodeFrames([new Uint8Array(frame)]))).toBe(false)
    }
  })

  test('a data frame too large for a slab is copied behind its prefix (no large frame held for framing)', () => {
    for (const cLength of [1200, 70_000]) {
      const { frame, cOffset } = dataFrame(7, 9, cLength)
      frame.fill(0xcd, cOffset)
      const framed = encodeFrames([frame])
      expect(framed).toEqual(encodeFrame(frame))
      expect(framed.buffer).not.toBe(frame.buffer)
    }
  })

  test('an oversized data frame is refused, prefix or not', () => {
    const { frame } = dataFrame(1, 1, 64)
    expect(() => encodeFrames([frame], 16)).toThrow(expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }))
  })

  test('rejects a length prefix above maxFrameBytes before buffering the body', () => {
    const dec = new FrameDecoder({ maxFrameBytes: 16 })
    expect(() => dec.push(Uint8Array.of(0, 0, 0, 17))).toThrow(/^ERR_FRAME_TOO_LARGE/)
    expect(dec.bufferedBytes).toBe(0)
    // Once failed, the stream is out of sync and stays refused.
    expect(() => dec.push(Uint8Array.of(1))).toThrow(CodecError)
  })

  test('a 4 GiB length is refused with 4 bytes in hand', () => {
    const dec = new FrameDecoder()
    expect(() => dec.push(Uint8Array.of(0xff, 0xff, 0xff, 0xff))).toThrow(expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }))
  })

  test('encodeFrame refuses an oversized body', () => {
    expect(() => encodeFrame(new Uint8Array(17), 16)).toThrow(expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }))
    expect(() => encodeFrames([new Uint8Array(17)], 16)).toThrow(expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }))
  })

  test('maxFrameBytes is bounded by the hard limit', () => {
    expect(() => new FrameDecoder({ maxFrameBytes: MAX_FRAME_BYTES_LIMIT + 1 })).toThrow(RangeError)
    expect(() => new FrameDecoder({ maxFrameBytes: 0 })).toThrow(RangeError)
    expect(new FrameDecoder({ maxFrameBytes: MAX_FRAME_BYTES_LIMIT }).maxFrameBytes).toBe(MAX_FRAME_BYTES_LIMIT)
  })

  test('holds at most one partial frame', () => {
    const dec = new FrameDecoder({ maxFrameBytes: 1000 })
    const wire = encodeFrame(new Uint8Array(1000))
    expect(dec.push(wire.subarray(0, 500))).toEqual([])
    expect(dec.bufferedBytes).toBe(496)
    expect(dec.push(wire.subarray(500))).toHaveLength(1)
  })
})

describe('decode with a callback', () => {
  test('`end` bounds the chunk: bytes past it are never read, and an end outside the chunk is refused', () => {
    const dec = new FrameDecoder()
    const wire = encodeFrames([new Uint8Array([1, 2]), new Uint8Array([3])])
    const chunk = new Uint8Array(wire.length + 8).fill(0xff) // a length prefix of 4 GiB past the end
    chunk.set(wire)
    const frames: Uint8Array[] = []
    dec.decode(chunk, frames, undefined, wire.length - 1) // the second frame is cut: a partial frame
    expect(frames.map(f => Array.from(f))).toEqual([[1, 2]])
    dec.decode(wire.subarray(wire.length - 1), frames)
    expect(frames.map(f => Array.from(f))).toEqual([[1, 2], [3]])
    expect(() => { dec.decode(chunk, frames, undefined, chunk.length + 1) }).toThrow(RangeError)
    expect(() => { dec.decode(chunk, frames, undefined, -1) }).toThrow(RangeError)
  })

  test('delivers the frames before a bad length, then throws', () => {
    const dec = new FrameDecoder({ maxFrameBytes: 8 })
    const wire = new Uint8Array([...encodeFrame(Uint8Array.of(1)), ...encodeFrame(Uint8Array.of(2, 2)), 0, 0, 0, 9])
    const seen: number[][] = []
    expect(() => { dec.decode(wire, (f) => seen.push(Array.from(f))) }).toThrow(expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }))
    expect(seen).toEqual([[1], [2, 2]])
  })

  test('a length prefix alone buffers four bytes, not the announced body', () => {
    const dec = new FrameDecoder()
    dec.push(Uint8Array.of(0, 0x10, 0, 0))
    expect(dec.bufferedBytes).toBe(0)
    dec.push(Uint8Array.of(7))
    expect(dec.bufferedBytes).toBe(1)
  })

  test('whole frames inside a chunk are views of it', () => {
    const wire = encodeFrames([Uint8Array.of(1, 2), Uint8Array.of(3)])
    const [a] = new FrameDecoder().push(wire)
    expect(a!.buffer).toBe(wire.buffer)
  })
})

describe('recycling reassembled frames', () => {
  const body = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill)
  /** Feeds `wire` in chunks of `step` bytes; returns the frames (views, as delivered). */
  const feed = (dec: FrameDecoder, wire: Uint8Array, step: number): Uint8Array[] => {
    const out: Uint8Array[] = []
    for (let i = 0; i < wire.byteLength; i += step) dec.decode(wire.subarray(i, i + step), out)
    return out
  }

  test('a large reassembled frame handed back is the memory of the next one; its bytes are the new frame\'s', () => {
    const dec = new FrameDecoder({ recycleFromBytes: 1000 })
    const [a] = feed(dec, encodeFrame(body(3000, 1)), 700)
    expect(a!.every(b => b === 1)).toBe(true)
    expect(dec.recycle(a!)).toBe(true)
    expect(dec.spareBytes).toBe(3000)
    const [b] = feed(dec, encodeFrame(body(2000, 2)), 700) // smaller: a view of the same memory
    expect(b!.buffer).toBe(a!.buffer)
    expect(b!.byteLength).toBe(2000)
    expect(b!.every(x => x === 2)).toBe(true)
    expect(dec.spareBytes).toBe(0) // lent out again
    expect(dec.recycle(b!)).toBe(true)
    expect(dec.spareBytes).toBe(3000) // the whole memory comes back
    const [c] = feed(dec, encodeFrame(body(5000, 3)), 700) // larger: new memory
    expect(c!.buffer).not.toBe(a!.buffer)
    expect(c!.every(x => x === 3)).toBe(true)
  })

  test('only the last large reassembled frame can be handed back; views of chunks and small frames are ignored', () => {
    const dec = new FrameDecoder({ recycleFromBytes: 1000 })
    const [a] = feed(dec, encodeFrame(body(3000, 1)), 700)
    const [b] = feed(dec, encodeFrame(body(3000, 2)), 700)
    expect(dec.recycle(a!)).toBe(false) // not the last one
    expect(dec.recycle(b!)).toBe(true)
    expect(dec.recycle(b!)).toBe(false) // once
    const [whole] = feed(dec, encodeFrame(body(3000, 4)), 10_000) // inside one chunk: a view of it
    expect(dec.recycle(whole!)).toBe(false)
    const [small] = feed(dec, encodeFrame(body(500, 5)), 100) // reassembled, below recycleFromBytes
    expect(dec.recycle(small!)).toBe(false)
    expect(new FrameDecoder().recycle(b!)).toBe(false) // recycling is off by default
  })

  test('trimSpare drops memory that did not serve since the previous trim', () => {
    const dec = new FrameDecoder({ recycleFromBytes: 1000 })
    const [a] = feed(dec, encodeFrame(body(3000, 1)), 700)
    dec.recycle(a!)
    const [b] = feed(dec, encodeFrame(body(3000, 2)), 700)
    dec.recycle(b!)
    expect(dec.trimSpare()).toBe(0) // it served: kept, for one more round
    expect(dec.spareBytes).toBe(3000)
    expect(dec.trimSpare()).toBe(3000)
    expect(dec.spareBytes).toBe(0)
    const [c] = feed(dec, encodeFrame(body(3000, 3)), 700)
    expect(c!.buffer).not.toBe(a!.buffer)
  })

  test('any chunking: frames handed back at once never change a later frame\'s bytes', () => {
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 0, max: 4000 }), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 1, max: 5000 }),
      (sizes, step) => {
        const dec = new FrameDecoder({ recycleFromBytes: 1000 })
        const bodies = sizes.map((n, i) => body(n, i + 1))
        const wire = encodeFrames(bodies)
        const seen: number[][] = []
        for (let i = 0; i < wire.byteLength; i += step) {
          dec.decode(wire.subarray(i, i + step), f => {
            seen.push([f.byteLength, f[0] ?? 0, f[f.byteLength - 1] ?? 0, f.every(x => x === f[0]) ? 1 : 0])
            dec.recycle(f)
          })
        }
        expect(seen).toEqual(bodies.map(b => [b.byteLength, b[0] ?? 0, b[b.byteLength - 1] ?? 0, 1]))
      }
    ), { numRuns: 200 })
  })
})

describe('reused chunks', () => {
  const body = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill)
  /**
   * Feeds `wire` through one scratch buffer of `step` bytes, overwritten (with 0xee) after every decode. `viaEnd`:
   * the whole scratch buffer and where its bytes end (as a socket's read buffer and `nread`), not a view of them.
   */
  const feedReused = (dec: FrameDecoder, wire: Uint8Array, step: number, onFrame: (f: Uint8Array) => void, viaEnd = false): void => {
    const scratch = new Uint8Array(step).fill(0xee)
    for (let i = 0; i < wire.byteLength; i += step) {
      const n = Math.min(step, wire.byteLength - i)
      scratch.set(wire.subarray(i, i + n))
      if (viaEnd) dec.decode(scratch, onFrame, undefined, n)
      else dec.decode(scratch.subarray(0, n), onFrame)
      scratch.fill(0xee)
    }
  }

  test('any chunking: every frame keeps its bytes after its chunk is overwritten, recycled or not', () => {
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 0, max: 4000 }), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 1, max: 9000 }),
      fc.boolean(),
      fc.boolean(),
      (sizes, step, recycle, viaEnd) => {
        const dec = new FrameDecoder({ recycleFromBytes: 1000, reusedChunks: true })
        const bodies = sizes.map((n, i) => body(n, i + 1))
        const kept: Uint8Array[] = []
        feedReused(dec, encodeFrames(bodies), step + (viaEnd ? 7 : 0), f => {
          if (recycle) {
            expect(f.every(x => x === f[0])).toBe(true) // checked before its memory serves again
            kept.push(f.slice())
            dec.recycle(f)
          } else {
            kept.push(f)
          }
        }, viaEnd)
        expect(kept.map(f => Array.from(f))).toEqual(bodies.map(b => Array.from(b)))
      }
    ), { numRuns: 300 })
  })

  test('a frame whole inside a chunk is a copy, and a large one may be recycled', () => {
    const dec = new FrameDecoder({ recycleFromBytes: 1000, reusedChunks: true })
    const wire = encodeFrames([body(10, 1), body(3000, 2)])
    const [small, large] = dec.push(wire)
    expect(small!.buffer).not.toBe(wire.buffer)
    expect(large!.buffer).not.toBe(wire.buffer)
    expect(dec.recycle(large!)).toBe(true)
    const [next] = dec.push(encodeFrame(body(2500, 3)))
    expect(next!.buffer).toBe(large!.buffer) // the recycled memory, filled with the new frame
    expect(next!.every(x => x === 3)).toBe(true)
  })

  test('a partial frame holds copies of what arrived until a quarter of it did', () => {
    const dec = new FrameDecoder({ reusedChunks: true })
    const wire = encodeFrame(body(40_000, 9))
    dec.push(wire.subarray(0, 4))
    expect(dec.bufferedBytes).toBe(0)
    dec.push(wire.subarray(4, 1004)) // 1000 bytes of 40000: kept as a copy of those bytes
    expect(dec.bufferedBytes).toBe(1000)
    dec.push(wire.subarray(1004, 12_004)) // now past a quarter: the frame's memory, the copies moved in
    expect(dec.bufferedBytes).toBe(12_000)
    const [frame] = dec.push(wire.subarray(12_004))
    expect(frame!.byteLength).toBe(40_000)
    expect(frame!.every(x => x === 9)).toBe(true)
  })

  test('small frames the consumer does not keep (slabFrame) are views of one slab, never of the chunk, and never overwritten', () => {
    // Start a fresh slab: the slab is shared by the whole module, and earlier (random) tests leave it anywhere, so
    // the two frames compared below could otherwise straddle two slabs.
    slabBytes(SLAB_BYTES)
    const dec = new FrameDecoder({ reusedChunks: true, slabFrame: f => f[0] === 7 })
    const bodies = [body(100, 7), body(200, 7), body(50, 1), body(3000, 7), body(1, 7)]
    const got: Uint8Array[] = []
    feedReused(dec, encodeFrames(bodies), 64, f => { got.push(f) }) // the chunk is overwritten after each decode
    feedReused(dec, encodeFrames([body(100, 7), body(100, 7)]), 1000, f => { got.push(f) })
    expect(got.map(f => Array.from(f))).toEqual([...bodies, body(100, 7), body(100, 7)].map(b => Array.from(b)))
    // Whole inside one chunk and selected: two slab views of the same memory, at different places.
    const [a, b] = got.slice(-2)
    expect(a!.buffer).toBe(b!.buffer)
    expect(a!.byteOffset + a!.byteLength).toBeLessThanOrEqual(b!.byteOffset)
    // Not selected, or too large for a slab: memory of its own.
    const single = new FrameDecoder({ reusedChunks: true, slabFrame: f => f[0] === 7 })
    const [other, large] = single.push(encodeFrames([body(50, 1), body(3000, 7)]))
    expect(other!.byteLength).toBe(other!.buffer.byteLength)
    expect(large!.byteLength).toBe(large!.buffer.byteLength)
  })

  test('a partial frame goes straight into recycled memory that holds it', () => {
    const dec = new FrameDecoder({ recycleFromBytes: 1000, reusedChunks: true })
    const [first] = dec.push(encodeFrame(body(5000, 1)))
    dec.recycle(first!)
    const wire = encodeFrame(body(4000, 2))
    dec.push(wire.subarray(0, 10)) // 6 body bytes: far from a quarter, but the spare holds the frame
    expect(dec.spareBytes).toBe(0)
    const [frame] = dec.push(wire.subarray(10))
    expect(frame!.buffer).toBe(first!.buffer)
    expect(frame!.every(x => x === 2)).toBe(true)
  })
})
