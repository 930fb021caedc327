// pnpm bench: node throughput and latency over real TCP on 127.0.0.1, each beside a baseline measured in the
// same run (raw length-prefixed frames over plain node:net). The one-way cases run twice: both ends in this
// process (one JS thread), and with the receiver in its own process (as real nodes are), for the baseline and
// the node alike, in three paired rounds (baseline, then node) whose median ratio is the verdict printed at the end.
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer, connect } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'
import { FrameDecoder, encodeFrame, encodeFrames } from '@egtp/codec'
import { decodeContactRecord } from '@egtp/identity'
import { heading, measureAsync, pump, report } from '@egtp/scripts/bench'
import { tcp } from '@egtp/tcp'
import { createNode, memoryDirectory } from '../src/index.ts'
import type { EgtpNode } from '../src/index.ts'

const LISTEN = [{ kind: 'tcp' as const, host: '127.0.0.1', port: 0 }]
const MIN_MS = 700

// ---- raw baseline: a counting frame sink ----
async function rawPair (): Promise<{ client: Socket, server: Server, received: () => number, close: () => Promise<void> }> {
  let count = 0
  const decoder = new FrameDecoder({ maxFrameBytes: 1 << 20 })
  const server = createServer(sock => { sock.on('data', chunk => { count += decoder.push(chunk).length }) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1')
  client.setNoDelay(true)
  await new Promise(resolve => client.once('connect', resolve))
  return {
    client,
    server,
    received: () => count,
    close: async () => {
      client.destroy()
      await new Promise(resolve => server.close(resolve))
    }
  }
}

/** Write `n` frames (one write each, or `perWrite` per write) and wait until all arrived. */
async function rawBurst (pair: Awaited<ReturnType<typeof rawPair>>, body: Uint8Array, n: number, perWrite: number): Promise<number> {
  const target = pair.received() + n
  const framed = encodeFrame(body)
  const batch = perWrite > 1 ? encodeFrames(new Array<Uint8Array>(perWrite).fill(body)) : framed
  for (let i = 0; i < n; i += perWrite) {
    if (!pair.client.write(batch)) await new Promise(resolve => pair.client.once('drain', resolve))
  }
  while (pair.received() < target) await new Promise(resolve => setImmediate(resolve))
  return n
}

// ---- nodes ----
async function nodes (): Promise<{ a: EgtpNode, b: EgtpNode, stop: () => Promise<void> }> {
  const dir = memoryDirectory()
  const a = await createNode({ commstrats: [tcp({ listen: LISTEN })()], lookup: dir, announcer: dir })
  const b = await createNode({ commstrats: [tcp({ listen: LISTEN })()], lookup: dir, announcer: dir })
  await a.start()
  await b.start()
  return { a, b, stop: async () => { await Promise.all([a.stop(), b.stop()]) } }
}

type Result = Awaited<ReturnType<typeof measureAsync>>

const verdicts: string[] = []

/**
 * Baseline and node measured back to back, `rounds` times: single figures on these 2 cores move by ±30% from
 * run to run, so the verdict is the median ratio of the pairs.
 */
async function paired (what: string, target: number, rounds: number, baseline: () => Promise<Result>, ours: () => Promise<Result>): Promise<void> {
  const ratios: number[] = []
  for (let round = 0; round < rounds; round++) {
    const base = await baseline()
    report(base)
    const r = await ours()
    report(r, base)
    ratios.push(r.opsPerSec / base.opsPerSec)
  }
  const sorted = [...ratios].sort((x, y) => x - y)
  const ratio = sorted[Math.floor(sorted.length / 2)]!
  verdicts.push(`${what} (median of ${rounds} paired rounds: ${sorted.map(x => x.toFixed(2)).join(', ')}): ${ratio.toFixed(2)}x (target ≥ ${target.toFixed(2)}x) ${ratio >= target ? 'ok' : 'MISSED'}`)
}

const ROUNDS = 3

async function oneWay (label: string, size: number, n: number, window: number, rawPerWrite: number, target: number): Promise<void> {
  heading(`${label}: one-way A→B, ${size} B messages`)
  const body = new Uint8Array(size).fill(7)
  const bytesPerOp = size
  if (rawPerWrite > 1) {
    // For reference only: what batching does for raw small frames (the node batches too).
    const pair = await rawPair()
    report(await measureAsync(`raw node:net, ${rawPerWrite} frames per write`, () => rawBurst(pair, body, n, rawPerWrite), { minMs: MIN_MS, bytesPerOp }))
    await pair.close()
  }
  const raw = async (): Promise<Result> => {
    const pair = await rawPair()
    const r = await measureAsync('raw node:net, one write per frame', () => rawBurst(pair, body, n, 1), { minMs: MIN_MS, bytesPerOp })
    await pair.close()
    return r
  }
  const egtp = async (): Promise<Result> => {
    const { a, b, stop } = await nodes()
    let got = 0
    b.handle('m', () => { got++ })
    const r = await measureAsync(`egtp node send (acked), window ${window}`, () => pump(n, window, () => a.send(b.nodeId, 'm', body)), { minMs: MIN_MS, bytesPerOp })
    await stop()
    if (got === 0) throw new Error('nothing delivered')
    return r
  }
  await paired(`${label}. one-way ${size === 64 ? '64 B' : '64 KiB'}, one process`, target, ROUNDS, raw, egtp)
}

// ---- the receiver in its own process (bench/fixtures/sink.ts) ----
async function sink (mode: 'raw' | 'egtp'): Promise<{ child: ChildProcess, ready: { port?: number, record?: string }, expect: (count: number) => Promise<void>, stop: () => Promise<void> }> {
  const child = fork(new URL('./fixtures/sink.ts', import.meta.url), [mode], { execArgv: ['--import', 'tsx', '--conditions=@egtp/source'], stdio: 'inherit' })
  const kill = (): void => { child.kill() }
  process.once('exit', kill) // a bench that throws leaves no receiver behind
  const [ready] = await once(child, 'message') as [{ port?: number, record?: string }]
  return {
    child,
    ready,
    expect: async (count) => {
      child.send({ op: 'expect', count })
      await once(child, 'message')
    },
    stop: async () => {
      child.send({ op: 'stop' })
      await once(child, 'exit')
      process.removeListener('exit', kill)
    }
  }
}

async function oneWayApart (label: string, size: number, n: number, window: number, target: number): Promise<void> {
  heading(`${label}: one-way A→B, ${size} B messages, the receiver in its own process`)
  const body = new Uint8Array(size).fill(7)
  const bytesPerOp = size
  const raw = async (): Promise<Result> => {
    const rawSink = await sink('raw')
    const socket = connect(rawSink.ready.port!, '127.0.0.1')
    socket.setNoDelay(true)
    await once(socket, 'connect')
    const framed = encodeFrame(body)
    let sent = 0
    const r = await measureAsync('raw node:net, one write per frame', async () => {
      for (let i = 0; i < n; i++) {
        if (!socket.write(framed)) await once(socket, 'drain')
      }
      sent += n
      await rawSink.expect(sent)
      return n
    }, { minMs: MIN_MS, bytesPerOp })
    socket.destroy()
    await rawSink.stop()
    return r
  }
  const egtp = async (): Promise<Result> => {
    const nodeSink = await sink('egtp')
    const a = await createNode({ commstrats: [tcp()()] })
    await a.start()
    const record = decodeContactRecord(Buffer.from(nodeSink.ready.record!, 'base64'))
    a.addContact(record)
    const r = await measureAsync(`egtp node send (acked), window ${window}`, () => pump(n, window, () => a.send(record.nodeId, 'm', body)), { minMs: MIN_MS, bytesPerOp })
    await a.stop()
    await nodeSink.stop()
    return r
  }
  await paired(`${label}. one-way ${size === 64 ? '64 B' : '64 KiB'}, receiver in its own process`, target, ROUNDS, raw, egtp)
}

async function queries (): Promise<void> {
  heading('query/response round trips, 64 B payload')
  const body = new Uint8Array(64).fill(7)
  const pair = await rawPair()
  // Baseline: a raw ping-pong over one connection (server echoes each frame).
  const echo = createServer(sock => {
    const dec = new FrameDecoder()
    sock.setNoDelay(true)
    sock.on('data', chunk => { for (const f of dec.push(chunk)) sock.write(encodeFrame(f)) })
  })
  await new Promise<void>(resolve => echo.listen(0, '127.0.0.1', resolve))
  const c = connect((echo.address() as AddressInfo).port, '127.0.0.1')
  c.setNoDelay(true)
  await new Promise(resolve => c.once('connect', resolve))
  const cdec = new FrameDecoder()
  let waiting: (() => void) | undefined
  c.on('data', chunk => { for (const _ of cdec.push(chunk)) waiting?.() })
  const raw = await measureAsync('raw node:net ping-pong, 1 in flight', async () => {
    for (let i = 0; i < 200; i++) {
      await new Promise<void>(resolve => { waiting = resolve; c.write(encodeFrame(body)) })
    }
    return 200
  }, { minMs: MIN_MS })
  report(raw)
  c.destroy()
  await new Promise(resolve => echo.close(resolve))
  await pair.close()
  const { a, b, stop } = await nodes()
  b.handle('echo', p => p)
  for (const window of [1, 64]) {
    const r = await measureAsync(`egtp query/reply, ${window} in flight`, () => pump(window * 100, window, () => a.query(b.nodeId, 'echo', body)), { minMs: MIN_MS })
    report(r, raw)
  }
  await stop()
}

async function firstQuery (): Promise<void> {
  heading('fresh peer: first query (dial + handshake + query + reply)')
  const dir = memoryDirectory()
  const b = await createNode({ commstrats: [tcp({ listen: LISTEN })()], lookup: dir, announcer: dir })
  b.handle('echo', p => p)
  await b.start()
  // Baseline: a fresh raw TCP connection + one 64 B ping-pong.
  const echo = createServer(sock => {
    const dec = new FrameDecoder()
    sock.on('data', chunk => { for (const f of dec.push(chunk)) sock.write(encodeFrame(f)) })
  })
  await new Promise<void>(resolve => echo.listen(0, '127.0.0.1', resolve))
  const port = (echo.address() as AddressInfo).port
  const rawTimes: number[] = []
  for (let i = 0; i < 200; i++) {
    const start = performance.now()
    const s = connect(port, '127.0.0.1')
    s.setNoDelay(true)
    await new Promise(resolve => s.once('connect', resolve))
    s.write(encodeFrame(new Uint8Array(64)))
    await new Promise(resolve => s.once('data', resolve))
    rawTimes.push(performance.now() - start)
    s.destroy()
  }
  await new Promise(resolve => echo.close(resolve))
  const times: number[] = []
  for (let i = 0; i < 200; i++) {
    const a = await createNode({ commstrats: [tcp()()], lookup: dir })
    await a.start()
    const start = performance.now()
    await a.query(b.nodeId, 'echo', new Uint8Array(64))
    times.push(performance.now() - start)
    await a.stop()
  }
  await b.stop()
  const q = (xs: number[], p: number): number => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!
  console.log(`raw connect + ping-pong                          median ${q(rawTimes, 0.5).toFixed(2)} ms, p99 ${q(rawTimes, 0.99).toFixed(2)} ms`)
  console.log(`egtp first query (fresh node, lookup, dial, IK)  median ${q(times, 0.5).toFixed(2)} ms, p99 ${q(times, 0.99).toFixed(2)} ms`)
}

// BENCH_ONLY=2b,3 runs only the named cases (for profiling one of them).
const only = process.env.BENCH_ONLY?.split(',')
const cases: Array<[string, () => Promise<void>]> = [
  ['1', () => oneWay('1', 64, 20_000, 4096, 256, 0.4)],
  ['2', () => oneWay('2', 64 * 1024, 2000, 128, 1, 0.6)],
  ['1b', () => oneWayApart('1b', 64, 20_000, 4096, 0.4)],
  ['2b', () => oneWayApart('2b', 64 * 1024, 2000, 128, 0.6)],
  ['3', queries],
  ['4', firstQuery]
]
for (const [name, run] of cases) {
  if (only === undefined || only.includes(name)) await run()
}
if (verdicts.length > 0) {
  heading('targets (issue 4: one-way throughput beside raw node:net frames)')
  for (const v of verdicts) console.log(v)
}
