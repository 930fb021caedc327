// The client against lying trackers, floods, a port change, and a node reachable only through a relay.
import { createContactRecord, encodeContactRecord, generateIdentity, nodeIdFromBytes } from '@egtp/identity'
import { createNode } from '@egtp/node'
import type { EgtpNode } from '@egtp/node'
import { relayClient, relayServer } from '@egtp/relay'
import { describe, expect, test } from 'vitest'
import { TRACKER_QUERY_TYPE, answerCodec, requestCodec } from '../../src/protocol.ts'
import type { TrackerAnswer } from '../../src/protocol.ts'
import { ask, dialing, listening, rawNode, testnet, until } from '../helpers/net.ts'
import type { Cleanup } from '../helpers/net.ts'

type Lie = 'other-key' | 'old-record' | 'garbage' | 'expired'

/** A node that answers metatracker requests with lies about whoever is looked up. */
async function lyingTracker (cleanup: Cleanup, lie: Lie, oldRecords: Map<string, Uint8Array>): Promise<EgtpNode> {
  const node = await createNode({ commstrats: [listening()], services: ['metatracker'] })
  const liar = generateIdentity()
  node.handle(TRACKER_QUERY_TYPE, (payload) => {
    const request = requestCodec.decode(payload as Uint8Array)
    if (request.t === 'mp') return answerCodec.encode({ t: 'mpa', h: 600_000 })
    if (request.t !== 'ml') return answerCodec.encode({ t: 'mda', r: [] })
    const r = request.ids.map(id => {
      const nodeId = nodeIdFromBytes(id)
      const mine = createContactRecord(liar, { seq: Date.now() + 1e9, expiresAt: Date.now() + 600_000, endpoints: [{ kind: 'tcp', host: '127.0.0.1', port: 1 }] })
      switch (lie) {
        case 'other-key': return encodeContactRecord({ ...mine, nodeId }) // "newer", but the key is not the node's
        case 'old-record': return oldRecords.get(nodeId) ?? encodeContactRecord(mine)
        case 'expired': return encodeContactRecord(createContactRecord(liar, { seq: 1, expiresAt: Date.now() - 1, endpoints: [] }))
        case 'garbage': return Uint8Array.of(0x81, 0xa1, 0x74, 0xa2, 0x63, 0x72, 9, 9, 9)
      }
      throw new Error('unreachable')
    })
    const answer: TrackerAnswer = { t: 'mla', r }
    return answerCodec.encode(answer)
  })
  await node.start()
  cleanup(() => node.stop())
  return node
}

describe('a client never trusts a tracker', () => {
  test.for<Lie>(['other-key', 'old-record', 'garbage', 'expired'])('one of three trackers lies (%s): the client still gets the right record', async (lie, { onTestFinished }) => {
    const net = await testnet(onTestFinished, { size: 2 })
    const oldRecords = new Map<string, Uint8Array>()
    const liar = await lyingTracker(onTestFinished, lie, oldRecords)
    const b = await net.node({ commstrats: [listening()] })
    b.node.handle('ping', () => 'pong')
    await b.node.start()
    // B's first record, then a newer one: the liar hands out the first.
    oldRecords.set(b.node.nodeId, encodeContactRecord(b.node.contactRecord()!))
    const raw = await rawNode(onTestFinished, net.records())
    const first = b.node.contactRecord()!
    const newer = createContactRecord(b.identity, { seq: first.seq + 1, expiresAt: first.expiresAt, endpoints: first.endpoints })
    for (const t of net.trackers) expect(await ask(raw, t.node.nodeId, { t: 'mp', r: encodeContactRecord(newer) })).toMatchObject({ h: expect.any(Number) })

    const a = await net.node({ commstrats: [listening()] })
    a.client.addTracker(liar.contactRecord()!)
    await a.node.start()
    const found = await a.client.lookup(b.node.nodeId)
    expect(found).toMatchObject({ nodeId: b.node.nodeId, seq: newer.seq })
    expect(a.client.stats()[liar.nodeId]).toMatchObject({ badRecords: 1 })
    for (const t of net.trackers) expect(a.client.stats()[t.node.nodeId]?.badRecords ?? 0).toBe(0)
    expect(await a.node.query(b.node.nodeId, 'ping')).toBe('pong')
  })
})

