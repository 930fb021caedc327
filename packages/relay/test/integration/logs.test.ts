// Logs grepped for key material: a relay server, a listening node and a relay-only node exchange queries over
// real TCP on 127.0.0.1 while garbage, a bad hello and a registration flood hit them, with every namespace at
// trace level. No line may contain a seed, an X25519 secret or any long run that could encode 32 secret bytes.
import { connect } from 'node:net'
import { once } from 'node:events'
import { identityFromSeed } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import { createComponentLogger } from '@egtp/interface'
import type { TcpEndpoint } from '@egtp/interface'
import { createNode, memoryDirectory } from '@egtp/node'
import { tcp } from '@egtp/tcp'
import { describe, expect, test } from 'vitest'
import { relayClient, relayServer } from '../../src/index.ts'
import { RawRelayConn } from '../helpers/raw.ts'
import { until } from '../helpers/setup.ts'

const encodings = (secret: Uint8Array): string[] => {
  const b = Buffer.from(secret)
  return [b.toString('hex'), b.toString('base64').replace(/=+$/, ''), b.toString('base64url'), b.subarray(0, 12).toString('hex')]
}

describe('logs', () => {
  test('a busy and attacked relay and nodes never log key material', async ({ onTestFinished }) => {
    const lines: string[] = []
    const logger = createComponentLogger('egtp:*', line => { lines.push(`${line.level} ${line.namespace} ${line.message}`) })
    const ids: NodeIdentity[] = [1, 2, 3].map(n => identityFromSeed(new Uint8Array(32).fill(0x40 + n)))
    const [relayId, aId, bId] = ids as [NodeIdentity, NodeIdentity, NodeIdentity]
    const server = relayServer({ sweepIntervalMs: 20, authTimeoutMs: 1000, maxClientsPerSource: 3, workLoadPercent: 0, workBits: 8 })({ transport: tcp()({ logger }), identity: relayId, logger })
    await server.start()
    onTestFinished(() => server.stop())
    const dir = memoryDirectory()
    const bTransport = tcp()({ logger })
    const b = await createNode({
      identity: bId, logger, lookup: dir, announcer: dir,
      commstrats: [bTransport, relayClient({ relays: [server.endpoint()] })({ transport: bTransport, identity: bId, logger })]
    })
    onTestFinished(() => b.stop())
    b.handle('echo', p => p)
    await b.start()
    await until(() => b.contactRecord()?.endpoints.some(e => e.kind === 'relay') === true)
    const aTcp = tcp({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }], authTimeoutMs: 1000 })({ logger })
    const a = await createNode({ identity: aId, logger, lookup: dir, announcer: dir, commstrats: [aTcp, relayClient({ register: false })({ transport: aTcp, identity: aId, logger })] })
    onTestFinished(() => a.stop())
    a.handle('echo', p => p)
    await a.start()
    for (let i = 0; i < 5; i++) expect(await a.query(bId.nodeId, 'echo', `q${i}`)).toBe(`q${i}`)
    expect(await b.query(aId.nodeId, 'echo', 'back')).toBe('back')
    // Attacks: garbage at node A's listener, a bad hello and garbage at the relay, a registration flood.
    const endpoint = aTcp.localEndpoints()[0] as TcpEndpoint
    for (const junk of [Buffer.of(0, 0, 0, 3, 1, 2, 3), Buffer.of(0x7f, 0xff, 0xff, 0xff), Buffer.of(1)]) {
      const s = connect({ host: endpoint.host, port: endpoint.port })
      s.on('error', () => {})
      onTestFinished(() => { s.destroy() })
      await once(s, 'connect')
      s.write(junk)
    }
    const bad = await RawRelayConn.open(tcp()(), server.endpoint())
    onTestFinished(() => bad.close())
    const rc = await bad.next('rc')
    bad.send({ t: 'rh', k: aId.publicKey, g: new Uint8Array(64), r: 'client' })
    await bad.closed
    expect(rc.w).toBe(8)
    for (let i = 0; i < 6; i++) {
      const raw = await RawRelayConn.open(tcp()(), server.endpoint())
      onTestFinished(() => raw.close())
      await raw.authenticate(identityFromSeed(new Uint8Array(32).fill(0x80 + i)), 'client', {}, i % 2 === 0 ? 'solve' : 'omit').catch(() => {})
    }
    await until(() => aTcp.stats().authTimeouts + aTcp.stats().framingViolations + aTcp.stats().rejectedGarbage >= 3, 5000, 'the garbage to be handled')
    await until(() => server.stats().authFailures >= 1 && server.stats().workFailures >= 1)
    expect(await a.query(bId.nodeId, 'echo', 'still')).toBe('still')
    await a.stop()
    await b.stop()
    await server.stop()

    expect(lines.length).toBeGreaterThan(20)
    expect(lines.some(l => l.startsWith('warn '))).toBe(true)
    const all = lines.join('\n')
    for (const id of ids) {
      for (const secret of [id.exportSeed(), id.x25519SecretKey()]) {
        for (const text of encodings(secret)) expect(all).not.toContain(text)
      }
    }
    // Nothing that could be 32 raw bytes: no 64-hex-digit run, no 43-character base64 run.
    expect(all).not.toMatch(/[0-9a-f]{64}/i)
    expect(all).not.toMatch(/[A-Za-z0-9+/_-]{43}/)
  }, 30_000)
})
