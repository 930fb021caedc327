// Fresh peers, two EGTP versions interleaved in one process (the load of a shared machine falls on both alike):
//   node --import tsx bench/fresh-pair.ts DIR_A DIR_B [peers] [warm-up peers]
// DIR_A and DIR_B are built checkouts (their packages/*/dist are loaded side by side). Each version has its own
// server node in this process; peers alternate A, B, A, B... Per version: the median latency of connect +
// handshake + first 64 B reply, and the CPU per peer of both sides together from the query until the client
// node has stopped and the server's deferred work ran (client node creation excluded).
import { setImmediate as turn } from 'node:timers/promises'
import type { ContactRecord } from '@egtp/interface'
import { loadEgtp } from './fixtures/load.ts'
import type { EgtpModules } from './fixtures/load.ts'

const dirs = [process.argv[2]!, process.argv[3]!]
const peers = Number(process.argv[4] ?? 400)
const warmUp = Number(process.argv[5] ?? 100)
const LIMIT = 100_000
const PAYLOAD = new Uint8Array(64).fill(7)
const cpuUs = (c: NodeJS.CpuUsage): number => c.user + c.system

interface Side { dir: string, m: EgtpModules, record: ContactRecord, stop: () => Promise<void>, times: number[], cpu: number[] }
const sides: Side[] = []
for (const dir of dirs) {
  const m = await loadEgtp(dir)
  const server = await m.createNode({ commstrats: [m.tcp({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }], maxConnections: LIMIT, maxInboundPerAddress: LIMIT })()] })
  server.handle('echo', payload => payload)
  await server.start()
  sides.push({ dir, m, record: server.contactRecord()!, stop: () => server.stop(), times: [], cpu: [] })
}

const one = async (s: Side, keep: boolean): Promise<void> => {
  const node = await s.m.createNode({ identity: s.m.generateIdentity(), commstrats: [s.m.tcp()()] })
  await node.start()
  node.addContact(s.record)
  await turn()
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  await node.query(s.record.nodeId, 'echo', PAYLOAD)
  const ms = performance.now() - t0
  await node.stop()
  await turn()
  await turn()
  const cpu = cpuUs(process.cpuUsage(c0))
  if (keep) {
    s.times.push(ms)
    s.cpu.push(cpu)
  }
}

for (let i = 0; i < warmUp + peers; i++) for (const s of i % 2 === 0 ? sides : [...sides].reverse()) await one(s, i >= warmUp)
const median = (x: number[]): number => [...x].sort((a, b) => a - b)[x.length >> 1]!
const mean = (x: number[]): number => x.reduce((a, b) => a + b, 0) / x.length
for (const s of sides) console.log(`${s.dir}: median ${median(s.times).toFixed(3)} ms, CPU per peer (both sides) median ${median(s.cpu).toFixed(0)} µs, mean ${mean(s.cpu).toFixed(0)} µs`)
const [a, b] = sides as [Side, Side]
console.log(`B/A: latency ${(median(b.times) / median(a.times)).toFixed(3)}x, CPU median ${(median(b.cpu) / median(a.cpu)).toFixed(3)}x, mean ${(mean(b.cpu) / mean(a.cpu)).toFixed(3)}x`)
for (const s of sides) await s.stop()
