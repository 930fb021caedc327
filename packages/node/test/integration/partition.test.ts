// Protocol behaviour across a network partition, on the in-memory network of @egtp/testing (a partition is
// what a real socket cannot stage on 127.0.0.1 without root).
import { isEgtpError } from '@egtp/interface'
import { startNetwork } from '@egtp/testing'
import { describe, expect, test } from 'vitest'
import { createNode, memoryDirectory } from '../../src/index.ts'

describe('a partition between nodes', () => {
  test('a one-way message sent during a partition is delivered once after heal; queries answer again', async ({ onTestFinished }) => {
    const net = await startNetwork({
      nodes: 3,
      directory: memoryDirectory(),
      node: async (_, parts) => await createNode({ ...parts, limits: { retryInitialMs: 50, retryMaxMs: 100 } })
    })
    onTestFinished(net.close)
    const [a, b, c] = net.nodes as [typeof net.nodes[0], typeof net.nodes[0], typeof net.nodes[0]]
    const got: unknown[] = []
    b.handle('note', (p) => { got.push(p) })
    b.handle('echo', (p) => p)
    c.handle('echo', (p) => p)
    expect(await a.query(b.nodeId, 'echo', 'before')).toBe('before') // a session exists

    net.partition([a], [b])
    const lost = await a.query(b.nodeId, 'echo', 'cut', { timeoutMs: 300 }).catch((err: unknown) => err)
    expect(isEgtpError(lost, 'ERR_TIMEOUT') || isEgtpError(lost, 'ERR_UNREACHABLE'), String(lost)).toBe(true)
    expect(await a.query(c.nodeId, 'echo', 'c is not cut off')).toBe('c is not cut off')
    const note = a.send(b.nodeId, 'note', 'through the cut', { timeoutMs: 10_000 })
    await expect.poll(() => a.stats().retransmissions, { timeout: 5000 }).toBeGreaterThan(0) // re-sent into the cut
    expect(got).toEqual([])

    net.heal()
    await note
    expect(got).toEqual(['through the cut'])
    expect(await a.query(b.nodeId, 'echo', 'after')).toBe('after')
    expect(b.stats().duplicates).toBe(0)
  })
})
