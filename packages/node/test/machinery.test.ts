import { createContactRecord, generateIdentity } from '@egtp/identity'
import { describe, expect, test } from 'vitest'
import { Dispatcher } from '../src/dispatcher.ts'
import { memoryDirectory } from '../src/directory.ts'
import { counterOf } from '../src/ids.ts'
import { resolveLimits } from '../src/limits.ts'
import { PeerOutbound, retryDelay } from '../src/outbound.ts'
import type { OutEntry, Settlement } from '../src/outbound.ts'
import { Deadlines } from '../src/deadlines.ts'
import { PendingQueries } from '../src/queries.ts'
import { Histogram, RTT_BUCKETS_MS, StatsCollector, OTHER_KEY } from '../src/stats.ts'

function entry (out: PeerOutbound, kind: 'q' | 'o' | 'a', now: number, deadline: number, settled: Settlement[] = []): OutEntry {
  const { id, counter } = kind === 'a' ? { id: new Uint8Array(16).fill(9), counter: 0 } : out.allocate()
  const e: OutEntry = {
    key: kind === 'a' ? 'reply' : counter, id, kind, counter, type: 't', bytes: new Uint8Array(10), deadline, createdAt: now, attempts: 0,
    nextRetryAt: now + 100, queued: false, settle: r => { settled.push(r) }
  }
  out.add(e)
  return e
}

describe('PeerOutbound', () => {
  test('the floor is the oldest unacknowledged own message, or the next counter', () => {
    const out = new PeerOutbound(new Uint8Array(8))
    expect(counterOf(out.floor())).toBe(1)
    const a = entry(out, 'q', 0, 1000)
    const b = entry(out, 'o', 0, 1000)
    entry(out, 'a', 0, 1000) // replies do not hold the floor
    expect(counterOf(out.floor())).toBe(1)
    out.remove(a.key)
    expect(counterOf(out.floor())).toBe(2)
    out.remove(b.key)
    expect(counterOf(out.floor())).toBe(3)
    expect(out.size).toBe(1)
    expect(out.bytes).toBe(10)
  })

  test('due() lists re-sends (not queued, time reached) and expiries', () => {
    const out = new PeerOutbound(new Uint8Array(8))
    const a = entry(out, 'o', 0, 1000)
    const b = entry(out, 'o', 0, 50)
    const c = entry(out, 'o', 0, 1000)
    c.queued = true
    expect(out.due(60)).toEqual({ retry: [], expired: [b] })
    expect(out.due(100)).toEqual({ retry: [a], expired: [b] })
  })

  test('replies: one held without a map, two or more in one, back to one and none; each found by its key', () => {
    const out = new PeerOutbound(new Uint8Array(8))
    const reply = (key: string): OutEntry => {
      const e: OutEntry = {
        key, id: new Uint8Array(16), kind: 'a', counter: 0, type: 't', bytes: new Uint8Array(10), deadline: 50, createdAt: 0,
        attempts: 0, nextRetryAt: 100, queued: false, settle: () => {}
      }
      out.add(e)
      return e
    }
    const own = entry(out, 'q', 0, 1000)
    const r1 = reply('r1')
    expect(() => reply('r1')).toThrow('duplicate')
    expect([out.get('r1'), out.get('r2'), out.size]).toEqual([r1, undefined, 2])
    const r2 = reply('r2')
    const r3 = reply('r3')
    expect(() => reply('r2')).toThrow('duplicate')
    expect([out.get('r1'), out.get('r2'), out.get('r3'), out.size]).toEqual([r1, r2, r3, 4])
    expect([...out.entries()]).toEqual([own, r1, r2, r3])
    expect(out.due(60).expired).toEqual([r1, r2, r3])
    expect(out.remove('r1')).toBe(r1)
    expect(out.remove('r1')).toBeUndefined()
    expect(out.remove('r3')).toBe(r3)
    expect([out.get('r2'), out.get('r3'), out.size, out.bytes]).toEqual([r2, undefined, 2, 20])
    expect([...out.entries()]).toEqual([own, r2])
    const r4 = reply('r4')
    expect([out.get('r2'), out.get('r4'), out.size]).toEqual([r2, r4, 3])
    out.remove('r4')
    out.remove('r2')
    expect([out.get('r2'), out.size, out.compact()]).toEqual([undefined, 1, false])
    out.remove(own.key)
    expect([[...out.entries()], out.size, out.bytes, out.compact()]).toEqual([[], 0, 0, true])
  })

  test('backoff doubles up to the max, with ±20% jitter', () => {
    expect(retryDelay(1, 1000, 4000, () => 0.5)).toBe(1000)
    expect(retryDelay(2, 1000, 4000, () => 0.5)).toBe(2000)
    expect(retryDelay(5, 1000, 4000, () => 0.5)).toBe(4000)
    expect(retryDelay(50, 1000, 4000, () => 1)).toBeCloseTo(4800)
    expect(retryDelay(1, 1000, 4000, () => 0)).toBe(800)
  })
})

