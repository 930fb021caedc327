import { isDeepStrictEqual } from 'node:util'
import { describe, expect, test } from 'vitest'
import { memoryDirectory, startNode } from './helpers.ts'

describe('large messages over real tcp', () => {
  test('hundreds of large payloads kept by the handler arrive intact (the receiver recycles the memory of frames it opened)', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const a = await startNode(dir, onTestFinished)
    const b = await startNode(dir, onTestFinished)
    const got = new Map<number, Uint8Array>()
    b.handle('bulk', (p) => {
      const bytes = p as Uint8Array
      got.set(bytes[0]! | (bytes[1]! << 8), bytes) // kept: later frames must not overwrite it
    })
    const payload = (i: number): Uint8Array => {
      const p = new Uint8Array(40_000 + (i % 7) * 9_000).map((_, j) => (j * 131 + i * 17) & 0xff)
      p[0] = i & 0xff
      p[1] = i >> 8
      return p
    }
    const n = 300
    const window = 32
    for (let start = 0; start < n; start += window) {
      await Promise.all(Array.from({ length: Math.min(window, n - start) }, async (_, k) => { await a.send(b.nodeId, 'bulk', payload(start + k)) }))
    }
    expect(got.size).toBe(n)
    for (let i = 0; i < n; i++) expect(isDeepStrictEqual(got.get(i), payload(i))).toBe(true)
  })
})
