import { getEventListeners } from 'node:events'
import { generateIdentity } from '@egtp/identity'
import { isEgtpError } from '@egtp/interface'
import { describe, expect, test } from 'vitest'
import { MemoryNetwork, cut } from './helpers/memory-transport.ts'
import { RawRelayConn, fakeClock } from './helpers/raw.ts'
import { bytes, collect, registered, serverWithClient, startClient, startServer, str, text, until } from './helpers/setup.ts'

describe('store and forward', () => {
  test('a message is pushed to a connected client, acknowledged, and the reply travels back', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const { server, bId, b } = await serverWithClient(net, onTestFinished)
    expect(b.localEndpoints()).toEqual([server.endpoint()])
    const aId = generateIdentity()
    const a = await startClient(net.transport(), onTestFinished, { register: false }, aId)
    const atB = collect(b)
    const atA = collect(a)
    await a.send(bId.nodeId, b.localEndpoints()[0]!, text('query'))
    await until(() => atB.length === 1)
    expect(str(atB[0]!.frame)).toBe('query')
    expect(atB[0]!.path).toMatchObject({ kind: 'relay', authenticatedSender: aId.nodeId })
    expect(atB[0]!.path.source).toBe(`relay:${server.endpoint().relay}:${aId.nodeId}`)
    expect(atB[0]!.path.usable()).toBe(true)
    await atB[0]!.path.reply(text('response'))
    await until(() => atA.length === 1)
    expect(str(atA[0]!.frame)).toBe('response')
    expect(atA[0]!.path.authenticatedSender).toBe(bId.nodeId)
    await until(() => server.stats().queuedMessages === 0)
    expect(server.stats()).toMatchObject({ accepted: 2, delivered: 2, queuedBytes: 0 })
  })

  test('an away client gets 1 000 queued messages in order, once, when it comes back', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const server = await startServer(net.transport(), onTestFinished)
    const bId = generateIdentity()
    const first = await startClient(net.transport(), onTestFinished, { relays: [server.endpoint()] }, bId)
    await registered(first)
    await first.stop()
    await until(() => server.stats().connectedClients === 0)
    const a = await startClient(net.transport(), onTestFinished, { register: false })
    await Promise.all(Array.from({ length: 1000 }, (_, i) => a.send(bId.nodeId, server.endpoint(), text(`m${i}`))))
    expect(server.stats()).toMatchObject({ queuedMessages: 1000, accepted: 1000, delivered: 0 })
    const b = await startClient(net.transport(), onTestFinished, { relays: [server.endpoint()] }, bId)
    const got = collect(b)
    await until(() => server.stats().delivered === 1000)
    await new Promise(resolve => setTimeout(resolve, 20))
    expect(got.map(f => str(f.frame))).toEqual(Array.from({ length: 1000 }, (_, i) => `m${i}`))
  })

  test('large and small messages, mixed, arrive intact and in order (large ones travel as their own frames)', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const server = await startServer(net.transport(), onTestFinished)
    const bId = generateIdentity()
    const a = await startClient(net.transport(), onTestFinished, { register: false })
    const first = await startClient(net.transport(), onTestFinished, { relays: [server.endpoint()] }, bId)
    await registered(first)
    const sizes = [10, 40_000, 8 * 1024, 8 * 1024 - 1, 3, 100_000, 100_000, 7, 20_000]
    const sent = sizes.map((n, i) => bytes(n, i + 1))
    // Queued while the client is away, then pushed on its return; then pushed at once while it is connected.
    await first.stop()
    await until(() => server.stats().connectedClients === 0)
    await Promise.all(sent.map(f => a.send(bId.nodeId, server.endpoint(), f)))
    const b = await startClient(net.transport(), onTestFinished, { relays: [server.endpoint()] }, bId)
    const got = collect(b)
    await until(() => got.length === sizes.length)
    await Promise.all(sent.map(f => a.send(bId.nodeId, server.endpoint(), f)))
    await until(() => got.length === 2 * sizes.length)
    expect(got.map(f => [f.frame.byteLength, f.frame[0], f.frame[f.frame.byteLength - 1]]))
      .toEqual([...sizes, ...sizes].map((n, i) => [n, (i % sizes.length) + 1, (i % sizes.length) + 1]))
    await until(() => server.stats().queuedMessages === 0)
    expect(server.stats()).toMatchObject({ queuedBytes: 0, delivered: 2 * sizes.length })
  })

  test('a connection lost mid-delivery loses nothing, and the client dispatches each message once', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const server = await startServer(net.transport(), onTestFinished)
    const bId = generateIdentity()
    const b = await startClient(net.transport('127.0.0.3'), onTestFinished, { relays: [server.endpoint()] }, bId)
    await registered(b)
    const got: string[] = []
    let cutDone = false
    b.addEventListener('frame', ({ detail }) => {
      got.push(str(detail.frame))
      // Cut B's connection after the 3rd message, before the client's ack can be written. (A's sends would
      // fail at once on a cut of A's connection: the node re-sends them, this test does not.)
      if (got.length === 3 && !cutDone) { cutDone = true; cut(net, c => c.direction === 'inbound' && c.remoteAddress.startsWith('127.0.0.3:')) }
    })
    const a = await startClient(net.transport(), onTestFinished, { register: false })
    await a.send(bId.nodeId, server.endpoint(), text('warm-up')).catch(() => {})
    const sends = Array.from({ length: 50 }, (_, i) => a.send(bId.nodeId, server.endpoint(), text(`m${i}`)).catch((err: unknown) => err))
    await Promise.all(sends)
    await until(() => server.stats().queuedMessages === 0 && new Set(got).size >= 51, 5000, 'every message acknowledged')
    expect(got).toEqual([...new Set(got)])
    // Some messages were written twice (pushed again on the new connection) yet dispatched once.
    expect(server.stats().pushed).toBeGreaterThan(server.stats().delivered)
  })

  test('delivered notices confirm acknowledged messages; nothing is reported undelivered', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const { server, bId } = await serverWithClient(net, onTestFinished)
    const a = await startClient(net.transport(), onTestFinished, { register: false })
    const undelivered: string[] = []
    a.addEventListener('relay:undelivered', ({ detail }) => { undelivered.push(detail.code) })
    for (let i = 0; i < 10; i++) await a.send(bId.nodeId, server.endpoint(), text(`m${i}`))
    await until(() => server.stats().delivered === 10)
    expect(a.relays()[0]).toMatchObject({ accepted: 10, pending: 0 })
    expect(undelivered).toEqual([])
  })

  test('a client that prefers to poll receives only what it asks for', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const server = await startServer(net.transport(), onTestFinished)
    const me = generateIdentity()
    const raw = await RawRelayConn.open(net.transport(), server.endpoint())
    onTestFinished(() => raw.close())
    await raw.authenticate(me, 'client', { w: false })
    const a = await startClient(net.transport(), onTestFinished, { register: false })
    for (let i = 0; i < 5; i++) await a.send(me.nodeId, server.endpoint(), text(`m${i}`))
    raw.send({ t: 'rp', n: 2 })
    const first = await raw.next('rd')
    expect(first.e.map(e => str(e.p))).toEqual(['m0', 'm1'])
    expect((await raw.next('rq')).q).toBe(3)
    raw.send({ t: 'ra', i: first.e[1]!.i })
    raw.send({ t: 'rp', n: 10 })
    const rest = await raw.next('rd')
    expect(rest.e.map(e => str(e.p))).toEqual(['m2', 'm3', 'm4'])
    expect((await raw.next('rq')).q).toBe(0)
    raw.send({ t: 'ra', i: rest.e[2]!.i })
    await until(() => server.stats().queuedMessages === 0)
  })

  test('a newer connection of the same node takes over delivery', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const server = await startServer(net.transport(), onTestFinished)
    const me = generateIdentity()
    const old = await RawRelayConn.open(net.transport(), server.endpoint())
    onTestFinished(() => old.close())
    await old.authenticate(me)
    const fresh = await RawRelayConn.open(net.transport(), server.endpoint())
    onTestFinished(() => fresh.close())
    await fresh.authenticate(me)
    expect((await old.next('rr')).s).toMatch(/replaced/)
    const a = await startClient(net.transport(), onTestFinished, { register: false })
    await a.send(me.nodeId, server.endpoint(), text('hello'))
    expect(str((await fresh.next('rd')).e[0]!.p)).toBe('hello')
  })
})

