// Attack 2 of the hardening issue: inbound connections that never authenticate held per-address slots until the
// 5-minute idle timeout. Now a connection of start()'s listeners must be marked authenticated by its consumer
// (ReturnPath.authenticated) within authTimeoutMs, garbage the consumer rejects closes it at once, and a new
// connection from a full address replaces the oldest unauthenticated one from that address.
import { createComponentLogger } from '@egtp/interface'
import type { InboundFrame } from '@egtp/interface'
import type { Socket } from 'node:net'
import { describe, expect, test } from 'vitest'
import type { TcpCommstrat, TcpCommstratEvents } from '../../src/index.ts'
import { DEFAULT_AUTH_TIMEOUT_MS } from '../../src/defaults.ts'
import { bytes, listening, make, nextEvent, rawClient, settle, socketClosed } from './helpers.ts'

type CloseEvent = TcpCommstratEvents['connection:close']

const framed = (body: Uint8Array): Buffer => {
  const out = Buffer.alloc(4 + body.byteLength)
  out.writeUInt32BE(body.byteLength)
  out.set(body, 4)
  return out
}

/** A consumer like the node: frames starting with 0xAA authenticate their path, frames starting with 0xEE are garbage. */
function consumer (strat: TcpCommstrat): InboundFrame[] {
  const seen: InboundFrame[] = []
  strat.addEventListener('frame', ({ detail }) => {
    seen.push(detail)
    if (detail.frame[0] === 0xaa) detail.path.authenticated?.()
    else if (detail.frame[0] === 0xee) detail.path.reject?.(new Error('ERR_MALFORMED: not a protocol frame'))
  })
  return seen
}

async function connected (strat: TcpCommstrat, n: number): Promise<void> {
  await expect.poll(() => strat.stats().inbound).toBe(n)
}

