import { isEgtpError } from '@egtp/interface'
import type { CloseDetail, Conn, TcpEndpoint } from '@egtp/interface'
import { describe, expect, onTestFinished, test } from 'vitest'
import { memoryNetwork } from '../src/index.ts'
import type { MemoryConn, MemoryListener, MemoryNetwork, MemoryNetworkInit, MemoryTransport } from '../src/index.ts'

const LOOPBACK: TcpEndpoint = { kind: 'tcp', host: '127.0.0.1', port: 0 }

const messagesOf = (conn: Conn): Uint8Array[] => {
  const got: Uint8Array[] = []
  conn.addEventListener('message', ({ detail }) => { got.push(detail) })
  return got
}

const errorOf = async (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e)

function transports (net: MemoryNetwork, n: number): MemoryTransport[] {
  const all = Array.from({ length: n }, () => net.transport())
  onTestFinished(async () => { await Promise.all(all.map(t => t.close())) })
  return all
}

/** `server` listens and echoes; `client` dials it. */
async function echoPair (init: MemoryNetworkInit = {}): Promise<{ net: MemoryNetwork, client: MemoryTransport, server: MemoryTransport, listener: MemoryListener, conn: MemoryConn }> {
  const net = memoryNetwork(init)
  const [client, server] = transports(net, 2) as [MemoryTransport, MemoryTransport]
  const listener = await server.listen(LOOPBACK)
  listener.addEventListener('connection', ({ detail }) => {
    detail.addEventListener('message', ({ detail: frame }) => { void detail.send(frame).catch(() => {}) })
  })
  const conn = await client.dial(listener.address())
  return { net, client, server, listener, conn }
}

describe('memory transport: addresses', () => {
  test('listens under loopback and wildcard names but reports the network host; dials reach it by any of them', async () => {
    const net = memoryNetwork()
    const [server, client] = transports(net, 2) as [MemoryTransport, MemoryTransport]
    const listener = await server.listen(LOOPBACK)
    expect(listener.address()).toEqual({ kind: 'tcp', host: net.host, port: expect.any(Number) as number })
    const port = listener.address().port
    for (const host of [net.host, '127.0.0.1', 'localhost', '::1', '0.0.0.0']) {
      const conn = await client.dial({ kind: 'tcp', host, port })
      expect(conn.remoteAddress).toBe(`${net.host}:${port}`)
      await conn.close()
    }
    const wild = await server.listen({ kind: 'tcp', host: '0.0.0.0', port: 0 })
    expect(wild.address().host).toBe(net.host)
  })

  test('another host is unreachable and cannot be listened on; bad endpoints are programmer mistakes', async () => {
    const net = memoryNetwork()
    const other = memoryNetwork()
    const [t] = transports(net, 1) as [MemoryTransport]
    const theirs = await transports(other, 1)[0]!.listen(LOOPBACK)
    expect(isEgtpError(await errorOf(t.dial(theirs.address())), 'ERR_UNREACHABLE')).toBe(true)
    expect(isEgtpError(await errorOf(t.dial({ kind: 'tcp', host: '10.1.2.3', port: 80 })), 'ERR_UNREACHABLE')).toBe(true)
    expect(isEgtpError(await errorOf(t.listen({ kind: 'tcp', host: '10.1.2.3', port: 0 })), 'ERR_LISTEN')).toBe(true)
    await expect(t.dial({ kind: 'tcp', host: '', port: 1 })).rejects.toThrow(TypeError)
    await expect(t.dial({ kind: 'tcp', host: net.host, port: 0 })).rejects.toThrow(RangeError)
    await expect(t.listen({ kind: 'tcp', host: net.host, port: 70_000 })).rejects.toThrow(RangeError)
  })

  test('ports are shared with commstrats: theirs are taken, and each side reaches the other', async () => {
    const net = memoryNetwork()
    const strat = net.commstrat()
    const idle = net.commstrat() // never started: its port is still its own
    const [t] = transports(net, 1) as [MemoryTransport]
    await strat.start()
    onTestFinished(() => strat.stop())
    expect(isEgtpError(await errorOf(t.listen(strat.endpoint)), 'ERR_ADDRESS_IN_USE')).toBe(true)
    expect(isEgtpError(await errorOf(t.listen(idle.endpoint)), 'ERR_ADDRESS_IN_USE')).toBe(true)
    const listener = await t.listen(LOOPBACK)
    expect([strat.port, idle.port]).not.toContain(listener.address().port)
    expect(net.commstrat().port).not.toBe(listener.address().port)

    // a transport dials a commstrat: frames arrive as frame events and replies come back on the connection
    strat.addEventListener('frame', ({ detail }) => { void detail.path.reply(Uint8Array.of(...detail.frame, 9)) })
    const conn = await t.dial(strat.endpoint)
    const atT = messagesOf(conn)
    await conn.send(Uint8Array.of(1))
    await expect.poll(() => atT).toEqual([Uint8Array.of(1, 9)])

    // a commstrat sends to a transport's listener: it arrives on an accepted connection
    const accepted: Conn[] = []
    const got: Uint8Array[] = []
    listener.addEventListener('connection', ({ detail }) => {
      accepted.push(detail)
      detail.addEventListener('message', ({ detail: frame }) => { got.push(frame) })
    })
    await strat.send('t', listener.address(), Uint8Array.of(7))
    await expect.poll(() => got).toEqual([Uint8Array.of(7)])
    expect(accepted[0]!.remoteAddress).toBe(`${net.host}:${strat.port}`)
  })
})

