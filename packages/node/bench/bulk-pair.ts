// Bulk A/B: two node pairs (two EGTP versions, or one version with two batch sizes), the senders in this process
// and the receivers in a forked child (as in the suite's bulk scenario), driven in alternating bursts of 64 KiB
// one-way sends; each burst's CPU time of both processes is charged to the pair that ran. On a shared machine
// the load drifts from one run to the next: interleaved short bursts let it fall on both alike.
//   node --import tsx --conditions=@egtp/source bench/bulk-pair.ts DIR_A DIR_B [rounds] [burstMs]
//   node --import tsx --conditions=@egtp/source bench/bulk-pair.ts --batch BYTES_A BYTES_B [rounds] [burstMs]
// DIR_A and DIR_B are built checkouts (their packages/*/dist); `.` is this workspace's sources.
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { pumpFor } from '@egtp/scripts/bench'
import type { EgtpNode } from '../src/index.ts'
import { loadEgtp } from './fixtures/load.ts'

const SIZE = 64 * 1024
const WINDOW = 128
const LISTEN = [{ kind: 'tcp' as const, host: '127.0.0.1', port: 0 }]

interface Variant { name: string, dir: string | undefined, maxBatchBytes: number | undefined }

function variants (argv: string[]): Variant[] {
  if (argv[0] === '--batch') return [argv[1]!, argv[2]!].map(b => ({ name: `batch ${b}`, dir: undefined, maxBatchBytes: Number(b) }))
  return [argv[0]!, argv[1]!].map(d => ({ name: d, dir: d === '.' ? undefined : d, maxBatchBytes: undefined }))
}

const limitsOf = (v: Variant): { maxBatchBytes?: number } => v.maxBatchBytes === undefined ? {} : { maxBatchBytes: v.maxBatchBytes }
const cpuUs = (): number => {
  const c = process.cpuUsage()
  return c.user + c.system
}

if (process.argv[2] === '--receivers') {
  // The child: one receiving node per variant; answers `cpu` with its CPU time so far (µs).
  const vs = variants(process.argv.slice(3)) // ['--batch', a, b] or [dirA, dirB]
  const records: string[] = []
  for (const v of vs) {
    const m = await loadEgtp(v.dir)
    const node = await m.createNode({ commstrats: [m.tcp({ listen: LISTEN })()], limits: limitsOf(v) })
    node.handle('m', () => {})
    await node.start()
    records.push(Buffer.from(m.encodeContactRecord(node.contactRecord()!)).toString('base64'))
  }
  process.on('message', (msg: string) => {
    if (msg === 'cpu') process.send!(cpuUs())
    else process.exit(0)
  })
  process.send!(records)
} else {
  const args = process.argv.slice(2)
  const vs = variants(args)
  const rest = args[0] === '--batch' ? args.slice(3) : args.slice(2)
  const rounds = Number(rest[0] ?? 10)
  const burstMs = Number(rest[1] ?? 500)
  const child: ChildProcess = fork(new URL(import.meta.url), ['--receivers', ...(args[0] === '--batch' ? args.slice(0, 3) : args.slice(0, 2))], { execArgv: process.execArgv })
  const [records] = await once(child, 'message') as [string[]]
  const childCpu = async (): Promise<number> => {
    child.send('cpu')
    const [us] = await once(child, 'message') as [number]
    return us
  }
  interface Pair { v: Variant, node: EgtpNode, peer: string, senderUs: number, receiverUs: number, msgs: number }
  const pairs: Pair[] = []
  for (const [i, v] of vs.entries()) {
    const m = await loadEgtp(v.dir)
    const record = m.decodeContactRecord(Buffer.from(records[i]!, 'base64'))
    const node = await m.createNode({ commstrats: [m.tcp()()], limits: limitsOf(v) })
    await node.start()
    node.addContact(record)
    pairs.push({ v, node, peer: record.nodeId, senderUs: 0, receiverUs: 0, msgs: 0 })
  }
  const body = new Uint8Array(SIZE).fill(7)
  for (const p of pairs) await pumpFor(burstMs * 2, WINDOW, () => p.node.send(p.peer, 'm', body)) // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const p of r % 2 === 0 ? pairs : [...pairs].reverse()) {
      const r0 = await childCpu()
      const s0 = cpuUs()
      p.msgs += await pumpFor(burstMs, WINDOW, () => p.node.send(p.peer, 'm', body))
      p.senderUs += cpuUs() - s0
      p.receiverUs += await childCpu() - r0
    }
  }
  const perMb = (us: number, p: Pair): string => (us / 1000 / (p.msgs * SIZE / 1e6)).toFixed(3)
  for (const p of pairs) console.log(`${p.v.name}: CPU per MB sender ${perMb(p.senderUs, p)} ms, receiver ${perMb(p.receiverUs, p)} ms, both ${perMb(p.senderUs + p.receiverUs, p)} ms; ${p.msgs} messages`)
  for (const p of pairs) await p.node.stop()
  child.send('stop')
}
