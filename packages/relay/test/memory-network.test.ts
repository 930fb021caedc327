// The relay server and its clients on the simulated network of @egtp/testing: its memory Transport carries the
// relay protocol over links with latency and partitions, with no socket.
import { generateIdentity } from '@egtp/identity'
import type { RelayEndpoint } from '@egtp/interface'
import { memoryNetwork } from '@egtp/testing'
import type { MemoryNetwork, MemoryTransport } from '@egtp/testing'
import { commstratCompliance } from '@egtp/testing/compliance'
import { describe, expect, test } from 'vitest'
import type { RelayClient, RelayClientEvents } from '../src/index.ts'
import { collect, registered, startClient, startServer, str, text, until } from './helpers/setup.ts'
import type { Cleanup } from './helpers/setup.ts'

function transportOn (net: MemoryNetwork, cleanup: Cleanup): MemoryTransport {
  const t = net.transport()
  cleanup(() => t.close())
  return t
}

const nextEvent = <K extends 'relay:down' | 'relay:ready'>(client: RelayClient, type: K): Promise<RelayClientEvents[K]> =>
  new Promise(resolve => { client.addEventListener(type, ({ detail }) => { resolve(detail) }, { once: true }) })

describe('relay on the memory network', () => {
  test('a message passes through the relay; a partition is noticed by the cut-off client, and after heal it registers again', async ({ onTestFinished }) => {
    const net = memoryNetwork({ latencyMs: 2, jitterMs: 3, seed: 2004, retransmitMs: 20 })
    const serverT = transportOn(net, onTestFinished)
    const aT = transportOn(net, onTestFinished)
    const bT = transportOn(net, onTestFinished)
    const server = await startServer(serverT, onTestFinished) // listens on 127.0.0.1:0, a name of the network's host
    expect(server.address().host).toBe(net.host)
    const aId = generateIdentity()
    const bId = generateIdentity()
    const b = await startClient(bT, onTestFinished, { relays: [server.endpoint()], keepaliveMs: 100 }, bId)
    const a = await startClient(aT, onTestFinished, { register: false }, aId)
    await registered(b)
    const atB = collect(b)

    await a.send(bId.nodeId, b.localEndpoints()[0]!, text('before'))
    await until(() => atB.length === 1)
    expect(str(atB[0]!.frame)).toBe('before')
    expect(atB[0]!.path).toMatchObject({ kind: 'relay', authenticatedSender: aId.nodeId })
    const atA = collect(a)
    await atB[0]!.path.reply(text('reply'))
    await until(() => atA.length === 1)
    expect(str(atA[0]!.frame)).toBe('reply')

    // b is cut off from the relay: nothing arrives, its keepalive gives up on the connection
    const down = nextEvent(b, 'relay:down')
    net.partition([bT], [serverT])
    expect((await down).endpoint).toEqual(server.endpoint())
    expect(net.stats().held).toBeGreaterThan(0) // its pings waited at the cut
    // a still reaches the relay, which takes the message for b
    const accepted = server.stats().accepted
    await a.send(bId.nodeId, server.endpoint(), text('during'))
    await until(() => server.stats().accepted === accepted + 1)

    const ready = nextEvent(b, 'relay:ready')
    net.heal()
    expect(await ready).toEqual({ endpoint: server.endpoint(), registered: true })
    // (a message whose acknowledgement the cut stopped may come again: the node's de-duplication drops it)
    await until(() => atB.some(f => str(f.frame) === 'during'))
    await a.send(bId.nodeId, b.localEndpoints()[0]!, text('after'))
    await until(() => atB.some(f => str(f.frame) === 'after'))
  })

  test('a relay behind a partition is unreachable for a new client: its sends fail with ERR_UNREACHABLE', async ({ onTestFinished }) => {
    const net = memoryNetwork()
    const serverT = transportOn(net, onTestFinished)
    const aT = transportOn(net, onTestFinished)
    const server = await startServer(serverT, onTestFinished)
    net.partition([aT], [serverT])
    const a = await startClient(aT, onTestFinished, { register: false })
    const err = await a.send(generateIdentity().nodeId, server.endpoint(), text('x')).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ERR_UNREACHABLE' })
  })
})

commstratCompliance('relay client on the memory network', async () => {
  const cleanups: Array<() => Promise<void> | void> = []
  const cleanup: Cleanup = fn => { cleanups.push(fn) }
  const teardown = async (): Promise<void> => { for (const fn of cleanups.reverse()) await fn() }
  try {
    const net = memoryNetwork({ latencyMs: 1 })
    const server = await startServer(transportOn(net, cleanup), cleanup)
    const bId = generateIdentity()
    const b = await startClient(transportOn(net, cleanup), cleanup, { relays: [server.endpoint()] }, bId)
    await registered(b)
    const a = await startClient(transportOn(net, cleanup), cleanup, { register: false })
    // a relay endpoint where nothing listens: a port of the network bound, then released
    const gone = await transportOn(net, cleanup).listen({ kind: 'tcp', host: net.host, port: 0 })
    await gone.close()
    const deadEndpoint: RelayEndpoint = { kind: 'relay', relay: generateIdentity().nodeId, host: net.host, port: gone.address().port }
    return {
      a,
      b,
      idOfB: bId.nodeId,
      endpointOfB: b.localEndpoints()[0]!,
      deadEndpoint,
      foreignEndpoint: { kind: 'tcp', host: net.host, port: 1 },
      teardown
    }
  } catch (err) {
    await teardown()
    throw err
  }
})
