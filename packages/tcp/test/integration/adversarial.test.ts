import type { CloseDetail, Conn } from '@egtp/interface'
import { describe, expect, test } from 'vitest'
import type { TcpCommstrat, TcpCommstratEvents } from '../../src/index.ts'
import { LOOPBACK, bytes, fakeClock, listening, make, nextEvent, rawClient, settle, socketClosed } from './helpers.ts'

const header = (length: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(length >>> 0)
  return b
}

type CloseEvent = TcpCommstratEvents['connection:close']

/** b listens (maxFrameBytes 1024) and a well-behaved a talks to it the whole time. */
async function setup (): Promise<{ b: TcpCommstrat, a: TcpCommstrat, endpoint: { kind: 'tcp', host: string, port: number }, count: () => number }> {
  const { strat: b, endpoint } = await listening({ maxFrameBytes: 1024 })
  let count = 0
  b.addEventListener('frame', () => { count++ })
  const a = make()
  await a.start()
  await a.send('b', endpoint, bytes(100))
  await expect.poll(() => count).toBe(1)
  return { b, a, endpoint, count: () => count }
}

async function stillServes (s: Awaited<ReturnType<typeof setup>>): Promise<void> {
  const before = s.count()
  await s.a.send('b', s.endpoint, bytes(1024))
  await expect.poll(() => s.count()).toBe(before + 1)
  expect(s.a.stats().connections).toBe(1)
}

describe('hostile input from a raw socket', () => {
  test('an oversized length prefix closes that connection with ERR_FRAME_TOO_LARGE; others keep working', async () => {
    const s = await setup()
    const closed = nextEvent<CloseEvent>(s.b, 'connection:close')
    const evil = await rawClient(s.endpoint)
    evil.write(header(1025))
    await socketClosed(evil)
    expect((await closed).error).toMatchObject({ code: 'ERR_FRAME_TOO_LARGE' })
    await stillServes(s)
  })

  test('a 4 GiB length is refused from the header alone, before any body is buffered', async () => {
    const s = await setup()
    const closed = nextEvent<CloseEvent>(s.b, 'connection:close')
    const evil = await rawClient(s.endpoint)
    evil.write(header(0xffff_ffff))
    await socketClosed(evil)
    expect((await closed).error).toMatchObject({ code: 'ERR_FRAME_TOO_LARGE' })
    expect(s.b.stats().connections).toBe(1)
    await stillServes(s)
  })

  test('garbage bytes close the connection; valid frames before them were delivered', async () => {
    const s = await setup()
    const closed = nextEvent<CloseEvent>(s.b, 'connection:close')
    const evil = await rawClient(s.endpoint)
    evil.write(Buffer.concat([header(3), Buffer.from([1, 2, 3])]))
    await expect.poll(() => s.count()).toBe(2)
    evil.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await socketClosed(evil)
    expect((await closed).error).toMatchObject({ code: 'ERR_FRAME_TOO_LARGE' }) // "GET " read as a length
    expect(s.count()).toBe(2)
    await stillServes(s)
  })

  test('random garbage from many raw sockets never crashes the listener', async () => {
    const s = await setup()
    for (let i = 0; i < 20; i++) {
      const evil = await rawClient(s.endpoint)
      const junk = Buffer.alloc(200 + i * 37)
      for (let j = 0; j < junk.length; j++) junk[j] = (j * 131 + i * 17 + 0x80) & 0xff
      evil.end(junk)
      await socketClosed(evil)
    }
    await expect.poll(() => s.b.stats().connections).toBe(1)
    await stillServes(s)
  })

  test('a connection that ends inside a frame is closed with ERR_MALFORMED and the partial frame dropped', async () => {
    const s = await setup()
    const closed = nextEvent<CloseEvent>(s.b, 'connection:close')
    const evil = await rawClient(s.endpoint)
    evil.end(Buffer.concat([header(100), Buffer.alloc(50)]))
    expect((await closed).error).toMatchObject({ code: 'ERR_MALFORMED' })
    expect(s.count()).toBe(1)
    await stillServes(s)
  })

  test('a connection that ends right after a length prefix is closed with ERR_MALFORMED', async () => {
    const s = await setup()
    const closed = nextEvent<CloseEvent>(s.b, 'connection:close')
    const evil = await rawClient(s.endpoint)
    evil.end(header(10))
    expect((await closed).error).toMatchObject({ code: 'ERR_MALFORMED' })
    await stillServes(s)
  })

  test('a clean end after whole frames is a normal close', async () => {
    const s = await setup()
    const closed = nextEvent<CloseEvent>(s.b, 'connection:close')
    const evil = await rawClient(s.endpoint)
    evil.end(Buffer.concat([header(2), Buffer.from([1, 2]), header(0)]))
    expect((await closed).error).toBeUndefined()
    expect(s.count()).toBe(3)
  })

  test('a slow-loris partial frame does not hold a connection past the idle timeout', async () => {
    const clock = fakeClock()
    const { strat: b, endpoint } = await listening({ idleTimeoutMs: 40 }, { clock })
    const evil = await rawClient(endpoint)
    evil.write(header(1000))
    evil.write(Buffer.alloc(10))
    await expect.poll(() => b.stats().bytesIn).toBe(14)
    await settle(40)
    expect(evil.closed).toBe(false)
    clock.advance(40)
    await socketClosed(evil)
    expect(b.stats()).toMatchObject({ connections: 0, idleClosed: 1 })
  })

  test('on a transport listener the Conn closes with the coded reason, local', async () => {
    const strat = make({ maxFrameBytes: 16 })
    const listener = await strat.listen(LOOPBACK)
    const accepted = nextEvent<Conn>(listener, 'connection')
    const evil = await rawClient(listener.address())
    const conn = await accepted
    const closed = nextEvent<CloseDetail>(conn, 'close')
    evil.write(header(17))
    const detail = await closed
    expect(detail.local).toBe(true)
    expect(detail.error).toMatchObject({ name: 'EgtpError', code: 'ERR_FRAME_TOO_LARGE' })
    await expect(conn.send(Uint8Array.of(1))).rejects.toMatchObject({ code: 'ERR_CLOSED' })
  })
})
