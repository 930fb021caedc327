// Round-trip harness (issue 16): the client in this process, the server (bench/fixtures/rt-server.ts) in a forked
// child, 127.0.0.1. Three cases, each as raw node:net and as EGTP, interleaved round by round:
//   echo   64 B query, one in flight (raw: 64 B ping-pong on one connection)
//   fresh  a fresh peer's first reply: new client identity, dial, handshake, query, reply (raw: connect + ping-pong)
//   bulk   64 KiB one-way, acknowledged (raw: 64 KiB frames written as fast as the socket drains)
//   idle   server heap per idle peer: IDLE_N client nodes (this process) each send one query and stay connected
// Usage: node --import tsx --conditions=@egtp/source [--cpu-prof --cpu-prof-dir=DIR] bench/rt.bench.ts
//          [--only echo,fresh,bulk,idle] [--rounds 3] [--quick] [--window 128] [--server-dist]
// The child gets this process's node flags, so `--cpu-prof` profiles both; with --server-dist it runs the built
// dist under plain node instead (tsx's keepNames adds ~256 B to every named closure: heap figures of the sources
// are inflated). CPU figures are per operation, in µs (user + system, all threads of the process).
// Environment: ECHO_N, FRESH_N, IDLE_N (sample counts), EGTP_ONLY=1 (echo without its raw baseline), HIST=1.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { parseArgs } from 'node:util'
import { FrameDecoder, encodeFrame } from '@egtp/codec'
import { decodeContactRecord } from '@egtp/identity'
import type { ContactRecord } from '@egtp/interface'
import { tcp } from '@egtp/tcp'
import { createNode } from '../src/index.ts'
import type { EgtpNode } from '../src/index.ts'

const { values: args } = parseArgs({
  options: { only: { type: 'string' }, rounds: { type: 'string' }, quick: { type: 'boolean' }, window: { type: 'string' }, 'server-dist': { type: 'boolean' } }
})
const only = args.only?.split(',')
const ROUNDS = Number(args.rounds ?? 3)
const quick = args.quick === true
const ECHO_N = Number(process.env.ECHO_N ?? (quick ? 1000 : 4000))
const FRESH_N = Number(process.env.FRESH_N ?? (quick ? 40 : 150))
const BULK_MS = quick ? 400 : 1200
const BULK_WINDOW = Number(args.window ?? 128)

// ---- the server process ----
interface Counts { rawFrames: number, egtpMessages: number, cpu: NodeJS.CpuUsage, heap: number }
const child = fork(new URL('./fixtures/rt-server.mjs', import.meta.url), [], { execArgv: args['server-dist'] === true ? [] : process.execArgv, stdio: 'inherit' })
process.once('exit', () => { child.kill() })
const [ready] = await once(child, 'message') as [{ rawPort: number, record: string }]
const record: ContactRecord = decodeContactRecord(Buffer.from(ready.record, 'base64'))
async function counts (): Promise<Counts> {
  child.send({ op: 'count' })
  const [c] = await once(child, 'message') as [Counts]
  return c
}
const cpuUs = (u: NodeJS.CpuUsage): number => u.user + u.system

// ---- figures ----
const q = (xs: number[], p: number): number => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!
interface Sample { name: string, values: number[], unit: string, cpuClient: number, cpuServer: number, sysClient?: number, sysServer?: number, rate?: number, rateUnit?: string }
const results = new Map<string, Sample[]>()
function record1 (s: Sample): void {
  if (process.env.HIST === '1' && s.unit === 'µs') {
    const edges = [0, 100, 200, 500, 1000, 2000, 4000, 6000, 10000, Infinity]
    const counts = edges.slice(1).map((hi, i) => s.values.filter(v => v >= edges[i]! && v < hi).length)
    console.log(`${s.name} histogram (µs): ${counts.map((c, i) => `[${edges[i]},${edges[i + 1]}): ${c}`).join(' ')}`)
  }
  const list = results.get(s.name) ?? []
  list.push(s)
  results.set(s.name, list)
  const head = s.values.length > 0 ? `median ${q(s.values, 0.5).toFixed(1)} ${s.unit}, p90 ${q(s.values, 0.9).toFixed(1)}, p99 ${q(s.values, 0.99).toFixed(1)} ${s.unit}, mean ${(s.values.reduce((x, y) => x + y, 0) / s.values.length).toFixed(1)}` : ''
  const rate = s.rate !== undefined ? `${s.rate.toFixed(0)} ${s.rateUnit!}` : ''
  console.log(`${s.name.padEnd(28)} ${[rate, head].filter(Boolean).join(', ')}; cpu/op client ${s.cpuClient.toFixed(0)} µs${s.sysClient !== undefined ? ` (sys ${s.sysClient.toFixed(0)})` : ''}, server ${s.cpuServer.toFixed(0)} µs${s.sysServer !== undefined ? ` (sys ${s.sysServer.toFixed(0)})` : ''}`)
}

