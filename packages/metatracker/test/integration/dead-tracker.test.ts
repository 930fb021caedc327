// A tracker that accepts connections and never answers (a hung host) must not hold up a lookup or a discover
// that a live tracker answered at once: the fan-out settles `settleMs` after the first useful answer.
import { createServer } from 'node:net'
import type { Socket } from 'node:net'
import { describe, expect, test } from 'vitest'
import { trackers } from '../../src/client/index.ts'
import { listening, record, testnet, until } from '../helpers/net.ts'
import { createNode } from '@egtp/node'

/** A TCP listener on 127.0.0.1 that accepts and never sends a byte. */
async function blackhole (): Promise<{ port: number, close: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  const server = createServer(s => { sockets.add(s); s.on('error', () => {}); s.on('close', () => sockets.delete(s)) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return { port, close: async () => { for (const s of sockets) s.destroy(); await new Promise(resolve => server.close(resolve)) } }
}

describe('a hung tracker', () => {
  test('does not hold up a lookup or discover that a live tracker answered', async ({ onTestFinished }) => {
    const net = await testnet(onTestFinished, { size: 1 })
    const hole = await blackhole()
    onTestFinished(hole.close)
    const hung = record({ endpoints: [{ kind: 'tcp', host: '127.0.0.1', port: hole.port }], services: ['metatracker'] })

    const b = await net.node({ commstrats: [listening()] })
    await b.node.start()
    await until(async () => (await net.trackers[0]!.server.stats()).records >= 1, 5000, 'B published')

    // The hung tracker's requests are bounded by a minute here, so only settling early can end the lookup soon.
    const client = trackers({ trackers: [...net.records(), hung.record], fanout: 2, requestTimeoutMs: 60_000 })
    const a = await createNode({ commstrats: [listening()], lookup: client, discovery: client, limits: { stopTimeoutMs: 200 } })
    client.attach(a)
    await a.start()
    onTestFinished(async () => { await client.stop(); await a.stop() })

    expect(await client.lookup(b.node.nodeId)).toMatchObject({ nodeId: b.node.nodeId })
    // The hung tracker was asked and has neither answered nor failed: the lookup did not wait for it.
    expect(client.stats()[hung.record.nodeId]).toMatchObject({ requests: 1, failures: 0 })
    const trackersFound = await client.discover('metatracker')
    expect(trackersFound.map(r => r.nodeId)).toContain(net.trackers[0]!.node.nodeId)
    expect(client.stats()[hung.record.nodeId]).toMatchObject({ requests: 2, failures: 0 })
  }, 20_000)

  test('a lookup nobody can answer with a record still waits for every tracker (an unknown ID is not settled early)', async ({ onTestFinished }) => {
    const net = await testnet(onTestFinished, { size: 1 })
    const hole = await blackhole()
    onTestFinished(hole.close)
    const hung = record({ endpoints: [{ kind: 'tcp', host: '127.0.0.1', port: hole.port }], services: ['metatracker'] })
    const client = trackers({ trackers: [...net.records(), hung.record], fanout: 2, requestTimeoutMs: 1500 })
    const a = await createNode({ commstrats: [listening()], lookup: client, limits: { stopTimeoutMs: 200 } })
    client.attach(a)
    await a.start()
    onTestFinished(async () => { await client.stop(); await a.stop() })
    expect(await client.lookup(record().record.nodeId)).toBeUndefined()
    expect(client.stats()[hung.record.nodeId]).toMatchObject({ requests: 1, failures: 1 })
  }, 20_000)
})
