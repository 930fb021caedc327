// Replays and forgeries against a listening node over real sockets. The peer is driven by hand: a
// SessionManager with its own identity writing frames on raw TCP sockets, so the test controls exactly which
// frame goes on which connection (a captured frame replayed on a second connection, a forged hint).
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { once } from 'node:events'
import { FrameDecoder, createMessageCodec, sessionMessages } from '@egtp/codec'
import { contactRecordToWire, createContactRecord, generateIdentity } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import type { TcpEndpoint } from '@egtp/interface'
import { SessionManager } from '@egtp/session'
import { tcp } from '@egtp/tcp'
import type { TcpCommstrat } from '@egtp/tcp'
import { describe, expect, test } from 'vitest'
import { createNode } from '../../src/index.ts'
import type { EgtpNode, NodeEvents } from '../../src/index.ts'
import { makeMessageId, newEpoch } from '../../src/ids.ts'
import { decodeBatch, encodeBatch, encodeMessage, encodePayloadMessage } from '@egtp/codec/node'
import { LISTEN, memoryDirectory, until } from './helpers.ts'

const sessionCodec = createMessageCodec(sessionMessages)

const framed = (body: Uint8Array): Uint8Array => {
  const out = new Uint8Array(4 + body.byteLength)
  new DataView(out.buffer).setUint32(0, body.byteLength)
  out.set(body, 4)
  return out
}