describe('limits are refused with codes, never silently', () => {
  test('unknown recipients, oversized messages and full queues', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const server = await startServer(net.transport(), onTestFinished, { maxMessageBytes: 1024, maxQueuedMessagesPerClient: 3 })
    const bId = generateIdentity()
    const b = await startClient(net.transport(), onTestFinished, { relays: [server.endpoint()] }, bId)
    await registered(b)
    await b.stop()
    await until(() => server.stats().connectedClients === 0)
    const a = await startClient(net.transport(), onTestFinished, { register: false })
    await expect(a.send(generateIdentity().nodeId, server.endpoint(), text('x'))).rejects.toMatchObject({ code: 'ERR_RELAY_UNKNOWN_RECIPIENT' })
    await expect(a.send(bId.nodeId, server.endpoint(), bytes(1025))).rejects.toMatchObject({ code: 'ERR_FRAME_TOO_LARGE' })
    for (let i = 0; i < 3; i++) await a.send(bId.nodeId, server.endpoint(), text(`m${i}`))
    await expect(a.send(bId.nodeId, server.endpoint(), text('one too many'))).rejects.toMatchObject({ code: 'ERR_RELAY_FULL' })
    expect(server.stats().refused).toEqual({ ERR_RELAY_UNKNOWN_RECIPIENT: 1, ERR_RELAY_FULL: 1 })
    expect(server.stats().queuedMessages).toBe(3)
  })

  test('per-client bytes, total bytes and registered clients', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    // workBits 0: the raw hello below carries no proof of work (admission.test.ts covers it).
    const server = await startServer(net.transport(), onTestFinished, {
      maxMessageBytes: 1000, maxQueuedBytesPerClient: 2500, maxTotalQueuedBytes: 4000, maxClients: 2, workBits: 0
    })
    const ids = [generateIdentity(), generateIdentity()]
    for (const id of ids) {
      const c = await startClient(net.transport(), onTestFinished, { relays: [server.endpoint()] }, id)
      await registered(c)
      await c.stop()
    }
    await until(() => server.stats().connectedClients === 0)
    // The away clients' queues fill: 2 × 1000 fit per client, the 3rd is over its 2500 bytes.
    const a = await startClient(net.transport(), onTestFinished, { register: false })
    const to0 = ids[0]!.nodeId
    const to1 = ids[1]!.nodeId
    await a.send(to0, server.endpoint(), bytes(1000))
    await a.send(to0, server.endpoint(), bytes(1000))
    await expect(a.send(to0, server.endpoint(), bytes(1000))).rejects.toMatchObject({ code: 'ERR_RELAY_FULL' })
    // Total: 2000 + 2000 = 4000 is the relay's limit.
    await a.send(to1, server.endpoint(), bytes(1000))
    await a.send(to1, server.endpoint(), bytes(1000))
    await expect(a.send(to1, server.endpoint(), bytes(1))).rejects.toMatchObject({ code: 'ERR_RELAY_FULL' })
    // Both registrations hold messages, so neither gives way: a third client is refused.
    const third = await RawRelayConn.open(net.transport(), server.endpoint())
    onTestFinished(() => third.close())
    await expect(third.authenticate(generateIdentity())).rejects.toThrow(/ERR_RELAY_FULL/)
    expect(server.stats()).toMatchObject({ queuedBytes: 4000, clients: 2 })
  })

  test('a sender over its rate is refused with ERR_RATE_LIMITED while another sender is served', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const clock = fakeClock()
    const { server, bId } = await serverWithClient(net, onTestFinished, { senderMessagesPerSecond: 10, sweepIntervalMs: 20 }, clock)
    const flooder = await startClient(net.transport(), onTestFinished, { register: false })
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => flooder.send(bId.nodeId, server.endpoint(), text('flood'))))
    const refused = results.filter(r => r.status === 'rejected')
    expect(results.filter(r => r.status === 'fulfilled')).toHaveLength(20) // the burst: two seconds' worth
    expect(refused.every(r => isEgtpError((r as PromiseRejectedResult).reason, 'ERR_RATE_LIMITED'))).toBe(true)
    const polite = await startClient(net.transport(), onTestFinished, { register: false })
    await polite.send(bId.nodeId, server.endpoint(), text('polite'))
    clock.advance(1000)
    await flooder.send(bId.nodeId, server.endpoint(), text('later'))
    expect(server.stats().refused.ERR_RATE_LIMITED).toBe(30)
  })

  test('a message that outlives its TTL is dropped and its sender told', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const clock = fakeClock()
    const { server, bId, b } = await serverWithClient(net, onTestFinished, { messageTtlMs: 60_000, sweepIntervalMs: 10 }, clock)
    await b.stop()
    await until(() => server.stats().connectedClients === 0)
    const a = await startClient(net.transport(), onTestFinished, { register: false })
    const lost: Array<{ code: string, peerId: string, frame: string }> = []
    a.addEventListener('relay:undelivered', ({ detail }) => { lost.push({ code: detail.code, peerId: detail.peerId, frame: str(detail.frame) }) })
    await a.send(bId.nodeId, server.endpoint(), text('stale'))
    clock.advance(30_000)
    await a.send(bId.nodeId, server.endpoint(), text('fresh'))
    clock.advance(30_001)
    await until(() => lost.length === 1)
    expect(lost).toEqual([{ code: 'ERR_TIMEOUT', peerId: bId.nodeId, frame: 'stale' }])
    expect(server.stats()).toMatchObject({ expired: 1, queuedMessages: 1 })
    const back = await startClient(net.transport(), onTestFinished, { relays: [server.endpoint()] }, bId)
    const got = collect(back)
    await until(() => got.length === 1)
    expect(str(got[0]!.frame)).toBe('fresh')
  })

  test('away registrations are forgotten after registrationTtlMs; send-only nodes at once', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const clock = fakeClock()
    const { server, bId, b } = await serverWithClient(net, onTestFinished, { registrationTtlMs: 60_000, sweepIntervalMs: 10 }, clock)
    const a = await startClient(net.transport(), onTestFinished, { register: false })
    await a.send(bId.nodeId, server.endpoint(), text('x'))
    expect(server.stats().clients).toBe(2)
    await a.stop()
    await until(() => server.stats().clients === 1)
    await b.stop()
    await until(() => server.stats().connectedClients === 0)
    await new Promise(resolve => setTimeout(resolve, 30))
    expect(server.stats().clients).toBe(1)
    clock.advance(60_000)
    await until(() => server.stats().clients === 0)
  })
})

