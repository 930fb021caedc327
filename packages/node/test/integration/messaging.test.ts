import { isDeepStrictEqual } from 'node:util'
import { startNetwork } from '@egtp/testing'
import { describe, expect, test } from 'vitest'
import { createNode } from '../../src/index.ts'
import { memoryDirectory, startMemoryNode } from './helpers.ts'

// Protocol tests: sockets add nothing here, so the nodes talk over the in-memory network of @egtp/testing.
describe('messaging', () => {
  test('a query is answered by the handler, with the caller authenticated', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startMemoryNode(dir, onTestFinished)
    const b = await startMemoryNode(dir, onTestFinished)
    b.handle('add', (p, ctx) => {
      const { x, y } = p as { x: number, y: number }
      return { sum: x + y, from: ctx.peerId, kind: ctx.kind }
    })
    b.handle('later', async (p) => { await new Promise(resolve => setImmediate(resolve)); return p })
    b.handle('deferred', (p, ctx) => { ctx.defer(); setImmediate(() => { ctx.reply(['deferred', p]) }) })
    b.handle('nothing', () => undefined)
    expect(await a.query(b.nodeId, 'add', { x: 2, y: 3 })).toEqual({ sum: 5, from: a.nodeId, kind: 'query' })
    expect(await a.query(b.nodeId, 'later', new Uint8Array([1, 2, 3]))).toEqual(new Uint8Array([1, 2, 3]))
    expect(await a.query(b.nodeId, 'deferred', 7)).toEqual(['deferred', 7])
    expect(await a.query(b.nodeId, 'nothing')).toBeNull()
    expect(a.stats().queries).toMatchObject({ pending: 0, succeeded: 4, failed: 0 })
    expect(a.stats().rtt.count).toBe(4)
  })

  test('one-way messages resolve once the peer\'s handler has them, both ways, in order', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startMemoryNode(dir, onTestFinished)
    const b = await startMemoryNode(dir, onTestFinished)
    const atB: unknown[] = []
    const atA: unknown[] = []
    b.handle('note', (p, ctx) => { atB.push(p); expect(ctx.kind).toBe('oneway') })
    a.handle('note', (p) => { atA.push(p) })
    for (let i = 0; i < 5; i++) await a.send(b.nodeId, 'note', i)
    expect(atB).toEqual([0, 1, 2, 3, 4])
    await b.send(a.nodeId, 'note', 'back')
    expect(atA).toEqual(['back'])
    await Promise.all(Array.from({ length: 50 }, async (_, i) => { await a.send(b.nodeId, 'note', 100 + i) }))
    expect(atB.slice(5)).toEqual(Array.from({ length: 50 }, (_, i) => 100 + i))
    expect(a.stats().unacked).toEqual({ messages: 0, bytes: 0 })
    expect(b.stats().duplicates).toBe(0)
  })

  test('large byte payloads (sealed from the caller\'s buffer, in pieces) arrive intact, mixed with small ones', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startMemoryNode(dir, onTestFinished)
    const b = await startMemoryNode(dir, onTestFinished)
    const got: Uint8Array[] = []
    b.handle('bulk', (p) => { got.push(p as Uint8Array) })
    b.handle('echo', (p) => p)
    const sizes = [16 * 1024, 70_000, 200_000, 5, 300_000, 64 * 1024]
    const payloads = sizes.map((n, i) => new Uint8Array(n).map((_, j) => (j * 31 + i) & 0xff))
    await Promise.all(payloads.map(p => a.send(b.nodeId, 'bulk', p)))
    expect(got.map(p => p.byteLength).sort((x, y) => x - y)).toEqual([...sizes].sort((x, y) => x - y))
    // isDeepStrictEqual: the same check as toEqual (type and every byte), natively: toEqual walks a 300 kB
    // array element by element, over a second per payload on a busy machine.
    for (const p of payloads) expect(isDeepStrictEqual(got.find(g => g.byteLength === p.byteLength), p)).toBe(true)
    expect(isDeepStrictEqual(await a.query(b.nodeId, 'echo', payloads[2]), payloads[2])).toBe(true)
  })

  test('10 nodes all query each other', async ({ onTestFinished }) => {
    const net = await startNetwork({ nodes: 10, node: async (_, parts) => await createNode(parts), directory: memoryDirectory() })
    onTestFinished(net.close)
    const nodes = net.nodes
    for (const n of nodes) n.handle('who', (p, ctx) => ({ me: n.nodeId, you: ctx.peerId, p }))
    const pairs: Array<[typeof nodes[number], typeof nodes[number]]> = []
    for (const from of nodes) for (const to of nodes) if (from !== to) pairs.push([from, to])
    const replies = await Promise.all(pairs.map(async ([from, to]) => await from.query(to.nodeId, 'who', `${from.nodeId}>${to.nodeId}`)))
    expect(replies).toEqual(pairs.map(([from, to]) => ({ me: to.nodeId, you: from.nodeId, p: `${from.nodeId}>${to.nodeId}` })))
    for (const n of nodes) {
      expect(n.stats().queries).toMatchObject({ pending: 0, succeeded: 9, failed: 0 })
      expect(n.stats().peers.known).toBe(9)
    }
  })

  test('hundreds of concurrent queries between two nodes are all answered, each with its own reply', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startMemoryNode(dir, onTestFinished)
    const b = await startMemoryNode(dir, onTestFinished)
    // Replies come back in a scrambled order (each handler yields a different number of event-loop turns):
    // each must still reach its own query.
    b.handle('square', async (p) => {
      const n = p as number
      for (let i = 0; i < (n * 7) % 23; i++) await new Promise(resolve => setImmediate(resolve))
      return { n, square: n * n }
    })
    const N = 500
    const inFlight = Array.from({ length: N }, async (_, n) => await a.query(b.nodeId, 'square', n))
    expect(a.stats().queries.pending).toBe(N)
    const replies = await Promise.all(inFlight)
    expect(replies).toEqual(Array.from({ length: N }, (_, n) => ({ n, square: n * n })))
    const s = a.stats()
    expect(s.queries).toMatchObject({ pending: 0, succeeded: N, failed: 0 })
    expect(s.unacked.messages).toBe(0)
    expect(b.stats().duplicates).toBe(0)
  })
})
