import { generateIdentity } from '@egtp/identity'
import { isEgtpError, systemClock } from '@egtp/interface'
import type { Clock, Lookup, TcpEndpoint } from '@egtp/interface'
import { describe, expect, test } from 'vitest'
import type { NodeEvents } from '../../src/index.ts'
import { memoryDirectory, sleep, startMemoryNode, until } from './helpers.ts'

type Outcome = 'ok' | string

const outcome = async (p: Promise<unknown>): Promise<Outcome> => {
  try {
    await p
    return 'ok'
  } catch (err) {
    return isEgtpError(err) ? err.code : `not coded: ${String(err)}`
  }
}

const counts = (outcomes: Outcome[]): Record<string, number> => {
  const c: Record<string, number> = {}
  for (const o of outcomes) c[o] = (c[o] ?? 0) + 1
  return c
}

describe('stop', () => {
  test('stopping the sender during traffic settles every query and send (delivered or coded), bounded and idempotent', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startMemoryNode(dir, onTestFinished, { limits: { stopTimeoutMs: 1000 } })
    const b = await startMemoryNode(dir, onTestFinished)
    const seen = new Map<number, number>()
    const note = (n: number): void => { seen.set(n, (seen.get(n) ?? 0) + 1) }
    // handlers that take 0 to 29 ms, so that stop finds queries in every state (simulated work, not a wait)
    b.handle('q', async (p) => { note(p as number); await sleep((p as number) % 30); return p })
    b.handle('o', (p) => { note(p as number) })
    const N = 400
    const all = Array.from({ length: N }, async (_, i) => await outcome(i % 2 === 0 ? a.query(b.nodeId, 'q', i) : a.send(b.nodeId, 'o', i)))
    await until(() => seen.size >= 20, 5000, 'twenty messages handled')
    const t0 = performance.now()
    const stopping = a.stop()
    const again = a.stop()
    await Promise.all([stopping, again])
    const stopMs = performance.now() - t0
    await a.stop() // and once more after it stopped
    const outcomes = await Promise.all(all)
    const c = counts(outcomes)
    expect(Object.keys(c).every(k => ['ok', 'ERR_CLOSED', 'ERR_DELIVERY_UNCERTAIN'].includes(k)), JSON.stringify(c)).toBe(true)
    expect(outcomes).toHaveLength(N)
    expect(stopMs).toBeLessThan(1000 + 3000)
    // Nothing was delivered twice, and every one-way message reported delivered was delivered.
    expect([...seen.values()].every(n => n === 1)).toBe(true)
    outcomes.forEach((o, i) => { if (o === 'ok') expect(seen.get(i)).toBe(1) })
    expect(a.stats().queries.pending).toBe(0)
    expect(a.stats().unacked).toEqual({ messages: 0, bytes: 0 })
    expect((await outcome(a.query(b.nodeId, 'q', 1))) as string).toBe('ERR_CLOSED')
  })

  test('stopping the receiver during traffic: every caller gets an outcome, and running handlers still answer', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startMemoryNode(dir, onTestFinished, { limits: { defaultTimeoutMs: 4000 } })
    const b = await startMemoryNode(dir, onTestFinished)
    let running = 0
    let release: () => void = () => {}
    const working = new Promise<void>(resolve => { release = resolve })
    b.handle('q', async (p) => { running++; await working; return p })
    const all = Array.from({ length: 200 }, async (_, i) => await outcome(a.query(b.nodeId, 'q', i)))
    await until(() => running >= 10, 5000, 'ten handlers running')
    const stopping = b.stop()
    release() // the running handlers finish while b stops
    await stopping
    const outcomes = await Promise.all(all)
    const c = counts(outcomes)
    expect(c.ok, JSON.stringify(c)).toBeGreaterThanOrEqual(10)
    expect(Object.keys(c).every(k => ['ok', 'ERR_UNREACHABLE', 'ERR_TIMEOUT', 'ERR_DELIVERY_UNCERTAIN'].includes(k)), JSON.stringify(c)).toBe(true)
    expect(a.stats().queries.pending).toBe(0)
  })

  test('a handler that never finishes cannot hold stop beyond stopTimeoutMs', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startMemoryNode(dir, onTestFinished)
    const b = await startMemoryNode(dir, onTestFinished, { limits: { stopTimeoutMs: 300 } })
    let started = false
    b.handle('hang', async () => { started = true; await new Promise(() => {}) })
    const pending = outcome(a.query(b.nodeId, 'hang', null, { timeoutMs: 1000 }))
    await until(() => started, 5000, 'the handler to start')
    expect(b.stats().handlers.running).toBe(1)
    const t0 = performance.now()
    await b.stop()
    expect(performance.now() - t0).toBeLessThan(300 + 2000)
    expect(['ERR_TIMEOUT', 'ERR_UNREACHABLE']).toContain(await pending)
  })
})

