// Issue 5: "sending to a peer whose contact record names relays: through the first that accepts, falling
// back to the next". B is registered with R2 only, but its (newest, signed) record names R1 first.
import { createContactRecord } from '@egtp/identity'
import { describe, expect, test } from 'vitest'
import { tcpServer } from './helpers.ts'
import { memoryDirectory, persisted, startListeningNode, startRelayOnlyNode } from './nodes.ts'

describe('relay fallback', () => {
  test('a relay that does not know the recipient is skipped for the next relay in its record', async ({ onTestFinished }) => {
    const r1 = await tcpServer(onTestFinished)
    const r2 = await tcpServer(onTestFinished)
    const directory = memoryDirectory()
    const bKeys = persisted()
    const a = (await startRelayOnlyNode(onTestFinished, r2, directory, persisted(), () => {})).node
    const b = (await startRelayOnlyNode(onTestFinished, r2, directory, bKeys, node => { node.handle('whoami', (_p, ctx) => ctx.peerId) })).node
    const current = b.contactRecord()!
    a.addContact(createContactRecord(bKeys.identity, {
      seq: current.seq + 1000,
      expiresAt: Date.now() + 3_600_000,
      endpoints: [r1.endpoint(), r2.endpoint()]
    }))
    expect(await a.query(b.nodeId, 'whoami', null, { timeoutMs: 5_000 })).toBe(a.nodeId)
    expect(r1.stats().refused.ERR_RELAY_UNKNOWN_RECIPIENT).toBeGreaterThanOrEqual(1)
    expect(r1.stats().accepted).toBe(0)
    expect(r2.stats().accepted).toBeGreaterThanOrEqual(1)
  })
  test('a record naming a relay before a direct endpoint: the direct one is tried first (the relay client\'s cost is higher)', async ({ onTestFinished }) => {
    const r1 = await tcpServer(onTestFinished)
    const r2 = await tcpServer(onTestFinished)
    const directory = memoryDirectory()
    const bKeys = persisted()
    const a = (await startRelayOnlyNode(onTestFinished, r2, directory, persisted(), () => {})).node
    const b = (await startListeningNode(onTestFinished, r2, directory, bKeys, node => { node.handle('whoami', (_p, ctx) => ctx.peerId) })).node
    const current = b.contactRecord()!
    a.addContact(createContactRecord(bKeys.identity, {
      seq: current.seq + 1000,
      expiresAt: Date.now() + 3_600_000,
      endpoints: [r1.endpoint(), ...current.endpoints]
    }))
    expect(await a.query(b.nodeId, 'whoami', null, { timeoutMs: 5_000 })).toBe(a.nodeId)
    // B is not registered with R1: had it been tried, it would have refused the recipient as unknown.
    expect(r1.stats().refused.ERR_RELAY_UNKNOWN_RECIPIENT ?? 0).toBe(0)
    expect(r1.stats().accepted).toBe(0)
  })
})
