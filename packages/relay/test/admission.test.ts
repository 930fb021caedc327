// Attack 1 of the hardening issue: from one IP, 9,999 throwaway identities filled maxClients in 10.5 s and every
// new client got ERR_RELAY_FULL for 24 h, across restarts. Now registrations are capped per source, away
// registrations with empty queues give way first, and under load a new registration needs a proof of work.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MAX_RELAY_WORK_BITS } from '@egtp/codec'
import { generateIdentity } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import type { Transport } from '@egtp/interface'
import { tcp } from '@egtp/tcp'
import { describe, expect, test } from 'vitest'
import { DEFAULT_MAX_CLIENTS_PER_SOURCE, DEFAULT_WORK_BITS } from '../src/constants.ts'
import { relayServer, renderPrometheus } from '../src/index.ts'
import { checkWork, solveWork } from '../src/work.ts'
import type { RelayServer } from '../src/index.ts'
import { signHello } from '../src/protocol.ts'
import { sourceOf } from '../src/server/source.ts'
import { leadingZeroBits } from '../src/work.ts'
import { MemoryNetwork } from './helpers/memory-transport.ts'
import { RawRelayConn } from './helpers/raw.ts'
import { bytes, registered, startClient, startServer, until } from './helpers/setup.ts'
import type { Cleanup } from './helpers/setup.ts'

/** Register `id` as a client from `transport` and leave (the registration stays, away and empty). */
async function registerAndLeave (transport: Transport, server: RelayServer, id: NodeIdentity = generateIdentity()): Promise<NodeIdentity> {
  const raw = await RawRelayConn.open(transport, server.endpoint())
  await raw.authenticate(id)
  await raw.close()
  return id
}

async function connectedClient (transport: Transport, server: RelayServer, cleanup: Cleanup, id: NodeIdentity = generateIdentity()): Promise<RawRelayConn> {
  const raw = await RawRelayConn.open(transport, server.endpoint())
  cleanup(() => raw.close())
  await raw.authenticate(id)
  return raw
}

describe('sources', () => {
  test('IPv4, IPv4-mapped and bracketed IPv6 addresses; IPv6 is counted per /64', () => {
    expect(sourceOf('203.0.113.9:4100')).toBe('203.0.113.9')
    expect(sourceOf('[::ffff:203.0.113.9]:4100')).toBe('203.0.113.9')
    expect(sourceOf('[2001:db8:1:2:aaaa::1]:1')).toBe(sourceOf('[2001:db8:1:2:bbbb::7]:1'))
    expect(sourceOf('[2001:db8:1:2::1]:1')).not.toBe(sourceOf('[2001:db8:1:3::1]:1'))
  })
})

