import { isEgtpError } from '@egtp/interface'
import type { CloseDetail, Conn } from '@egtp/interface'
import { transportCompliance } from '@egtp/testing/compliance'
import { describe, expect, test } from 'vitest'
import { tcp } from '../../src/index.ts'
import { LOOPBACK, bytes, collect, make, nextEvent, rawServer } from './helpers.ts'

// What every Transport must do (abort, reset, ...); the tests below add what is tcp's own.
transportCompliance('tcp', async () => {
  const transport = tcp({ maxFrameBytes: 200_000 })()
  return { transport, listenAt: LOOPBACK, maxFrameBytes: 200_000, teardown: () => transport.stop() }
})

const echo = (conn: Conn): void => {
  conn.addEventListener('message', ({ detail }) => { void conn.send(detail).catch(() => {}) })
}

describe('transport: dial and listen', () => {
  test('echoes frames over loopback and reports the bound port', async () => {
    const strat = make()
    const listener = await strat.listen(LOOPBACK)
    const address = listener.address()
    expect(address.port).toBeGreaterThan(0)
    expect(address.host).toBe('127.0.0.1')
    listener.addEventListener('connection', ({ detail }) => { echo(detail) })
    const conn = await strat.dial(address)
    expect(conn.direction).toBe('outbound')
    const got = collect(conn)
    const sent = [Uint8Array.of(1, 2, 3), new Uint8Array(0), bytes(70_000, 9)]
    for (const f of sent) await conn.send(f)
    await expect.poll(() => got.length).toBe(3)
    expect(got).toEqual(sent)
    await conn.close()
    expect(conn.closed).toBe(true)
  })

  test('both directions work on one connection', async () => {
    const strat = make()
    const listener = await strat.listen(LOOPBACK)
    const accepted = nextEvent<Conn>(listener, 'connection')
    const client = await strat.dial(listener.address())
    const server = await accepted
    expect(server.direction).toBe('inbound')
    const atServer = collect(server)
    const atClient = collect(client)
    await client.send(Uint8Array.of(1))
    await server.send(Uint8Array.of(2))
    await client.send(Uint8Array.of(3))
    await server.send(Uint8Array.of(4))
    await expect.poll(() => atServer.length + atClient.length).toBe(4)
    expect(atServer).toEqual([Uint8Array.of(1), Uint8Array.of(3)])
    expect(atClient).toEqual([Uint8Array.of(2), Uint8Array.of(4)])
    expect(strat.stats().connections).toBe(2)
  })

  test('many small frames sent in one tick arrive whole and in order', async () => {
    const strat = make()
    const listener = await strat.listen(LOOPBACK)
    const accepted = nextEvent<Conn>(listener, 'connection')
    const client = await strat.dial(listener.address())
    const got = collect(await accepted)
    const sends: Array<Promise<void>> = []
    for (let i = 0; i < 5_000; i++) sends.push(client.send(Uint8Array.of(i & 0xff, i >> 8)))
    await Promise.all(sends)
    await expect.poll(() => got.length).toBe(5_000)
    expect(got.every((f, i) => f[0] === (i & 0xff) && f[1] === i >> 8)).toBe(true)
  })

  test('a frame sent with flushNow is written at once, with what was queued before it; without, at the tick\'s end', async () => {
    const strat = make()
    const listener = await strat.listen(LOOPBACK)
    listener.addEventListener('connection', ({ detail }) => { echo(detail) })
    const conn = await strat.dial(listener.address())
    const got = collect(conn)
    void conn.send(Uint8Array.of(1))
    expect(conn.queuedBytes).toBeGreaterThan(0) // waits for the tick's end
    void conn.send(Uint8Array.of(2), { flushNow: true })
    expect(conn.queuedBytes).toBe(0) // both written (the socket took them: nothing left in its buffer either)
    void conn.send(Uint8Array.of(3))
    expect(conn.queuedBytes).toBeGreaterThan(0)
    await expect.poll(() => got.length).toBe(3)
    expect(got).toEqual([Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)])
    await conn.close()
    await listener.close()
  })

  test('a second listener on a taken port fails with ERR_ADDRESS_IN_USE', async () => {
    const strat = make()
    const first = await strat.listen(LOOPBACK)
    const err = await strat.listen(first.address()).catch((e: unknown) => e)
    expect(isEgtpError(err, 'ERR_ADDRESS_IN_USE')).toBe(true)
    expect((err as Error).cause).toMatchObject({ code: 'EADDRINUSE' })
  })

  test('start() fails with ERR_ADDRESS_IN_USE and binds nothing when one listen address is taken', async () => {
    const taken = await rawServer()
    const strat = make({ listen: [LOOPBACK, taken.endpoint] })
    await expect(strat.start()).rejects.toMatchObject({ code: 'ERR_ADDRESS_IN_USE' })
    expect(strat.localEndpoints()).toEqual([])
  })

  test('dialing a closed port fails with ERR_UNREACHABLE at once, not after the connect timeout', async () => {
    const strat = make()
    const listener = await strat.listen(LOOPBACK)
    const dead = listener.address()
    await listener.close()
    // connectTimeoutMs is longer than the test timeout: only a fast failure can pass.
    const err = await strat.dial(dead, { connectTimeoutMs: 3_600_000 }).catch((e: unknown) => e)
    expect(isEgtpError(err, 'ERR_UNREACHABLE')).toBe(true)
    expect((err as Error).cause).toMatchObject({ code: 'ECONNREFUSED' })
    expect(strat.stats().dialing).toBe(0)
  })

  test('a frame sent as pieces arrives as one frame, large or small, in order with whole frames', async () => {
    const strat = make()
    const listener = await strat.listen(LOOPBACK)
    const accepted = nextEvent<Conn>(listener, 'connection')
    const client = await strat.dial(listener.address())
    const got = collect(await accepted)
    const big = bytes(70_000, 3)
    const frames = [
      [Uint8Array.of(1, 2), big.subarray(0, 30_000), new Uint8Array(0), big.subarray(30_000)], // large: header + pieces
      [Uint8Array.of(7), Uint8Array.of(8, 9)], // small: copied into the batch
      Uint8Array.of(5),
      [big]
    ]
    await Promise.all(frames.map(f => client.send(f)))
    await expect.poll(() => got.length).toBe(4)
    expect(got[0]).toEqual(new Uint8Array(Buffer.concat([Uint8Array.of(1, 2), big])))
    expect(got.slice(1)).toEqual([Uint8Array.of(7, 8, 9), Uint8Array.of(5), big])
    await expect(client.send([Uint8Array.of(1), 'x' as unknown as Uint8Array])).rejects.toThrow(TypeError)
  })

  test('a frame above maxFrameBytes is refused by send with ERR_FRAME_TOO_LARGE', async () => {
    const strat = make({ maxFrameBytes: 1024 })
    const listener = await strat.listen(LOOPBACK)
    const conn = await strat.dial(listener.address())
    await expect(conn.send(bytes(1025))).rejects.toMatchObject({ code: 'ERR_FRAME_TOO_LARGE' })
    await expect(conn.send([bytes(1000), bytes(25)])).rejects.toMatchObject({ code: 'ERR_FRAME_TOO_LARGE' })
    await conn.send(bytes(1024))
    expect(conn.closed).toBe(false)
  })

  test('closing one end dispatches close on both; sends then fail with ERR_CLOSED; close is idempotent', async () => {
    const strat = make()
    const listener = await strat.listen(LOOPBACK)
    const accepted = nextEvent<Conn>(listener, 'connection')
    const client = await strat.dial(listener.address())
    const server = await accepted
    const serverClosed = nextEvent<CloseDetail>(server, 'close')
    const clientClosed = nextEvent<CloseDetail>(client, 'close')
    await Promise.all([client.close(), client.close()])
    expect(await clientClosed).toEqual({ local: true })
    expect(await serverClosed).toEqual({ local: false })
    await expect(client.send(Uint8Array.of(1))).rejects.toMatchObject({ code: 'ERR_CLOSED' })
    await expect(server.send(Uint8Array.of(1))).rejects.toMatchObject({ code: 'ERR_CLOSED' })
    client.abort(new Error('late'))
    expect(strat.stats().connections).toBe(0)
  })

  test('closing a listener closes the connections it accepted and frees the port', async () => {
    const strat = make()
    const listener = await strat.listen(LOOPBACK)
    const accepted = nextEvent<Conn>(listener, 'connection')
    const client = await strat.dial(listener.address())
    await accepted
    const clientClosed = nextEvent<CloseDetail>(client, 'close')
    const listenerClosed = nextEvent<CloseDetail>(listener, 'close')
    await listener.close()
    await clientClosed
    expect(await listenerClosed).toEqual({ local: true })
    const again = await strat.listen(listener.address())
    expect(again.address().port).toBe(listener.address().port)
  })

  test('stop() closes transport listeners and connections too, then refuses to dial', async () => {
    const strat = make()
    const listener = await strat.listen(LOOPBACK)
    const client = await strat.dial(listener.address())
    const closed = nextEvent<CloseDetail>(client, 'close')
    await strat.stop()
    await closed
    expect(listener.closed).toBe(true)
    expect(strat.stats().connections).toBe(0)
    await expect(strat.dial(listener.address())).rejects.toMatchObject({ code: 'ERR_CLOSED' })
  })

  test('stop() fails a dial in flight with ERR_CLOSED, and a later start() dials again', async () => {
    const server = make()
    const listener = await server.listen(LOOPBACK)
    const strat = make()
    const dialing = strat.dial(listener.address()) // the socket connects in a later tick: still in flight below
    await strat.stop()
    await expect(dialing).rejects.toMatchObject({ code: 'ERR_CLOSED' })
    expect(strat.stats()).toMatchObject({ dialing: 0, connections: 0 })
    await strat.start()
    const conn = await strat.dial(listener.address())
    expect(conn.closed).toBe(false)
    await strat.stop()
    await server.stop()
  })
})
