// A relay-only node that restarts onto a *different* relay, while the old relay still takes its mail (it keeps
// a registered client's queue until the TTL). The demo saw 492 of 512 queries time out when B had one relay at
// a time: senders holding B's old record handed every re-send to the old relay, which accepted it. A sender
// now looks a peer up again before re-sending when its record is older than `relookupAfterMs`.
import { describe, expect, test } from 'vitest'
import { tcpServer } from './helpers.ts'
import { memoryDirectory, persisted, startListeningNode, startRelayOnlyNode } from './nodes.ts'
import type { EgtpNode } from './nodes.ts'

const DEADLINE_MS = 8000

describe('a peer that moved to another relay', { timeout: 30_000 }, () => {
  for (const { relookupAfterMs, found } of [{ relookupAfterMs: 500, found: true }, { relookupAfterMs: 600_000, found: false }]) {
    test(`is looked up again by a sender holding its old record (relookupAfterMs ${relookupAfterMs}: ${found ? 'answered' : 'times out'})`, async ({ onTestFinished }) => {
      const oldRelay = await tcpServer(onTestFinished)
      const newRelay = await tcpServer(onTestFinished)
      const directory = memoryDirectory()
      const handled: unknown[] = []
      const setup = (node: EgtpNode): void => { node.handle('q', (p) => { handled.push(p); return p }) }
      const b = persisted()
      const first = await startRelayOnlyNode(onTestFinished, oldRelay, directory, b, setup)
      const a = (await startListeningNode(onTestFinished, oldRelay, directory, persisted(), () => {}, { limits: { relookupAfterMs } })).node
      expect(await a.query(first.node.nodeId, 'q', 'warm', { timeoutMs: DEADLINE_MS })).toBe('warm')

      await first.crash()
      const moved = await startRelayOnlyNode(onTestFinished, newRelay, directory, b, setup)
      expect(moved.node.contactRecord()!.endpoints).toEqual([newRelay.endpoint()])

      const answer = a.query(moved.node.nodeId, 'q', 'after the move', { timeoutMs: DEADLINE_MS }).catch((err: { code?: string }) => err.code)
      if (found) {
        expect(await answer).toBe('after the move')
        expect(handled).toEqual(['warm', 'after the move'])
      } else {
        // The old relay accepted every re-send: nothing told A that B had moved.
        expect(await answer).toBe('ERR_TIMEOUT')
        expect(handled).toEqual(['warm'])
        expect(oldRelay.stats().queuedMessages).toBeGreaterThan(0)
      }
    })
  }
})
