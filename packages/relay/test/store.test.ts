import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateIdentity } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import type { TcpEndpoint } from '@egtp/interface'
import { describe, expect, test } from 'vitest'
import { relayServer } from '../src/index.ts'
import type { RelayServer, RelayServerInit } from '../src/index.ts'
import { MemoryNetwork, cut } from './helpers/memory-transport.ts'
import { RawRelayConn } from './helpers/raw.ts'
import { collect, registered, startClient, str, text, until } from './helpers/setup.ts'
import type { Cleanup } from './helpers/setup.ts'

async function tempDir (cleanup: Cleanup): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'egtp-relay-'))
  cleanup(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function persistentServer (net: MemoryNetwork, cleanup: Cleanup, dataDir: string, identity: NodeIdentity, init: RelayServerInit = {}): Promise<RelayServer> {
  const server = relayServer({ dataDir, sweepIntervalMs: 10, ...init })({ transport: net.transport(), identity })
  await server.start()
  cleanup(() => server.stop())
  return server
}

/** Offsets of every record (its 12-byte header) in a relay log. */
function recordOffsets (log: Uint8Array): number[] {
  const view = new DataView(log.buffer, log.byteOffset, log.byteLength)
  const out: number[] = []
  for (let at = 8; at < log.byteLength; at += 12 + view.getUint32(at)) out.push(at)
  return out
}

/** The epoch a relay announces in its welcome to `id` (a raw connection, closed at once). */
async function welcomeEpoch (net: MemoryNetwork, server: RelayServer, id: NodeIdentity, cleanup: Cleanup): Promise<string> {
  const raw = await RawRelayConn.open(net.transport(), server.endpoint())
  cleanup(() => raw.close())
  const welcome = await raw.authenticate(id, 'sender')
  await raw.close()
  return Buffer.from(welcome.e).toString('hex')
}

/** Queue `n` messages for an away client through a persistent relay; returns what a restart needs. */
async function queueForAway (cleanup: Cleanup, n: number, init: RelayServerInit = {}): Promise<{
  net: MemoryNetwork, dir: string, relayId: NodeIdentity, bId: NodeIdentity, server: RelayServer, listen: TcpEndpoint
}> {
  const net = new MemoryNetwork()
  const dir = await tempDir(cleanup)
  const relayId = generateIdentity()
  const server = await persistentServer(net, cleanup, dir, relayId, init)
  const bId = generateIdentity()
  const b = await startClient(net.transport(), cleanup, { relays: [server.endpoint()] }, bId)
  await registered(b)
  await b.stop()
  await until(() => server.stats().connectedClients === 0)
  const a = await startClient(net.transport(), cleanup, { register: false })
  for (let i = 0; i < n; i++) await a.send(bId.nodeId, server.endpoint(), text(`m${i}`))
  await a.stop()
  // The sender's own (unretained) queue is forgotten by a sweep, which logs it: wait for that, so that a restart
  // finds nothing left to forget and appends nothing of its own (a test measuring the log would race it).
  await until(() => server.stats().clients === 1)
  return { net, dir, relayId, bId, server, listen: server.address() }
}

describe('persistent queue', () => {
  test('a restart keeps queued messages, delivered in order, and new ones follow them', async ({ onTestFinished }) => {
    const { net, dir, relayId, bId, server, listen } = await queueForAway(onTestFinished, 20)
    await server.stop()
    const again = await persistentServer(net, onTestFinished, dir, relayId, { listen })
    expect(again.stats()).toMatchObject({ queuedMessages: 20, clients: 1, persistent: true })
    const b = await startClient(net.transport(), onTestFinished, { relays: [again.endpoint()] }, bId)
    const got = collect(b)
    await until(() => got.length === 20)
    const a = await startClient(net.transport(), onTestFinished, { register: false })
    await a.send(bId.nodeId, again.endpoint(), text('after'))
    await until(() => got.length === 21)
    expect(got.map(f => str(f.frame))).toEqual([...Array.from({ length: 20 }, (_, i) => `m${i}`), 'after'])
    await until(() => again.stats().queuedMessages === 0)
  })

  test('a client kept running across the restart still receives (queue positions continue)', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const dir = await tempDir(onTestFinished)
    const relayId = generateIdentity()
    const server = await persistentServer(net, onTestFinished, dir, relayId)
    const listen = server.address()
    const bId = generateIdentity()
    const b = await startClient(net.transport(), onTestFinished, { relays: [server.endpoint()] }, bId)
    await registered(b)
    const got = collect(b)
    const a = await startClient(net.transport(), onTestFinished, { register: false })
    for (let i = 0; i < 5; i++) await a.send(bId.nodeId, server.endpoint(), text(`before${i}`))
    await until(() => server.stats().delivered === 5)
    await server.stop()
    const again = await persistentServer(net, onTestFinished, dir, relayId, { listen })
    await until(() => b.relays()[0]?.state === 'ready')
    const a2 = await startClient(net.transport(), onTestFinished, { register: false })
    await a2.send(bId.nodeId, again.endpoint(), text('after'))
    await until(() => got.length === 6)
    expect(str(got[5]!.frame)).toBe('after')
  })

  test('a message is in the log when its send resolves', async ({ onTestFinished }) => {
    const { dir } = await queueForAway(onTestFinished, 1)
    const log = await readFile(join(dir, 'relay.log'))
    expect(log.includes(Buffer.from('m0'))).toBe(true)
  })

  test('a torn final record is cut off and reported; everything before it survives', async ({ onTestFinished }) => {
    const { net, dir, relayId, server, listen } = await queueForAway(onTestFinished, 3)
    await server.stop()
    const path = join(dir, 'relay.log')
    const good = (await stat(path)).size
    const torn = new Uint8Array(12 + 5)
    new DataView(torn.buffer).setUint32(0, 100) // claims 100 body bytes, 5 written
    const { crc32 } = await import('node:zlib')
    new DataView(torn.buffer).setUint32(4, crc32(torn.subarray(0, 4)))
    await appendFile(path, torn)
    const again = relayServer({ dataDir: dir, listen })({ transport: net.transport(), identity: relayId })
    const repaired: number[] = []
    again.addEventListener('store:repaired', ({ detail }) => { repaired.push(detail.truncatedBytes) })
    await again.start()
    onTestFinished(() => again.stop())
    expect(repaired).toEqual([17])
    expect(again.stats()).toMatchObject({ queuedMessages: 3, storeRepairs: 1 })
    expect((await stat(path)).size).toBe(good)
  })

  test('zeros after the last record (space allocated, never written) count as a torn tail', async ({ onTestFinished }) => {
    const { net, dir, relayId, server, listen } = await queueForAway(onTestFinished, 2)
    await server.stop()
    await appendFile(join(dir, 'relay.log'), new Uint8Array(4096))
    const again = await persistentServer(net, onTestFinished, dir, relayId, { listen })
    expect(again.stats()).toMatchObject({ queuedMessages: 2, storeRepairs: 1 })
  })

  test.for([
    ['a flipped bit in an early record body', (log: Uint8Array) => { const at = recordOffsets(log)[1]!; log[at + 14]! ^= 0x01 }],
    ['a damaged record header', (log: Uint8Array) => { const at = recordOffsets(log)[1]!; log[at + 1]! ^= 0x40 }],
    ['a wrong magic', (log: Uint8Array) => { log[0] = 0x58 }]
  ] as Array<[string, (log: Uint8Array) => void]>)('%s, with repairCorruptStore false: start fails with ERR_RELAY_STORE and the log is left untouched', async ([_name, damage], { onTestFinished }) => {
    const { net, dir, relayId, server, listen } = await queueForAway(onTestFinished, 3)
    await server.stop()
    const path = join(dir, 'relay.log')
    const log = new Uint8Array(await readFile(path))
    damage(log)
    await writeFile(path, log)
    const again = relayServer({ dataDir: dir, listen, repairCorruptStore: false })({ transport: net.transport(), identity: relayId })
    await expect(again.start()).rejects.toMatchObject({ code: 'ERR_RELAY_STORE' })
    expect(new Uint8Array(await readFile(path))).toEqual(log)
    // Nothing listens: a relay with a corrupt store does not pretend to be empty.
    const b = await startClient(net.transport(), onTestFinished, { register: false })
    await expect(b.send(generateIdentity().nodeId, { ...listen, kind: 'relay', relay: relayId.nodeId }, text('x'))).rejects.toMatchObject({ code: 'ERR_UNREACHABLE' })
  })

  test('a wrong magic is refused even with repair on (it is not a relay log)', async ({ onTestFinished }) => {
    const { net, dir, relayId, server, listen } = await queueForAway(onTestFinished, 1)
    await server.stop()
    const path = join(dir, 'relay.log')
    const log = new Uint8Array(await readFile(path))
    log[0] = 0x58
    await writeFile(path, log)
    const again = relayServer({ dataDir: dir, listen })({ transport: net.transport(), identity: relayId })
    await expect(again.start()).rejects.toMatchObject({ code: 'ERR_RELAY_STORE' })
    expect(new Uint8Array(await readFile(path))).toEqual(log)
  })

  test.for([
    ['a flipped bit in the middle message\'s body', (log: Uint8Array, at: number) => { log[at + 20]! ^= 0x01 }],
    ['a damaged header of the middle message', (log: Uint8Array, at: number) => { log[at + 1]! ^= 0x40 }],
    ['the middle message overwritten with garbage', (log: Uint8Array, at: number) => { for (let i = 0; i < 30; i++) log[at + i] = (i * 37 + 11) & 0xff }]
  ] as Array<[string, (log: Uint8Array, at: number) => void]>)('%s: the intact records are recovered, the loss reported, the epoch changed, the damaged file kept', async ([_name, damage], { onTestFinished }) => {
    const { net, dir, relayId, bId, server, listen } = await queueForAway(onTestFinished, 3)
    const epochBefore = await welcomeEpoch(net, server, bId, onTestFinished)
    await server.stop()
    const path = join(dir, 'relay.log')
    const log = new Uint8Array(await readFile(path))
    const size = (at: number): number => 12 + new DataView(log.buffer).getUint32(at)
    const middle = recordOffsets(log).find(at => Buffer.from(log.subarray(at, at + size(at))).includes('m1'))!
    const middleBytes = size(middle)
    damage(log, middle)
    await writeFile(path, log)
    const again = relayServer({ dataDir: dir, listen, sweepIntervalMs: 10 })({ transport: net.transport(), identity: relayId })
    const repaired: Array<{ truncatedBytes: number, damage?: { droppedBytes: number, regions: number, keptAs: string } }> = []
    again.addEventListener('store:repaired', ({ detail }) => { repaired.push(detail) })
    await again.start()
    onTestFinished(() => again.stop())
    expect(repaired).toHaveLength(1)
    expect(repaired[0]!.damage).toMatchObject({ droppedBytes: middleBytes, regions: 1 })
    expect(new Uint8Array(await readFile(repaired[0]!.damage!.keptAs))).toEqual(log)
    expect(again.stats()).toMatchObject({ queuedMessages: 2, storeRepairs: 1 })
    // The client sees a new epoch and gets both intact messages, in order.
    const b = await startClient(net.transport(), onTestFinished, { relays: [again.endpoint()] }, bId)
    const got = collect(b)
    await registered(b)
    await until(() => got.length === 2)
    expect(got.map(f => str(f.frame))).toEqual(['m0', 'm2'])
    await b.stop()
    expect(await welcomeEpoch(net, again, bId, onTestFinished)).not.toEqual(epochBefore)
    // The repaired log replays cleanly.
    await again.stop()
    const third = await persistentServer(net, onTestFinished, dir, relayId, { listen })
    expect(third.stats()).toMatchObject({ storeRepairs: 0 })
  })

  test('compaction rewrites the log from the live queue and keeps queue positions', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const dir = await tempDir(onTestFinished)
    const relayId = generateIdentity()
    const server = await persistentServer(net, onTestFinished, dir, relayId, { compactMinBytes: 1, compactIntervalMs: 1 })
    const listen = server.address()
    const bId = generateIdentity()
    const b = await startClient(net.transport(), onTestFinished, { relays: [server.endpoint()] }, bId)
    await registered(b)
    const got = collect(b)
    const a = await startClient(net.transport(), onTestFinished, { register: false })
    for (let i = 0; i < 200; i++) await a.send(bId.nodeId, server.endpoint(), text(`x${i}`.padEnd(500, '.')))
    await until(() => server.stats().delivered === 200)
    await until(() => server.stats().compactions >= 1 && server.stats().storeBytes < 10_000)
    await b.stop()
    await until(() => server.stats().connectedClients === 1)
    await a.send(bId.nodeId, server.endpoint(), text('queued'))
    await server.stop()
    const again = await persistentServer(net, onTestFinished, dir, relayId, { listen })
    expect(again.stats().queuedMessages).toBe(1)
    const back = await startClient(net.transport(), onTestFinished, { relays: [again.endpoint()] }, bId)
    const later = collect(back)
    await until(() => later.length === 1)
    expect(str(later[0]!.frame)).toBe('queued')
    expect(got).toHaveLength(200)
  })

  test('a forgotten mailbox made again never reuses positions (PROTOCOL §4.3), across restarts and a compaction', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const dir = await tempDir(onTestFinished)
    const relayId = generateIdentity()
    const compacting = { compactMinBytes: 1, compactIntervalMs: 1 }
    let server = await persistentServer(net, onTestFinished, dir, relayId, compacting)
    const listen = server.address()
    const bId = generateIdentity()
    const b = await startClient(net.transport(), onTestFinished, { relays: [server.endpoint()] }, bId)
    await registered(b)
    const atB = collect(b)
    // A only sends (its mailbox is forgotten as soon as it is away and empty); its client keeps running, and
    // with it the positions it has received from this relay (the epoch does not change).
    const a = await startClient(net.transport('127.0.0.2'), onTestFinished, { register: false, trackDelivery: false })
    const atA = collect(a)
    const replies = async (from: number, to: number): Promise<void> => {
      for (let k = 0; ; k++) {
        try { await a.send(bId.nodeId, server.endpoint(), text(`q${from}`)); break } catch (err) { if (k > 100) throw err }
        await new Promise(resolve => setTimeout(resolve, 20))
      }
      await until(() => atB.some(f => str(f.frame) === `q${from}`))
      const path = atB.find(f => str(f.frame) === `q${from}`)!.path
      for (let i = from; i < to; i++) await path.reply(text(`r${i}`))
      await until(() => atA.length === to, 3000, `replies up to r${to - 1}`)
    }
    await replies(0, 5)
    await until(() => server.stats().queuedMessages === 0)
    // Restart 1: A's mailbox (empty, A away) is forgotten at start; A comes back to a new one.
    await server.stop()
    server = await persistentServer(net, onTestFinished, dir, relayId, { listen, ...compacting })
    await replies(5, 8)
    // While the relay runs: A's connection is cut, its mailbox forgotten, and a compaction drops its records;
    // after restart 2 only the log's header can say where new mailboxes start.
    cut(net, c => c.direction === 'inbound' && c.remoteAddress.startsWith('127.0.0.2:'))
    await until(() => server.stats().clients === 1, 3000, 'A\'s mailbox forgotten')
    const compactions = server.stats().compactions
    // Dead records (messages for B, delivered) make the log worth compacting again.
    const c = await startClient(net.transport(), onTestFinished, { register: false, trackDelivery: false })
    for (let i = 0; i < 20; i++) await c.send(bId.nodeId, server.endpoint(), text('filler'.padEnd(500, '.')))
    await until(() => server.stats().compactions > compactions, 3000, 'a compaction')
    await server.stop()
    server = await persistentServer(net, onTestFinished, dir, relayId, { listen, ...compacting })
    await replies(8, 11)
    expect(atA.map(f => str(f.frame))).toEqual(Array.from({ length: 11 }, (_, i) => `r${i}`))
  })
})
