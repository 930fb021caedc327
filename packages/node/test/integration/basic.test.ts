import { describe, expect, test } from 'vitest'
import { memoryDirectory, startNode } from './helpers.ts'

describe('two nodes over TCP', () => {
  test('query/response and one-way', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const cleanup = (fn: () => Promise<void>): void => { onTestFinished(fn) }
    const a = await startNode(dir, cleanup)
    const b = await startNode(dir, cleanup)
    const got: unknown[] = []
    b.handle('echo', (p, ctx) => ({ p, from: ctx.peerId }))
    b.handle('note', (p) => { got.push(p) })
    expect(await a.query(b.nodeId, 'echo', 'hi')).toEqual({ p: 'hi', from: a.nodeId })
    await a.send(b.nodeId, 'note', { n: 1 })
    expect(got).toEqual([{ n: 1 }])
    expect(a.stats().queries.succeeded).toBe(1)
  })
})
