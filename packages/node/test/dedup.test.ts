import { MemoryStore } from '@egtp/interface'
import { disabledLogger } from '@egtp/interface'
import { describe, expect, test } from 'vitest'
import { InboundDedup } from '../src/dedup.ts'
import { DedupJournal, JOURNAL_KEY } from '../src/journal.ts'

const init = { maxStreams: 4, maxStreamsPerPeer: 2, maxReorder: 8, retentionMs: 1000 }
const epoch = (n: number): Uint8Array => new Uint8Array(8).fill(n)

describe('InboundDedup', () => {
  test('delivers each counter once, in or out of order, with constant memory when in order', () => {
    const d = new InboundDedup(init)
    const s = d.stream('peer', epoch(1), 0)!
    for (const c of [1, 2, 3]) {
      expect(d.check(s, c)).toBe('new')
      d.accept(s, c)
      expect(d.check(s, c)).toBe('pending')
      d.delivered(s, c)
      expect(d.check(s, c)).toBe('duplicate')
    }
    expect(s.low).toBe(3)
    expect(s.above.size).toBe(0)
    d.delivered(s, 5)
    expect(d.check(s, 5)).toBe('duplicate')
    expect(d.check(s, 4)).toBe('new')
    d.delivered(s, 4)
    expect(s.low).toBe(5)
    expect(s.above.size).toBe(0)
  })

  test('a released message is delivered on its re-send', () => {
    const d = new InboundDedup(init)
    const s = d.stream('peer', epoch(1), 0)!
    d.accept(s, 1)
    d.release(s, 1)
    expect(d.check(s, 1)).toBe('new')
  })

  test('the sender floor closes gaps of messages it gave up, which are then refused', () => {
    const d = new InboundDedup(init)
    const s = d.stream('peer', epoch(1), 0)!
    d.delivered(s, 1)
    d.delivered(s, 3) // 2 never arrived
    expect(s.low).toBe(1)
    d.applyFloor(s, 4) // the sender settled everything below 4
    expect(s.low).toBe(3)
    expect(s.above.size).toBe(0)
    expect(d.check(s, 2)).toBe('duplicate') // a late copy of the given-up message is not delivered
    d.applyFloor(s, 2) // floors never go back
    expect(s.low).toBe(3)
  })

  test('too many out-of-order IDs are refused, not forgotten', () => {
    const d = new InboundDedup(init)
    const s = d.stream('peer', epoch(1), 0)!
    for (let c = 2; c < 10; c++) d.delivered(s, c)
    expect(d.check(s, 11)).toBe('full')
    expect(d.check(s, 5)).toBe('duplicate')
    d.delivered(s, 1)
    expect(s.low).toBe(9)
    expect(d.check(s, 11)).toBe('new')
  })

  test('streams are bounded per peer (oldest run evicted) and in total (full: undefined)', () => {
    const d = new InboundDedup(init)
    const a1 = d.stream('a', epoch(1), 0)!
    d.stream('a', epoch(2), 1)
    d.stream('a', epoch(3), 2)
    expect(d.size).toBe(2)
    expect(d.stream('a', epoch(1), 3)).not.toBe(a1)
    d.stream('b', epoch(1), 3)
    d.stream('c', epoch(1), 3)
    expect(d.size).toBe(4)
    expect(d.stream('e', epoch(1), 3)).toBeUndefined()
    // after the retention time, idle streams make room
    expect(d.stream('e', epoch(1), 3 + init.retentionMs)).toBeDefined()
  })

  test('sweep forgets idle streams but keeps ones with pending messages', () => {
    const d = new InboundDedup(init)
    const s = d.stream('a', epoch(1), 0)!
    d.accept(s, 1)
    d.stream('b', epoch(1), 0)
    expect(d.sweep(5000)).toBe(1)
    expect(d.size).toBe(1)
  })
})