/** Run `fn` measuring both processes' CPU; `ops` is the number of operations it did. */
async function withCpu<T extends { ops: number }> (fn: () => Promise<T>): Promise<T & { cpuClient: number, cpuServer: number, sysClient: number, sysServer: number }> {
  const s0 = await counts()
  const c0 = process.cpuUsage()
  const r = await fn()
  const c1 = process.cpuUsage(c0)
  const s1 = await counts()
  return { ...r, cpuClient: cpuUs(c1) / r.ops, cpuServer: (cpuUs(s1.cpu) - cpuUs(s0.cpu)) / r.ops, sysClient: c1.system / r.ops, sysServer: (s1.cpu.system - s0.cpu.system) / r.ops }
}

async function rawSocket (): Promise<{ sock: Socket, next: () => Promise<void> }> {
  const sock = connect(ready.rawPort, '127.0.0.1')
  sock.setNoDelay(true)
  await once(sock, 'connect')
  const dec = new FrameDecoder()
  let waiting: (() => void) | undefined
  sock.on('data', chunk => { for (const _ of dec.push(chunk)) { const w = waiting; waiting = undefined; w?.() } })
  return { sock, next: () => new Promise<void>(resolve => { waiting = resolve }) }
}

async function client (): Promise<EgtpNode> {
  const a = await createNode({ commstrats: [tcp()()] })
  await a.start()
  a.addContact(record)
  return a
}

// ---- (a) echo, one in flight ----
const body64 = new Uint8Array(64).fill(7)
async function echoRaw (): Promise<void> {
  const { sock, next } = await rawSocket()
  const framed = encodeFrame(body64)
  for (let i = 0; i < 200; i++) { const p = next(); sock.write(framed); await p }
  const times: number[] = []
  const r = await withCpu(async () => {
    const t0 = performance.now()
    for (let i = 0; i < ECHO_N; i++) {
      const start = performance.now()
      const p = next()
      sock.write(framed)
      await p
      times.push((performance.now() - start) * 1000)
    }
    return { ops: ECHO_N, secs: (performance.now() - t0) / 1000 }
  })
  sock.destroy()
  record1({ name: 'echo raw', values: times, unit: 'µs', cpuClient: r.cpuClient, cpuServer: r.cpuServer, sysClient: r.sysClient, sysServer: r.sysServer, rate: ECHO_N / r.secs, rateUnit: 'rt/s' })
}
async function echoEgtp (): Promise<void> {
  const a = await client()
  for (let i = 0; i < 200; i++) await a.query(record.nodeId, 'echo', body64)
  const times: number[] = []
  const r = await withCpu(async () => {
    const t0 = performance.now()
    for (let i = 0; i < ECHO_N; i++) {
      const start = performance.now()
      await a.query(record.nodeId, 'echo', body64)
      times.push((performance.now() - start) * 1000)
    }
    return { ops: ECHO_N, secs: (performance.now() - t0) / 1000 }
  })
  await a.stop()
  record1({ name: 'echo egtp', values: times, unit: 'µs', cpuClient: r.cpuClient, cpuServer: r.cpuServer, sysClient: r.sysClient, sysServer: r.sysServer, rate: ECHO_N / r.secs, rateUnit: 'rt/s' })
}

// ---- (b) fresh peer, first reply ----
async function freshRaw (): Promise<void> {
  const framed = encodeFrame(body64)
  const times: number[] = []
  const r = await withCpu(async () => {
    for (let i = 0; i < FRESH_N; i++) {
      const start = performance.now()
      const sock = connect(ready.rawPort, '127.0.0.1')
      sock.setNoDelay(true)
      await once(sock, 'connect')
      sock.write(framed)
      await once(sock, 'data')
      times.push(performance.now() - start)
      sock.destroy()
    }
    return { ops: FRESH_N }
  })
  record1({ name: 'fresh raw', values: times, unit: 'ms', cpuClient: r.cpuClient, cpuServer: r.cpuServer })
}
async function freshEgtp (): Promise<void> {
  const times: number[] = []
  let cpuClient = 0
  let cpuServer = 0
  for (let i = 0; i < FRESH_N; i++) {
    const a = await client() // identity, start, addContact: not timed (as the raw case's port is known)
    const r = await withCpu(async () => {
      const start = performance.now()
      await a.query(record.nodeId, 'echo', body64)
      times.push(performance.now() - start)
      return { ops: 1 }
    })
    cpuClient += r.cpuClient
    cpuServer += r.cpuServer
    await a.stop()
  }
  record1({ name: 'fresh egtp', values: times, unit: 'ms', cpuClient: cpuClient / FRESH_N, cpuServer: cpuServer / FRESH_N })
}

