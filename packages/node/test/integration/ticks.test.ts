// The nodes of a process share one tick timer per period, and a quiet node runs its housekeeping only every
// `quietTickIntervalMs`; a node with something on its way (unacknowledged messages) still ticks every period.
import { SessionManager } from '@egtp/session'
import { describe, expect, test, vi } from 'vitest'
import { tickTimers } from '../../src/ticker.ts'
import { memoryDirectory, sleep, startMemoryNode, until } from './helpers.ts'

describe('ticks', () => {
  test('nodes with the same tick period share one timer; the last to stop ends it', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const before = tickTimers()
    const limits = { tickIntervalMs: 37 } // a period no other test uses
    const nodes = await Promise.all([1, 2, 3].map(async () => await startMemoryNode(dir, onTestFinished, { limits })))
    expect(tickTimers()).toBe(before + 1)
    await nodes[0]!.stop()
    await nodes[1]!.stop()
    expect(tickTimers()).toBe(before + 1)
    await nodes[2]!.stop()
    expect(tickTimers()).toBe(before)
  })

  test('a quiet node does its housekeeping every quietTickIntervalMs; one with a message on its way every tick', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const ticks = new Map<SessionManager, number>()
    const spy = vi.spyOn(SessionManager.prototype, 'tick').mockImplementation(function (this: SessionManager) {
      ticks.set(this, (ticks.get(this) ?? 0) + 1)
      return []
    })
    onTestFinished(() => { spy.mockRestore() })
    const limits = { tickIntervalMs: 20, quietTickIntervalMs: 400, retryInitialMs: 60_000, retryMaxMs: 60_000 }
    await startMemoryNode(dir, onTestFinished, { limits }) // the quiet one
    const busy = await startMemoryNode(dir, onTestFinished, { limits })
    const gone = await startMemoryNode(dir, onTestFinished, { limits })
    const goneId = gone.nodeId
    await gone.stop()
    // A one-way message to a stopped node stays unacknowledged (its handshake unanswered): not quiet meanwhile.
    void busy.send(goneId, 'x', 'hi', { timeoutMs: 30_000 }).catch(() => {})
    const managers = (): number[] => [...ticks.values()]
    await until(() => managers().length >= 2)
    ticks.clear()
    await sleep(1_000)
    const counts = [...ticks.values()].sort((a, b) => a - b)
    // ~50 ticks of 20 ms in the second: the busy node's manager ticked at most of them, the quiet one's ~3 times.
    expect(counts).toHaveLength(2)
    expect(counts[0]).toBeLessThanOrEqual(5)
    expect(counts[0]).toBeGreaterThanOrEqual(1)
    expect(counts[1]).toBeGreaterThanOrEqual(20)
  })
})