describe('DedupJournal', () => {
  test('messages in flight at a crash come back uncertain; delivered ones stay duplicates', async () => {
    const store = new MemoryStore()
    const d1 = new InboundDedup(init)
    const j1 = new DedupJournal(store, d1, disabledLogger)
    const s = d1.stream('peer', epoch(1), 0)!
    const delivered: number[] = []
    for (const c of [1, 2]) {
      d1.accept(s, c)
      j1.commit([{ stream: s, counter: c }], ok => {
        expect(ok).toBe(true)
        d1.delivered(s, c)
        delivered.push(c)
      })
    }
    await j1.flush()
    expect(delivered).toEqual([1, 2])
    d1.accept(s, 3)
    j1.commit([{ stream: s, counter: 3 }], () => { delivered.push(3) })
    await j1.flush()
    // crash: a new process loads the journal; 3 was written as in flight
    const d2 = new InboundDedup(init)
    await new DedupJournal(store, d2, disabledLogger).load(0)
    const s2 = d2.stream('peer', epoch(1), 0)!
    expect(d2.check(s2, 1)).toBe('duplicate')
    expect(d2.check(s2, 2)).toBe('duplicate')
    expect(d2.check(s2, 3)).toBe('uncertain')
    expect(d2.check(s2, 4)).toBe('new')
    d2.applyFloor(s2, 4)
    expect(d2.check(s2, 3)).toBe('duplicate')
  })

  test('a write groups every commit of the same turn, and callbacks run before the next write', async () => {
    let puts = 0
    const store = new MemoryStore()
    const counting = { get: store.get.bind(store), delete: store.delete.bind(store), put: async (k: string, v: Uint8Array) => { puts++; await store.put(k, v) } }
    const d = new InboundDedup(init)
    const j = new DedupJournal(counting, d, disabledLogger)
    const s = d.stream('peer', epoch(1), 0)!
    for (let c = 1; c <= 5; c++) {
      d.accept(s, c)
      j.commit([{ stream: s, counter: c }], () => { d.delivered(s, c) })
    }
    await j.flush()
    expect(puts).toBe(1)
    expect(s.low).toBe(5)
  })

  test('a failed write cancels delivery', async () => {
    const failing = { get: async () => undefined, delete: async () => {}, put: async () => { throw new Error('disk full') } }
    const d = new InboundDedup(init)
    const j = new DedupJournal(failing, d, disabledLogger)
    const s = d.stream('peer', epoch(1), 0)!
    const results: boolean[] = []
    j.commit([{ stream: s, counter: 1 }], ok => { results.push(ok) })
    await j.flush()
    expect(results).toEqual([false])
  })

  test('a corrupt journal is ignored (logged), not fatal', async () => {
    const store = new MemoryStore()
    await store.put(JOURNAL_KEY, Uint8Array.of(0xc1, 2, 3))
    const errors: string[] = []
    const log = Object.assign(() => {}, { ...disabledLogger, error: (f: string) => { errors.push(f) } })
    const d = new InboundDedup(init)
    await new DedupJournal(store, d, log).load(0)
    expect(d.size).toBe(0)
    expect(errors).toHaveLength(1)
  })

  test('streams are restored whatever their stamp says (the clock may have moved), for a full retention time from the restart', async () => {
    const store = new MemoryStore()
    const d1 = new InboundDedup(init)
    const j1 = new DedupJournal(store, d1, disabledLogger)
    const s = d1.stream('peer', epoch(1), 0)!
    j1.commit([{ stream: s, counter: 1 }], () => {})
    await j1.flush()
    const restartAt = 10 * init.retentionMs
    const d2 = new InboundDedup(init)
    await new DedupJournal(store, d2, disabledLogger).load(restartAt)
    expect(d2.size).toBe(1)
    expect(d2.check(d2.stream('peer', epoch(1), restartAt)!, 1)).toBe('uncertain')
    expect(d2.sweep(restartAt + init.retentionMs - 1)).toBe(0)
    expect(d2.sweep(restartAt + init.retentionMs)).toBe(1)
  })
})
