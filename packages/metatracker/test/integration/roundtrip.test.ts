// Publish / lookup / discover / goodbye over real nodes on 127.0.0.1: a node is reached by its ID alone.
import { nodeIdToBytes, encodeContactRecord } from '@egtp/identity'
import { describe, expect, test } from 'vitest'
import { createNode } from '@egtp/node'
import { trackers } from '../../src/client/index.ts'
import { signGoodbye } from '../../src/protocol.ts'
import { ask, listening, rawNode, record, testnet, until } from '../helpers/net.ts'

describe('round trips through real trackers', () => {
  test('a node publishes on start; another finds and queries it by node ID alone; goodbye withdraws it', async ({ onTestFinished }) => {
    const net = await testnet(onTestFinished, { size: 2 })
    const b = await net.node({ commstrats: [listening()] })
    b.node.handle('echo', (p, ctx) => ({ p, from: ctx.peerId }))
    await b.node.start()
    // Both trackers hold B's record (fanout 3 ≥ 2 trackers).
    await until(async () => (await Promise.all(net.trackers.map(async t => (await t.server.stats()).records))).every(n => n === 2), 5000, 'both trackers to hold the record')

    const a = await net.node({ commstrats: [listening()] })
    await a.node.start()
    expect(await a.node.query(b.node.nodeId, 'echo', 42)).toEqual({ p: 42, from: a.node.nodeId })
    expect(await a.client.lookup(b.node.nodeId)).toMatchObject({ nodeId: b.node.nodeId, seq: b.node.contactRecord()!.seq })

    // Several IDs per lookup request; unknown IDs are left out.
    const raw = await rawNode(onTestFinished, net.records())
    const unknown = record().record.nodeId
    const answer = await ask(raw, net.trackers[0]!.node.nodeId, { t: 'ml', ids: [nodeIdToBytes(a.node.nodeId), nodeIdToBytes(unknown), nodeIdToBytes(b.node.nodeId)] })
    expect(answer.t === 'mla' && answer.r.length).toBe(2)

    await b.client.stop()
    for (const t of net.trackers) {
      const gone = await ask(raw, t.node.nodeId, { t: 'ml', ids: [nodeIdToBytes(b.node.nodeId)] })
      expect(gone).toEqual({ t: 'mla', r: [] })
    }
    expect(await a.client.lookup(b.node.nodeId)).toBeUndefined()
  })

  test('discover returns live relays and trackers, chosen at random, never more than asked', async ({ onTestFinished }) => {
    const net = await testnet(onTestFinished, { size: 1, server: { publishesPerSecond: 1000 } })
    const tracker = net.trackers[0]!
    const raw = await rawNode(onTestFinished, net.records())
    const relays = Array.from({ length: 30 }, (_, i) => record({ services: ['relay'], endpoints: [{ kind: 'tcp', host: '127.0.0.1', port: 1000 + i }] }))
    for (const r of relays) expect(await ask(raw, tracker.node.nodeId, { t: 'mp', r: encodeContactRecord(r.record) })).toMatchObject({ t: 'mpa', h: expect.any(Number) })
    expect(await ask(raw, tracker.node.nodeId, { t: 'mp', r: encodeContactRecord(record().record) })).toMatchObject({ t: 'mpa' })

    const firsts = new Set<string>()
    const seen = new Set<string>()
    for (let i = 0; i < 12; i++) {
      const got = await ask(raw, tracker.node.nodeId, { t: 'md', s: 'relay', n: 5 })
      if (got.t !== 'mda') throw new Error('not a discover answer')
      expect(got.r).toHaveLength(5)
      const ids = got.r.map(b => Buffer.from(b).toString('hex'))
      expect(new Set(ids).size).toBe(5)
      firsts.add(ids[0]!)
      for (const id of ids) seen.add(id)
    }
    // 12 random draws of 5 out of 30: the same first pick every time, or fewer than 15 distinct, would not be random.
    expect(firsts.size).toBeGreaterThan(1)
    expect(seen.size).toBeGreaterThan(15)

    const client = await net.node({ commstrats: [listening()] })
    await client.node.start()
    const found = await client.client.discover('relay', { limit: 400 })
    expect(found).toHaveLength(30)
    expect(new Set(found.map(r => r.nodeId))).toEqual(new Set(relays.map(r => r.record.nodeId)))
    expect((await client.client.discover('metatracker')).map(r => r.nodeId)).toEqual([tracker.node.nodeId])
  })

  test('a node publishes again before the trackers forget it', async ({ onTestFinished }) => {
    const net = await testnet(onTestFinished, { size: 1, server: { recordTtlMs: 1500 } })
    const b = await net.node({ commstrats: [listening()] })
    const announced: number[] = []
    b.client.addEventListener('tracker:announce', ({ detail }) => { announced.push(detail.heldMs) })
    await b.node.start()
    expect(announced).toEqual([1500])
    const raw = await rawNode(onTestFinished, net.records())
    await until(() => announced.length >= 3, 5000, 'two more publishes')
    // Published again at half of each hold: still held after more than one hold's time.
    expect(await ask(raw, net.trackers[0]!.node.nodeId, { t: 'ml', ids: [b.identity.nodeIdBytes] })).toMatchObject({ r: [expect.anything()] })
  })

  test('a client that knows one tracker learns the others from it', async ({ onTestFinished }) => {
    const net = await testnet(onTestFinished, { size: 3 })
    // Each tracker holds the others' records (as a fleet's shared store would): publish them by hand here.
    const raw = await rawNode(onTestFinished, net.records())
    for (const t of net.trackers) for (const other of net.records()) await ask(raw, t.node.nodeId, { t: 'mp', r: encodeContactRecord(other) })
    const lone = trackers({ trackers: [net.records()[0]!], maxTrackers: 2 })
    const node = await createNode({ commstrats: [listening()], lookup: lone, discovery: lone, limits: { stopTimeoutMs: 200 } })
    lone.attach(node)
    await node.start()
    onTestFinished(() => node.stop())
    expect(lone.trackerIds()).toHaveLength(1)
    expect(await lone.discoverTrackers()).toBe(2)
    expect(lone.trackerIds()[0]).toBe(net.trackers[0]!.node.nodeId)
  })

  test('a tracker refuses bad records with a code each, and keeps serving', async ({ onTestFinished }) => {
    const net = await testnet(onTestFinished, { size: 1, server: { publishesPerSecond: 1000 } })
    const id = net.trackers[0]!.node.nodeId
    const raw = await rawNode(onTestFinished, net.records())
    const publish = async (bytes: Uint8Array): Promise<unknown> => await ask(raw, id, { t: 'mp', r: bytes })

    const good = record({ seq: 10 })
    expect(await publish(encodeContactRecord(good.record))).toMatchObject({ t: 'mpa', h: expect.any(Number) })
    // The same record again refreshes it.
    expect(await publish(encodeContactRecord(good.record))).toMatchObject({ t: 'mpa', h: expect.any(Number) })

    const forged = { ...good.record, signature: good.record.signature.map((b, i) => i === 0 ? b ^ 1 : b) }
    expect(await publish(encodeContactRecord(forged))).toEqual({ t: 'mpa', c: 'ERR_SIGNATURE' })
    const tampered = { ...good.record, seq: 11, endpoints: [{ kind: 'tcp' as const, host: '127.0.0.1', port: 6666 }] }
    expect(await publish(encodeContactRecord(tampered))).toEqual({ t: 'mpa', c: 'ERR_SIGNATURE' })
    const resigned = { ...record({ seq: 99 }).record, nodeId: good.record.nodeId } // another key's record under this ID
    expect(await publish(encodeContactRecord(resigned))).toEqual({ t: 'mpa', c: 'ERR_KEY_MISMATCH' })
    const replayed = record({ identity: good.identity, seq: 9 })
    expect(await publish(encodeContactRecord(replayed.record))).toEqual({ t: 'mpa', c: 'ERR_STALE_RECORD' })
    const sameSeqOtherBytes = record({ identity: good.identity, seq: 10, endpoints: [{ kind: 'tcp', host: '127.0.0.1', port: 7 }] })
    expect(await publish(encodeContactRecord(sameSeqOtherBytes.record))).toEqual({ t: 'mpa', c: 'ERR_STALE_RECORD' })
    const expired = record({ ttlMs: -1 })
    expect(await publish(encodeContactRecord(expired.record))).toEqual({ t: 'mpa', c: 'ERR_RECORD_EXPIRED' })
    const big = record({ endpoints: Array.from({ length: 16 }, (_, i) => ({ kind: 'tcp' as const, host: `h${i}.${'x'.repeat(180)}`, port: i + 1 })) })
    expect(await publish(encodeContactRecord(big.record))).toEqual({ t: 'mpa', c: 'ERR_RECORD_TOO_LARGE' })
    expect(await publish(Uint8Array.of(0x93, 1, 2, 3))).toMatchObject({ t: 'mpa', c: expect.stringMatching(/^ERR_(FIELD|MALFORMED)$/) })
    // Garbage instead of a request: the query fails with the codec's code.
    await expect(raw.query(id, 'metatracker', Uint8Array.of(0xc1))).rejects.toMatchObject({ code: 'ERR_REMOTE', remoteCode: expect.stringMatching(/^ERR_(FIELD|MALFORMED)$/) })
    await expect(raw.query(id, 'metatracker', { t: 'mp' })).rejects.toMatchObject({ code: 'ERR_REMOTE', remoteCode: 'ERR_MALFORMED' })

    // A goodbye signed by another key, or for a later record with a bad signature, removes nothing.
    const other = record()
    const badBye = { t: 'mg' as const, id: good.identity.nodeIdBytes, k: other.identity.publicKey, q: 10, g: signGoodbye(other.identity, 10) }
    expect(await ask(raw, id, badBye)).toEqual({ t: 'mga', c: 'ERR_KEY_MISMATCH', d: false })
    const forgedBye = { t: 'mg' as const, id: good.identity.nodeIdBytes, k: good.identity.publicKey, q: 10, g: signGoodbye(other.identity, 10) }
    expect(await ask(raw, id, forgedBye)).toEqual({ t: 'mga', c: 'ERR_SIGNATURE', d: false })
    // An old goodbye does not remove a newer record.
    const oldBye = { t: 'mg' as const, id: good.identity.nodeIdBytes, k: good.identity.publicKey, q: 9, g: signGoodbye(good.identity, 9) }
    expect(await ask(raw, id, oldBye)).toEqual({ t: 'mga', d: false })

    // The good record is still served, byte for byte.
    expect(await ask(raw, id, { t: 'ml', ids: [good.identity.nodeIdBytes] })).toEqual({ t: 'mla', r: [encodeContactRecord(good.record)] })
    const stats = await net.trackers[0]!.server.stats()
    expect(stats.refused).toMatchObject({ ERR_SIGNATURE: 3, ERR_KEY_MISMATCH: 2, ERR_STALE_RECORD: 2, ERR_RECORD_EXPIRED: 1, ERR_RECORD_TOO_LARGE: 1 })
    expect(Object.values(stats.requests.invalid ?? {}).reduce((x, y) => x + y, 0)).toBe(2)
    expect(stats.requests.publish).toMatchObject({ ok: 2 })
    const goodBye = { t: 'mg' as const, id: good.identity.nodeIdBytes, k: good.identity.publicKey, q: 10, g: signGoodbye(good.identity, 10) }
    expect(await ask(raw, id, goodBye)).toEqual({ t: 'mga', d: true })
    expect(await ask(raw, id, { t: 'ml', ids: [good.identity.nodeIdBytes] })).toEqual({ t: 'mla', r: [] })
  })
})