describe('limits', () => {
  test('a flood from one sender is refused (ERR_RATE_LIMITED) while others are served', async ({ onTestFinished }) => {
    const net = await testnet(onTestFinished, { size: 1, server: { lookupsPerSecond: 20 } })
    const id = net.trackers[0]!.node.nodeId
    const flooder = await rawNode(onTestFinished, net.records())
    const polite = await rawNode(onTestFinished, net.records())
    const request = { t: 'ml' as const, ids: [generateIdentity().nodeIdBytes] }
    const started = performance.now()
    const flood = Promise.all(Array.from({ length: 200 }, async () => await ask(flooder, id, request)))
    const served = []
    for (let i = 0; i < 5; i++) served.push(await ask(polite, id, request))
    const answers = await flood
    const seconds = (performance.now() - started) / 1000
    const refused = answers.filter(a => a.t === 'mla' && a.c === 'ERR_RATE_LIMITED').length
    // A burst of 20 plus 20 per second of the flood's duration is served; everything beyond is refused.
    expect(answers.length - refused).toBeGreaterThanOrEqual(20)
    expect(answers.length - refused).toBeLessThanOrEqual(20 + Math.ceil(20 * seconds) + 1)
    expect(refused).toBeGreaterThan(0)
    expect(served.every(a => a.t === 'mla' && a.c === undefined)).toBe(true)
    const stats = await net.trackers[0]!.server.stats()
    expect(stats.refused.ERR_RATE_LIMITED).toBe(refused)
  })
})

describe('moving nodes', () => {
  test('a node that comes back on another port is found there by a peer that knew it', async ({ onTestFinished }) => {
    const net = await testnet(onTestFinished, { size: 2 })
    const identity = generateIdentity()
    const first = await net.node({ identity, commstrats: [listening()] })
    first.node.handle('where', () => 'first')
    await first.node.start()
    const a = await net.node({ commstrats: [listening()], limits: { minLookupIntervalMs: 1 } }) // looks up again at once
    await a.node.start()
    expect(await a.node.query(identity.nodeId, 'where')).toBe('first')
    const oldPort = first.node.contactRecord()!.endpoints[0]
    await first.node.stop() // a crash: no goodbye, the trackers still hold the old address

    const second = await net.node({ identity, commstrats: [listening()] })
    second.node.handle('where', () => 'second')
    // The peer finds the new address once the trackers hold it: wait for the publication, not a guess of time.
    const published = new Promise(resolve => { second.client.addEventListener('tracker:announce', resolve, { once: true }) })
    await second.node.start()
    await published
    expect(second.node.contactRecord()!.endpoints[0]).not.toEqual(oldPort)
    // A attempt within A's minLookupIntervalMs (50 ms) of its last lookup still uses the old address and fails
    // fast; the next one looks the node up again and finds it on its new port.
    await until(async () => await a.node.query(identity.nodeId, 'where', null, { timeoutMs: 5000 }).catch(() => undefined) === 'second', 5000, 'A to reach the node on its new port')
  })

  test('a node behind a relay (listening nowhere) is found by ID and reached through the relay', async ({ onTestFinished }) => {
    const net = await testnet(onTestFinished, { size: 2 })
    const relayTransport = dialing()
    const relay = relayServer({ listen: { kind: 'tcp', host: '127.0.0.1', port: 0 } })({ transport: relayTransport, identity: generateIdentity() })
    await relay.start()
    onTestFinished(async () => { await relay.stop(); await relayTransport.stop() })

    const bTransport = dialing()
    const bIdentity = generateIdentity()
    const bRelays = relayClient({ relays: [relay.endpoint()], reconnectMinMs: 10, reconnectMaxMs: 200 })({ transport: bTransport, identity: bIdentity })
    const b = await net.node({ identity: bIdentity, commstrats: [bTransport, bRelays] })
    b.node.handle('whoami', (_p, ctx) => ({ me: b.node.nodeId, you: ctx.peerId }))
    await b.node.start()
    // B's record gains the relay once registered, and B publishes it again.
    await until(() => b.node.contactRecord()?.endpoints.some(e => e.kind === 'relay') === true, 5000, 'B registered with the relay')
    await until(async () => (await net.trackers[0]!.server.store.get([b.node.nodeId], Date.now())).length === 1 &&
      (await b.client.lookup(b.node.nodeId))?.endpoints.some(e => e.kind === 'relay') === true, 5000, 'B\'s relay record at the trackers')
    expect(b.node.contactRecord()!.endpoints.map(e => e.kind)).toEqual(['relay'])

    const aTransport = listening()
    const aIdentity = generateIdentity()
    const aSender = relayClient({ register: false })({ transport: aTransport, identity: aIdentity })
    const a = await net.node({ identity: aIdentity, commstrats: [aTransport, aSender] })
    await a.node.start()
    expect(await a.node.query(b.node.nodeId, 'whoami')).toEqual({ me: b.node.nodeId, you: a.node.nodeId })
    expect(relay.stats().delivered).toBeGreaterThan(0)
  })
})
