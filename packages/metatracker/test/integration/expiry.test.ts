// Expiry with a fake clock on the tracker (the nodes and sessions keep real time).
import { encodeContactRecord } from '@egtp/identity'
import { createNode } from '@egtp/node'
import { describe, expect, test } from 'vitest'
import { createComponentLogger } from '@egtp/interface'
import { trackers } from '../../src/client/index.ts'
import { metatrackerServer } from '../../src/server/index.ts'
import { ask, listening, rawNode, record } from '../helpers/net.ts'

describe('record expiry', () => {
  test('a record is forgotten after the TTL (or its own expiry, if earlier) unless published again', async ({ onTestFinished }) => {
    let offset = 0
    const clock = { now: () => Date.now() + offset, monotonic: () => performance.now() + offset }
    const node = await createNode({ commstrats: [listening()], services: ['metatracker'] })
    const server = metatrackerServer({ recordTtlMs: 60_000, publishesPerSecond: 100 })({ node, clock })
    await node.start()
    await server.start()
    onTestFinished(async () => { await server.stop(); await node.stop() })
    const raw = await rawNode(onTestFinished, [node.contactRecord()!])

    const long = record({ ttlMs: 3_600_000 })
    const short = record({ ttlMs: 30_000 })
    expect(await ask(raw, node.nodeId, { t: 'mp', r: encodeContactRecord(long.record) })).toEqual({ t: 'mpa', h: 60_000 })
    expect(await ask(raw, node.nodeId, { t: 'mp', r: encodeContactRecord(short.record) })).toMatchObject({ t: 'mpa', h: expect.any(Number) })
    const both = { t: 'ml' as const, ids: [long.identity.nodeIdBytes, short.identity.nodeIdBytes] }
    expect(await ask(raw, node.nodeId, both)).toMatchObject({ r: [expect.anything(), expect.anything()] })

    offset = 31_000 // past the short record's own expiry
    expect(await ask(raw, node.nodeId, both)).toEqual({ t: 'mla', r: [encodeContactRecord(long.record)] })
    expect(await ask(raw, node.nodeId, { t: 'mp', r: encodeContactRecord(short.record) })).toEqual({ t: 'mpa', c: 'ERR_RECORD_EXPIRED' })

    offset = 50_000 // re-published: held another 60 s from now
    expect(await ask(raw, node.nodeId, { t: 'mp', r: encodeContactRecord(long.record) })).toEqual({ t: 'mpa', h: 60_000 })
    offset = 100_000
    expect(await ask(raw, node.nodeId, both)).toEqual({ t: 'mla', r: [encodeContactRecord(long.record)] })
    offset = 111_000
    expect(await ask(raw, node.nodeId, both)).toEqual({ t: 'mla', r: [] })
    server.store.sweep?.(clock.now())
    expect((await server.stats()).records).toBe(0)
  })
})

describe('a node whose clock runs behind the trackers', () => {
  test('is told so: the refusal of its still-valid record becomes tracker:clock-skew and an error that names the clock', async ({ onTestFinished }) => {
    const aheadMs = 2 * 3_600_000
    const clock = { now: () => Date.now() + aheadMs, monotonic: () => performance.now() }
    const node = await createNode({ commstrats: [listening()], services: ['metatracker'] })
    const server = metatrackerServer({ publishesPerSecond: 100 })({ node, clock })
    await node.start()
    await server.start()
    onTestFinished(async () => { await server.stop(); await node.stop() })

    const lines: string[] = []
    const logger = createComponentLogger('none', ({ message }) => { lines.push(message) })
    const client = trackers({ trackers: [node.contactRecord()!], logger, retryMinMs: 60_000 })
    const carrier = await createNode({ commstrats: [listening()], limits: { stopTimeoutMs: 200 } })
    client.attach(carrier)
    await carrier.start()
    onTestFinished(async () => { await client.stop(); await carrier.stop() })
    const skews: Array<{ trackerId: string, behindMs: number }> = []
    client.addEventListener('tracker:clock-skew', ({ detail }) => { skews.push(detail) })

    const own = record({ ttlMs: 30 * 60_000 })
    await expect(client.announce(own.record)).rejects.toThrow(/ERR_RECORD_EXPIRED/)
    expect(skews).toHaveLength(1)
    expect(skews[0]!.trackerId).toBe(node.nodeId)
    // A lower bound: the record's remaining life by our clock (≤ 30 min), never more than the real skew.
    expect(skews[0]!.behindMs).toBeGreaterThan(25 * 60_000)
    expect(skews[0]!.behindMs).toBeLessThanOrEqual(aheadMs)
    expect(lines.some(l => /clock is at least \d+ s behind the tracker's/.test(l))).toBe(true)
  })
})
