// The fleet store on a real redis-server: two trackers (nodes) share one Redis and serve each other's records.
import { encodeContactRecord } from '@egtp/identity'
import { describe, expect, test } from 'vitest'
import { RedisRecordStore } from '../../src/redis/index.ts'
import type { HeldRecord } from '../../src/server/store.ts'
import { ask, rawNode, record, testnet, until } from '../helpers/net.ts'
import { redisAvailable, startRedis } from '@egtp/scripts/redis'

const haveRedis = redisAvailable()

function held (seq: number, expiresAt: number, r = record({ seq })): HeldRecord {
  return { nodeId: r.record.nodeId, seq, expiresAt, services: r.record.services, bytes: encodeContactRecord(r.record) }
}

describe.skipIf(!haveRedis)('Redis store (real redis-server)', () => {
  test('sequence numbers compare atomically; expiry is Redis\'; sampling and withdrawal', async ({ onTestFinished }) => {
    const redis = await startRedis()
    onTestFinished(() => redis.stop())
    const store = new RedisRecordStore({ url: redis.url, maxRecords: 3 })
    await store.open()
    onTestFinished(() => store.close())
    const now = Date.now()
    const first = record({ seq: 5, services: ['relay'] })
    const five = held(5, now + 60_000, first)
    expect(await store.put(five, now)).toBe('stored')
    expect(await store.put({ ...five, expiresAt: now + 120_000 }, now)).toBe('refreshed')
    expect(await store.put(held(4, now + 60_000, record({ identity: first.identity, seq: 4, services: ['relay'] })), now)).toBe('stale')
    // Two publishes of different newer records at once: exactly the higher one stays.
    const six = held(6, now + 60_000, record({ identity: first.identity, seq: 6 }))
    const seven = held(7, now + 60_000, record({ identity: first.identity, seq: 7, services: ['relay'] }))
    const outcomes = await Promise.all([store.put(seven, now), store.put(six, now)])
    expect(outcomes).toContain('stored')
    expect(await store.get([first.record.nodeId], now)).toEqual([seven.bytes])

    const shortLived = held(1, Date.now() + 1500, record({ services: ['relay'] }))
    expect(await store.put(shortLived, Date.now())).toBe('stored')
    expect(await store.sample('relay', 10, Date.now())).toHaveLength(2)
    expect(await store.put(held(1, now + 60_000), now)).toBe('stored')
    expect(await store.put(held(1, now + 60_000), now)).toBe('full')
    await until(async () => (await store.get([shortLived.nodeId], Date.now())).length === 0, 5000, 'Redis to expire the key itself')
    expect(await store.sample('relay', 10, Date.now())).toEqual([seven.bytes])
    expect(await store.put(held(1, now + 60_000), Date.now())).toBe('stored') // room again
    expect(await store.withdraw(first.record.nodeId, 6, now)).toBe(false)
    expect(await store.withdraw(first.record.nodeId, 7, now)).toBe(true)
    expect(await store.get([first.record.nodeId], now)).toEqual([])
    expect(await store.sample('relay', 10, Date.now())).toEqual([])
    expect(await store.size(Date.now())).toBe(2)
  })

  test('two trackers on one Redis serve each other\'s records; a dead Redis is refused with ERR_TRACKER_STORE', async ({ onTestFinished }) => {
    const redis = await startRedis()
    onTestFinished(() => redis.stop())
    const stores = [new RedisRecordStore({ url: redis.url, commandTimeoutMs: 500 }), new RedisRecordStore({ url: redis.url, commandTimeoutMs: 500 })]
    for (const s of stores) { await s.open(); onTestFinished(() => s.close()) }
    const net = await testnet(onTestFinished, { size: 2, store: i => stores[i]! })
    const [one, two] = net.trackers as [typeof net.trackers[0], typeof net.trackers[0]]
    const raw = await rawNode(onTestFinished, net.records())
    const r = record({ services: ['relay'] })
    expect(await ask(raw, one.node.nodeId, { t: 'mp', r: encodeContactRecord(r.record) })).toMatchObject({ t: 'mpa', h: expect.any(Number) })
    expect(await ask(raw, two.node.nodeId, { t: 'ml', ids: [r.identity.nodeIdBytes] })).toEqual({ t: 'mla', r: [encodeContactRecord(r.record)] })
    expect(await ask(raw, two.node.nodeId, { t: 'md', s: 'relay', n: 5 })).toEqual({ t: 'mda', r: [encodeContactRecord(r.record)] })

    await redis.stop()
    expect(await ask(raw, two.node.nodeId, { t: 'ml', ids: [r.identity.nodeIdBytes] })).toEqual({ t: 'mla', c: 'ERR_TRACKER_STORE', r: [] })
    expect((await two.server.stats()).refused).toMatchObject({ ERR_TRACKER_STORE: 1 })
  })
})