/** A raw connection to the node: writes whole frames, collects whole frames. */
class Wire {
  readonly socket: Socket
  readonly frames: Uint8Array[] = []
  readonly #decoder = new FrameDecoder({ maxFrameBytes: 1024 * 1024 })
  constructor (socket: Socket) {
    this.socket = socket
    socket.on('data', (chunk: Buffer) => { for (const f of this.#decoder.push(new Uint8Array(chunk))) this.frames.push(f.slice()) })
    socket.on('error', () => {})
  }

  static async open (endpoint: TcpEndpoint, cleanup: (fn: () => void) => void): Promise<Wire> {
    expect(endpoint.host).toBe('127.0.0.1')
    const socket = connect({ host: endpoint.host, port: endpoint.port })
    cleanup(() => { socket.destroy() })
    await once(socket, 'connect')
    return new Wire(socket)
  }

  send (frame: Uint8Array): void {
    this.socket.write(framed(frame))
  }
}

interface Arena { node: EgtpNode, strat: TcpCommstrat, endpoint: TcpEndpoint, hand: SessionManager, handId: NodeIdentity, tick: (ms: number) => void }

/** A node under test, and a hand-driven peer (a SessionManager on a fake clock). */
async function arena (cleanup: (fn: () => Promise<void> | void) => void, authTimeoutMs = 60_000, maxHandshakesPerSecond?: number): Promise<Arena> {
  const dir = memoryDirectory()
  const strat = tcp({ listen: LISTEN, authTimeoutMs })()
  const node = await createNode({
    commstrats: [strat], lookup: dir, announcer: dir, ...(maxHandshakesPerSecond !== undefined ? { sessions: { maxHandshakesPerSecond } } : {}),
    // The hand never acknowledges the node's replies: stop need not wait the default 2 s for them.
    limits: { stopTimeoutMs: 100 }
  })
  cleanup(async () => { await node.stop() })
  await node.start()
  const handId = generateIdentity()
  let mono = 1000
  const hand = new SessionManager({ identity: handId, clock: { now: () => Date.now(), monotonic: () => mono } })
  cleanup(() => { hand.close() })
  return { node, strat, endpoint: strat.localEndpoints()[0] as TcpEndpoint, hand, handId, tick: (ms) => { mono += ms } }
}

const nodeKey = (node: EgtpNode): { nodeId: string, publicKey: Uint8Array } => ({ nodeId: node.nodeId, publicKey: node.publicKey })

/** Open every frame the node sent on `wire` since `from` with the hand's session; the decoded batches. */
function opened (a: Arena, wire: Wire, from = 0): ReturnType<typeof decodeBatch>[] {
  const out: ReturnType<typeof decodeBatch>[] = []
  for (const f of wire.frames.slice(from)) {
    const res = a.hand.open(f)
    for (const r of res.replies) wire.send(r)
    if (res.plaintext !== undefined) out.push(decodeBatch(res.plaintext))
  }
  return out
}

const epoch = newEpoch(n => crypto.getRandomValues(new Uint8Array(n)))
let counter = 0
const query = (type: string, payload: unknown): Uint8Array =>
  encodeBatch(undefined, [encodePayloadMessage({ t: 'q', m: makeMessageId(epoch, ++counter), y: type, p: payload, d: 30_000 }, payload)])

describe('replays and forgeries over TCP', () => {
  test('a captured bare initiation replayed on another connection neither authenticates it nor diverts replies', async ({ onTestFinished }) => {
    const a = await arena(onTestFinished, 1000)
    let release!: () => void
    const held = new Promise<void>(resolve => { release = resolve })
    let invoked = 0
    a.node.handle('slow', async (p) => { invoked++; await held; return p })
    // The first initiation (with early data) goes unanswered; the retransmission the hand makes is bare.
    const first = a.hand.seal(nodeKey(a.node), query('slow', 'one')).frame
    a.tick(5_000)
    const bare = a.hand.tick().find(f => f.peer.nodeId === a.node.nodeId)?.frame
    expect(bare).toBeDefined()
    const honest = await Wire.open(a.endpoint, onTestFinished)
    honest.send(first)
    await until(() => honest.frames.length >= 1, 5000, 'the handshake response')
    opened(a, honest) // sends the confirmation
    await until(() => invoked === 1, 5000, 'the query to reach its handler')
    // Now the session is confirmed: a replay of the bare initiation on a second connection.
    const replayer = await Wire.open(a.endpoint, onTestFinished)
    const before = a.node.stats().framesReceived
    replayer.send(bare!)
    await until(() => a.node.stats().framesReceived > before, 5000, 'the replay to arrive')
    const seen = honest.frames.length
    release()
    await until(() => opened(a, honest, seen).some(b => b.messages.some(m => !(m instanceof Error) && m.t === 'a')), 5000, 'the reply on the honest connection')
    expect(replayer.frames).toHaveLength(0)
    // And the replayer's connection is closed at the auth deadline like any unauthenticated one.
    await until(() => replayer.socket.closed, 5000, 'the replayer to be closed')
    expect(a.strat.stats().authTimeouts).toBe(1)
    expect(honest.socket.closed).toBe(false)
  })

  test('piggybacked records: a forged or damaged one is dropped with its reason and never kept; the one held already is skipped', async ({ onTestFinished }) => {
    const a = await arena(onTestFinished)
    const records: Array<NodeEvents['peer:record']> = []
    a.node.addEventListener('peer:record', ({ detail }) => { records.push(detail) })
    let handled = 0
    a.node.handle('count', () => ++handled)
    const ci = (seq: number, damage?: (bytes: Uint8Array) => void): Uint8Array => {
      // With an endpoint: a record that names none, from a peer never heard of, is ignored unverified.
      const wire = contactRecordToWire(createContactRecord(a.handId, { seq, expiresAt: Date.now() + 3_600_000, endpoints: [{ kind: 'tcp', host: '127.0.0.1', port: 9 }] }))
      const bytes = encodeMessage({ t: 'ci', r: wire })
      damage?.(bytes)
      return bytes
    }
    const withRecord = (record: Uint8Array): Uint8Array => {
      const q = encodePayloadMessage({ t: 'q', m: makeMessageId(epoch, ++counter), y: 'count', p: null, d: 30_000 }, null)
      return encodeBatch(undefined, [record, q])
    }
    const wire = await Wire.open(a.endpoint, onTestFinished)
    wire.send(a.hand.seal(nodeKey(a.node), withRecord(ci(5))).frame)
    await until(() => wire.frames.length >= 1)
    opened(a, wire) // the hand confirms: the record waiting for that is verified and kept
    await until(() => records.length === 1 && handled === 1)
    expect(records[0]!.record.seq).toBe(5)
    const dropped = (reason: string): number => a.node.stats().dropped[reason as 'record'] ?? 0
    // A newer seq whose signature does not hold; then one damaged past its seq (decoding it fails).
    wire.send(a.hand.seal(nodeKey(a.node), withRecord(ci(6, b => { b[b.byteLength - 1]! ^= 1 }))).frame)
    await until(() => dropped('record') === 1 && handled === 2)
    wire.send(a.hand.seal(nodeKey(a.node), withRecord(ci(7, b => { b[b.byteLength - 70] = 0xc1 }))).frame)
    await until(() => dropped('decode') === 1 && handled === 3)
    // The record held already, sent again: skipped, no drop, no event.
    wire.send(a.hand.seal(nodeKey(a.node), withRecord(ci(5))).frame)
    await until(() => handled === 4)
    await new Promise(resolve => setImmediate(resolve))
    expect(records.map(r => r.record.seq)).toEqual([5])
    expect([dropped('record'), dropped('decode')]).toEqual([1, 1])
  })

  test('a transport frame replayed on another connection is dropped as a replay and delivered once', async ({ onTestFinished }) => {
    const a = await arena(onTestFinished, 1000)
    let handled = 0
    a.node.handle('count', () => ++handled)
    const honest = await Wire.open(a.endpoint, onTestFinished)
    honest.send(a.hand.seal(nodeKey(a.node), query('count', null)).frame)
    await until(() => honest.frames.length >= 1)
    opened(a, honest)
    await until(() => handled === 1)
    const transport = a.hand.seal(nodeKey(a.node), query('count', null)).frame
    honest.send(transport)
    await until(() => handled === 2)
    const replayer = await Wire.open(a.endpoint, onTestFinished)
    for (let i = 0; i < 5; i++) replayer.send(transport)
    await until(() => (a.node.stats().dropped.replay ?? 0) + (a.node.stats().dropped.duplicate ?? 0) >= 5, 5000, 'the replays to be dropped')
    expect(handled).toBe(2)
    await until(() => replayer.socket.closed, 5000, 'the replayer to be closed')
    expect(replayer.frames).toHaveLength(0)
  })

  test('to a handler that borrows its payload, a forged or replayed large frame is dropped; the genuine one is delivered once, intact', async ({ onTestFinished }) => {
    const a = await arena(onTestFinished, 1000)
    const got: boolean[] = []
    const big = new Uint8Array(60_000).map((_, i) => (i * 29) & 0xff)
    a.node.handle('big', (p) => { got.push(p instanceof Uint8Array && Buffer.from(p).equals(Buffer.from(big))) }, { borrowPayload: true })
    const honest = await Wire.open(a.endpoint, onTestFinished)
    honest.send(a.hand.seal(nodeKey(a.node), query('big', null)).frame) // the handshake: establishes the session
    await until(() => honest.frames.length >= 1)
    opened(a, honest)
    await until(() => got.length === 1)
    const transport = a.hand.seal(nodeKey(a.node), query('big', big)).frame
    const forged = transport.slice()
    forged[forged.byteLength - 100]! ^= 1
    honest.send(forged)
    await until(() => (a.node.stats().dropped.auth ?? 0) >= 1, 5000, 'the forgery to be dropped')
    honest.send(transport)
    await until(() => got.length === 2)
    honest.send(transport) // a replay on the same connection, after its memory may have served again
    await until(() => (a.node.stats().dropped.replay ?? 0) >= 1, 5000, 'the replay to be dropped')
    expect(got).toEqual([false, true])
  })

  test('a forged unknown-session hint naming a live session drops neither the session nor data', async ({ onTestFinished }) => {
    const a = await arena(onTestFinished)
    a.node.handle('echo', p => p)
    const honest = await Wire.open(a.endpoint, onTestFinished)
    honest.send(a.hand.seal(nodeKey(a.node), query('echo', 'x')).frame)
    await until(() => honest.frames.length >= 1)
    opened(a, honest)
    // A frame the node sealed for the hand, opened by a stranger who does not know the session: its hint.
    await until(() => honest.frames.length >= 2, 5000, 'the reply')
    const stranger = new SessionManager({ identity: generateIdentity() })
    onTestFinished(() => { stranger.close() })
    const forgedHint = stranger.open(honest.frames.at(-1)!).replies[0]!
    expect(forgedHint).toBeDefined()
    const handshakes = a.node.stats().handshakes
    const attacker = await Wire.open(a.endpoint, onTestFinished)
    attacker.send(forgedHint)
    honest.send(forgedHint) // on the session's own connection too
    await until(() => a.node.stats().framesReceived >= 4, 5000, 'the hints to arrive')
    const seen = honest.frames.length
    honest.send(a.hand.seal(nodeKey(a.node), query('echo', 'after')).frame)
    await until(() => opened(a, honest, seen).some(b => b.messages.some(m => !(m instanceof Error) && m.t === 'a' && m.p === 'after')), 5000, 'the echo after the hints')
    expect(a.node.stats().handshakes).toBe(handshakes)
    expect(a.node.stats().resets).toEqual({})
  })

  test('a handshake flood from throwaway identities is rate-limited and the node keeps answering a real peer', async ({ onTestFinished }) => {
    const a = await arena(onTestFinished, 60_000, 50)
    a.node.handle('echo', p => p)
    const flood = await Wire.open(a.endpoint, onTestFinished)
    const initiations: Uint8Array[] = []
    for (let i = 0; i < 300; i++) {
      const m = new SessionManager({ identity: generateIdentity() })
      initiations.push(m.seal(nodeKey(a.node), query('echo', i)).frame)
      m.close()
    }
    for (const f of initiations) flood.send(f)
    // Meanwhile a real peer (the hand) on its own connection.
    const honest = await Wire.open(a.endpoint, onTestFinished)
    await until(() => a.node.stats().framesReceived >= initiations.length, 10_000, 'the flood to arrive')
    let from = honest.frames.length
    let answered = false
    for (let attempt = 0; attempt < 40 && !answered; attempt++) { // the hand retries every 250 ms, like a node would
      honest.send(a.hand.seal(nodeKey(a.node), query('echo', 'real')).frame)
      const retryAt = performance.now() + 250
      while (!answered && performance.now() < retryAt) { // each frame that came is opened once
        await until(() => honest.frames.length > from || performance.now() >= retryAt, 1000, 'a frame or the retry time')
        const batches = opened(a, honest, from)
        from = honest.frames.length
        answered = batches.some(b => b.messages.some(m => !(m instanceof Error) && m.t === 'a' && m.p === 'real'))
      }
    }
    expect(answered).toBe(true)
    const s = a.node.stats()
    expect(s.dropped['rate-limited']).toBeGreaterThan(0)
    // Each accepted initiation cost one peer entry; refused ones cost nothing.
    expect(s.handshakes).toBeLessThan(initiations.length)
    expect(s.peers.known).toBeLessThanOrEqual(s.handshakes + 1)
  }, 30_000)

  test('under load a real node proves its address with the cookie reply and its query is answered while the flood goes on', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const strat = tcp({ listen: LISTEN })()
    // B is under load past 20 new initiations a second (lifted down by name): the flood below keeps it there.
    const b = await createNode({ commstrats: [strat], lookup: dir, announcer: dir, sessions: { handshakeLoadThresholdPerSecond: 20 } })
    onTestFinished(async () => { await b.stop() })
    await b.start()
    const a = await createNode({ commstrats: [tcp({ listen: LISTEN })()], lookup: dir, announcer: dir })
    onTestFinished(async () => { await a.stop() })
    await a.start()
    b.handle('echo', p => p)
    const initiations: Uint8Array[] = []
    for (let i = 0; i < 400; i++) {
      const m = new SessionManager({ identity: generateIdentity() })
      initiations.push(m.seal(nodeKey(b), query('echo', i)).frame)
      m.close()
    }
    const flood = await Wire.open(strat.localEndpoints()[0] as TcpEndpoint, onTestFinished)
    // 200 initiations a second from throwaway identities, none of which answers its cookie reply.
    const timer = setInterval(() => { for (const f of initiations.splice(0, 10)) flood.send(f) }, 50)
    onTestFinished(() => { clearInterval(timer) })
    await until(() => flood.frames.filter(f => sessionCodec.decode(f).t === 'hk').length > 0, 5_000, 'the first cookie reply')
    expect(await a.query(b.nodeId, 'echo', 'proven', { timeoutMs: 10_000 })).toBe('proven')
    // Answered while the flood (ten times the load threshold) was still going: B was under load throughout.
    expect(initiations.length).toBeGreaterThan(0)
    clearInterval(timer)
    // Past the threshold, the flood's initiations got cookie replies only (no DH work, no response).
    const types = flood.frames.map(f => sessionCodec.decode(f).t)
    expect(types.filter(t => t === 'hk').length).toBeGreaterThan(types.filter(t => t !== 'hk').length)
    expect(b.stats().dropped['rate-limited']).toBeGreaterThan(0)
  }, 30_000)
})
