import { isEgtpError } from '@egtp/interface'
import { tcp } from '@egtp/tcp'
import { describe, expect, test } from 'vitest'
import { createNode } from '../../src/index.ts'
import { LISTEN, memoryDirectory, sleep, startMemoryNode, startNode, until } from './helpers.ts'

const code = (err: unknown): string => isEgtpError(err) ? err.code : `not coded: ${String(err)}`

describe('backpressure', () => {
  test('a handler that blocks: the receiver refuses beyond its handler queue, the sender fails with ERR_TOO_MANY_PENDING, nothing is lost', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    // A protocol test: the in-memory network of @egtp/testing (the next test needs a real socket's window).
    const a = await startMemoryNode(dir, onTestFinished, { limits: { maxUnackedPerPeer: 40, retryInitialMs: 100, retryMaxMs: 300 } })
    const b = await startMemoryNode(dir, onTestFinished, { limits: { maxConcurrentHandlers: 2, maxQueuedHandlers: 4 } })
    let open: () => void = () => {}
    const gate = new Promise<void>(resolve => { open = resolve })
    const delivered = new Map<number, number>()
    b.handle('job', async (p) => {
      delivered.set(p as number, (delivered.get(p as number) ?? 0) + 1)
      await gate
    })
    const results: Array<Promise<string>> = []
    let refusedAt = -1
    for (let i = 0; i < 100; i++) {
      const r = a.send(b.nodeId, 'job', i, { timeoutMs: 20_000 }).then(() => 'ok', code)
      results.push(r)
      if (a.stats().unacked.messages >= 40) {
        // The next one is refused at once: the per-peer bound of unacknowledged messages is reached.
        refusedAt = i + 1
        expect(await a.send(b.nodeId, 'job', refusedAt).then(() => 'ok', code)).toBe('ERR_TOO_MANY_PENDING')
        break
      }
      await new Promise(resolve => setImmediate(resolve)) // let frames and acknowledgements move between sends
    }
    expect(refusedAt).toBeGreaterThan(0)
    await until(() => (b.stats().dropped.busy ?? 0) > 0, 5000, 'b to refuse a message')
    const bs = b.stats()
    expect(bs.handlers.running).toBeLessThanOrEqual(2)
    expect(bs.handlers.queued).toBeLessThanOrEqual(4)
    expect(a.stats().unacked.messages).toBeLessThanOrEqual(40)
    open()
    const outcomes = await Promise.all(results)
    expect(outcomes.every(o => o === 'ok')).toBe(true)
    expect(delivered.size).toBe(outcomes.length)
    expect([...delivered.values()].every(n => n === 1)).toBe(true)
    expect(a.stats().retransmissions).toBeGreaterThan(0)
  })

  test('a peer that stops reading: transport queue and unacknowledged bytes stay bounded, sends fail with coded errors', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const maxQueuedBytesPerConn = 256 * 1024
    // closeTimeoutMs: at the end neither side can drain its full connection; stop need not wait the default 2 s.
    const strat = tcp({ listen: LISTEN, maxQueuedBytesPerConn, sendTimeoutMs: 300, closeTimeoutMs: 200 })()
    const a = await createNode({
      commstrats: [strat], lookup: dir, announcer: dir,
      limits: { maxUnackedBytesPerPeer: 12 * 1024 * 1024, retryInitialMs: 200, retryMaxMs: 400, stopTimeoutMs: 200 }
    })
    onTestFinished(async () => { await a.stop() })
    await a.start()
    // b reads at most ~1 KB/s: its socket stops being drained and the TCP window fills.
    const b = await startNode(dir, onTestFinished, { limits: { stopTimeoutMs: 200 } }, { throttle: { inBytesPerSec: 1000, burstBytes: 70_000 }, closeTimeoutMs: 200 })
    const got: number[] = []
    b.handle('blob', (p) => { got.push((p as { n: number }).n) })
    expect(await a.query(b.nodeId, 'ping').catch(code)).toBe('ERR_NO_HANDLER') // session is up; the bucket is mostly spent
    const blob = new Uint8Array(128 * 1024)
    const results: Array<Promise<string>> = []
    let refused = ''
    let maxQueued = 0
    for (let n = 0; n < 400 && refused === ''; n++) {
      results.push(a.send(b.nodeId, 'blob', { n, blob }, { timeoutMs: 3000 }).then(() => 'ok', code))
      await sleep(2)
      maxQueued = Math.max(maxQueued, strat.stats().queuedBytes)
      if (a.stats().unacked.bytes + 140 * 1024 > 12 * 1024 * 1024) {
        refused = await a.send(b.nodeId, 'blob', { n: -1, blob }).then(() => 'ok', code)
      }
    }
    expect(refused).toBe('ERR_TOO_MANY_PENDING')
    expect(a.stats().unacked.bytes).toBeLessThanOrEqual(12 * 1024 * 1024)
    const deadline = Date.now() + 1500
    while (Date.now() < deadline) {
      maxQueued = Math.max(maxQueued, strat.stats().queuedBytes)
      await sleep(20)
    }
    // One frame may be admitted beyond the bound (a batch is at most maxBatchBytes).
    expect(maxQueued).toBeLessThanOrEqual(maxQueuedBytesPerConn + 256 * 1024 + 1024)
    const outcomes = await Promise.all(results)
    const ok = outcomes.filter(o => o === 'ok').length
    expect(outcomes.every(o => ['ok', 'ERR_TIMEOUT', 'ERR_DELIVERY_UNCERTAIN'].includes(o)), outcomes.join()).toBe(true)
    expect(outcomes.length - ok).toBeGreaterThan(0)
    expect(got.length).toBeGreaterThanOrEqual(ok)
    expect(new Set(got).size).toBe(got.length)
    await until(() => a.stats().unacked.messages === 0, 5000, 'every message to be settled')
  })
})