describe('memory transport: link conditions', () => {
  test('a partition fails new dials at once; open connections stay open and hold their frames, in order, until it heals', async () => {
    const { net, client, server, listener, conn } = await echoPair({ retransmitMs: 20 })
    const echoed = messagesOf(conn)
    await conn.send(Uint8Array.of(1))
    await expect.poll(() => echoed.length).toBe(1)
    net.partition([client], [server])
    expect(net.reachable(client, server)).toBe(false)
    expect(net.reachable(client, listener.address().port)).toBe(false)
    const err = await errorOf(client.dial(listener.address(), { connectTimeoutMs: 3_600_000 }))
    expect(isEgtpError(err, 'ERR_UNREACHABLE')).toBe(true)
    await conn.send(Uint8Array.of(2))
    await conn.send(Uint8Array.of(3))
    await expect.poll(() => net.stats().held).toBeGreaterThanOrEqual(2) // tried, held, tried again
    expect(echoed).toHaveLength(1)
    expect(conn.closed).toBe(false)
    expect(conn.queuedBytes).toBe(2)
    net.heal()
    await net.settled()
    expect(echoed).toEqual([Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)])
    expect(net.stats()).toMatchObject({ cut: 0, lost: 0, inFlight: 0 })
    await client.dial(listener.address())
  })

  test('a reset across a partition reaches the other end only once it heals, as over TCP', async () => {
    const { net, client, server, conn } = await echoPair({ retransmitMs: 10 })
    expect(server.stats().inbound).toBe(1)
    net.partition([client])
    conn.abort(new Error('gave up'))
    expect(conn.closed).toBe(true)
    await new Promise(resolve => setTimeout(resolve, 50)) // several retransmissions
    expect(server.stats().inbound).toBe(1) // half-open: nothing told it
    net.heal()
    await expect.poll(() => server.stats().inbound).toBe(0)
  })

  test('a partition between two transports leaves a third one through', async () => {
    const net = memoryNetwork()
    const [a, b, c] = transports(net, 3) as [MemoryTransport, MemoryTransport, MemoryTransport]
    const listener = await b.listen(LOOPBACK)
    net.partition([a], [b])
    expect(isEgtpError(await errorOf(a.dial(listener.address())), 'ERR_UNREACHABLE')).toBe(true)
    await c.dial(listener.address())
    expect(b.stats().inbound).toBe(1)
  })

  test('a dial takes the round trip: past connectTimeoutMs it fails with ERR_UNREACHABLE, and a closing transport fails it with ERR_CLOSED', async () => {
    const net = memoryNetwork()
    const [a, b] = transports(net, 2) as [MemoryTransport, MemoryTransport]
    const listener = await b.listen(LOOPBACK)
    net.setLink(a, b, { latencyMs: 200 })
    const err = await errorOf(a.dial(listener.address(), { connectTimeoutMs: 20 }))
    expect(isEgtpError(err, 'ERR_UNREACHABLE')).toBe(true)
    expect((err as Error).message).toMatch(/no answer within 20 ms/)
    expect(a.stats()).toMatchObject({ dialing: 0, connections: 0 })
    const pending = a.dial(listener.address())
    expect(a.stats().dialing).toBe(1)
    await a.close()
    expect(isEgtpError(await errorOf(pending), 'ERR_CLOSED')).toBe(true)
    net.clearLink(a, b)
    const slowInit = net.transport({ connectTimeoutMs: 10 })
    onTestFinished(() => slowInit.close())
    net.setLink(slowInit, b, { latencyMs: 50 })
    expect(isEgtpError(await errorOf(slowInit.dial(listener.address())), 'ERR_UNREACHABLE')).toBe(true)
    await slowInit.dial(listener.address(), { connectTimeoutMs: 1_000 })
  })

  test('loss on a stream costs retransmissions, never a frame or the order; the same seed gives the same delays', async () => {
    const run = async (): Promise<{ echoed: number[], retransmitted: number }> => {
      const { net, conn } = await echoPair({ loss: 0.3, seed: 11, retransmitMs: 5, jitterMs: 3 })
      const echoed = messagesOf(conn)
      for (let i = 0; i < 100; i++) await conn.send(Uint8Array.of(i))
      await net.settled()
      return { echoed: echoed.map(f => f[0]!), retransmitted: net.stats().retransmitted }
    }
    const first = await run()
    expect(first.echoed).toEqual(Array.from({ length: 100 }, (_, i) => i))
    expect(first.retransmitted).toBeGreaterThan(20) // about 0.43 per frame (0.3 / 0.7), both ways
    expect(first.retransmitted).toBeLessThan(150)
    expect(await run()).toEqual(first)
  })
})