describe('relay failures reach the sender', () => {
  test('a relay that cannot be reached fails the send fast with ERR_UNREACHABLE', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const a = await startClient(net.transport(), onTestFinished, { register: false })
    const nowhere = { kind: 'relay' as const, relay: generateIdentity().nodeId, host: '127.0.0.1', port: 1 }
    await expect(a.send(generateIdentity().nodeId, nowhere, text('x'))).rejects.toMatchObject({ code: 'ERR_UNREACHABLE' })
    await expect(a.send(generateIdentity().nodeId, nowhere, text('y'))).rejects.toMatchObject({ code: 'ERR_UNREACHABLE' })
  })

  test('a send-only node that left is unknown at once; a reply through its return path fails as ERR_UNREACHABLE', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    // A slow sweep: the refusal must not depend on the away sender's queue being forgotten first.
    const server = await startServer(net.transport(), onTestFinished, { sweepIntervalMs: 3_600_000 })
    const bId = generateIdentity()
    const b = await startClient(net.transport(), onTestFinished, { relays: [server.endpoint()] }, bId)
    await registered(b)
    const atB = collect(b)
    const aId = generateIdentity()
    const a = await startClient(net.transport(), onTestFinished, { register: false }, aId)
    await a.send(bId.nodeId, server.endpoint(), text('query'))
    await until(() => atB.length === 1)
    const path = atB[0]!.path
    await a.stop()
    await until(() => server.stats().authenticated === 1)
    // Queued for a node that will never pick it up, the reply would sit there until the TTL; the node
    // instead learns the route is gone and falls back to the sender's contact record.
    const err = await path.reply(text('reply')).then(() => undefined, (e: unknown) => e)
    expect(isEgtpError(err, 'ERR_UNREACHABLE')).toBe(true)
    expect(isEgtpError((err as Error).cause, 'ERR_RELAY_UNKNOWN_RECIPIENT')).toBe(true)
    expect(server.stats()).toMatchObject({ queuedMessages: 0, refused: { ERR_RELAY_UNKNOWN_RECIPIENT: 1 } })
    // A registered client that is away still gets its mail queued.
    await b.stop()
    await until(() => server.stats().connectedClients === 0)
    const c = await startClient(net.transport(), onTestFinished, { register: false })
    await c.send(bId.nodeId, server.endpoint(), text('for B later'))
    expect(server.stats().queuedMessages).toBe(1)
  })

  test('a relay restart without persistence reports the accepted messages it lost', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const relayId = generateIdentity()
    const server = await startServer(net.transport(), onTestFinished, {}, relayId)
    const endpoint = server.endpoint()
    const bId = generateIdentity()
    const b = await startClient(net.transport(), onTestFinished, { relays: [endpoint] }, bId)
    await registered(b)
    await b.stop()
    await until(() => server.stats().connectedClients === 0)
    const a = await startClient(net.transport(), onTestFinished, { register: false })
    const lost: string[] = []
    a.addEventListener('relay:undelivered', ({ detail }) => { lost.push(`${detail.code} ${str(detail.frame)}`) })
    await a.send(bId.nodeId, endpoint, text('one'))
    await a.send(bId.nodeId, endpoint, text('two'))
    await server.stop()
    const again = await startServer(net.transport(), onTestFinished, { listen: { kind: 'tcp', host: endpoint.host, port: endpoint.port } }, relayId)
    expect(again.stats().queuedMessages).toBe(0)
    await until(() => lost.length === 2)
    expect(lost).toEqual(['ERR_DELIVERY_UNCERTAIN one', 'ERR_DELIVERY_UNCERTAIN two'])
  })
})

