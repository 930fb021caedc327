import { isEgtpError } from '@egtp/interface'
import type { InboundFrame } from '@egtp/interface'
import { describe, expect, test } from 'vitest'
import { DEFAULT_MEMORY_MAX_CONNECTIONS, memoryNetwork } from '../src/index.ts'
import type { MemoryCommstrat, MemoryNetwork, MemoryNetworkInit } from '../src/index.ts'

const framesOf = (strat: MemoryCommstrat): InboundFrame[] => {
  const got: InboundFrame[] = []
  strat.addEventListener('frame', ({ detail }) => { got.push(detail) })
  return got
}

async function pair (init: MemoryNetworkInit = {}): Promise<{ net: MemoryNetwork, a: MemoryCommstrat, b: MemoryCommstrat }> {
  const net = memoryNetwork(init)
  const a = net.commstrat()
  const b = net.commstrat()
  await Promise.all([a.start(), b.start()])
  return { net, a, b }
}

/** The ordinal numbers (0-based) of the frames that arrived out of `n` sent with `init`. */
async function survivors (init: MemoryNetworkInit, n: number): Promise<number[]> {
  const { net, a, b } = await pair(init)
  const atB = framesOf(b)
  for (let i = 0; i < n; i++) await a.send('b', b.endpoint, Uint8Array.of(i))
  await expect.poll(() => net.stats().delivered + net.stats().lost).toBe(n)
  await Promise.all([a.stop(), b.stop()])
  return atB.map(f => f.frame[0]!)
}

describe('memory network: link conditions', () => {
  test('latency delays every frame by at least latencyMs', async () => {
    const { a, b } = await pair({ latencyMs: 40 })
    const arrived = new Promise<number>(resolve => { b.addEventListener('frame', () => { resolve(performance.now()) }, { once: true }) })
    const sentAt = performance.now()
    await a.send('b', b.endpoint, Uint8Array.of(1))
    expect(await arrived - sentAt).toBeGreaterThanOrEqual(39)
  })

  test('loss drops a seeded share of frames: the same seed loses the same frames, another seed others', async () => {
    const first = await survivors({ loss: 0.3, seed: 7 }, 200)
    const again = await survivors({ loss: 0.3, seed: 7 }, 200)
    const other = await survivors({ loss: 0.3, seed: 8 }, 200)
    expect(again).toEqual(first)
    expect(other).not.toEqual(first)
    expect(first.length).toBeGreaterThan(100) // about 140 of 200 survive
    expect(first.length).toBeLessThan(180)
    expect(first).toEqual([...first].sort((x, y) => x - y)) // still in order
  })

  test('jitter keeps order unless reorder is set; with reorder frames overtake each other', async () => {
    const ordered = await survivors({ jitterMs: 20, seed: 3 }, 50)
    expect(ordered).toEqual(Array.from({ length: 50 }, (_, i) => i))
    const shuffled = await survivors({ jitterMs: 20, seed: 3, reorder: true }, 50)
    expect([...shuffled].sort((x, y) => x - y)).toEqual(ordered)
    expect(shuffled).not.toEqual(ordered)
  })

  test('per-link conditions override the global ones, one way or both', async () => {
    const net = memoryNetwork()
    const [a, b, c] = [net.commstrat(), net.commstrat(), net.commstrat()]
    await Promise.all([a.start(), b.start(), c.start()])
    const atB = framesOf(b)
    const atC = framesOf(c)
    const atA = framesOf(a)
    net.setLink(a, b, { loss: 1 }, { oneWay: true })
    b.addEventListener('frame', ({ detail }) => { void detail.path.reply(detail.frame) })
    for (let i = 0; i < 5; i++) {
      await a.send('b', b.endpoint, Uint8Array.of(i))
      await a.send('c', c.endpoint, Uint8Array.of(i))
      await b.send('a', a.endpoint, Uint8Array.of(i)) // b → a is not lossy
    }
    await expect.poll(() => atC.length).toBe(5)
    await expect.poll(() => atA.length).toBe(5)
    expect(atB).toHaveLength(0)
    expect(net.stats().lost).toBe(5)
    net.clearLink(a, b)
    await a.send('b', b.endpoint, Uint8Array.of(9))
    await expect.poll(() => atB.length).toBe(1)
  })

  test('bad conditions are refused with RangeError', () => {
    expect(() => memoryNetwork({ loss: 1.5 })).toThrow(RangeError)
    expect(() => memoryNetwork({ latencyMs: -1 })).toThrow(RangeError)
    expect(() => memoryNetwork({ latencyMs: 1e9 })).toThrow(RangeError)
    expect(() => memoryNetwork({ maxQueuedBytesPerConn: 0 })).toThrow(RangeError)
    expect(() => { memoryNetwork().setConditions({ jitterMs: Number.NaN }) }).toThrow(RangeError)
  })
})

