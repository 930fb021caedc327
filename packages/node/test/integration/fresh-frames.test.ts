import { generateIdentity, randomBytesPooled } from '@egtp/identity'
import type { Commstrat } from '@egtp/interface'
import { tcp } from '@egtp/tcp'
import { SessionManager } from '@egtp/session'
import { describe, expect, test, vi } from 'vitest'
import { createNode } from '../../src/index.ts'
import type { EgtpNode, NodeEvents } from '../../src/index.ts'
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

  test('a record naming no endpoint and no service (a client without listeners) is neither verified nor kept, unless it replaces one held', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const cleanup = (fn: () => Promise<void>): void => { onTestFinished(fn) }
    const b = await startNode(dir, cleanup)
    b.handle('echo', p => p)
    const records: Array<NodeEvents['peer:record']> = []
    b.addEventListener('peer:record', ({ detail }) => { records.push(detail) })
    const answered = async (a: EgtpNode): Promise<void> => {
      a.addContact(b.contactRecord()!)
      expect(await a.query(b.nodeId, 'echo', 'hi')).toBe('hi')
      // The confirmation came (b's reply was acknowledged with it), then the turn that would verify a record.
      await until(() => b.stats().unacked.messages === 0)
      await new Promise(resolve => setImmediate(resolve))
    }
    // A client: its record names no endpoint and no service; b learns nothing from it and checks nothing.
    const bare = await createNode({ commstrats: [tcp()()] })
    cleanup(async () => { await bare.stop() })
    await bare.start()
    expect(bare.contactRecord()!.endpoints).toEqual([])
    await answered(bare)
    expect(records).toEqual([])
    // A client that offers a service: its record is verified and kept.
    const offering = await createNode({ commstrats: [tcp()()], services: ['echo'] })
    cleanup(async () => { await offering.stop() })
    await offering.start()
    await answered(offering)
    await until(() => records.length > 0)
    expect(records.map(r => [r.peerId, r.record.services])).toEqual([[offering.nodeId, ['echo']]])
    // A node whose record b holds (with an endpoint) comes back without listeners: its new, bare record replaces
    // the old one, verified, so that b stops dialling the endpoint that is gone.
    const identity = generateIdentity()
    const listening = await startNode(dir, cleanup, { identity })
    const held = listening.contactRecord()!
    await listening.stop()
    b.addContact(held)
    records.length = 0
    const back = await createNode({ commstrats: [tcp()()], identity })
    cleanup(async () => { await back.stop() })
    await back.start()
    expect(back.nodeId).toBe(held.nodeId)
    await answered(back)
    await until(() => records.length > 0)
    expect(records.map(r => [r.peerId, r.record.endpoints])).toEqual([[back.nodeId, []]])
    expect(records[0]!.record.seq).toBeGreaterThan(held.seq)
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
