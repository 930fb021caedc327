import { randomBytesPooled } from '@egtp/identity'
import type { Commstrat } from '@egtp/interface'
import { tcp } from '@egtp/tcp'
import { SessionManager } from '@egtp/session'
import { describe, expect, test, vi } from 'vitest'
import { createNode } from '../../src/index.ts'
import type { NodeEvents } from '../../src/index.ts'
import { memoryDirectory, startNode } from './helpers.ts'

const until = async (ok: () => boolean): Promise<void> => {
  while (!ok()) await new Promise(resolve => setTimeout(resolve, 5))
}

describe('a fresh peer over TCP', () => {
  test('addContact readies the first handshake with the peer (before start too); its own record and a stopped node are left alone', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const cleanup = (fn: () => Promise<void>): void => { onTestFinished(fn) }
    const b = await startNode(dir, cleanup)
    b.handle('echo', p => p)
    const prepare = vi.spyOn(SessionManager.prototype, 'preparePeer')
    onTestFinished(() => { prepare.mockRestore() })
    const a = await createNode({ commstrats: [tcp()()] })
    cleanup(async () => { await a.stop() })
    a.addContact(b.contactRecord()!) // not started yet
    expect(prepare.mock.calls.map(([peer]) => peer.nodeId)).toEqual([b.nodeId])
    await a.start()
    a.addContact(a.contactRecord()!)
    expect(prepare).toHaveBeenCalledTimes(1)
    expect(await a.query(b.nodeId, 'echo', 'hi')).toBe('hi')
    await a.stop()
    a.addContact(b.contactRecord()!)
    expect(prepare).toHaveBeenCalledTimes(1)
  })

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

  test('the responder verifies and keeps the record piggybacked on the initiation once the initiator confirmed', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const cleanup = (fn: () => Promise<void>): void => { onTestFinished(fn) }
    const a = await startNode(dir, cleanup)
    const b = await startNode(dir, cleanup)
    const records: Array<NodeEvents['peer:record']> = []
    b.addEventListener('peer:record', ({ detail }) => { records.push(detail) })
    b.handle('echo', p => p)
    expect(await a.query(b.nodeId, 'echo', 'hi')).toBe('hi')
    // Verified after the confirmation (the initiator's next frame), not while the response is written.
    await until(() => records.length > 0)
    expect(records.map(r => [r.peerId, r.record.seq])).toEqual([[a.nodeId, a.contactRecord()!.seq]])
  })

  test('a first query dials, then seals: the handshake is sealed a tick after the route was prepared (Node opens the socket in that tick)', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const cleanup = (fn: () => Promise<void>): void => { onTestFinished(fn) }
    const b = await startNode(dir, cleanup)
    b.handle('echo', p => p)
    // The real TCP commstrat, its `prepare` observed: a tick queued right after it marks when that tick has run.
    const inner = tcp()()
    let prepared = 0
    let tickRan = false
    const observed = new Proxy(inner, {
      get (target, key) {
        if (key === 'prepare') {
          return (peerId: string, endpoint: Parameters<NonNullable<Commstrat['prepare']>>[1]) => {
            prepared++
            tickRan = false
            target.prepare(peerId, endpoint)
            process.nextTick(() => { tickRan = true })
          }
        }
        const value = Reflect.get(target, key, target) as unknown
        return typeof value === 'function' ? value.bind(target) : value
      }
    })
    // A session index is drawn (4 random bytes) when the initiation is sealed: note whether the tick had run.
    const sealedAfterTick: boolean[] = []
    const a = await createNode({
      commstrats: [observed],
      random: n => {
        if (n === 4) sealedAfterTick.push(tickRan)
        return randomBytesPooled(n)
      }
    })
    cleanup(async () => { await a.stop() })
    await a.start()
    a.addContact(b.contactRecord()!)
    expect(await a.query(b.nodeId, 'echo', 'hi')).toBe('hi')
    expect(prepared).toBe(1)
    expect(sealedAfterTick).toEqual([true])
    // With a session and an open path, nothing is prepared again.
    expect(await a.query(b.nodeId, 'echo', 'again')).toBe('again')
    expect(prepared).toBe(1)
  })
})