describe('memory network: partitions', () => {
  test('a partition drops frames both ways, in flight too, and refuses new connections; heal restores', async () => {
    const net = memoryNetwork({ latencyMs: 30 })
    const [a, b, c] = [net.commstrat(), net.commstrat(), net.commstrat()]
    await Promise.all([a.start(), b.start(), c.start()])
    const atB = framesOf(b)
    const atC = framesOf(c)
    await a.send('b', b.endpoint, Uint8Array.of(1)) // in flight when the cut comes
    net.partition([a]) // a against everyone else
    await a.send('b', b.endpoint, Uint8Array.of(2))
    const err = await a.send('c', c.endpoint, Uint8Array.of(3)).catch((e: unknown) => e)
    expect(isEgtpError(err, 'ERR_UNREACHABLE')).toBe(true)
    await b.send('c', c.endpoint, Uint8Array.of(4)) // b and c are on the same side
    await expect.poll(() => atC.length).toBe(1)
    await expect.poll(() => net.stats().cut).toBe(2)
    expect(atB).toHaveLength(0)
    net.heal()
    await a.send('b', b.endpoint, Uint8Array.of(5))
    await a.send('c', c.endpoint, Uint8Array.of(6))
    await expect.poll(() => atB.length + atC.length).toBe(3)
    expect(atB.map(f => f.frame[0])).toEqual([5])
  })

  test('partition between two groups leaves others alone', async () => {
    const net = memoryNetwork()
    const [a, b, c] = [net.commstrat(), net.commstrat(), net.commstrat()]
    await Promise.all([a.start(), b.start(), c.start()])
    net.partition([a], [b])
    expect(net.reachable(a.port, b.port)).toBe(false)
    expect(net.reachable(b.port, a.port)).toBe(false)
    expect(net.reachable(a.port, c.port)).toBe(true)
    expect(net.reachable(c.port, b.port)).toBe(true)
  })
})

