// Issue test 1 with real nodes: queries A → B and B → A through a real relay on 127.0.0.1, between two
// relay-only nodes (neither listens, so the relay is the only path both ways).
import { isDeepStrictEqual } from 'node:util'
import { describe, expect, test } from 'vitest'
import { until } from '../helpers/setup.ts'
import { tcpServer } from './helpers.ts'
import { memoryDirectory, persisted, startRelayOnlyNode } from './nodes.ts'
import type { EgtpNode } from './nodes.ts'

describe('issue test 1: queries both ways through the relay', () => {
  test('A → B and B → A queries and one-way messages, each sender authenticated', async ({ onTestFinished }) => {
    const relay = await tcpServer(onTestFinished)
    const directory = memoryDirectory()
    const notes: Array<{ to: string, from: string, n: unknown }> = []
    const setup = (node: EgtpNode): void => {
      node.handle('whoami', (p, ctx) => ({ p, from: ctx.peerId, me: node.nodeId }))
      node.handle('note', (n, ctx) => { notes.push({ to: node.nodeId, from: ctx.peerId, n }) })
    }
    const a = (await startRelayOnlyNode(onTestFinished, relay, directory, persisted(), setup)).node
    const b = (await startRelayOnlyNode(onTestFinished, relay, directory, persisted(), setup)).node
    // Neither node advertises anything but the relay.
    for (const n of [a, b]) expect(n.contactRecord()!.endpoints.map(e => e.kind)).toEqual(['relay'])

    for (let i = 0; i < 5; i++) {
      expect(await a.query(b.nodeId, 'whoami', i)).toEqual({ p: i, from: a.nodeId, me: b.nodeId })
      expect(await b.query(a.nodeId, 'whoami', i)).toEqual({ p: i, from: b.nodeId, me: a.nodeId })
    }
    const both = await Promise.all(Array.from({ length: 20 }, async (_, i) => await (i % 2 === 0 ? a.query(b.nodeId, 'whoami', i) : b.query(a.nodeId, 'whoami', i))))
    expect(both.map(r => (r as { p: number }).p)).toEqual(Array.from({ length: 20 }, (_, i) => i))

    await a.send(b.nodeId, 'note', 'a→b')
    await b.send(a.nodeId, 'note', 'b→a')
    expect(notes).toEqual([{ to: b.nodeId, from: a.nodeId, n: 'a→b' }, { to: a.nodeId, from: b.nodeId, n: 'b→a' }])
    expect(a.stats().queries.succeeded).toBeGreaterThanOrEqual(15)
    expect(b.stats().queries.succeeded).toBeGreaterThanOrEqual(15)
    // The last acknowledgements are still on their way: the relay's queues drain.
    await until(() => relay.stats().queuedMessages === 0)
    expect(relay.stats()).toMatchObject({ connectedClients: 2, queuedBytes: 0 })
    expect(relay.stats().delivered).toBeGreaterThan(0)
  })
})

describe('large messages through the relay', () => {
  test('hundreds of large payloads kept by the handler arrive intact (the receiver recycles the relay connection\'s memory)', async ({ onTestFinished }) => {
    const relay = await tcpServer(onTestFinished)
    const directory = memoryDirectory()
    const got: Uint8Array[] = []
    const setup = (node: EgtpNode): void => { node.handle('bulk', (p) => { got.push(p as Uint8Array) }) } // kept
    const a = (await startRelayOnlyNode(onTestFinished, relay, directory, persisted(), setup)).node
    const b = (await startRelayOnlyNode(onTestFinished, relay, directory, persisted(), setup)).node
    // 200 payloads of 20-48 kB, each byte a function of its payload's number and position.
    const sent = Array.from({ length: 200 }, (_, i) => Uint8Array.from({ length: 20_000 + (i % 5) * 7_000 }, (_, j) => (j * 131 + i * 17) & 0xff))
    for (let i = 0; i < sent.length; i += 16) await Promise.all(sent.slice(i, i + 16).map(async p => { await a.send(b.nodeId, 'bulk', p) }))
    expect(got).toHaveLength(sent.length)
    const unmatched = new Set(sent)
    for (const g of got) {
      const match = [...unmatched].find(p => isDeepStrictEqual(p, g))
      expect(match).toBeDefined()
      unmatched.delete(match!)
    }
  })
})