describe('a peer that disappears', () => {
  test('fails fast with ERR_UNREACHABLE, then is looked up again and reached on its new port with its new record', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const lookups: string[] = []
    const lookup: Lookup = { lookup: async (id, options) => { lookups.push(id); return await dir.lookup(id, options) } }
    // a's clock can be moved past minLookupIntervalMs instead of waiting for it
    let offsetMs = 0
    const clock: Clock = { now: () => systemClock.now() + offsetMs, monotonic: () => systemClock.monotonic() + offsetMs }
    const a = await startMemoryNode(dir, onTestFinished, { lookup, clock, limits: { minLookupIntervalMs: 50 } })
    const identity = generateIdentity()
    const b1 = await startMemoryNode(dir, onTestFinished, { identity })
    b1.handle('where', () => 'first')
    expect(await a.query(b1.nodeId, 'where')).toBe('first')
    const oldRecord = b1.contactRecord()!
    await b1.stop()
    offsetMs += 60 // past minLookupIntervalMs since the first lookup

    const failed: Array<NodeEvents['message:failed']> = []
    a.addEventListener('message:failed', ({ detail }) => { failed.push(detail) })
    // Nothing listens on the recorded port and the directory holds nothing newer: fast fail, not a timeout.
    expect(await outcome(a.query(identity.nodeId, 'where', null, { timeoutMs: 15_000 }))).toBe('ERR_UNREACHABLE')
    expect(await outcome(a.send(identity.nodeId, 'where', null, { timeoutMs: 15_000 }))).toBe('ERR_UNREACHABLE')
    expect(failed.map(f => f.error.code)).toEqual(['ERR_UNREACHABLE', 'ERR_UNREACHABLE'])
    // Before failing, the address was forgotten and the peer looked up again.
    const lookedUpBefore = lookups.filter(id => id === identity.nodeId).length
    expect(lookedUpBefore).toBeGreaterThanOrEqual(2)

    const records: Array<NodeEvents['peer:record']> = []
    a.addEventListener('peer:record', ({ detail }) => { records.push(detail) })
    const b2 = await startMemoryNode(dir, onTestFinished, { identity })
    b2.handle('where', () => 'second')
    const newRecord = b2.contactRecord()!
    expect(newRecord.seq).toBeGreaterThan(oldRecord.seq)
    expect((newRecord.endpoints[0] as TcpEndpoint).port).not.toBe((oldRecord.endpoints[0] as TcpEndpoint).port)
    offsetMs += 60 // past minLookupIntervalMs
    expect(await a.query(identity.nodeId, 'where', null, { timeoutMs: 15_000 })).toBe('second')
    expect(records.some(r => r.peerId === identity.nodeId && r.record.seq === newRecord.seq)).toBe(true)
    expect(lookups.filter(id => id === identity.nodeId).length).toBeGreaterThan(lookedUpBefore)
  })

  test('messages the peer had not acknowledged are re-sent to it once it is back on a new port; a delivered one times out', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startMemoryNode(dir, onTestFinished, { limits: { minLookupIntervalMs: 50, retryInitialMs: 100, retryMaxMs: 400 } })
    const identity = generateIdentity()
    const b1 = await startMemoryNode(dir, onTestFinished, { identity, limits: { stopTimeoutMs: 100, maxConcurrentHandlers: 1, maxQueuedHandlers: 1 } })
    let entered = false
    b1.handle('work', async () => { entered = true; await new Promise(() => {}) }) // b1 never answers
    const first = outcome(a.query(identity.nodeId, 'work', 1, { timeoutMs: 2000 }))
    await until(() => entered, 5000, 'the handler to start')
    const queued = a.query(identity.nodeId, 'work', 2, { timeoutMs: 15_000 }) // waits for b1's only handler slot
    const refused = a.query(identity.nodeId, 'work', 3, { timeoutMs: 15_000 }) // b1 is busy: not acknowledged
    await until(() => (b1.stats().dropped.busy ?? 0) > 0, 5000, 'b1 to refuse a message as busy')
    await b1.stop()
    const b2 = await startMemoryNode(dir, onTestFinished, { identity })
    b2.handle('work', (p) => `done ${String(p)}`)
    expect(await queued).toBe('done 2')
    expect(await refused).toBe('done 3')
    // The first was delivered to b1's handler, which died without answering: a timeout, never a second delivery.
    expect(await first).toBe('ERR_TIMEOUT')
    expect(a.stats().retransmissions).toBeGreaterThan(0)
  })
})
