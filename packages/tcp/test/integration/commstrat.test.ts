import { isEgtpError } from '@egtp/interface'
import type { Endpoint, InboundFrame, TcpEndpoint } from '@egtp/interface'
import { commstratCompliance } from '@egtp/testing/compliance'
import { describe, expect, test } from 'vitest'
import { tcp } from '../../src/index.ts'
import type { TcpCommstrat, TcpCommstratEvents } from '../../src/index.ts'
import { LOOPBACK, fakeClock, listening, make, nextEvent, rawClient, settle, socketClosed } from './helpers.ts'

commstratCompliance('tcp', async () => {
  const a = tcp()()
  const b = tcp({ listen: [LOOPBACK] })()
  const dead = tcp({ listen: [LOOPBACK] })()
  await Promise.all([a.start(), b.start(), dead.start()])
  const deadEndpoint = dead.localEndpoints()[0]!
  await dead.stop()
  return {
    a,
    b,
    endpointOfB: b.localEndpoints()[0]!,
    deadEndpoint,
    foreignEndpoint: { kind: 'relay', relay: 'x', host: '127.0.0.1', port: 1 },
    teardown: async () => { await Promise.all([a.stop(), b.stop()]) }
  }
})

const framesOf = (strat: TcpCommstrat): InboundFrame[] => {
  const got: InboundFrame[] = []
  strat.addEventListener('frame', ({ detail }) => { got.push(detail) })
  return got
}

async function client (init: Parameters<typeof tcp>[0] = {}, clock = fakeClock()): Promise<TcpCommstrat> {
  const strat = make(init, { clock })
  await strat.start()
  return strat
}

