import { isEgtpError } from '@egtp/interface'
import type { InboundFrame, TcpEndpoint } from '@egtp/interface'
import type { TcpCommstrat } from '../../src/index.ts'
import { Socket } from 'node:net'
import { describe, expect, test, vi } from 'vitest'
import { LARGE_FRAME_BYTES } from '../../src/constants.ts'
import { listening, make, rawServer } from './helpers.ts'

/** An endpoint nothing listens on (a server bound, then closed). */
async function deadEndpoint (): Promise<TcpEndpoint> {
  const { strat, endpoint } = await listening()
  await strat.stop()
  return endpoint
}

/** A started sender `a`, and the frames a listening `b` receives (both stopped when the test finishes). */
async function pair (): Promise<{ a: TcpCommstrat, endpoint: TcpEndpoint, atB: InboundFrame[] }> {
  const { strat: b, endpoint } = await listening()
  const a = make()
  await a.start()
  const atB: InboundFrame[] = []
  b.addEventListener('frame', ({ detail }) => { atB.push(detail) })
  return { a, endpoint, atB }
}

describe('tcp commstrat: a new connection\'s first frame is written before the connection is set up', () => {
  test('the early frame and the frames queued behind it arrive intact and in order; counters count it once connected', async ({ onTestFinished }) => {
    const { a, endpoint, atB } = await pair()
    // Which writes happened while the socket was still connecting (a spy that calls through: nothing changes).
    const writes: boolean[] = []
    const write = Socket.prototype.write
    const spy = vi.spyOn(Socket.prototype, 'write').mockImplementation(function (this: Socket, ...args: Parameters<Socket['write']>) {
      writes.push(this.connecting)
      return write.apply(this, args)
    })
    onTestFinished(() => { spy.mockRestore() })
    const first = new Uint8Array(200).map((_, i) => i)
    const sends = [
      a.send('b', endpoint, first, { expectReply: true }), // written to the connecting socket
      a.send('b', endpoint, [Uint8Array.of(1, 2), Uint8Array.of(3)]), // waits for the connection
      a.send('b', endpoint, Uint8Array.of(9))
    ]
    expect(a.stats()).toMatchObject({ connections: 0, dialing: 1, framesOut: 0, bytesOut: 0 })
    expect(writes).toEqual([true]) // the first frame is on the socket before it connected
    await Promise.all(sends)
    spy.mockRestore()
    await expect.poll(() => atB.length).toBe(3)
    expect(atB.map(f => [...f.frame])).toEqual([[...first], [1, 2, 3], [9]])
    expect(a.stats()).toMatchObject({ connections: 1, managed: 1, dialing: 0, framesOut: 3, bytesOut: 3 * 4 + 200 + 3 + 1 })
  })

  test('the first frame in pieces goes early too, arriving as one frame; after prepare() as well', async () => {
    const raw = await rawServer()
    const a = make()
    await a.start()
    a.prepare('r', raw.endpoint)
    await a.send('r', raw.endpoint, [Uint8Array.of(5, 6), Uint8Array.of(7)])
    await expect.poll(() => raw.received()).toBe(4 + 3)
    expect(a.stats()).toMatchObject({ framesOut: 1, bytesOut: 7 })
  })

  test('a large first frame waits for the connection (not copied early) and arrives intact', async () => {
    const { a, endpoint, atB } = await pair()
    const big = new Uint8Array(LARGE_FRAME_BYTES + 5).fill(3)
    await a.send('b', endpoint, big)
    await expect.poll(() => atB.length).toBe(1)
    expect(atB[0]!.frame).toEqual(big)
  })

  test('a refused connection fails the early send with ERR_UNREACHABLE; nothing is counted, nothing is left', async () => {
    const dead = await deadEndpoint()
    const a = make()
    await a.start()
    const errors = await Promise.all([
      a.send('x', dead, Uint8Array.of(1, 2, 3)).catch((e: unknown) => e),
      a.send('x', dead, Uint8Array.of(4)).catch((e: unknown) => e)
    ])
    for (const err of errors) expect(isEgtpError(err, 'ERR_UNREACHABLE')).toBe(true)
    expect(a.stats()).toMatchObject({ connections: 0, dialing: 0, framesOut: 0, bytesOut: 0 })
    // The next send dials again, and writes early again (the same error, no stale state).
    const again = await a.send('x', dead, Uint8Array.of(1)).catch((e: unknown) => e)
    expect(isEgtpError(again, 'ERR_UNREACHABLE')).toBe(true)
  })

  test('stop while the early frame waits for the connect: the send fails with ERR_CLOSED', async () => {
    const { endpoint } = await listening()
    const a = make()
    await a.start()
    const sent = a.send('b', endpoint, Uint8Array.of(1)).catch((e: unknown) => e)
    const stopping = a.stop()
    expect(isEgtpError(await sent, 'ERR_CLOSED')).toBe(true)
    await stopping
    expect(a.stats()).toMatchObject({ connections: 0, dialing: 0, framesOut: 0 })
  })

  test('an aborted signal fails the send; the dial goes on for the others', async () => {
    const { a, endpoint, atB } = await pair()
    const ac = new AbortController()
    const aborted = a.send('b', endpoint, Uint8Array.of(1), { signal: ac.signal }).catch((e: unknown) => e)
    const other = a.send('b', endpoint, Uint8Array.of(2))
    ac.abort(new Error('gave up'))
    expect((await aborted as Error).message).toBe('gave up')
    await other
    // The aborted send's frame was already on the socket: it may arrive (a queued frame is not taken back).
    await expect.poll(() => atB.some(f => f.frame[0] === 2)).toBe(true)
  })
})
