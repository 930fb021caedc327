import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateIdentity } from '@egtp/identity'
import { isEgtpError } from '@egtp/interface'
import type { Endpoint } from '@egtp/interface'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, test } from 'vitest'
import { RawRelayConn } from '../helpers/raw.ts'
import { bytes, collect, registered, str, text, until } from '../helpers/setup.ts'
import { registeredTcpClient, sendToAny, tcpClient, tcpServer, tcpTransport } from './helpers.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** Heap plus ArrayBuffer memory (payloads live there) after a full collection. */
function heapAndBuffers (): number {
  gc()
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

describe('relay over TCP on 127.0.0.1', () => {
  test('A reaches relay-only B and B answers through the relay', async ({ onTestFinished }) => {
    const server = await tcpServer(onTestFinished)
    expect(server.address().port).toBeGreaterThan(0)
    const bId = generateIdentity()
    const b = await registeredTcpClient(onTestFinished, server, bId)
    b.addEventListener('frame', ({ detail }) => { void detail.path.reply(text(`re: ${str(detail.frame)}`)) })
    const aId = generateIdentity()
    const a = await tcpClient(onTestFinished, { register: false }, aId)
    const atA = collect(a)
    for (let i = 0; i < 10; i++) await a.send(bId.nodeId, b.localEndpoints()[0]!, text(`q${i}`))
    await until(() => atA.length === 10)
    expect(atA.map(f => str(f.frame))).toEqual(Array.from({ length: 10 }, (_, i) => `re: q${i}`))
    expect(atA.every(f => f.path.authenticatedSender === bId.nodeId)).toBe(true)
    await until(() => server.stats().delivered === 20)
  })

  test('frames sent as pieces, large and small, arrive whole and in order', async ({ onTestFinished }) => {
    const server = await tcpServer(onTestFinished)
    const bId = generateIdentity()
    const b = await registeredTcpClient(onTestFinished, server, bId)
    const atB = collect(b)
    const a = await tcpClient(onTestFinished, { register: false }, generateIdentity())
    const big = new Uint8Array(100_000).map((_, i) => i * 7)
    const frames = [[big.subarray(0, 7), big.subarray(7)], [text('sm'), text('all')], big, [big.subarray(0, 60_000), big.subarray(60_000)]]
    await Promise.all(frames.map(f => a.send(bId.nodeId, b.localEndpoints()[0]!, f)))
    await until(() => atB.length === 4)
    expect(atB.map(f => Buffer.from(f.frame).toString('base64'))).toEqual([big, text('small'), big, big].map(f => Buffer.from(f).toString('base64')))
  })

  test('B away while A sends 1 000 messages: all arrive when B is back, in order, once', async ({ onTestFinished }) => {
    const server = await tcpServer(onTestFinished)
    const bId = generateIdentity()
    await registeredTcpClient(onTestFinished, server, bId, true)
    const a = await tcpClient(onTestFinished, { register: false })
    const sent = Array.from({ length: 1000 }, (_, i) => `m${String(i).padStart(4, '0')}`)
    await Promise.all(sent.map(m => a.send(bId.nodeId, server.endpoint(), text(m))))
    expect(server.stats().queuedMessages).toBe(1000)
    const b = await tcpClient(onTestFinished, { relays: [server.endpoint()] }, bId)
    const got = collect(b)
    await until(() => server.stats().delivered === 1000)
    expect(got.map(f => str(f.frame))).toEqual(sent)
    expect(server.stats().queuedMessages).toBe(0)
  })

  test('a node cannot pick up another node\'s messages', async ({ onTestFinished }) => {
    const server = await tcpServer(onTestFinished)
    const victim = generateIdentity()
    await registeredTcpClient(onTestFinished, server, victim, true)
    const a = await tcpClient(onTestFinished, { register: false })
    await a.send(victim.nodeId, server.endpoint(), text('for the victim only'))
    // The thief presents the victim's public key, signing with its own key.
    const thief = generateIdentity()
    const raw = await RawRelayConn.open(tcpTransport(onTestFinished), server.endpoint())
    onTestFinished(() => raw.close())
    const challenge = await raw.next('rc')
    const { signHello } = await import('../../src/protocol.ts')
    raw.send({ t: 'rh', k: victim.publicKey, g: signHello(thief, challenge.n, challenge.id, 'client'), r: 'client' })
    expect((await raw.next('rr')).c).toBe('ERR_AUTH')
    await raw.closed
    expect(raw.received.map(m => m.t)).toEqual(['rc', 'rr'])
    // Its own identity authenticates, but only ever sees its own (empty) queue.
    const own = await RawRelayConn.open(tcpTransport(onTestFinished), server.endpoint())
    onTestFinished(() => own.close())
    expect((await own.authenticate(thief)).q).toBe(0)
    own.send({ t: 'rp', n: 100 })
    expect((await own.next('rq')).q).toBe(0)
    expect(own.received.some(m => m.t === 'rd')).toBe(false)
    expect(server.stats().queuedMessages).toBe(1)
  })

  test('floods beyond the limits are refused with codes while others are served, and memory stays bounded', async ({ onTestFinished }) => {
    const limits = {
      maxMessageBytes: 4096, maxQueuedMessagesPerClient: 100, maxQueuedBytesPerClient: 64 * 1024,
      maxTotalQueuedBytes: 96 * 1024, senderMessagesPerSecond: 300, maxConnections: 40
    }
    const server = await tcpServer(onTestFinished, limits)
    const away = generateIdentity()
    const awayClient = await registeredTcpClient(onTestFinished, server, away)
    await awayClient.stop()
    const cId = generateIdentity()
    const c = await registeredTcpClient(onTestFinished, server, cId)
    const atC = collect(c)
    await until(() => server.stats().connectedClients === 1)

    const flooder = await tcpClient(onTestFinished, { register: false })
    const polite = await tcpClient(onTestFinished, { register: false })
    const flood = Array.from({ length: 3000 }, () => flooder.send(away.nodeId, server.endpoint(), bytes(1024)))
    const served = Array.from({ length: 20 }, (_, i) => polite.send(cId.nodeId, server.endpoint(), text(`p${i}`)))
    const [floodResults] = await Promise.all([Promise.allSettled(flood), Promise.all(served)])
    const accepted = floodResults.filter(r => r.status === 'fulfilled').length
    const codes = new Set(floodResults.filter(r => r.status === 'rejected').map(r => (r as PromiseRejectedResult).reason.code as string))
    expect(accepted).toBe(64) // 64 KiB per client
    expect([...codes].sort()).toEqual(['ERR_RATE_LIMITED', 'ERR_RELAY_FULL'])
    await until(() => atC.length === 20)
    expect(atC.map(f => str(f.frame))).toEqual(Array.from({ length: 20 }, (_, i) => `p${i}`))
    await expect(polite.send(cId.nodeId, server.endpoint(), bytes(4097))).rejects.toMatchObject({ code: 'ERR_FRAME_TOO_LARGE' })

    // Unauthenticated connections past maxConnections are turned away with a code.
    const raws = await Promise.all(Array.from({ length: 45 }, async () => {
      const raw = await RawRelayConn.open(tcpTransport(onTestFinished), server.endpoint())
      onTestFinished(() => raw.close())
      return raw
    }))
    const first = await Promise.all(raws.map(async r => (await r.next()).t))
    expect(first.filter(t => t === 'rr').length).toBeGreaterThan(0)
    expect(first.filter(t => t === 'rc').length).toBeLessThanOrEqual(limits.maxConnections)

    const stats = server.stats()
    expect(stats.queuedBytes).toBeLessThanOrEqual(limits.maxQueuedBytesPerClient)
    expect(stats.connections).toBeLessThanOrEqual(limits.maxConnections)
    expect(stats.refused.ERR_RELAY_FULL).toBeGreaterThan(0)
    expect(stats.refused.ERR_RATE_LIMITED).toBeGreaterThan(0)
  })

  test('memory stays bounded under a flood 32 times larger than the relay\'s queue limit', async ({ onTestFinished }) => {
    const limit = 1024 * 1024
    const server = await tcpServer(onTestFinished, {
      maxMessageBytes: 16 * 1024, maxQueuedBytesPerClient: limit, maxTotalQueuedBytes: limit,
      senderMessagesPerSecond: 1_000_000, senderBytesPerSecond: 2 ** 40
    })
    const away = generateIdentity()
    await registeredTcpClient(onTestFinished, server, away, true)
    const flooder = await tcpClient(onTestFinished, { register: false })
    // Warm up (first connection, code paths), then measure the heap and buffers around the flood.
    await flooder.send(away.nodeId, server.endpoint(), bytes(16 * 1024))
    const before = heapAndBuffers()
    let accepted = 1
    let refused = 0
    for (let wave = 0; wave < 16; wave++) {
      const results = await Promise.allSettled(Array.from({ length: 128 }, () => flooder.send(away.nodeId, server.endpoint(), bytes(16 * 1024))))
      for (const r of results) {
        if (r.status === 'fulfilled') accepted++
        else { refused++; expect(r.reason).toMatchObject({ code: 'ERR_RELAY_FULL' }) }
      }
      expect(server.stats().queuedBytes).toBeLessThanOrEqual(limit)
    }
    const growth = heapAndBuffers() - before
    expect(accepted).toBe(limit / (16 * 1024))
    expect(refused).toBe(16 * 128 + 1 - accepted)
    expect(server.stats().refused.ERR_RELAY_FULL).toBe(refused)
    // 32 MiB were offered; what stays is the 1 MiB queue plus noise, in the relay and the sender together.
    expect(growth).toBeLessThan(8 * 1024 * 1024)
  })

  test('a relay restart with persistence keeps queued messages', async ({ onTestFinished }) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'egtp-relay-it-'))
    onTestFinished(() => rm(dataDir, { recursive: true, force: true }))
    const relayId = generateIdentity()
    const server = await tcpServer(onTestFinished, { dataDir }, relayId)
    const bId = generateIdentity()
    await registeredTcpClient(onTestFinished, server, bId, true)
    const a = await tcpClient(onTestFinished, { register: false })
    for (let i = 0; i < 50; i++) await a.send(bId.nodeId, server.endpoint(), text(`p${i}`))
    await server.stop()
    const again = await tcpServer(onTestFinished, { dataDir }, relayId)
    expect(again.stats().queuedMessages).toBe(50)
    const b2 = await tcpClient(onTestFinished, { relays: [again.endpoint()] }, bId)
    const got = collect(b2)
    await until(() => again.stats().delivered === 50)
    expect(got.map(f => str(f.frame))).toEqual(Array.from({ length: 50 }, (_, i) => `p${i}`))
  })

  test('without persistence, a relay restart is reported to the sender, not silent', async ({ onTestFinished }) => {
    const relayId = generateIdentity()
    const server = await tcpServer(onTestFinished, {}, relayId)
    const port = server.address().port
    const bId = generateIdentity()
    await registeredTcpClient(onTestFinished, server, bId, true)
    const a = await tcpClient(onTestFinished, { register: false })
    const reports: string[] = []
    a.addEventListener('relay:undelivered', ({ detail }) => { reports.push(`${detail.code} ${str(detail.frame)}`) })
    for (let i = 0; i < 5; i++) await a.send(bId.nodeId, server.endpoint(), text(`lost${i}`))
    await server.stop()
    await until(() => a.relays()[0]?.state !== 'ready')
    // While the relay is down, sends fail fast rather than vanish.
    await expect(a.send(bId.nodeId, server.endpoint(), text('down'))).rejects.toSatisfy(err => isEgtpError(err, 'ERR_UNREACHABLE'))
    // The relay comes back on its address, empty: the sender learns which accepted messages it lost.
    await tcpServer(onTestFinished, { listen: { kind: 'tcp', host: '127.0.0.1', port } }, relayId)
    await until(() => reports.length === 5)
    expect(reports).toEqual(Array.from({ length: 5 }, (_, i) => `ERR_DELIVERY_UNCERTAIN lost${i}`))
  })

  test('two relays, one dies: B\'s traffic moves to the other', async ({ onTestFinished }) => {
    const r1 = await tcpServer(onTestFinished)
    const r2 = await tcpServer(onTestFinished)
    const bId = generateIdentity()
    const b = await tcpClient(onTestFinished, { relays: [r1.endpoint(), r2.endpoint()], maxRelays: 2 }, bId)
    await registered(b, 2)
    const endpoints: Endpoint[] = b.localEndpoints()
    const got = collect(b)
    const a = await tcpClient(onTestFinished, { register: false })
    expect(await sendToAny(a, bId.nodeId, endpoints, text('via r1'))).toEqual(r1.endpoint())
    await r1.stop()
    expect(await sendToAny(a, bId.nodeId, endpoints, text('via r2'))).toEqual(r2.endpoint())
    await until(() => got.length === 2)
    expect(got.map(f => str(f.frame))).toEqual(['via r1', 'via r2'])
  })

  test('a client registered with one relay replaces it when it dies, and advertises the new one', async ({ onTestFinished }) => {
    const r1 = await tcpServer(onTestFinished)
    const r2 = await tcpServer(onTestFinished)
    const bId = generateIdentity()
    const b = await tcpClient(onTestFinished, { relays: [r1.endpoint(), r2.endpoint()], maxRelays: 1, maxRelayFailures: 2 }, bId)
    await registered(b)
    expect(b.localEndpoints()).toEqual([r1.endpoint()])
    const changes: Endpoint[][] = []
    b.addEventListener('endpoints:change', ({ detail }) => { changes.push(detail) })
    await r1.stop()
    await until(() => b.localEndpoints().some(e => e.kind === 'relay' && e.port === r2.endpoint().port))
    expect(b.localEndpoints()).toEqual([r2.endpoint()])
    expect(changes.at(-1)).toEqual([r2.endpoint()])
    const got = collect(b)
    const a = await tcpClient(onTestFinished, { register: false })
    await sendToAny(a, bId.nodeId, b.localEndpoints(), text('found you'))
    await until(() => got.length === 1)
  })
})
