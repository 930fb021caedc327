import { encodeContactRecord } from '@egtp/identity'
import { describe, expect, test } from 'vitest'
import { MemoryRecordStore } from '../src/server/memory-store.ts'
import { randomIndices } from '../src/server/store.ts'
import type { HeldRecord } from '../src/server/store.ts'
import { record } from './helpers/net.ts'

function held (seq = 1, services: string[] = [], expiresAt = 10_000, r = record({ seq, services })): HeldRecord {
  return { nodeId: r.record.nodeId, seq, expiresAt, services, bytes: encodeContactRecord(r.record) }
}

describe('memory record store', () => {
  test('keeps the highest sequence number; the same record refreshes; another record with the same seq is stale', async () => {
    const store = new MemoryRecordStore()
    const first = record({ seq: 5 })
    const h = (seq: number, expiresAt = 1000): HeldRecord => held(seq, [], expiresAt, record({ identity: first.identity, seq }))
    const five = h(5)
    expect(await store.put(five, 0)).toBe('stored')
    expect(await store.put({ ...five, expiresAt: 2000 }, 0)).toBe('refreshed')
    expect(await store.get([five.nodeId], 1500)).toEqual([five.bytes])
    expect(await store.put(h(4), 0)).toBe('stale')
    expect(await store.put({ ...h(5), bytes: h(6).bytes }, 0)).toBe('stale')
    expect(await store.put(h(6), 0)).toBe('stored')
    expect(await store.withdraw(five.nodeId, 5, 0)).toBe(false)
    expect(await store.withdraw(five.nodeId, 6, 0)).toBe(true)
    expect(await store.get([five.nodeId], 0)).toEqual([])
  })

  test('expired records are not served, are replaced freely, and are swept', async () => {
    const store = new MemoryRecordStore({ maxRecords: 2 })
    const a = held(1, ['relay'], 100)
    const b = held(1, ['relay'], 100)
    expect(await store.put(a, 0)).toBe('stored')
    expect(await store.put(b, 0)).toBe('stored')
    expect(await store.put(held(1, [], 500), 50)).toBe('full')
    expect(await store.get([a.nodeId], 100)).toEqual([])
    expect(await store.sample('relay', 10, 100)).toEqual([])
    // Full of expired records: the put sweeps them first (at most once a second).
    expect(await store.put(held(1, [], 5000), 1100)).toBe('stored')
    expect(await store.size()).toBe(1)
  })

  test('samples are distinct, at most n, and spread over every record', async () => {
    const store = new MemoryRecordStore()
    const all = Array.from({ length: 20 }, () => held(1, ['relay']))
    for (const h of all) await store.put(h, 0)
    await store.put(held(1, ['metatracker']), 0)
    const counts = new Map<Uint8Array, number>()
    for (let i = 0; i < 400; i++) {
      const got = await store.sample('relay', 3, 0)
      expect(new Set(got).size).toBe(3)
      for (const g of got) counts.set(g, (counts.get(g) ?? 0) + 1)
    }
    expect(counts.size).toBe(20) // every relay was picked; 1200 picks of 20 average 60 each
    for (const n of counts.values()) expect(n).toBeGreaterThan(20)
    expect(await store.sample('relay', 400, 0)).toHaveLength(20)
  })

  test('randomIndices draws without repetition', () => {
    for (let m = 0; m < 30; m++) {
      const got = randomIndices(m, 10)
      expect(got).toHaveLength(Math.min(m, 10))
      expect(new Set(got).size).toBe(got.length)
      for (const i of got) expect(i).toBeLessThan(m)
    }
  })
})