describe('Dispatcher', () => {
  test('runs at most maxConcurrent, queues up to maxQueued, refuses beyond, drains in order', async () => {
    const d = new Dispatcher(2, 2)
    const releases: Array<() => void> = []
    const cancelled: number[] = []
    const order: number[] = []
    const job = (n: number) => ({ run: () => new Promise<void>(resolve => { order.push(n); releases.push(resolve) }), cancel: () => { cancelled.push(n) } })
    for (let i = 0; i < 4; i++) expect(d.tryRun(job(i))).toBe(true)
    expect(d.tryRun(job(4))).toBe(false)
    expect(d.hasRoom()).toBe(false)
    expect([d.running, d.queued]).toEqual([2, 2])
    releases[0]!()
    await new Promise(resolve => setImmediate(resolve))
    expect(order).toEqual([0, 1, 2])
    d.clear()
    expect(cancelled).toEqual([3])
    const idle = d.idle()
    releases[1]!()
    releases[2]!()
    await idle
    expect(d.running).toBe(0)
  })

  test('synchronous and throwing jobs free their slot at once', () => {
    const d = new Dispatcher(1, 0)
    expect(d.tryRun({ run: () => undefined, cancel: () => {} })).toBe(true)
    expect(d.tryRun({ run: () => { throw new Error('x') }, cancel: () => {} })).toBe(true)
    expect(d.running).toBe(0)
  })
})

describe('PendingQueries', () => {
  const q = (peerId: string, key: number) => ({
    peerId, key, message: { id: new Uint8Array(16) }, type: 't', startedAt: 0, deadline: 10, dueAt: 10, resolve: () => {}, reject: () => {}, cleanup: () => {}
  })

  test('a reply only matches its own peer and ID', () => {
    const p = new PendingQueries(2, 100)
    p.add(q('a', 1))
    expect(p.take('b', 1)).toBeUndefined()
    expect(p.take('a', 2)).toBeUndefined()
    expect(p.take('a', 1)).toBeDefined()
    expect(p.take('a', 1)).toBeUndefined()
  })

  test('queries are kept in counter order; a peer whose counters start over (evicted, back) is accepted once idle', () => {
    const p = new PendingQueries(2, 100)
    p.add(q('a', 5))
    p.add(q('a', 7))
    expect(() => { p.add(q('a', 6)) }).toThrow(RangeError) // counters only grow while queries are pending
    expect(p.ofPeer('a').map(x => x.key)).toEqual([5, 7])
    expect(p.take('a', 5)).toBeDefined()
    expect(p.take('a', 7)).toBeDefined()
    expect(p.size).toBe(0)
    p.add(q('a', 1)) // the peer table forgot the peer and made it again: its stream counts from 1
    expect(p.take('a', 1)?.key).toBe(1)
    expect(p.hasPeer('a')).toBe(false)
  })

  test('timed-out queries are remembered for late replies, bounded in number and time', () => {
    const p = new PendingQueries(2, 100)
    p.remember(q('a', 1), 0)
    p.remember(q('a', 2), 0)
    p.remember(q('a', 3), 0)
    expect(p.takeLate('a', 1, 1)).toBeUndefined() // evicted: only 2 kept
    expect(p.takeLate('a', 2, 50)).toBeDefined()
    expect(p.takeLate('a', 2, 50)).toBeUndefined() // reported once
    expect(p.takeLate('a', 3, 150)).toBeUndefined() // past the window
  })
})

describe('stats', () => {
  test('histogram buckets, quantiles and bounded per-key tables', () => {
    const h = new Histogram()
    for (let i = 0; i < 99; i++) h.record(0.5)
    h.record(700)
    const s = h.snapshot()
    expect(s.count).toBe(100)
    expect(s.p50Ms).toBe(1) // upper bound of the ≤1 ms bucket
    expect(s.p99Ms).toBe(1)
    expect(s.maxMs).toBe(700)
    expect(s.buckets).toHaveLength(RTT_BUCKETS_MS.length + 1)
    const c = new StatsCollector(2, 2)
    for (const t of ['a', 'b', 'c', 'd']) c.sent('peer', t, 1)
    expect(Object.keys(c.types.snapshot())).toEqual(['a', 'b', OTHER_KEY])
    expect(c.types.snapshot()[OTHER_KEY]!.messagesSent).toBe(2)
  })
})

