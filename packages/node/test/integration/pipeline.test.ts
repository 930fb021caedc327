import { TypedEventTarget } from '@egtp/interface'
import type { Commstrat, CommstratEvents, Endpoint, OutboundFrame } from '@egtp/interface'
import { describe, expect, test } from 'vitest'
import { createNode } from '../../src/index.ts'
import { memoryDirectory, startNode, until } from './helpers.ts'

/** A commstrat that holds every send until released, as a relay holds it until the relay has accepted it. */
class HoldingCommstrat extends TypedEventTarget<CommstratEvents> implements Commstrat {
  readonly kind = 'tcp'
  readonly held: Array<{ bytes: number, release: () => void }> = []
  async start (): Promise<void> {}
  async stop (): Promise<void> {}
  canSend (endpoint: Endpoint): boolean { return endpoint.kind === 'tcp' }
  localEndpoints (): Endpoint[] { return [] }
  async send (_peerId: string, _endpoint: Endpoint, frame: OutboundFrame): Promise<void> {
    const bytes = frame instanceof Uint8Array ? frame.byteLength : frame.reduce((n, p) => n + p.byteLength, 0)
    await new Promise<void>(resolve => { this.held.push({ bytes, release: resolve }) })
  }
}

describe('sending through a commstrat that settles late', () => {
  test('several batches are in flight at once (not one per round trip), at most 8, and the rest follow as they settle', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const b = await startNode(dir, onTestFinished)
    const holding = new HoldingCommstrat()
    const a = await createNode({ commstrats: [holding], lookup: dir, limits: { stopTimeoutMs: 200 } })
    onTestFinished(async () => { await a.stop() })
    await a.start()
    // Each 200 KiB message is a batch of its own (batches hold up to 256 KiB).
    const sends = Array.from({ length: 12 }, () => a.send(b.nodeId, 'bulk', new Uint8Array(200 * 1024), { timeoutMs: 60_000 }).catch(() => {}))
    await until(() => holding.held.length === 8, 5000, 'eight batches handed over')
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(holding.held.length).toBe(8) // the ninth waits for a slot
    expect(holding.held.every(h => h.bytes > 200 * 1024)).toBe(true)
    holding.held[0]!.release()
    await until(() => holding.held.length === 9, 5000, 'a ninth batch once one settled')
    for (const h of holding.held) h.release()
    await until(() => holding.held.length === 12, 5000, 'every batch handed over')
    for (const h of holding.held) h.release()
    await a.stop()
    await Promise.all(sends)
  })
})
