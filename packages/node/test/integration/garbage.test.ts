import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { once } from 'node:events'
import type { TcpEndpoint } from '@egtp/interface'
import { tcp } from '@egtp/tcp'
import type { TcpCommstrat, TcpCommstratEvents } from '@egtp/tcp'
import { describe, expect, test } from 'vitest'
import { createNode } from '../../src/index.ts'
import type { EgtpNode, NodeEvents } from '../../src/index.ts'
import { LISTEN, memoryDirectory, startNode, until } from './helpers.ts'
import type { MemoryDirectory } from './helpers.ts'

const frame = (body: Uint8Array): Uint8Array => {
  const out = new Uint8Array(4 + body.byteLength)
  new DataView(out.buffer).setUint32(0, body.byteLength)
  out.set(body, 4)
  return out
}

/** A pseudo-random byte string (fixed seed, so the test is deterministic). */
const noise = (n: number, seed: number): Uint8Array => {
  const out = new Uint8Array(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

interface Target {
  node: EgtpNode
  strat: TcpCommstrat
  closes: Array<TcpCommstratEvents['connection:close']>
  dropped: Array<NodeEvents['message:dropped']>
  endpoint: TcpEndpoint
}

async function target (dir: MemoryDirectory, onTestFinished: (fn: () => Promise<void>) => void, authTimeoutMs?: number): Promise<Target> {
  const strat = tcp({ listen: LISTEN, maxFrameBytes: 64 * 1024, ...(authTimeoutMs !== undefined ? { authTimeoutMs } : {}) })()
  const node = await createNode({ commstrats: [strat], lookup: dir, announcer: dir })
  onTestFinished(async () => { await node.stop() })
  const closes: Target['closes'] = []
  const dropped: Target['dropped'] = []
  strat.addEventListener('connection:close', ({ detail }) => { closes.push(detail) })
  node.addEventListener('message:dropped', ({ detail }) => { dropped.push(detail) })
  node.handle('echo', (p) => p)
  await node.start()
  return { node, strat, closes, dropped, endpoint: strat.localEndpoints()[0] as TcpEndpoint }
}

async function rawSocket (endpoint: TcpEndpoint, onTestFinished: (fn: () => Promise<void>) => void): Promise<Socket> {
  expect(endpoint.host).toBe('127.0.0.1')
  const socket = connect({ host: endpoint.host, port: endpoint.port })
  socket.on('error', () => {}) // a reset by the node is an expected outcome
  onTestFinished(async () => { socket.destroy() })
  await once(socket, 'connect')
  return socket
}

const closed = async (socket: Socket): Promise<void> => {
  if (socket.closed) return
  await once(socket, 'close')
}

describe('garbage from a raw socket', () => {
  test('an oversized length prefix closes the connection; the node keeps serving and its transport reports ERR_FRAME_TOO_LARGE', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const t = await target(dir, onTestFinished)
    const peer = await startNode(dir, onTestFinished)
    expect(await peer.query(t.node.nodeId, 'echo', 'before')).toBe('before')
    const socket = await rawSocket(t.endpoint, onTestFinished)
    socket.write(Uint8Array.of(0x7f, 0xff, 0xff, 0xff)) // ~2 GiB announced: refused before any buffering
    await closed(socket)
    await until(() => t.closes.some(c => c.error?.message.startsWith('ERR_FRAME_TOO_LARGE') === true), 5000, 'the close to be reported')
    expect(await peer.query(t.node.nodeId, 'echo', 'after')).toBe('after')
  })

  test('non-EGTP bytes (an HTTP request) close the connection', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const t = await target(dir, onTestFinished)
    const socket = await rawSocket(t.endpoint, onTestFinished)
    socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n') // "GET " read as a length: 1.2 GB
    await closed(socket)
    await until(() => t.closes.some(c => c.error !== undefined), 5000, 'the close to be reported')
    const peer = await startNode(dir, onTestFinished)
    expect(await peer.query(t.node.nodeId, 'echo', 'still here')).toBe('still here')
  })

  test('well-framed garbage is dropped and counted and its connection closed (at once when undecodable, else at the auth deadline), real peers are unaffected', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const t = await target(dir, onTestFinished, 1000)
    const peer = await startNode(dir, onTestFinished)
    const bodies = [new Uint8Array(0), Uint8Array.of(0), Uint8Array.of(1, 2, 3), noise(32, 1), noise(148, 2), noise(1000, 3), noise(60_000, 4)]
    for (let i = 0; i < 40; i++) bodies.push(noise(1 + ((i * 97) % 400), 100 + i))
    const sockets: Socket[] = []
    for (let i = 0; i < bodies.length; i++) {
      // A first byte that looks like each possible frame kind, and every other byte random.
      const b = bodies[i]!
      if (b.byteLength > 0) b[0] = i % 8
      const socket = await rawSocket(t.endpoint, onTestFinished)
      socket.write(frame(b))
      sockets.push(socket)
    }
    await until(() => t.node.stats().framesReceived >= bodies.length, 5000, 'every garbage frame to arrive')
    await Promise.all(sockets.map(closed))
    const s = t.node.stats()
    const droppedCount = Object.values(s.dropped).reduce((x, y) => x + y, 0)
    expect(droppedCount).toBe(bodies.length)
    expect(t.dropped).toHaveLength(bodies.length)
    expect(t.dropped.every(d => ['decode', 'session', 'auth', 'replay'].includes(d.reason) && d.peerId === undefined)).toBe(true)
    expect(s.messagesReceived).toBe(0)
    // Every connection was closed by the node: undecodable ones as protocol violations, the rest at the deadline.
    const tcpStats = t.strat.stats()
    expect(s.protocolViolations).toBeGreaterThan(0)
    expect(tcpStats.rejectedGarbage).toBe(s.protocolViolations)
    expect(tcpStats.rejectedGarbage + tcpStats.authTimeouts).toBe(bodies.length)
    expect(await peer.query(t.node.nodeId, 'echo', 'between')).toBe('between')
    // Half a frame, then FIN: the connection is closed as broken.
    const socket = await rawSocket(t.endpoint, onTestFinished)
    socket.end(Uint8Array.of(0, 0, 1, 0, 9, 9, 9))
    await closed(socket)
    await until(() => t.strat.stats().framingViolations === 1, 5000, 'the close to be reported')
    expect(await peer.query(t.node.nodeId, 'echo', 'after')).toBe('after')
    expect(t.node.stats().peers.known).toBe(1)
  })

  test('many garbage connections at once while a real peer keeps querying', async ({ onTestFinished }) => {
    const dir = memoryDirectory()
    const t = await target(dir, onTestFinished)
    const peer = await startNode(dir, onTestFinished)
    const sockets = await Promise.all(Array.from({ length: 20 }, async () => await rawSocket(t.endpoint, onTestFinished)))
    const answers = Array.from({ length: 50 }, async (_, i) => await peer.query(t.node.nodeId, 'echo', i))
    sockets.forEach((s, i) => {
      s.write(frame(noise(200, i + 1)))
      s.write(i % 2 === 0 ? Uint8Array.of(0xff, 0, 0, 0) : noise(3000, 1000 + i))
    })
    await Promise.all(sockets.map(closed))
    expect(await Promise.all(answers)).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect(t.closes.filter(c => c.error !== undefined).length).toBeGreaterThanOrEqual(20)
  })
})