describe('registration flood from one source', () => {
  test('one source cannot hold more than maxClientsPerSource registrations; a client from another source still registers', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const server = await startServer(net.transport(), onTestFinished, { maxClients: 40, maxClientsPerSource: 8, workBits: 0 })
    const attacker = net.transport('198.51.100.7')
    // 30 throwaway identities that register and leave: each new one past 8 replaces the attacker's own oldest.
    for (let i = 0; i < 30; i++) await registerAndLeave(attacker, server)
    expect(server.stats()).toMatchObject({ clients: 8, evictedRegistrations: 22, sourceRefusals: 0 })
    // Eight that stay connected cannot be displaced: the ninth from that source is refused.
    for (let i = 0; i < 8; i++) await connectedClient(attacker, server, onTestFinished)
    const ninth = await RawRelayConn.open(attacker, server.endpoint())
    onTestFinished(() => ninth.close())
    await expect(ninth.authenticate(generateIdentity())).rejects.toThrow(/ERR_RELAY_FULL/)
    expect(server.stats().sourceRefusals).toBe(1)
    // Someone else is not affected.
    const honest = await startClient(net.transport('192.0.2.20'), onTestFinished, { relays: [server.endpoint()] })
    await registered(honest)
    expect(server.stats().refused).toMatchObject({ ERR_RELAY_FULL: 1 })
  })

  test('when the relay is full, the longest-away registration with an empty queue gives way; one holding mail does not', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const server = await startServer(net.transport(), onTestFinished, { maxClients: 6, maxClientsPerSource: 2, workBits: 0 })
    const ids: NodeIdentity[] = []
    for (let i = 0; i < 6; i++) ids.push(await registerAndLeave(net.transport(`192.0.2.${Math.floor(i / 2) + 1}`), server))
    expect(server.stats().clients).toBe(6)
    // Mail for the oldest registration: it must survive.
    const sender = await startClient(net.transport('192.0.2.99'), onTestFinished, { register: false })
    await sender.send(ids[0]!.nodeId, server.endpoint(), bytes(10))
    const fresh = await connectedClient(net.transport('192.0.2.50'), server, onTestFinished)
    expect(fresh.received.some(m => m.t === 'rw')).toBe(true)
    expect(server.stats()).toMatchObject({ clients: 6, evictedRegistrations: 1 })
    // ids[0] still has its queue (it gets its message); ids[1], the next longest away and empty, is gone.
    const back0 = await RawRelayConn.open(net.transport('192.0.2.1'), server.endpoint())
    onTestFinished(() => back0.close())
    expect((await back0.authenticate(ids[0]!)).q).toBe(1)
    // A sender to ids[1] is told the recipient is unknown rather than its mail being queued for nobody.
    await expect(sender.send(ids[1]!.nodeId, server.endpoint(), bytes(10))).rejects.toMatchObject({ code: 'ERR_RELAY_UNKNOWN_RECIPIENT' })
  })

  test('over real TCP with a data directory: after a throwaway flood and a restart, a new client registers at once', async ({ onTestFinished }) => {
    const dir = await mkdtemp(join(tmpdir(), 'egtp-relay-admission-'))
    onTestFinished(async () => { await rm(dir, { recursive: true, force: true }) })
    const identity = generateIdentity()
    const init = { dataDir: dir, fsync: false, maxClients: 30, maxClientsPerSource: 30, workBits: 0, listen: { kind: 'tcp' as const, host: '127.0.0.1', port: 0 } }
    const first = relayServer(init)({ transport: tcp()(), identity })
    await first.start()
    for (let i = 0; i < 30; i++) await registerAndLeave(tcp()(), first)
    expect(first.stats().clients).toBe(30)
    const port = first.address().port
    await first.stop()
    const again = relayServer({ ...init, listen: { kind: 'tcp', host: '127.0.0.1', port } })({ transport: tcp()(), identity })
    await again.start()
    onTestFinished(() => again.stop())
    expect(again.stats().clients).toBe(30) // the flood survived the restart...
    const honest = await startClient(tcp()(), onTestFinished, { relays: [again.endpoint()] })
    await registered(honest) // ...but no longer locks anyone out
    expect(again.stats()).toMatchObject({ clients: 30, evictedRegistrations: 1 })
  })
})

describe('proof of work under load', () => {
  test('defaults: 16 bits, within the codec bound; a solution checks in one hash and is bound to nonce and key', async () => {
    expect(DEFAULT_WORK_BITS).toBe(16)
    expect(DEFAULT_WORK_BITS).toBeLessThanOrEqual(MAX_RELAY_WORK_BITS)
    expect(DEFAULT_MAX_CLIENTS_PER_SOURCE).toBeGreaterThan(0)
    const nonce = new Uint8Array(32).fill(3)
    const key = generateIdentity().publicKey
    const p = await solveWork(nonce, key, 12)
    expect(checkWork(nonce, key, p, 12)).toBe(true)
    expect(checkWork(nonce, key, undefined, 12)).toBe(false)
    expect(checkWork(nonce, key, undefined, 0)).toBe(true)
    expect(leadingZeroBits(Uint8Array.of(0, 0x10, 0xff))).toBe(11)
    await expect(solveWork(nonce, key, MAX_RELAY_WORK_BITS + 1)).rejects.toThrow(RangeError)
    await expect(solveWork(nonce, key, 24, AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' })
  })

  test('the challenge asks for work once the registry is half full; a hello without it (or with a wrong one) is refused, the relay client solves it', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const server = await startServer(net.transport(), onTestFinished, { maxClients: 4, workBits: 12, workLoadPercent: 50 })
    for (let i = 0; i < 2; i++) {
      const raw = await connectedClient(net.transport(`192.0.2.${i + 1}`), server, onTestFinished)
      expect(raw.challenge?.w).toBeUndefined()
    }
    const lazy = await RawRelayConn.open(net.transport('192.0.2.10'), server.endpoint())
    onTestFinished(() => lazy.close())
    await expect(lazy.authenticate(generateIdentity(), 'client', {}, 'omit')).rejects.toThrow(/ERR_RATE_LIMITED/)
    expect(lazy.challenge?.w).toBe(12)
    const forger = await RawRelayConn.open(net.transport('192.0.2.11'), server.endpoint())
    onTestFinished(() => forger.close())
    const id = generateIdentity()
    const rc = await forger.next('rc')
    expect(rc.w).toBe(12)
    // 8 bytes that do not solve this challenge (random ones would pass 12 bits with probability 2^-12).
    let wrong = new Uint8Array(8)
    for (let i = 0; checkWork(rc.n, id.publicKey, wrong, 12); i++) wrong = new Uint8Array(8).fill(i + 1)
    forger.send({ t: 'rh', k: id.publicKey, g: signHello(id, rc.n, rc.id, 'client'), r: 'client', p: wrong })
    expect(await forger.next('rr')).toMatchObject({ c: 'ERR_RATE_LIMITED' })
    // A sender needs no work: it does not register.
    const sender = await RawRelayConn.open(net.transport('192.0.2.12'), server.endpoint())
    onTestFinished(() => sender.close())
    await sender.authenticate(generateIdentity(), 'sender', {}, 'omit')
    const honest = await startClient(net.transport('192.0.2.13'), onTestFinished, { relays: [server.endpoint()] })
    await registered(honest)
    const s = server.stats()
    expect(s.workFailures).toBe(2)
    expect(s.workChallenges).toBeGreaterThanOrEqual(3)
  })

  test('a burst of new registrations turns work on even with an empty registry', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const server = await startServer(net.transport(), onTestFinished, { maxClients: 10_000, workBits: 8, workNewClientsPerSecond: 3 })
    const asked: Array<number | undefined> = []
    for (let i = 0; i < 6; i++) {
      const raw = await connectedClient(net.transport(`192.0.2.${i + 1}`), server, onTestFinished)
      asked.push(raw.challenge?.w)
    }
    expect(asked.slice(0, 3)).toEqual([undefined, undefined, undefined])
    expect(asked.slice(3)).toContain(8)
  })

  test('registrations per second from one source, without and with the default work (a figure, not an assertion)', async ({ onTestFinished }) => {
    const rate = async (workBits: number, n: number): Promise<number> => {
      const net = new MemoryNetwork()
      const server = await startServer(net.transport(), onTestFinished, { workBits, workLoadPercent: 0, maxClientsPerSource: 1000 })
      const start = performance.now()
      for (let i = 0; i < n; i++) await registerAndLeave(net.transport('198.51.100.7'), server)
      return n / ((performance.now() - start) / 1000)
    }
    const without = await rate(0, 40)
    const withWork = await rate(DEFAULT_WORK_BITS, 8)
    console.log(`registrations/s from one source: ${without.toFixed(0)} without work, ${withWork.toFixed(1)} with ${DEFAULT_WORK_BITS} bits of work`)
    expect(withWork).toBeGreaterThan(0)
  }, 60_000)
})

