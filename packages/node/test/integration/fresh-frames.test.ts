import { describe, expect, test } from 'vitest'
import { memoryDirectory, startNode } from './helpers.ts'

const until = async (ok: () => boolean): Promise<void> => {
  while (!ok()) await new Promise(resolve => setTimeout(resolve, 5))
}

describe('a fresh peer over TCP', () => {
  test('the initiator acknowledges the first reply in the frame that confirms the session: two frames in, not three', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const cleanup = (fn: () => Promise<void>): void => { onTestFinished(fn) }
    // The acknowledgement delay is lifted far beyond the test's run: only the confirmation can take the ack.
    const a = await startNode(dir, cleanup, { limits: { ackDelayMs: 600_000 } })
    const b = await startNode(dir, cleanup)
    b.handle('echo', p => p)
    expect(await a.query(b.nodeId, 'echo', 'hi')).toBe('hi')
    // b holds its reply until a acknowledges it: released without the 600 s timer.
    await until(() => b.stats().unacked.messages === 0)
    expect(b.stats().framesReceived).toBe(2) // the initiation with the query; the acknowledgement confirming the session
    expect(a.stats().framesReceived).toBe(1) // the response with the reply
    expect(a.stats().framesSent).toBe(2)
  })
})
