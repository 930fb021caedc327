import { generateIdentity, nodeIdFromBytes } from '@egtp/identity'
import { describe, expect, test } from 'vitest'
import { relayClient } from '../src/index.ts'
import { signHello } from '../src/protocol.ts'
import { MemoryNetwork } from './helpers/memory-transport.ts'
import { RawRelayConn } from './helpers/raw.ts'
import { collect, registered, startClient, startServer, text, until } from './helpers/setup.ts'

describe('authentication', () => {
  test('a valid hello is welcomed with the node ID derived from the key', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const relayId = generateIdentity()
    const server = await startServer(net.transport(), onTestFinished, {}, relayId)
    const me = generateIdentity()
    const raw = await RawRelayConn.open(net.transport(), server.endpoint())
    onTestFinished(() => raw.close())
    const challenge = await raw.next('rc')
    expect(nodeIdFromBytes(challenge.id)).toBe(relayId.nodeId)
    expect(challenge.n.byteLength).toBe(32)
    raw.send({ t: 'rh', k: me.publicKey, g: signHello(me, challenge.n, challenge.id, 'client'), r: 'client' })
    const welcome = await raw.next('rw')
    expect(nodeIdFromBytes(welcome.id)).toBe(me.nodeId)
    expect(welcome).toMatchObject({ p: false, q: 0 })
  })

  type Forge = (victim: ReturnType<typeof generateIdentity>, n: Uint8Array, id: Uint8Array) => { k: Uint8Array, g: Uint8Array }
  test.for<[string, Forge]>([
    ['a signature by another key over the victim\'s public key', (victim: ReturnType<typeof generateIdentity>, n: Uint8Array, id: Uint8Array) =>
      ({ k: victim.publicKey, g: signHello(generateIdentity(), n, id, 'client') })],
    ['a signature over another nonce', (victim: ReturnType<typeof generateIdentity>, _n: Uint8Array, id: Uint8Array) =>
      ({ k: victim.publicKey, g: signHello(victim, new Uint8Array(32), id, 'client') })],
    ['a signature made for another relay', (victim: ReturnType<typeof generateIdentity>, n: Uint8Array) =>
      ({ k: victim.publicKey, g: signHello(victim, n, generateIdentity().nodeIdBytes, 'client') })],
    ['a signature for the sender role presented as a client', (victim: ReturnType<typeof generateIdentity>, n: Uint8Array, id: Uint8Array) =>
      ({ k: victim.publicKey, g: signHello(victim, n, id, 'sender') })],
    ['a zero signature', (victim: ReturnType<typeof generateIdentity>) => ({ k: victim.publicKey, g: new Uint8Array(64) })]
  ])('%s is refused with ERR_AUTH and picks up nothing', async ([_name, forge], { onTestFinished }) => {
    const net = new MemoryNetwork()
    const server = await startServer(net.transport(), onTestFinished)
    const victim = generateIdentity()
    // The victim has mail waiting.
    const sender = await startClient(net.transport(), onTestFinished, { register: false })
    const victimClient = await startClient(net.transport(), onTestFinished, { relays: [server.endpoint()] }, victim)
    await registered(victimClient)
    await victimClient.stop()
    await until(() => server.stats().connectedClients === 0)
    await sender.send(victim.nodeId, server.endpoint(), text('secret'))
    const raw = await RawRelayConn.open(net.transport(), server.endpoint())
    onTestFinished(() => raw.close())
    const challenge = await raw.next('rc')
    raw.send({ t: 'rh', ...forge(victim, challenge.n, challenge.id), r: 'client' })
    const refusal = await raw.next('rr')
    expect(refusal.c).toBe('ERR_AUTH')
    expect(refusal.s).toBe('authentication failed')
    await raw.closed
    expect(raw.received.some(m => m.t === 'rd')).toBe(false)
    expect(server.stats()).toMatchObject({ authFailures: 1, queuedMessages: 1 })
  })

  test('a hello captured on one connection cannot be replayed on another', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const server = await startServer(net.transport(), onTestFinished)
    const victim = generateIdentity()
    const first = await RawRelayConn.open(net.transport(), server.endpoint())
    onTestFinished(() => first.close())
    const c1 = await first.next('rc')
    const captured = { t: 'rh' as const, k: victim.publicKey, g: signHello(victim, c1.n, c1.id, 'client'), r: 'client' as const }
    const second = await RawRelayConn.open(net.transport(), server.endpoint())
    onTestFinished(() => second.close())
    const c2 = await second.next('rc')
    expect(c2.n).not.toEqual(c1.n)
    second.send(captured)
    expect((await second.next('rr')).c).toBe('ERR_AUTH')
  })

  test('frames before the hello, malformed frames and a second hello close the connection', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const server = await startServer(net.transport(), onTestFinished)
    const early = await RawRelayConn.open(net.transport(), server.endpoint())
    onTestFinished(() => early.close())
    await early.next('rc')
    early.send({ t: 'rs', e: [{ m: 1, to: generateIdentity().nodeIdBytes, p: text('x') }] })
    expect((await early.next('rr')).c).toBe('ERR_RELAY_REFUSED')

    const garbage = await RawRelayConn.open(net.transport(), server.endpoint())
    onTestFinished(() => garbage.close())
    await garbage.next('rc')
    garbage.sendBytes(Uint8Array.of(0xc1, 0xff, 0x00))
    expect((await garbage.next('rr')).c).toBe('ERR_RELAY_REFUSED')

    const twice = await RawRelayConn.open(net.transport(), server.endpoint())
    onTestFinished(() => twice.close())
    const me = generateIdentity()
    await twice.authenticate(me)
    twice.send({ t: 'rh', k: me.publicKey, g: new Uint8Array(64), r: 'client' })
    expect((await twice.next('rr')).c).toBe('ERR_RELAY_REFUSED')
  })

  test('a connection that never authenticates is closed after authTimeoutMs', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const server = await startServer(net.transport(), onTestFinished, { authTimeoutMs: 50 })
    const raw = await RawRelayConn.open(net.transport(), server.endpoint())
    onTestFinished(() => raw.close())
    const refusal = await raw.next('rr')
    expect(refusal.c).toBe('ERR_AUTH')
    await raw.closed
  })

  test('a client refuses a relay whose challenge names another node ID', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const server = await startServer(net.transport(), onTestFinished)
    const impostorEndpoint = { ...server.endpoint(), relay: generateIdentity().nodeId }
    const client = relayClient({ register: false })({ transport: net.transport(), identity: generateIdentity() })
    await client.start()
    onTestFinished(() => client.stop())
    await expect(client.send(generateIdentity().nodeId, impostorEndpoint, text('x'))).rejects.toMatchObject({ code: 'ERR_AUTH' })
  })

  test('acknowledging messages never delivered is a protocol violation', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const server = await startServer(net.transport(), onTestFinished)
    const raw = await RawRelayConn.open(net.transport(), server.endpoint())
    onTestFinished(() => raw.close())
    await raw.authenticate(generateIdentity())
    raw.send({ t: 'ra', i: 5 })
    expect((await raw.next('rr')).c).toBe('ERR_RELAY_REFUSED')
  })

  test('a client only ever receives messages addressed to its own node ID', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const server = await startServer(net.transport(), onTestFinished)
    const bId = generateIdentity()
    const b = await startClient(net.transport(), onTestFinished, { relays: [server.endpoint()] }, bId)
    const c = await startClient(net.transport(), onTestFinished, { relays: [server.endpoint()] })
    await registered(b)
    await registered(c)
    const atB = collect(b)
    const atC = collect(c)
    const a = await startClient(net.transport(), onTestFinished, { register: false })
    await a.send(bId.nodeId, server.endpoint(), text('for b'))
    await until(() => atB.length === 1)
    await until(() => server.stats().delivered === 1)
    expect(atC).toHaveLength(0)
  })
})
