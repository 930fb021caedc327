import { describe, expect, test } from 'vitest'
import { memoryDirectory, startNode } from './helpers.ts'

const until = async (ok: () => boolean): Promise<void> => {
  while (!ok()) await new Promise(resolve => setTimeout(resolve, 5))
}

describe('a fresh peer over TCP', () => {
  test('the initiator acknowledges the first reply with the confirmation of the session, not ackDelayMs later', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const cleanup = (fn: () => Promise<void>): void => { onTestFinished(fn) }
    // The acknowledgement delay is lifted far beyond the test's run: only the confirmation can bring the ack.
    const a = await startNode(dir, cleanup, { limits: { ackDelayMs: 600_000 } })
    const b = await startNode(dir, cleanup)
    b.handle('echo', p => p)
    expect(await a.query(b.nodeId, 'echo', 'hi')).toBe('hi')
    // b holds its reply until a acknowledges it: released without the 600 s timer.
    await until(() => b.stats().unacked.messages === 0)
    // The initiation with the query; the confirmation and the acknowledgement (queued together: one write).
    expect(b.stats().framesReceived).toBe(3)
    expect(a.stats().framesReceived).toBe(1) // the response with the reply
  })
})