describe('memory transport: limits and lifecycle', () => {
  test('maxConnections: a dial past it fails with ERR_LIMIT, an inbound connection past it is reset', async () => {
    const net = memoryNetwork()
    const small = net.transport({ maxConnections: 1 })
    const [other] = transports(net, 1) as [MemoryTransport]
    onTestFinished(() => small.close())
    const mine = await small.listen(LOOPBACK)
    const theirs = await other.listen(LOOPBACK)
    await small.dial(theirs.address())
    expect(isEgtpError(await errorOf(small.dial(theirs.address())), 'ERR_LIMIT')).toBe(true)
    const refused = await other.dial(mine.address())
    const closed = await new Promise<CloseDetail>(resolve => { refused.addEventListener('close', ({ detail }) => { resolve(detail) }) })
    expect(closed.local).toBe(false)
    expect(isEgtpError(closed.error, 'ERR_CLOSED')).toBe(true)
    expect(() => net.transport({ maxConnections: 0 })).toThrow(RangeError)
  })

  test('close() closes every listener and connection, then dial and listen fail with ERR_CLOSED; idempotent', async () => {
    const { client, server, listener, conn } = await echoPair()
    const listenerClosed = new Promise<CloseDetail>(resolve => { listener.addEventListener('close', ({ detail }) => { resolve(detail) }) })
    const connClosed = new Promise<CloseDetail>(resolve => { conn.addEventListener('close', ({ detail }) => { resolve(detail) }) })
    expect(server.stats()).toMatchObject({ connections: 1, inbound: 1, listeners: 1 })
    await Promise.all([server.close(), server.close()])
    expect(await listenerClosed).toEqual({ local: true })
    expect(await connClosed).toEqual({ local: false })
    expect(server.stats()).toMatchObject({ connections: 0, listeners: 0 })
    expect(isEgtpError(await errorOf(server.dial(listener.address())), 'ERR_CLOSED')).toBe(true)
    expect(isEgtpError(await errorOf(server.listen(LOOPBACK)), 'ERR_CLOSED')).toBe(true)
    expect(isEgtpError(await errorOf(client.dial(listener.address())), 'ERR_UNREACHABLE')).toBe(true)
  })
})