describe('limits', () => {
  test('defaults resolve; nonsense is a RangeError', () => {
    expect(resolveLimits().maxPendingQueries).toBeGreaterThan(0)
    expect(() => resolveLimits({ maxPendingQueries: -1 })).toThrow(RangeError)
    expect(() => resolveLimits({ maxPendingQueries: 1.5 })).toThrow(RangeError)
    expect(() => resolveLimits({ dedupRetentionMs: 1000 })).toThrow(/outlast/)
    expect(() => resolveLimits({ retryInitialMs: 5000, retryMaxMs: 1000 })).toThrow(RangeError)
    expect(resolveLimits({ ackDelayMs: 0 }).ackDelayMs).toBe(0)
  })
})

describe('memoryDirectory', () => {
  test('verifies records, keeps the highest seq, expires them', async () => {
    let now = 1_000_000
    const dir = memoryDirectory({ clock: { now: () => now, monotonic: () => now } })
    const id = generateIdentity()
    const r1 = createContactRecord(id, { seq: 1, expiresAt: now + 1000, endpoints: [{ kind: 'tcp', host: '127.0.0.1', port: 1 }], services: ['relay'] })
    const r2 = createContactRecord(id, { seq: 2, expiresAt: now + 1000, endpoints: [{ kind: 'tcp', host: '127.0.0.1', port: 2 }] })
    await dir.announce(r1)
    expect((await dir.discover('relay')).map(r => r.seq)).toEqual([1])
    await dir.announce(r2)
    await expect(dir.announce(r1)).rejects.toMatchObject({ code: 'ERR_STALE_RECORD' })
    expect((await dir.lookup(id.nodeId))?.seq).toBe(2)
    await expect(dir.announce({ ...r2, seq: 3 })).rejects.toMatchObject({ code: 'ERR_SIGNATURE' })
    const other = generateIdentity()
    await expect(dir.announce({ ...r2, publicKey: other.publicKey })).rejects.toMatchObject({ code: 'ERR_KEY_MISMATCH' })
    now += 2000
    expect(await dir.lookup(id.nodeId)).toBeUndefined()
  })
})

describe('Deadlines', () => {
  test('one timer fires every live deadline in order, skips settled ones, and stays bounded', async () => {
    const live = new Set<{ dueAt: number, n: number }>()
    const fired: number[] = []
    const d = new Deadlines<{ dueAt: number, n: number }>(item => { live.delete(item); fired.push(item.n) }, item => live.has(item), () => live.size)
    const now = performance.now()
    const items = [30, 10, 20, 15].map((ms, n) => ({ dueAt: now + ms, n }))
    for (const item of items) {
      live.add(item)
      d.add(item)
    }
    live.delete(items[3]!) // settled before its time: never fires
    await new Promise(resolve => setTimeout(resolve, 60))
    expect(fired).toEqual([1, 2, 0])
    expect(d.size).toBe(0)
    // Many settled entries: the heap keeps at most twice the live count (plus a constant), not all of them.
    const keep = { dueAt: performance.now() + 10_000, n: -1 }
    live.add(keep)
    d.add(keep)
    for (let i = 0; i < 1000; i++) d.add({ dueAt: performance.now() + 10_000, n: i })
    expect(d.size).toBeLessThan(100)
    d.clear()
  })

  test('a deadline added while one expires does not delay the earlier ones still waiting', async () => {
    const live = new Set<{ dueAt: number, n: number }>()
    const fired: number[] = []
    const now = performance.now()
    const later = { dueAt: now + 10_000, n: 2 }
    const d = new Deadlines<{ dueAt: number, n: number }>(item => {
      live.delete(item)
      fired.push(item.n)
      if (item.n === 0) {
        live.add(later)
        d.add(later)
      }
    }, item => live.has(item), () => live.size)
    for (const item of [{ dueAt: now + 10, n: 0 }, { dueAt: now + 30, n: 1 }]) {
      live.add(item)
      d.add(item)
    }
    await new Promise(resolve => setTimeout(resolve, 80))
    expect(fired).toEqual([0, 1])
    d.clear()
  })
})
