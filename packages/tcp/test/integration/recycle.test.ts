import { dataFrame } from '@egtp/codec/session'
import type { InboundFrame } from '@egtp/interface'
import { afterEach, describe, expect, test } from 'vitest'
import type { TcpCommstrat } from '../../src/index.ts'
import { bytes, listening, rawClient } from './helpers.ts'

const framed = (body: Uint8Array): Buffer => {
  const b = Buffer.alloc(4 + body.byteLength)
  b.writeUInt32BE(body.byteLength)
  b.set(body, 4)
  return b
}

const strats: TcpCommstrat[] = []
afterEach(async () => { await Promise.all(strats.splice(0).map(async s => { await s.stop() })) })

describe('recycling received frames (ReturnPath.recycle)', () => {
  test('a large frame reassembled from several reads and recycled is the memory of the next one, with the next one\'s bytes', async () => {
    const { strat, endpoint } = await listening({ maxFrameBytes: 1 << 20 })
    strats.push(strat)
    const got: Array<{ frame: Uint8Array, ok: boolean }> = []
    strat.addEventListener('frame', ({ detail }: CustomEvent<InboundFrame>) => {
      const f = detail.frame
      got.push({ frame: f, ok: f.every(b => b === f[0]) })
      detail.path.recycle?.(f) // this test keeps only the view, and reads nothing from it after recycling
    })
    const socket = await rawClient(endpoint)
    for (const fill of [1, 2, 3]) {
      const wire = framed(bytes(200_000, fill))
      // In pieces, waiting between them, so the frame spans several reads.
      for (let i = 0; i < wire.byteLength; i += 50_000) {
        socket.write(wire.subarray(i, i + 50_000))
        await new Promise(resolve => setTimeout(resolve, 5))
      }
      await expect.poll(() => got.length).toBe(fill)
      expect(got[fill - 1]!.ok).toBe(true)
      expect(got[fill - 1]!.frame[0]).toBe(fill)
    }
    expect(got[1]!.frame.buffer).toBe(got[0]!.frame.buffer) // the second frame reused the first one's memory
    expect(got[2]!.frame.buffer).toBe(got[0]!.frame.buffer)
    socket.destroy()
  })

  test('without recycle every reassembled frame has its own memory (a listener may keep frames)', async () => {
    const { strat, endpoint } = await listening({ maxFrameBytes: 1 << 20 })
    strats.push(strat)
    const got: Uint8Array[] = []
    strat.addEventListener('frame', ({ detail }: CustomEvent<InboundFrame>) => { got.push(detail.frame) })
    const socket = await rawClient(endpoint)
    for (const fill of [1, 2]) {
      const wire = framed(bytes(100_000, fill))
      for (let i = 0; i < wire.byteLength; i += 40_000) {
        socket.write(wire.subarray(i, i + 40_000))
        await new Promise(resolve => setTimeout(resolve, 5))
      }
      await expect.poll(() => got.length).toBe(fill)
    }
    expect(got[1]!.buffer).not.toBe(got[0]!.buffer)
    expect(got[0]!.every(b => b === 1)).toBe(true)
    expect(got[1]!.every(b => b === 2)).toBe(true)
    socket.destroy()
  })
})

describe('reads into one shared buffer', () => {
  test('frames kept by a listener stay intact while several connections keep reading into the same memory', async () => {
    const { strat, endpoint } = await listening({ maxFrameBytes: 1 << 20 })
    strats.push(strat)
    const got = new Map<number, Uint8Array[]>() // by fill byte
    strat.addEventListener('frame', ({ detail }: CustomEvent<InboundFrame>) => {
      const f = detail.frame
      const list = got.get(f[0]!) ?? []
      list.push(f) // kept: later reads must not change it
      got.set(f[0]!, list)
    })
    const sizes = [1, 100, 5_000, 70_000, 300_000]
    const clients = await Promise.all([1, 2, 3].map(async () => await rawClient(endpoint)))
    for (let round = 0; round < 3; round++) {
      clients.forEach((socket, c) => {
        // Sizes from a few bytes to more than one read; every client's frames interleave with the others' reads.
        socket.write(Buffer.concat(sizes.map((n, k) => framed(bytes(n, 1 + c * 50 + k * 10 + round)))))
      })
    }
    const expected = clients.length * sizes.length * 3
    await expect.poll(() => [...got.values()].reduce((n, l) => n + l.length, 0), { timeout: 5_000 }).toBe(expected)
    for (const [fill, frames] of got) {
      for (const f of frames) {
        expect(f.every(b => b === fill)).toBe(true)
        expect(sizes).toContain(f.byteLength)
      }
    }
    for (const socket of clients) socket.destroy()
  })

  test('small session data frames (copied into a shared slab) kept by a listener stay intact while later reads overwrite the buffer', async () => {
    const { strat, endpoint } = await listening({ maxFrameBytes: 1 << 20 })
    strats.push(strat)
    const got: Uint8Array[] = []
    strat.addEventListener('frame', ({ detail }: CustomEvent<InboundFrame>) => { got.push(detail.frame) }) // kept
    // An `hd` frame whose ciphertext is filled with `fill`: the frames a node opens and drops at once.
    const hd = (fill: number, n: number): Uint8Array => {
      const { frame, cOffset } = dataFrame(1, fill, n)
      frame.fill(fill, cOffset)
      return frame.slice()
    }
    const expected: Uint8Array[] = []
    const clients = await Promise.all([1, 2].map(async () => await rawClient(endpoint)))
    for (let round = 0; round < 20; round++) {
      for (let c = 0; c < clients.length; c++) {
        const frames = [hd(1 + round * 2 + c, 80), hd(100 + round * 2 + c, 600)]
        expected.push(...frames)
        clients[c]!.write(Buffer.concat(frames.map(framed)))
      }
      await expect.poll(() => got.length).toBe(expected.length) // one read at a time: each overwrites the last
    }
    const key = (f: Uint8Array): string => Buffer.from(f).toString('hex')
    expect(got.map(key).sort()).toEqual(expected.map(key).sort())
    expect(got.some(f => f.byteLength < f.buffer.byteLength)).toBe(true) // some were slab views
    for (const socket of clients) socket.destroy()
  })
})
