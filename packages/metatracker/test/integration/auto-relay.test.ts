// `relay: 'auto'`: a node that names no relay picks relays from the trackers, registers with two, advertises
// them in its record, and moves to another when one dies. The composition is the relay client with no relays
// and the metatracker client as its discovery.
import { createContactRecord, generateIdentity } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import type { ContactRecord } from '@egtp/interface'
import { createNode } from '@egtp/node'
import { relayClient, relayServer } from '@egtp/relay'
import type { RelayServer } from '@egtp/relay'
import { describe, expect, test } from 'vitest'
import { trackers } from '../../src/client/index.ts'
import { ask, dialing, listening, rawNode, testnet, until } from '../helpers/net.ts'
import type { Cleanup } from '../helpers/net.ts'

async function startRelay (cleanup: Cleanup): Promise<{ server: RelayServer, identity: NodeIdentity, record: ContactRecord, stop: () => Promise<void> }> {
  const transport = dialing()
  const identity = generateIdentity()
  const server = relayServer({ listen: { kind: 'tcp', host: '127.0.0.1', port: 0 } })({ transport, identity })
  await server.start()
  let stopped: Promise<void> | undefined
  const stop = async (): Promise<void> => { stopped ??= (async () => { await server.stop(); await transport.stop() })(); await stopped }
  cleanup(stop)
  // The relay's operator publishes its signed record (service `relay`) to the trackers.
  const { host, port } = server.address()
  const record = createContactRecord(identity, { seq: 1, expiresAt: Date.now() + 600_000, endpoints: [{ kind: 'tcp', host, port }], services: ['relay'] })
  return { server, identity, record, stop }
}

describe('relay: auto', () => {
  test('a node picks two relays from the trackers, is reached through them by ID, and replaces a dead one', async ({ onTestFinished }) => {
    const net = await testnet(onTestFinished, { size: 2, server: { publishesPerSecond: 100 } })
    const relays = await Promise.all([0, 1, 2].map(async () => await startRelay(onTestFinished)))
    const publisher = await rawNode(onTestFinished, net.records())
    // Each relay's record is announced by a client with the relay's identity, carried by another node.
    for (const r of relays) {
      const announcer = trackers({ trackers: net.records(), identity: r.identity })
      announcer.attach(publisher)
      await announcer.announce(r.record)
      onTestFinished(() => announcer.stop())
    }
    for (const t of net.trackers) expect(await ask(publisher, t.node.nodeId, { t: 'md', s: 'relay', n: 10 })).toMatchObject({ t: 'mda', r: { length: 3 } })

    // The metatracker client is made first: it is the relay client's discovery, then the node's.
    const bIdentity = generateIdentity()
    const bTransport = dialing()
    const mt = trackers({ trackers: net.records(), identity: bIdentity })
    const auto = relayClient({ relays: [], reconnectMinMs: 10, reconnectMaxMs: 100, maxRelayFailures: 2 })({ transport: bTransport, identity: bIdentity, discovery: mt })
    const node = await createNode({ identity: bIdentity, commstrats: [bTransport, auto], lookup: mt, discovery: mt, announcer: mt, limits: { stopTimeoutMs: 200 } })
    mt.attach(node)
    onTestFinished(async () => { await mt.stop(); await node.stop() })
    node.handle('hi', (_p, ctx) => `hi ${ctx.peerId}`)
    await node.start()
    const relayIds = (): string[] => (node.contactRecord()?.endpoints ?? []).filter(e => e.kind === 'relay').map(e => e.relay as string).sort()
    await until(() => relayIds().length === 2, 5000, 'B registered with two relays')
    const firstTwo = relayIds()

    const aTransport = listening()
    const aIdentity = generateIdentity()
    const a = await net.node({ identity: aIdentity, commstrats: [aTransport, relayClient({ register: false })({ transport: aTransport, identity: aIdentity })] })
    await a.node.start()
    expect(await a.node.query(bIdentity.nodeId, 'hi')).toBe(`hi ${aIdentity.nodeId}`)

    // One of B's relays dies: B registers with the third one and publishes its new record.
    const dying = relays.find(r => r.server.endpoint().relay === firstTwo[0])!
    await dying.stop()
    await until(() => relayIds().length === 2 && !relayIds().includes(firstTwo[0]!), 10_000, 'B moved to another relay')
    await until(async () => {
      const found = await a.client.lookup(bIdentity.nodeId)
      return found !== undefined && !found.endpoints.some(e => e.kind === 'relay' && e.relay === firstTwo[0])
    }, 5000, 'the trackers to hold B\'s new record')
    expect(await a.node.query(bIdentity.nodeId, 'hi', null, { timeoutMs: 5000 })).toBe(`hi ${aIdentity.nodeId}`)
  })
})
