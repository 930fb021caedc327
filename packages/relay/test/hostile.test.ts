// Adversarial gaps: payloads at and just above the relay's limit, and a relay that answers garbage (over real
// TCP on 127.0.0.1): the client fails with a code, backs off, and never crashes or hangs.
import { connect, createServer } from 'node:net'
import { once } from 'node:events'
import type { Server, Socket } from 'node:net'
import { MAX_RELAY_WORK_BITS } from '@egtp/codec'
import { generateIdentity } from '@egtp/identity'
import type { RelayEndpoint } from '@egtp/interface'
import { tcp } from '@egtp/tcp'
import { describe, expect, test } from 'vitest'
import { relayCodec, relayServer, renderPrometheus } from '../src/index.ts'
import { MemoryNetwork } from './helpers/memory-transport.ts'
import { RawRelayConn } from './helpers/raw.ts'
import { bytes, collect, registered, startClient, startServer, until } from './helpers/setup.ts'
import type { Cleanup } from './helpers/setup.ts'

const framed = (body: Uint8Array): Buffer => {
  const out = Buffer.alloc(4 + body.byteLength)
  out.writeUInt32BE(body.byteLength)
  out.set(body, 4)
  return out
}

/** A TCP server on 127.0.0.1 that answers every connection with `answer(socket)`. */
async function fakeRelay (cleanup: Cleanup, answer: (socket: Socket) => void): Promise<{ endpoint: RelayEndpoint, accepted: () => number }> {
  let accepted = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer(socket => {
    accepted++
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
    answer(socket)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  cleanup(async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>(resolve => server.close(() => { resolve() }))
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('not bound')
  return { endpoint: { kind: 'relay', relay: generateIdentity().nodeId, host: '127.0.0.1', port: address.port }, accepted: () => accepted }
}

describe('payload size at the relay\'s limit', () => {
  test('exactly maxMessageBytes is accepted and delivered; one byte more is refused with ERR_FRAME_TOO_LARGE', async ({ onTestFinished }) => {
    const net = new MemoryNetwork()
    const server = await startServer(net.transport(), onTestFinished, { maxMessageBytes: 4096 })
    const bId = generateIdentity()
    const b = await startClient(net.transport(), onTestFinished, { relays: [server.endpoint()] }, bId)
    await registered(b)
    const got = collect(b)
    const a = await startClient(net.transport(), onTestFinished, { register: false })
    await a.send(bId.nodeId, server.endpoint(), bytes(4096, 7))
    await until(() => got.length === 1)
    expect(got[0]!.frame.byteLength).toBe(4096)
    await expect(a.send(bId.nodeId, server.endpoint(), bytes(4097))).rejects.toMatchObject({ code: 'ERR_FRAME_TOO_LARGE' })
    // A raw sender that ignores the welcome's limit is refused by the relay itself, at 4097 and not at 4096.
    const raw = await RawRelayConn.open(net.transport(), server.endpoint())
    onTestFinished(() => raw.close())
    expect((await raw.authenticate(generateIdentity(), 'sender')).x).toBe(4096)
    raw.send({ t: 'rs', e: [{ m: 1, to: bId.nodeIdBytes, p: bytes(4097) }, { m: 2, to: bId.nodeIdBytes, p: bytes(4096) }] })
    expect((await raw.next('rx')).e).toEqual([{ m: 1, c: 'ERR_FRAME_TOO_LARGE' }])
    expect((await raw.next('ry')).m).toBe(2)
    await until(() => got.length === 2)
    expect(server.stats().refused.ERR_FRAME_TOO_LARGE).toBe(1)
  })
})

describe('a relay that answers garbage', () => {
  const cases: Array<[string, (socket: Socket) => void]> = [
    ['random bytes', s => { s.write(Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 73 + 5) & 0xff))) }],
    ['an oversized length prefix', s => { s.write(Buffer.of(0x7f, 0xff, 0xff, 0xff)) }],
    ['a well-framed non-relay message', s => { s.write(framed(Uint8Array.of(0x81, 0xa1, 0x74, 0xa2, 0x7a, 0x7a))) }],
    ['a challenge asking for more work than the codec allows', s => {
      const rc = relayCodec.encode({ t: 'rc', n: new Uint8Array(32), id: new Uint8Array(20), w: MAX_RELAY_WORK_BITS })
      const at = Buffer.from(rc).lastIndexOf(MAX_RELAY_WORK_BITS) // the w value is the last byte
      rc[at] = MAX_RELAY_WORK_BITS + 1
      s.write(framed(rc))
    }],
    ['a welcome before any challenge', s => { s.write(framed(relayCodec.encode({ t: 'rw', id: new Uint8Array(20), e: new Uint8Array(8), p: false, x: 10 }))) }],
    ['silence, then a close', s => { setTimeout(() => s.end(), 50) }]
  ]
  test.for(cases)('%s: the client reports the relay down and backs off; a send fails fast with a code', async ([_name, answer], { onTestFinished }) => {
    const relay = await fakeRelay(onTestFinished, answer)
    const client = await startClient(tcp()(), onTestFinished, { relays: [relay.endpoint], connectTimeoutMs: 1000, reconnectMinMs: 50, reconnectMaxMs: 200 })
    const downs: number[] = []
    client.addEventListener('relay:down', ({ detail }) => { downs.push(detail.failures) })
    await until(() => downs.length >= 2, 10_000, 'two failed attempts')
    expect(client.localEndpoints()).toEqual([])
    const err = await client.send(generateIdentity().nodeId, relay.endpoint, bytes(10)).then(() => undefined, (e: unknown) => e)
    expect(err).toMatchObject({ name: 'EgtpError' })
    expect(relay.accepted()).toBeGreaterThanOrEqual(2)
  })
})

describe('framing violations at the relay', () => {
  test('an oversized length prefix or an end inside a frame, over real TCP, counts as a malformed frame', async ({ onTestFinished }) => {
    const server = relayServer({ sweepIntervalMs: 20 })({ transport: tcp({ maxFrameBytes: 64 * 1024 })(), identity: generateIdentity() })
    await server.start()
    onTestFinished(() => server.stop())
    const { host, port } = server.address()
    expect(host).toBe('127.0.0.1')
    for (const junk of [Buffer.of(0x7f, 0xff, 0xff, 0xff), Buffer.of(0, 0, 1, 0, 1, 2)]) {
      const s = connect({ host, port })
      s.on('error', () => {})
      s.resume() // read (and drop) the challenge, so the close is seen
      onTestFinished(() => { s.destroy() })
      await once(s, 'connect')
      s.end(junk)
      if (!s.closed) await once(s, 'close')
    }
    await until(() => server.stats().malformedFrames === 2, 5000, 'both to be counted')
    expect(renderPrometheus(server.stats())).toMatch(/^egtp_relay_malformed_frames_total 2$/m)
  })
})

