// Fresh peers: CPU and latency of connect + handshake + first 64 B reply, over real 127.0.0.1 sockets. Usage:
//   node --import tsx --conditions=@egtp/source bench/fresh-prof.ts [peers] [warm-up peers] [apart|one] [DIR]
// DIR: a built checkout whose packages/*/dist are measured instead of this one's sources (a before/after pair).
// Each peer is a new node (new identity, new connection) that queries the server's `echo` once. Only the query
// is timed; the client's CPU is that of the query alone. With `apart`, the server runs in its own process
// (bench/fixtures/fresh-server.ts, forked with this process's node flags, so it is profiled too) and its CPU
// per peer is reported; without, both run here and the CPU is the two sides together.
// With FRESH_PROF_DIR set, both processes write a CPU profile of the timed peers only (not start-up, not
// warm-up) there.
// With FRESH_GC=1, the slowest 2 % of the timed peers are matched against the GC pauses of both processes: how
// many overlapped a collection of the client, of the server, or none (the p99's cause, or not).
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ContactRecord } from '@egtp/interface'
import type { EgtpNode } from '../src/index.ts'
import { logGcPauses } from './fixtures/gc-log.ts'
import type { GcPause } from './fixtures/gc-log.ts'
import { loadEgtp } from './fixtures/load.ts'
import { startProfile } from './fixtures/profile.ts'

const peers = Number(process.argv[2] ?? 300)
const warmUp = Number(process.argv[3] ?? 100)
const apart = process.argv[4] === 'apart'
const from = process.argv[5]
const { createNode, tcp, decodeContactRecord, generateIdentity } = await loadEgtp(from)
const LIMIT = 100_000
const PAYLOAD = new Uint8Array(64).fill(7)
const cpuUs = (c: NodeJS.CpuUsage): number => c.user + c.system

let record: ContactRecord
let serverCpu: () => Promise<number> = async () => 0
let serverSys = 0
let stopServer: () => Promise<void>
let serverGc: () => Promise<GcPause[]> = async () => []
const gcLog = process.env.FRESH_GC === '1'
if (apart) {
  const child = fork(new URL('./fixtures/fresh-server.ts', import.meta.url), from === undefined ? [] : [from], { execArgv: process.execArgv, stdio: 'inherit' })
  const [ready] = await once(child, 'message') as [{ record: string }]
  record = decodeContactRecord(Buffer.from(ready.record, 'base64'))
  let asked = 0
  serverCpu = async () => {
    // The first ask starts the server's profile (after the warm-up), the second stops it.
    child.send({ op: 'cpu', profile: asked++ === 0 ? 'start' : 'stop' })
    const [reply] = await once(child, 'message') as [{ cpu: NodeJS.CpuUsage }]
    serverSys = reply.cpu.system - serverSys
    return cpuUs(reply.cpu)
  }
  serverGc = async () => {
    child.send({ op: 'gc' })
    const [reply] = await once(child, 'message') as [{ gc: GcPause[] }]
    return reply.gc
  }
  stopServer = async () => {
    child.send({ op: 'stop' })
    await once(child, 'exit')
  }
} else {
  const server = await createNode({ commstrats: [tcp({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }], maxConnections: LIMIT, maxInboundPerAddress: LIMIT })()] })
  server.handle('echo', payload => payload)
  await server.start()
  record = server.contactRecord()!
  stopServer = () => server.stop()
}

// hrtime in µs: the clock of V8's CPU profiles (CLOCK_MONOTONIC, shared by both processes), for bench/fresh-tail.mjs.
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n)
const one = async (): Promise<{ ms: number, cpu: number, sys: number, start: number, us: number }> => {
  const node: EgtpNode = await createNode({ identity: generateIdentity(), commstrats: [tcp()()] })
  await node.start()
  node.addContact(record)
  const c0 = process.cpuUsage()
  const us = nowUs()
  const t0 = performance.now()
  await node.query(record.nodeId, 'echo', PAYLOAD)
  const ms = performance.now() - t0
  const used = process.cpuUsage(c0)
  await node.stop()
  return { ms, cpu: cpuUs(used), sys: used.system, start: performance.timeOrigin + t0, us }
}

for (let i = 0; i < warmUp; i++) await one()
const clientGc = gcLog ? logGcPauses() : undefined
const spans: Array<{ start: number, ms: number, us: number }> = []
const times: number[] = []
let clientCpu = 0
let clientSys = 0
const s0 = await serverCpu()
const stopProfile = await startProfile('client')
const all0 = cpuUs(process.cpuUsage())
for (let i = 0; i < peers; i++) {
  const r = await one()
  times.push(r.ms)
  spans.push({ start: r.start, ms: r.ms, us: r.us })
  clientCpu += r.cpu
  clientSys += r.sys
}
const allCpu = cpuUs(process.cpuUsage()) - all0
const sCpu = await serverCpu() - s0
await stopProfile()
times.sort((a, b) => a - b)
const q = (p: number): string => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(2)
console.log(`${from ?? 'here'}: ${apart ? 'apart' : 'one process'}, ${peers} fresh peers: median ${q(0.5)} ms, p99 ${q(0.99)} ms; ` +
  `CPU per peer: query ${(clientCpu / peers).toFixed(0)} µs (system ${(clientSys / peers).toFixed(0)}), this process in all ${(allCpu / peers).toFixed(0)} µs` +
  (apart ? `, server ${(sCpu / peers).toFixed(0)} µs (system ${(serverSys / peers).toFixed(0)})` : ''))
if (clientGc !== undefined) {
  const [mine, theirs] = [clientGc(), await serverGc()]
  const overlap = (p: GcPause[], s: { start: number, ms: number }): number =>
    p.filter(g => g.end > s.start && g.start < s.start + s.ms).reduce((a, g) => a + Math.min(g.end, s.start + s.ms) - Math.max(g.start, s.start), 0)
  const slow = [...spans].sort((a, b) => b.ms - a.ms).slice(0, Math.max(1, Math.ceil(spans.length / 50)))
  // kind: 1 scavenge, 2 mark-compact, 4 incremental marking step, 8 weak callbacks (perf_hooks' NODE_PERFORMANCE_GC_*)
  const byKind = (p: GcPause[]): string => [...new Set(p.map(g => g.kind))].sort().map(k => {
    const of = p.filter(g => g.kind === k)
    return `kind ${k}: ${of.length} (${of.reduce((a, g) => a + g.end - g.start, 0).toFixed(1)} ms)`
  }).join(', ')
  console.log(`GC pauses while timed: client ${byKind(mine)}; server ${byKind(theirs)}`)
  console.log(`slowest ${slow.length} peers (ms, of which client GC, server GC): ` +
    slow.map(s => `${s.ms.toFixed(2)} (${overlap(mine, s).toFixed(2)}, ${overlap(theirs, s).toFixed(2)})`).join(', '))
  // With profiles, the spans (slowest and a few around the median) for bench/fresh-tail.mjs's timelines.
  const dir = process.env.FRESH_PROF_DIR
  if (dir !== undefined && dir !== '') {
    const bySpeed = [...spans].sort((a, b) => a.ms - b.ms)
    const median = bySpeed.slice(bySpeed.length >> 1, (bySpeed.length >> 1) + 3)
    await writeFile(join(dir, 'spans.json'), JSON.stringify({ slow: slow.map(s => ({ us: s.us, ms: s.ms })), median: median.map(s => ({ us: s.us, ms: s.ms })), all: spans.map(s => ({ us: s.us, ms: s.ms })) }))
  }
}
await stopServer()
