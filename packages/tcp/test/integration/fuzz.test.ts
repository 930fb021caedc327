// Fuzzing the framed connection over a real socket on 127.0.0.1: random frame sizes (up to and including
// maxFrameBytes) written in random chunkings arrive whole, in order, byte for byte; then random tails (garbage,
// an oversized length, a truncated frame) close the connection with a coded error and nothing else.
// Bounded in CI; EGTP_FUZZ_RUNS (and EGTP_FUZZ_SEED) for a long run.
import fc from 'fast-check'
import type { Socket } from 'node:net'
import { describe, expect, test } from 'vitest'
import type { TcpCommstratEvents } from '../../src/index.ts'
import { listening, rawClient, socketClosed } from './helpers.ts'

const SEED = Number(process.env.EGTP_FUZZ_SEED ?? 2004)
const RUNS = Number(process.env.EGTP_FUZZ_RUNS ?? 1000)
const MAX = 2048

const framed = (body: Uint8Array): Uint8Array => {
  const out = new Uint8Array(4 + body.byteLength)
  new DataView(out.buffer).setUint32(0, body.byteLength)
  out.set(body, 4)
  return out
}

async function write (socket: Socket, bytes: Uint8Array, cuts: number[]): Promise<void> {
  let at = 0
  for (const c of [...cuts.map(c => c % (bytes.byteLength + 1)).sort((a, b) => a - b), bytes.byteLength]) {
    if (c <= at) continue
    socket.write(bytes.subarray(at, c))
    at = c
    if (c % 3 === 0) await new Promise(resolve => setImmediate(resolve)) // sometimes let the reader run between pieces
  }
}

describe('fuzz: framing over a real socket', () => {
  test('random frames in random chunks arrive whole and in order; random tails close with a coded error', async () => {
    const { strat, endpoint } = await listening({ maxFrameBytes: MAX, authTimeoutMs: 0 })
    const received: Uint8Array[] = []
    strat.addEventListener('frame', ({ detail }) => { received.push(detail.frame.slice()) })
    const closes: Array<TcpCommstratEvents['connection:close']> = []
    strat.addEventListener('connection:close', ({ detail }) => { closes.push(detail) })
    const body = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: MAX }).map(n => new Uint8Array(n).fill(n & 0xff)), fc.constant(new Uint8Array(MAX)))
    const tail = fc.oneof(
      fc.constant({ kind: 'clean' as const, bytes: new Uint8Array(0) }),
      fc.integer({ min: MAX + 1, max: 0xffffffff }).map(n => ({ kind: 'oversized' as const, bytes: Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff) })),
      fc.uint8Array({ minLength: 1, maxLength: 3 }).map(b => ({ kind: 'truncated' as const, bytes: b })),
      fc.integer({ min: 1, max: MAX }).map(n => ({ kind: 'truncated' as const, bytes: framed(new Uint8Array(n)).subarray(0, 4 + n - 1) }))
    )
    await fc.assert(fc.asyncProperty(fc.array(body, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), tail, async (bodies, cuts, end) => {
      received.length = 0
      closes.length = 0
      const socket = await rawClient(endpoint)
      const all = new Uint8Array(bodies.reduce((n, b) => n + 4 + b.byteLength, 0) + end.bytes.byteLength)
      let at = 0
      for (const b of bodies) { all.set(framed(b), at); at += 4 + b.byteLength }
      all.set(end.bytes, at)
      await write(socket, all, cuts)
      socket.end()
      await socketClosed(socket)
      await expect.poll(() => closes.length).toBe(1)
      expect(received.map(r => Buffer.from(r).toString('hex'))).toEqual(bodies.map(b => Buffer.from(b).toString('hex')))
      const code = closes[0]!.error === undefined ? undefined : (closes[0]!.error as { code?: string }).code
      expect(code).toBe(end.kind === 'clean' ? undefined : end.kind === 'oversized' ? 'ERR_FRAME_TOO_LARGE' : 'ERR_MALFORMED')
    }), { seed: SEED, numRuns: Math.max(1, Math.floor(RUNS / 10)) })
    expect(strat.stats().connections).toBe(0)
  }, 120_000)
})
