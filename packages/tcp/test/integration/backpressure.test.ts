import { SENT, isEgtpError } from '@egtp/interface'
import { Socket } from 'node:net'
import { describe, expect, test, vi } from 'vitest'
import type { TcpConn } from '../../src/index.ts'
import { LOOPBACK, bytes, collect, listening, make, nextEvent, rawServer } from './helpers.ts'

const FRAME = 64 * 1024
const BOUND = 256 * 1024

/** Send frames until one has to wait for room; returns that pending send and the bytes accepted before it. */
async function fillUntilWaiting (conn: TcpConn, frame: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<{ pending: Promise<void>, accepted: number, maxQueued: number }> {
  let accepted = 0
  let maxQueued = 0
  for (let i = 0; i < 100_000; i++) {
    const pending = conn.send(frame, options)
    maxQueued = Math.max(maxQueued, conn.queuedBytes)
    if (conn.waitingSends > 0) return { pending, accepted, maxQueued }
    await pending
    accepted += frame.byteLength + 4
    await new Promise(resolve => setImmediate(resolve)) // let the socket write what it can
  }
  throw new Error('never had to wait')
}

describe('backpressure', () => {
  test('a reader that stalls: queued bytes stay within the bound, then send fails with ERR_BACKPRESSURE', async () => {
    const raw = await rawServer({ pauseOnConnect: true }) // accepts, never reads
    const strat = make({ maxQueuedBytesPerConn: BOUND, sendTimeoutMs: 200, closeTimeoutMs: 100 })
    const conn = await strat.dial(raw.endpoint)
    const { pending, accepted, maxQueued } = await fillUntilWaiting(conn, bytes(FRAME))
    expect(accepted).toBeGreaterThan(BOUND) // the kernel's buffers took some too
    expect(maxQueued).toBeLessThanOrEqual(BOUND)
    const err = await pending.catch((e: unknown) => e)
    expect(isEgtpError(err, 'ERR_BACKPRESSURE')).toBe(true)
    expect(conn.queuedBytes).toBeLessThanOrEqual(BOUND)
    expect(strat.stats().queuedBytes).toBeLessThanOrEqual(BOUND)
    expect(conn.closed).toBe(false) // backpressure fails the send, not the connection
    expect(conn.waitingSends).toBe(0)
  })

  test('a waiting send completes once the reader resumes, and every byte arrives in order', async () => {
    const raw = await rawServer({ pauseOnConnect: true })
    const strat = make({ maxQueuedBytesPerConn: BOUND, sendTimeoutMs: 20_000, closeTimeoutMs: 100 })
    const conn = await strat.dial(raw.endpoint)
    const { pending, accepted } = await fillUntilWaiting(conn, bytes(FRAME))
    const later = conn.send(Uint8Array.of(1)) // queued behind the waiting one, in order
    expect(conn.waitingSends).toBe(2)
    expect(pending).not.toBe(SENT) // waits: a caller cannot take it as sent
    expect(later).not.toBe(SENT)
    raw.sockets[0]!.resume()
    await pending
    await later
    await expect.poll(() => raw.received()).toBe(accepted + FRAME + 4 + 5)
    expect(conn.send(Uint8Array.of(2))).toBe(SENT) // room again: taken at once, known by identity
    await expect.poll(() => raw.received()).toBe(accepted + FRAME + 4 + 5 + 5)
  })

  test('a send waiting behind a write below the socket high-water mark goes once that write completes', async () => {
    // Frames and bound under Node's 16 KiB high-water mark: no 'drain' comes, the completed write must wake it.
    const raw = await rawServer({ pauseOnConnect: true })
    const strat = make({ maxQueuedBytesPerConn: 12 * 1024, sendTimeoutMs: 20_000, closeTimeoutMs: 100 })
    const conn = await strat.dial(raw.endpoint)
    const frame = bytes(8 * 1024)
    const { pending, accepted } = await fillUntilWaiting(conn, frame)
    raw.sockets[0]!.resume()
    await pending
    expect(conn.waitingSends).toBe(0)
    await expect.poll(() => raw.received()).toBe(accepted + frame.byteLength + 4)
  })

  test('aborting a waiting send rethrows the reason; the connection stays usable', async () => {
    const raw = await rawServer({ pauseOnConnect: true })
    const strat = make({ maxQueuedBytesPerConn: BOUND, sendTimeoutMs: 20_000, closeTimeoutMs: 100 })
    const conn = await strat.dial(raw.endpoint)
    const controller = new AbortController()
    const { pending, accepted } = await fillUntilWaiting(conn, bytes(FRAME), { signal: controller.signal })
    const reason = new DOMException('no', 'AbortError')
    controller.abort(reason)
    await expect(pending).rejects.toBe(reason)
    expect(conn.waitingSends).toBe(0)
    raw.sockets[0]!.resume()
    await conn.send(Uint8Array.of(9))
    await expect.poll(() => raw.received()).toBe(accepted + 5) // the aborted frame was never queued
  })

  test('closing a connection fails its waiting sends with ERR_CLOSED', async () => {
    const raw = await rawServer({ pauseOnConnect: true })
    const strat = make({ maxQueuedBytesPerConn: BOUND, sendTimeoutMs: 20_000, closeTimeoutMs: 100 })
    const conn = await strat.dial(raw.endpoint)
    const { pending } = await fillUntilWaiting(conn, bytes(FRAME))
    const closed = conn.close()
    await expect(pending).rejects.toMatchObject({ code: 'ERR_CLOSED' })
    await closed // bounded by closeTimeoutMs although the peer never reads
  })

  test('the commstrat side fails a send to a stalled reader with ERR_BACKPRESSURE', async () => {
    const raw = await rawServer({ pauseOnConnect: true })
    const strat = make({ maxQueuedBytesPerConn: BOUND, sendTimeoutMs: 200, closeTimeoutMs: 100 })
    await strat.start()
    let err: unknown
    for (let i = 0; i < 100_000 && err === undefined; i++) {
      err = await strat.send('x', raw.endpoint, bytes(FRAME)).then(() => undefined, (e: unknown) => e)
      expect(strat.stats().queuedBytes).toBeLessThanOrEqual(BOUND)
    }
    expect(isEgtpError(err, 'ERR_BACKPRESSURE')).toBe(true)
  })

  test('frames sent in the same tick leave in one socket write', async () => {
    const strat = make()
    const listener = await strat.listen(LOOPBACK)
    const accepted = nextEvent<TcpConn>(listener, 'connection')
    const conn = await strat.dial(listener.address())
    const got = collect(await accepted)
    const write = vi.spyOn(Socket.prototype, 'write')
    try {
      for (let i = 0; i < 1_000; i++) void conn.send(bytes(64, i & 0xff))
      await expect.poll(() => got.length).toBe(1_000)
      expect(write).toHaveBeenCalledTimes(1)
    } finally {
      write.mockRestore()
    }
  })

  test('a large burst is written in bounded batches, not one giant buffer', async () => {
    const { strat: b } = await listening()
    const strat = make()
    const conn = await strat.dial(b.localEndpoints()[0] as never)
    const write = vi.spyOn(Socket.prototype, 'write')
    try {
      for (let i = 0; i < 65; i++) void conn.send(bytes(16 * 1024))
      await expect.poll(() => b.stats().framesIn).toBe(65)
      const sizes = write.mock.calls.map(call => (call[0] as Uint8Array).byteLength)
      expect(Math.max(...sizes)).toBeLessThanOrEqual(256 * 1024 + 16 * 1024 + 4)
      expect(sizes.reduce((a, n) => a + n, 0)).toBe(65 * (16 * 1024 + 4))
    } finally {
      write.mockRestore()
    }
  })
})