describe('abort signals', () => {
  test('many sends sharing one signal add one abort listener, removed when they settle; an abort fails them all', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const { server, bId } = await serverWithClient(net, onTestFinished)
    const a = await startClient(net.transport(), onTestFinished, { register: false })
    const warnings: string[] = []
    const onWarning = (w: Error): void => { warnings.push(w.name) }
    process.on('warning', onWarning)
    onTestFinished(() => { process.off('warning', onWarning) })
    // The node passes its one shutdown signal with every send.
    const shutdown = new AbortController()
    const sends = Array.from({ length: 50 }, (_, i) => a.send(bId.nodeId, server.endpoint(), text(`m${i}`), { signal: shutdown.signal }))
    expect(getEventListeners(shutdown.signal, 'abort').length).toBe(1)
    await Promise.all(sends)
    expect(getEventListeners(shutdown.signal, 'abort').length).toBe(0)
    const late = Array.from({ length: 20 }, (_, i) => a.send(bId.nodeId, server.endpoint(), text(`late${i}`), { signal: shutdown.signal }))
    const reason = new Error('stopping')
    shutdown.abort(reason)
    const results = await Promise.allSettled(late)
    expect(results.every(r => r.status === 'rejected' && r.reason === reason)).toBe(true)
    await new Promise(resolve => setImmediate(resolve))
    expect(warnings).not.toContain('MaxListenersExceededWarning')
  })
})