describe('attacks are visible', () => {
  test('malformed frames, protocol violations, auth timeouts and refusals are counted and exported', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const lines: Array<{ level: string, message: string }> = []
    const { createComponentLogger } = await import('@egtp/interface')
    const logger = createComponentLogger('-egtp:*', line => { lines.push(line) })
    const server = relayServer({ sweepIntervalMs: 20, authTimeoutMs: 500, maxClientsPerSource: 1, workBits: 0 })({ transport: net.transport(), identity: generateIdentity(), logger })
    await server.start()
    onTestFinished(() => server.stop())
    for (let i = 0; i < 3; i++) {
      const junk = await RawRelayConn.open(net.transport('198.51.100.7'), server.endpoint())
      junk.sendBytes(Uint8Array.of(0xc1, 1, 2))
      await junk.closed
    }
    const early = await RawRelayConn.open(net.transport('198.51.100.7'), server.endpoint())
    early.send({ t: 'rp', n: 1 })
    await early.closed
    const silent = await RawRelayConn.open(net.transport('198.51.100.8'), server.endpoint())
    await silent.closed
    await connectedClient(net.transport('198.51.100.9'), server, onTestFinished)
    const second = await RawRelayConn.open(net.transport('198.51.100.9'), server.endpoint())
    onTestFinished(() => second.close())
    await expect(second.authenticate(generateIdentity())).rejects.toThrow(/ERR_RELAY_FULL/)
    await until(() => server.stats().authTimeouts === 1)
    expect(server.stats()).toMatchObject({ malformedFrames: 3, protocolViolations: 1, authTimeouts: 1, sourceRefusals: 1 })
    const text = renderPrometheus(server.stats())
    expect(text).toMatch(/^egtp_relay_malformed_frames_total 3$/m)
    expect(text).toMatch(/^egtp_relay_protocol_violations_total 1$/m)
    expect(text).toMatch(/^egtp_relay_auth_timeouts_total 1$/m)
    expect(text).toMatch(/^egtp_relay_source_refusals_total 1$/m)
    // One warn line per kind and source: three malformed frames from one source give one line.
    const warns = lines.filter(l => l.level === 'warn').map(l => l.message)
    expect(warns.filter(w => w.includes('malformed'))).toHaveLength(1)
    expect(warns).toHaveLength(4)
  })
})
