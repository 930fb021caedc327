// Issue 10 defects 2 and 3 at the node level (on the in-memory network of @egtp/testing): a paranoid node talks to a peer whose clock
// runs ahead (its own session carries both directions), and when neither side can accept the other's
// initiation, the sender is told why: ERR_CLOCK_SKEW naming the skew, not a bare timeout.
import { isEgtpError, systemClock } from '@egtp/interface'
import type { Clock } from '@egtp/interface'
import { describe, expect, test } from 'vitest'
import { memoryDirectory, startMemoryNode } from './helpers.ts'

const TWO_MINUTES = 120_000
const ahead: Clock = { now: () => Date.now() + TWO_MINUTES, monotonic: () => systemClock.monotonic() }

describe('a paranoid node and a peer whose clock runs two minutes ahead', () => {
  test('the skewed peer speaks first: both directions deliver, and it hears of its skew', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const cleanup = (fn: () => Promise<void>): void => { onTestFinished(fn) }
    const a = await startMemoryNode(dir, cleanup, { clockWindowMs: 60_000 })
    // b re-sends after 200 ms, not the default 1 s, once its own initiation has been refused
    const b = await startMemoryNode(dir, cleanup, { clock: ahead, limits: { retryInitialMs: 200 } })
    a.handle('echo', (p) => p)
    b.handle('echo', (p) => p)
    const skews: number[] = []
    b.addEventListener('peer:clock-skew', (e) => { skews.push(e.detail.skewMs) })
    const first = await Promise.allSettled([0, 1, 2].map(async i => await b.query(a.nodeId, 'echo', i, { timeoutMs: 5_000 })))
    expect(first.map(r => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled'])
    expect(await a.query(b.nodeId, 'echo', 'back', { timeoutMs: 5_000 })).toBe('back')
    expect(skews.length).toBeGreaterThan(0)
    expect(Math.abs(skews[0]! - TWO_MINUTES)).toBeLessThan(5_000)
  })

  test('both paranoid, the skew beyond both windows: no session can form, and the send fails with ERR_CLOCK_SKEW', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const cleanup = (fn: () => Promise<void>): void => { onTestFinished(fn) }
    const a = await startMemoryNode(dir, cleanup, { clockWindowMs: 60_000 })
    const b = await startMemoryNode(dir, cleanup, { clock: ahead, clockWindowMs: 60_000 })
    a.handle('note', () => {})
    let err: unknown
    try {
      await b.send(a.nodeId, 'note', 'x', { timeoutMs: 3_000 })
    } catch (e) {
      err = e
    }
    expect(isEgtpError(err, 'ERR_CLOCK_SKEW'), String(err)).toBe(true)
    // Neither side answers each refusal with another initiation (they give way): a handful, not a storm.
    expect(a.stats().handshakes + b.stats().handshakes).toBeLessThan(12)
  })

  test('when the paranoid node cannot answer with a session of its own, the send fails with ERR_CLOCK_SKEW naming the skew', async ({ onTestFinished }) => {
    const cleanup = (fn: () => Promise<void>): void => { onTestFinished(fn) }
    // A knows no record of B (B publishes elsewhere), so A's own initiation has no way to B.
    const dirA = memoryDirectory()
    const dirB = memoryDirectory()
    const a = await startMemoryNode(dirA, cleanup, { clockWindowMs: 60_000 })
    const b = await startMemoryNode(dirA, cleanup, { clock: ahead, lookup: dirA, announcer: dirB }) // dirA's network, dirB's directory
    a.handle('note', () => {})
    let err: unknown
    try {
      await b.send(a.nodeId, 'note', 'x', { timeoutMs: 2_000 })
    } catch (e) {
      err = e
    }
    expect(isEgtpError(err, 'ERR_CLOCK_SKEW'), String(err)).toBe(true)
    expect((err as Error).message).toMatch(new RegExp(`${a.nodeId} refuses our sessions as outside its clock window; our clock is 1[12]\\d{4} ms ahead of its clock`))
  })
})