// ---- (c) bulk 64 KiB one-way ----
const body64k = new Uint8Array(64 * 1024).fill(1) // first byte 1: the raw server counts, does not echo
async function bulkRaw (): Promise<void> {
  const sock = connect(ready.rawPort, '127.0.0.1')
  sock.setNoDelay(true)
  await once(sock, 'connect')
  const framed = encodeFrame(body64k)
  const r = await withCpu(async () => {
    const before = (await counts()).rawFrames
    const t0 = performance.now()
    let n = 0
    while (performance.now() - t0 < BULK_MS) {
      for (let i = 0; i < 16; i++, n++) if (!sock.write(framed)) await once(sock, 'drain')
    }
    while ((await counts()).rawFrames < before + n) await new Promise(resolve => setTimeout(resolve, 1))
    return { ops: n, secs: (performance.now() - t0) / 1000 }
  })
  sock.destroy()
  record1({ name: 'bulk raw', values: [], unit: '', cpuClient: r.cpuClient, cpuServer: r.cpuServer, sysClient: r.sysClient, sysServer: r.sysServer, rate: r.ops * body64k.byteLength / r.secs / 1e6, rateUnit: 'MB/s' })
}
async function bulkEgtp (): Promise<void> {
  const a = await client()
  await a.send(record.nodeId, 'm', body64k)
  const r = await withCpu(async () => {
    const t0 = performance.now()
    const end = t0 + BULK_MS
    let started = 0
    let inflight = 0
    await new Promise<void>((resolve, reject) => {
      const next = (): void => {
        while (inflight < BULK_WINDOW && performance.now() < end) {
          started++
          inflight++
          a.send(record.nodeId, 'm', body64k).then(() => { inflight--; next() }, reject)
        }
        if (inflight === 0) resolve()
      }
      next()
    })
    return { ops: started, secs: (performance.now() - t0) / 1000 }
  })
  await a.stop()
  record1({ name: `bulk egtp (window ${BULK_WINDOW})`, values: [], unit: '', cpuClient: r.cpuClient, cpuServer: r.cpuServer, sysClient: r.sysClient, sysServer: r.sysServer, rate: r.ops * body64k.byteLength / r.secs / 1e6, rateUnit: 'MB/s' })
}

// ---- (d) server heap per idle peer ----
const IDLE_N = Number(process.env.IDLE_N ?? (quick ? 100 : 300))
async function serverHeap (): Promise<number> {
  child.send({ op: 'heap' })
  const [m] = await once(child, 'message') as [{ heap: number }]
  return m.heap
}
async function idleEgtp (): Promise<void> {
  const before = await serverHeap()
  const clients: EgtpNode[] = []
  for (let i = 0; i < IDLE_N; i++) {
    const a = await client()
    await a.query(record.nodeId, 'noop', null)
    clients.push(a)
  }
  await new Promise(resolve => setTimeout(resolve, 50)) // acknowledgements (ack delay) settle
  const after = await serverHeap()
  console.log(`idle egtp                    server heap per idle peer ${((after - before) / IDLE_N / 1024).toFixed(2)} KiB (${IDLE_N} peers${args['server-dist'] === true ? ', dist' : ', sources under tsx'})`)
  record1({ name: 'idle egtp (KiB per peer)', values: [], unit: '', cpuClient: 0, cpuServer: 0, rate: (after - before) / IDLE_N / 1024, rateUnit: 'KiB' })
  await Promise.all(clients.map(async a => { await a.stop() }))
  await new Promise(resolve => setTimeout(resolve, 200))
}

const cases: Array<[string, Array<() => Promise<void>>]> = [
  ['echo', process.env.EGTP_ONLY === '1' ? [echoEgtp] : [echoRaw, echoEgtp]],
  ['fresh', [freshRaw, freshEgtp]],
  ['bulk', [bulkRaw, bulkEgtp]],
  ['idle', [idleEgtp]]
]
for (let round = 0; round < ROUNDS; round++) {
  console.log(`\n## round ${round + 1} of ${ROUNDS}`)
  for (const [name, fns] of cases) {
    if (only !== undefined && !only.includes(name)) continue
    for (const fn of fns) await fn()
  }
}
console.log('\n## medians over rounds')
for (const [name, list] of results) {
  const med = (xs: number[]): number => q(xs, 0.5)
  const parts: string[] = []
  if (list[0]!.rate !== undefined) parts.push(`${med(list.map(s => s.rate!)).toFixed(list[0]!.rateUnit === 'KiB' ? 2 : 0)} ${list[0]!.rateUnit!}`)
  if (list[0]!.values.length > 0) {
    parts.push(`median ${med(list.map(s => q(s.values, 0.5))).toFixed(2)} ${list[0]!.unit}`)
    parts.push(`p99 ${med(list.map(s => q(s.values, 0.99))).toFixed(2)} ${list[0]!.unit}`)
  }
  parts.push(`cpu/op ${med(list.map(s => s.cpuClient)).toFixed(0)} + ${med(list.map(s => s.cpuServer)).toFixed(0)} µs`)
  console.log(`${name.padEnd(28)} ${parts.join(', ')}`)
}
child.send({ op: 'stop' })
await once(child, 'exit')