describe('tcp commstrat: connection manager', () => {
  test('sends to one endpoint share one connection, and concurrent first sends share one dial', async () => {
    const { strat: b, endpoint } = await listening()
    const atB = framesOf(b)
    const a = await client()
    await Promise.all(Array.from({ length: 20 }, async (_, i) => { await a.send('b', endpoint, Uint8Array.of(i)) }))
    for (let i = 20; i < 30; i++) await a.send('b', endpoint, Uint8Array.of(i))
    await expect.poll(() => atB.length).toBe(30)
    expect(a.stats()).toMatchObject({ connections: 1, outbound: 1, managed: 1 })
    expect(b.stats()).toMatchObject({ connections: 1, inbound: 1 })
  })

  test('disconnect(peerId, endpoint) and ReturnPath.close() close the connection, gracefully; a later send dials again', async () => {
    const { strat: b, endpoint } = await listening()
    const atB = framesOf(b)
    const a = await client()
    await a.send('b', endpoint, Uint8Array.of(1))
    await expect.poll(() => atB.length).toBe(1)
    expect(a.stats().connections).toBe(1)
    await a.disconnect('b', endpoint)
    await expect.poll(() => a.stats().connections + b.stats().connections).toBe(0)
    await a.disconnect('b', endpoint) // none open: nothing to do
    await a.disconnect('b', { kind: 'relay', relay: 'x', host: '127.0.0.1', port: 1 }) // not ours: nothing to do
    await a.send('b', endpoint, Uint8Array.of(2))
    await expect.poll(() => atB.length).toBe(2)
    expect(atB[1]!.frame[0]).toBe(2)
    // The receiving side closes the connection a frame came on through its path.
    await atB[1]!.path.close!()
    expect(atB[1]!.path.usable()).toBe(false)
    await expect.poll(() => a.stats().connections + b.stats().connections).toBe(0)
  })

  test('a path whose connection closed lets go of it and answers as closed: not usable, replies fail with ERR_CLOSED', async () => {
    const { strat: b, endpoint } = await listening()
    const atB = framesOf(b)
    const a = await client()
    await a.send('b', endpoint, Uint8Array.of(1))
    await expect.poll(() => atB.length).toBe(1)
    const path = atB[0]!.path
    const description = path.description
    const source = path.source
    await a.disconnect('b', endpoint)
    await expect.poll(() => b.stats().connections).toBe(0)
    await settle(20) // the close event, after which the pool releases the connection
    expect(path.usable()).toBe(false)
    expect(path.description).toBe(description)
    expect(path.source).toBe(source)
    const err: unknown = await path.reply(Uint8Array.of(2)).catch((e: unknown) => e)
    expect(isEgtpError(err) && err.code === 'ERR_CLOSED').toBe(true)
    expect((err as Error).message).toContain('is closed')
    path.recycle!(Uint8Array.of(3)) // nothing to give it back to: no throw
    await path.close!() // already closed: resolves
  })

  test('replies go back on the inbound connection: one connection carries both directions', async () => {
    const { strat: b, endpoint } = await listening()
    b.addEventListener('frame', ({ detail }) => { void detail.path.reply(detail.frame) })
    const a = await client()
    const atA = framesOf(a)
    for (let i = 0; i < 5; i++) await a.send('b', endpoint, Uint8Array.of(i), { expectReply: true })
    await expect.poll(() => atA.length).toBe(5)
    expect(atA.map(f => f.frame[0])).toEqual([0, 1, 2, 3, 4])
    expect(a.stats().connections).toBe(1)
    expect(b.stats().connections).toBe(1)
    expect(atA[0]!.path.description).toContain(endpoint.port.toString())
  })

  test('setFrameListener: frames reach the direct listener first, then frame events; undefined removes it', async () => {
    const { strat: b, endpoint } = await listening()
    const order: string[] = []
    b.setFrameListener((frame, path) => {
      order.push(`direct ${frame[0]!}`)
      void path.reply(frame)
    })
    b.addEventListener('frame', ({ detail }) => { order.push(`event ${detail.frame[0]!}`) })
    const a = await client()
    const atA = framesOf(a)
    await a.send('b', endpoint, Uint8Array.of(1), { expectReply: true })
    await expect.poll(() => atA.length).toBe(1) // answered through the path the direct listener got
    expect(order).toEqual(['direct 1', 'event 1'])
    b.setFrameListener(undefined)
    await a.send('b', endpoint, Uint8Array.of(2))
    await expect.poll(() => order.length).toBe(3)
    expect(order[2]).toBe('event 2')
    expect(atA.length).toBe(1)
  })

  test('sending needs start(); refuses non-tcp endpoints and oversized frames before dialing', async () => {
    const { endpoint } = await listening()
    const a = make({ maxFrameBytes: 100 })
    await expect(a.send('b', endpoint, Uint8Array.of(1))).rejects.toMatchObject({ code: 'ERR_NOT_STARTED' })
    await a.start()
    await expect(a.send('b', { kind: 'relay', relay: 'r', host: '127.0.0.1', port: 1 }, Uint8Array.of(1))).rejects.toThrow(TypeError)
    await expect(a.send('b', endpoint, new Uint8Array(101))).rejects.toMatchObject({ code: 'ERR_FRAME_TOO_LARGE' })
    expect(a.stats().connections).toBe(0)
  })

  test('an idle connection is closed after idleTimeoutMs (injected clock), and the next send dials again', async () => {
    const { strat: b, endpoint } = await listening()
    const atB = framesOf(b)
    const clock = fakeClock()
    const a = await client({ idleTimeoutMs: 40 }, clock)
    await a.send('b', endpoint, Uint8Array.of(1))
    await settle(80) // several sweeps with the clock standing still
    expect(a.stats().connections).toBe(1)
    clock.advance(39)
    await settle(40)
    expect(a.stats().connections).toBe(1)
    clock.advance(1)
    await expect.poll(() => a.stats().connections).toBe(0)
    expect(a.stats().idleClosed).toBe(1)
    await expect.poll(() => b.stats().connections).toBe(0)
    await a.send('b', endpoint, Uint8Array.of(2))
    await expect.poll(() => atB.length).toBe(2)
    expect(a.stats().connections).toBe(1)
  })

  test('a connection awaiting a reply is kept past the idle timeout until the reply, or until the expectation lapses', async () => {
    const { strat: b, endpoint } = await listening()
    const atB = framesOf(b)
    const clock = fakeClock()
    const a = await client({ idleTimeoutMs: 40, expectReplyKeepMs: 1_000 }, clock)
    const atA = framesOf(a)
    await a.send('b', endpoint, Uint8Array.of(1), { expectReply: true })
    await expect.poll(() => atB.length).toBe(1)
    expect(atB[0]!.path.source).toBe('127.0.0.1') // the remote IP: a session responder's per-source label
    clock.advance(500)
    await settle(60)
    expect(a.stats().connections).toBe(1) // idle for 500 ms > 40 ms, but a reply is expected
    await atB[0]!.path.reply(Uint8Array.of(2))
    await expect.poll(() => atA.length).toBe(1)
    clock.advance(40)
    await expect.poll(() => a.stats().connections).toBe(0) // the reply came: idle rules apply again

    await a.send('b', endpoint, Uint8Array.of(3), { expectReply: true })
    await expect.poll(() => atB.length).toBe(2)
    clock.advance(999)
    await settle(60)
    expect(a.stats().connections).toBe(1)
    clock.advance(1) // no reply within expectReplyKeepMs
    await expect.poll(() => a.stats().connections).toBe(0)
  })

  test('maxConnections: an outbound dial evicts the least recently used idle connection, or fails with ERR_LIMIT', async () => {
    const peers = await Promise.all([listening(), listening(), listening()])
    const [e1, e2, e3] = peers.map(p => p.endpoint) as [TcpEndpoint, TcpEndpoint, TcpEndpoint]
    const clock = fakeClock()
    const a = await client({ maxConnections: 2 }, clock)
    await a.send('p1', e1, Uint8Array.of(1))
    clock.advance(10)
    await a.send('p2', e2, Uint8Array.of(2))
    clock.advance(10)
    await expect.poll(() => a.stats().queuedBytes).toBe(0)
    await a.send('p3', e3, Uint8Array.of(3)) // evicts p1, the least recently used
    expect(a.stats()).toMatchObject({ connections: 2, evicted: 1 })
    await expect.poll(() => peers[0]!.strat.stats().connections).toBe(0)
    expect(peers[1]!.strat.stats().connections).toBe(1)

    await a.send('p2', e2, Uint8Array.of(4), { expectReply: true })
    await a.send('p3', e3, Uint8Array.of(5), { expectReply: true })
    const err = await a.send('p1', e1, Uint8Array.of(6)).catch((e: unknown) => e)
    expect(isEgtpError(err, 'ERR_LIMIT')).toBe(true)
    expect(a.stats().connections).toBe(2)
    // transport dials count against the same cap
    await expect(a.dial(e1 as never)).rejects.toMatchObject({ code: 'ERR_LIMIT' })
  })

  test('maxConnections: an inbound connection over the cap is closed at once; the others keep working', async () => {
    // authTimeoutMs 0: no consumer marks connections authenticated here, and unauthenticated ones would be
    // replaced rather than the new one refused (unauthenticated.test.ts covers that).
    const { strat: b, endpoint } = await listening({ maxConnections: 1, authTimeoutMs: 0 })
    const atB = framesOf(b)
    const rejected = nextEvent<TcpCommstratEvents['connection:reject']>(b, 'connection:reject')
    const a = await client()
    await a.send('b', endpoint, Uint8Array.of(1))
    await expect.poll(() => atB.length).toBe(1)
    const extra = await rawClient(endpoint)
    await socketClosed(extra)
    expect((await rejected).reason).toBe('maxConnections')
    await a.send('b', endpoint, Uint8Array.of(2))
    await expect.poll(() => atB.length).toBe(2)
    expect(b.stats()).toMatchObject({ connections: 1, rejectedInbound: 1 })
  })

  test('maxInboundPerAddress: the excess from one IP is closed at once, and a slot frees when one closes', async () => {
    const { strat: b, endpoint } = await listening({ maxInboundPerAddress: 2, authTimeoutMs: 0 }) // as above
    const first = await rawClient(endpoint)
    await rawClient(endpoint)
    await expect.poll(() => b.stats().inbound).toBe(2)
    const rejected = nextEvent<TcpCommstratEvents['connection:reject']>(b, 'connection:reject')
    const third = await rawClient(endpoint)
    await socketClosed(third)
    expect((await rejected).reason).toBe('maxInboundPerAddress')
    first.destroy()
    await expect.poll(() => b.stats().inbound).toBe(1)
    const fourth = await rawClient(endpoint)
    await expect.poll(() => b.stats().inbound).toBe(2)
    expect(fourth.closed).toBe(false)
    expect(b.stats().rejectedInbound).toBe(1)
  })

  test('a peer that restarts on the same port is dialed again by the next send', async () => {
    const { strat: b, endpoint } = await listening()
    const a = await client()
    await a.send('b', endpoint, Uint8Array.of(1))
    await b.stop()
    await expect.poll(() => a.stats().connections).toBe(0)
    await expect(a.send('b', endpoint, Uint8Array.of(2))).rejects.toMatchObject({ code: 'ERR_UNREACHABLE' })
    const b2 = make({ listen: [endpoint] })
    await b2.start()
    const atB2 = framesOf(b2)
    await a.send('b', endpoint, Uint8Array.of(3))
    await expect.poll(() => atB2.length).toBe(1)
  })

  test('stop during traffic: every send settles (delivered or a coded error), stop is bounded, nothing is left open', async () => {
    const { strat: b, endpoint } = await listening()
    b.addEventListener('frame', ({ detail }) => { void detail.path.reply(detail.frame).catch(() => {}) })
    const a = await client()
    let running = true
    const outcomes = new Map<string, number>()
    const pump = async (): Promise<void> => {
      while (running) {
        const code = await a.send('b', endpoint, new Uint8Array(512), { expectReply: true })
          .then(() => 'ok', (err: unknown) => isEgtpError(err) ? err.code : String(err))
        outcomes.set(code, (outcomes.get(code) ?? 0) + 1)
        if (code === 'ERR_CLOSED') break
      }
    }
    const pumps = [pump(), pump(), pump()]
    await expect.poll(() => b.stats().framesIn).toBeGreaterThan(100)
    await b.stop()
    running = false
    await Promise.all(pumps)
    expect(b.stats()).toMatchObject({ connections: 0, queuedBytes: 0 })
    await a.stop()
    expect(a.stats().connections).toBe(0)
    for (const code of outcomes.keys()) expect(['ok', 'ERR_UNREACHABLE', 'ERR_CLOSED']).toContain(code)
    expect(outcomes.get('ok')).toBeGreaterThan(100)
  })

  test('endpoints: reported on start (port 0 resolved), wildcards left out, announce overrides; change events', async () => {
    const strat = make({ listen: [LOOPBACK, { kind: 'tcp', host: '0.0.0.0', port: 0 }] })
    const changed = nextEvent<Endpoint[]>(strat, 'endpoints:change')
    expect(strat.localEndpoints()).toEqual([])
    await strat.start()
    const endpoints = strat.localEndpoints()
    expect(endpoints).toHaveLength(1)
    expect(endpoints[0]).toMatchObject({ kind: 'tcp', host: '127.0.0.1' })
    expect(await changed).toEqual(endpoints)
    const cleared = nextEvent<Endpoint[]>(strat, 'endpoints:change')
    await strat.stop()
    expect(await cleared).toEqual([])
    const announced = make({ announce: [{ kind: 'tcp', host: '192.0.2.1', port: 4000 }] })
    expect(announced.localEndpoints()).toEqual([{ kind: 'tcp', host: '192.0.2.1', port: 4000 }])
  })

  test('start after stop binds again', async () => {
    const strat = make({ listen: [LOOPBACK] })
    await strat.start()
    await strat.stop()
    await strat.start()
    expect(strat.localEndpoints()).toHaveLength(1)
    const a = await client()
    const atS = framesOf(strat)
    await a.send('s', strat.localEndpoints()[0]!, Uint8Array.of(1))
    await expect.poll(() => atS.length).toBe(1)
  })
})

test('many concurrent first sends to many endpoints share dials without listener warnings', async () => {
  const peers = await Promise.all(Array.from({ length: 12 }, async () => listening()))
  const a = make()
  await a.start()
  const warnings: string[] = []
  const onWarning = (w: Error): void => { warnings.push(w.name) }
  process.on('warning', onWarning)
  try {
    await Promise.all(peers.flatMap(({ endpoint }) => Array.from({ length: 3 }, async () => { await a.send('p', endpoint, Uint8Array.of(1)) })))
    await new Promise(resolve => setImmediate(resolve))
  } finally {
    process.off('warning', onWarning)
  }
  expect(a.stats().connections).toBe(12)
  expect(warnings).not.toContain('MaxListenersExceededWarning')
})