describe('unauthenticated inbound connections', () => {
  test('the default is a few seconds, not the idle timeout', () => {
    expect(DEFAULT_AUTH_TIMEOUT_MS).toBeLessThanOrEqual(10_000)
    expect(() => make({ authTimeoutMs: -1 })).toThrow(RangeError)
  })

  test('silence, one byte, an empty frame and well-framed unknown frames are closed with ERR_TIMEOUT after authTimeoutMs', async () => {
    const { strat, endpoint } = await listening({ authTimeoutMs: 150 })
    consumer(strat)
    const closes: CloseEvent[] = []
    strat.addEventListener('connection:close', ({ detail }) => { closes.push(detail) })
    const sockets: Socket[] = []
    for (const payload of [undefined, Buffer.of(0), framed(new Uint8Array(0)), framed(bytes(40, 0x55))]) {
      const s = await rawClient(endpoint)
      if (payload !== undefined) s.write(payload)
      sockets.push(s)
    }
    await Promise.all(sockets.map(socketClosed))
    await expect.poll(() => closes.length).toBe(4)
    expect(closes.every(c => c.error?.message.startsWith('ERR_TIMEOUT') === true)).toBe(true)
    expect(strat.stats()).toMatchObject({ authTimeouts: 4, connections: 0 })
  })

  test('connections accepted at different times each get their whole authTimeoutMs (one timer serves them all)', async () => {
    const T = 400
    const { strat, endpoint } = await listening({ authTimeoutMs: T })
    consumer(strat)
    const closedAt = new Map<Socket, number>()
    const open = async (): Promise<{ socket: Socket, at: number }> => {
      const at = performance.now() // before the server accepts it: its deadline is later than at + T
      const socket = await rawClient(endpoint)
      void socketClosed(socket).then(() => { closedAt.set(socket, performance.now()) })
      return { socket, at }
    }
    const first = await open()
    await settle(T / 2)
    const second = await open()
    const authenticated = await open()
    authenticated.socket.write(framed(bytes(8, 0xaa)))
    await expect.poll(() => closedAt.has(first.socket), { timeout: 5000 }).toBe(true)
    // The first one's deadline passed; the second one's had not: it is still open.
    expect(closedAt.get(first.socket)! - first.at).toBeGreaterThanOrEqual(T - 2)
    expect(closedAt.has(second.socket)).toBe(false)
    await expect.poll(() => closedAt.has(second.socket), { timeout: 5000 }).toBe(true)
    expect(closedAt.get(second.socket)! - second.at).toBeGreaterThanOrEqual(T - 2)
    expect(closedAt.has(authenticated.socket)).toBe(false)
    expect(strat.stats()).toMatchObject({ authTimeouts: 2, connections: 1 })
  })

  test('a connection whose consumer marked it authenticated stays open past authTimeoutMs', async () => {
    // 500 ms: the honest connection's frame must arrive well within it even on a loaded machine.
    const { strat, endpoint } = await listening({ authTimeoutMs: 500 })
    const seen = consumer(strat)
    const good = await rawClient(endpoint)
    good.write(framed(bytes(8, 0xaa)))
    await expect.poll(() => seen.length).toBe(1)
    const idler = await rawClient(endpoint)
    await socketClosed(idler)
    await settle(1000) // well past the deadline: show that the authenticated one is NOT closed
    expect(good.closed).toBe(false)
    expect(strat.stats()).toMatchObject({ authTimeouts: 1, connections: 1 })
    // It still carries frames both ways.
    good.write(framed(bytes(8, 0x01)))
    await expect.poll(() => seen.length).toBe(2)
    await seen[1]!.path.reply(bytes(3))
  })

  test('outbound connections and transport (unmanaged) listeners are never subject to the deadline', async () => {
    const { strat: server, endpoint } = await listening({ authTimeoutMs: 50 })
    consumer(server)
    const dialer = make({ authTimeoutMs: 50 })
    await dialer.start()
    await dialer.send('x', endpoint, bytes(8, 0xaa)) // authenticates it on the server's side
    const transport = make({ authTimeoutMs: 50 })
    const listener = await transport.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 })
    const accepted = nextEvent(listener, 'connection')
    const raw = await rawClient(listener.address())
    await accepted
    await settle(150)
    expect(raw.closed).toBe(false)
    expect(dialer.stats()).toMatchObject({ outbound: 1, authTimeouts: 0 })
    expect(transport.stats().authTimeouts).toBe(0)
  })

  test('a frame the consumer rejects closes its connection at once, with the consumer\'s reason', async () => {
    const { strat, endpoint } = await listening({ authTimeoutMs: 60_000 })
    const seen = consumer(strat)
    const closed = nextEvent<CloseEvent>(strat, 'connection:close')
    const evil = await rawClient(endpoint)
    // Garbage, then a frame that would authenticate: the second must never be delivered.
    evil.write(Buffer.concat([framed(bytes(10, 0xee)), framed(bytes(10, 0xaa))]))
    await socketClosed(evil)
    expect((await closed).error?.message).toMatch(/^ERR_MALFORMED/)
    expect(seen).toHaveLength(1)
    expect(strat.stats()).toMatchObject({ rejectedGarbage: 1, connections: 0, authTimeouts: 0 })
  })

  test('a full address: a new connection replaces the oldest unauthenticated one; when all are authenticated it is refused', async () => {
    const { strat, endpoint } = await listening({ authTimeoutMs: 60_000, maxInboundPerAddress: 4 })
    const seen = consumer(strat)
    const idle = await Promise.all(Array.from({ length: 4 }, async () => await rawClient(endpoint)))
    await connected(strat, 4)
    const fresh = await rawClient(endpoint)
    fresh.write(framed(bytes(8, 0xaa)))
    await socketClosed(idle[0]!) // the oldest went
    await expect.poll(() => strat.stats().evictedUnauthenticated).toBe(1)
    expect(fresh.closed).toBe(false)
    // Authenticate the rest: now nothing may be evicted and the next one is refused outright.
    for (const s of idle.slice(1)) s.write(framed(bytes(8, 0xaa)))
    await expect.poll(() => seen.length).toBe(4) // the fresh one's frame and these three
    const refused = nextEvent<TcpCommstratEvents['connection:reject']>(strat, 'connection:reject')
    const extra = await rawClient(endpoint)
    await socketClosed(extra)
    expect((await refused).reason).toBe('maxInboundPerAddress')
    expect(strat.stats()).toMatchObject({ evictedUnauthenticated: 1, rejectedByReason: { maxInboundPerAddress: 1 }, inbound: 4 })
  })

  test('maxConnections: unauthenticated connections make room for new ones', async () => {
    const { strat, endpoint } = await listening({ authTimeoutMs: 60_000, maxConnections: 3 })
    consumer(strat)
    const idle = await Promise.all(Array.from({ length: 3 }, async () => await rawClient(endpoint)))
    await connected(strat, 3)
    const fresh = await rawClient(endpoint)
    await socketClosed(idle[0]!)
    await expect.poll(() => strat.stats().evictedUnauthenticated).toBe(1)
    expect(fresh.closed).toBe(false)
    expect(strat.stats().connections).toBe(3)
  })

  test('64 silent sockets (the default per-address cap) no longer lock out a real client from the same address', async () => {
    const { strat, endpoint } = await listening()
    const seen = consumer(strat)
    const idle = await Promise.all(Array.from({ length: 64 }, async () => await rawClient(endpoint)))
    await connected(strat, 64)
    const real = await rawClient(endpoint)
    real.write(framed(bytes(8, 0xaa)))
    await expect.poll(() => seen.length).toBe(1)
    expect(real.closed).toBe(false)
    expect(idle.filter(s => !s.closed).length).toBeLessThanOrEqual(63)
    expect(strat.stats().rejectedByReason.maxInboundPerAddress).toBe(0)
  })

  test('violations are counted and warned about once per source and kind', async () => {
    const lines: Array<{ level: string, message: string }> = []
    const logger = createComponentLogger('-egtp:*', line => { lines.push(line) })
    const { strat, endpoint } = await listening({ authTimeoutMs: 60_000, maxFrameBytes: 64 }, { logger })
    consumer(strat)
    for (let i = 0; i < 10; i++) {
      const evil = await rawClient(endpoint)
      evil.write(i % 2 === 0 ? framed(bytes(4, 0xee)) : Buffer.of(0, 0, 1, 0)) // garbage, or a 256-byte length
      await socketClosed(evil)
    }
    await expect.poll(() => strat.stats().rejectedGarbage + strat.stats().framingViolations).toBe(10)
    expect(strat.stats()).toMatchObject({ rejectedGarbage: 5, framingViolations: 5 })
    const warns = lines.filter(l => l.level === 'warn')
    expect(warns).toHaveLength(2)
    expect(warns.map(w => w.message).join('\n')).toMatch(/127\.0\.0\.1/)
  })
})