describe('memory connections: close semantics like tcp', () => {
  test('graceful stop: frames already queued still arrive, then the other end closes (local: false)', async () => {
    const { a, b } = await pair({ latencyMs: 20 })
    const atB = framesOf(b)
    for (let i = 0; i < 5; i++) await a.send('b', b.endpoint, Uint8Array.of(i))
    await a.stop() // waits for the five frames to arrive
    expect(atB).toHaveLength(5)
    await expect.poll(() => atB[0]!.path.usable()).toBe(false)
    expect(b.stats().connections).toBe(0)
  })

  test('reject (abort) drops queued frames and the other end sees a reset', async () => {
    const { a, b } = await pair({ latencyMs: 20 })
    b.addEventListener('frame', ({ detail }) => { detail.path.reject?.(new Error('garbage')) }, { once: true })
    const atB = framesOf(b)
    await a.send('b', b.endpoint, Uint8Array.of(1))
    await expect.poll(() => atB.length).toBe(1)
    await expect.poll(() => a.stats().connections).toBe(0)
    expect(b.stats().connections).toBe(0)
    await a.send('b', b.endpoint, Uint8Array.of(2)) // dials again
    await expect.poll(() => atB.length).toBe(2)
  })

  test('a send past maxQueuedBytesPerConn waits for room and fails with ERR_BACKPRESSURE after sendTimeoutMs', async () => {
    const { net, a, b } = await pair({ maxQueuedBytesPerConn: 1000, sendTimeoutMs: 50 })
    net.setLink(a, b, { latencyMs: 200 })
    await a.send('b', b.endpoint, new Uint8Array(900))
    const err = await a.send('b', b.endpoint, new Uint8Array(200)).catch((e: unknown) => e)
    expect(isEgtpError(err, 'ERR_BACKPRESSURE')).toBe(true)
    const atB = framesOf(b)
    await expect.poll(() => atB.length).toBe(1)
    net.setLink(a, b, { latencyMs: 10 })
    await a.send('b', b.endpoint, new Uint8Array(900)) // queued behind the first 900 (in order)
    await a.send('b', b.endpoint, new Uint8Array(200)) // waits for room, then goes
    await expect.poll(() => atB.length, { timeout: 2000 }).toBe(3)
  })

  test('a send waiting for room rejects with the signal reason on abort', async () => {
    const { net, a, b } = await pair({ maxQueuedBytesPerConn: 1000 })
    net.setLink(a, b, { latencyMs: 500 })
    await a.send('b', b.endpoint, new Uint8Array(900))
    const controller = new AbortController()
    const waiting = a.send('b', b.endpoint, new Uint8Array(200), { signal: controller.signal })
    controller.abort()
    await expect(waiting).rejects.toBe(controller.signal.reason)
  })

  test('limits: oversized frames, maxConnections, not started', async () => {
    const net = memoryNetwork({ maxFrameBytes: 100, maxConnections: 1 })
    const [a, b, c] = [net.commstrat(), net.commstrat(), net.commstrat()]
    await expect(a.send('b', b.endpoint, Uint8Array.of(1))).rejects.toMatchObject({ code: 'ERR_NOT_STARTED' })
    await Promise.all([a.start(), b.start(), c.start()])
    await expect(a.send('b', b.endpoint, new Uint8Array(101))).rejects.toMatchObject({ code: 'ERR_FRAME_TOO_LARGE' })
    await a.send('b', b.endpoint, Uint8Array.of(1))
    await expect(a.send('c', c.endpoint, Uint8Array.of(1))).rejects.toMatchObject({ code: 'ERR_LIMIT' })
    await expect(a.send('b', { kind: 'tcp', host: '127.0.0.1', port: 1 }, Uint8Array.of(1))).rejects.toThrow(TypeError)
    expect(DEFAULT_MEMORY_MAX_CONNECTIONS).toBeGreaterThan(1)
  })

  test('start after stop listens on the same port again; stop closes connections of both ends', async () => {
    const { a, b } = await pair()
    const atB = framesOf(b)
    await a.send('b', b.endpoint, Uint8Array.of(1))
    await expect.poll(() => atB.length).toBe(1)
    await b.stop()
    await expect.poll(() => a.stats().connections).toBe(0)
    await expect(a.send('b', b.endpoint, Uint8Array.of(2))).rejects.toMatchObject({ code: 'ERR_UNREACHABLE' })
    await b.start()
    await a.send('b', b.endpoint, Uint8Array.of(3))
    await expect.poll(() => atB.map(f => f.frame[0])).toEqual([1, 3])
  })

  test('a sent buffer is copied: changing it after send changes nothing that arrives', async () => {
    const { a, b } = await pair({ latencyMs: 5 })
    const atB = framesOf(b)
    const buf = Uint8Array.of(1, 2, 3)
    await a.send('b', b.endpoint, buf)
    buf.fill(0)
    await expect.poll(() => atB.length).toBe(1)
    expect(atB[0]!.frame).toEqual(Uint8Array.of(1, 2, 3))
  })
})

describe('settled and startNetwork arguments', () => {
  test('settled resolves once every frame has arrived or been dropped, and honours its signal', async () => {
    const { net, a, b } = await pair({ latencyMs: 20, loss: 0.5, seed: 5 })
    const atB = framesOf(b)
    for (let i = 0; i < 20; i++) await a.send('b', b.endpoint, Uint8Array.of(i))
    expect(net.stats().inFlight).toBeGreaterThan(0)
    await expect(net.settled({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
    await net.settled()
    const s = net.stats()
    expect(s).toMatchObject({ inFlight: 0, sent: 20 })
    expect(atB.length).toBe(s.delivered)
    expect(s.delivered + s.lost).toBe(20)
  })

  test('settled waits for an echo sent from the event of the last frame to land', async () => {
    const { net, a, b } = await pair({ latencyMs: 2 })
    b.addEventListener('frame', ({ detail }) => { void detail.path.reply(detail.frame).catch(() => {}) })
    const atA = framesOf(a)
    await a.send('b', b.endpoint, Uint8Array.of(1))
    await net.settled()
    expect(atA).toHaveLength(1)
    expect(net.stats()).toMatchObject({ sent: 2, delivered: 2, inFlight: 0 })
    await Promise.all([a.stop(), b.stop()])
  })

  test('startNetwork refuses a bad node count or node factory', async () => {
    const { startNetwork } = await import('../src/index.ts')
    const directory = { lookup: async () => undefined, announce: async () => {} }
    await expect(startNetwork({ nodes: 0, node: async () => { throw new Error('not called') }, directory })).rejects.toThrow(RangeError)
    await expect(startNetwork({ nodes: 2, node: undefined as never, directory })).rejects.toThrow(TypeError)
  })
})
