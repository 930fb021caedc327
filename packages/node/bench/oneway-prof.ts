// Profiling helper: one-way sends only, for `node --cpu-prof`. Usage:
//   node --import tsx --conditions=@egtp/source [--cpu-prof] bench/oneway-prof.ts <size> <window> <seconds> [apart]
// With `apart`, the receiver runs in its own process (bench/fixtures/sink.ts), forked with this process's
// node flags (so it is profiled too).
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { decodeContactRecord } from '@egtp/identity'
import { pumpFor } from '@egtp/scripts/bench'
import { tcp } from '@egtp/tcp'
import { createNode, memoryDirectory } from '../src/index.ts'


const size = Number(process.argv[2] ?? 64)
const window = Number(process.argv[3] ?? 4096)
const seconds = Number(process.argv[4] ?? 3)
const apart = process.argv[5] === 'apart'
const LISTEN = [{ kind: 'tcp' as const, host: '127.0.0.1', port: 0 }]
const dir = memoryDirectory()
const a = await createNode({ commstrats: [tcp({ listen: LISTEN })()], lookup: dir, announcer: dir })
await a.start()
let got = 0
let target: string
let stopReceiver: () => Promise<void>
let receiverCpu: () => Promise<{ user: number, system: number, faults?: number }> = async () => process.cpuUsage()
if (apart) {
  const child = fork(new URL('./fixtures/sink.ts', import.meta.url), ['egtp'], { execArgv: process.execArgv, stdio: 'inherit' })
  const [ready] = await once(child, 'message') as [{ record: string }]
  const record = decodeContactRecord(Buffer.from(ready.record, 'base64'))
  a.addContact(record)
  target = record.nodeId
  receiverCpu = async () => {
    child.send({ op: 'cpu' })
    const [reply] = await once(child, 'message') as [{ cpu: { user: number, system: number }, faults: number }]
    return { ...reply.cpu, faults: reply.faults }
  }
  stopReceiver = async () => {
    child.send({ op: 'stop' })
    await once(child, 'exit')
  }
} else {
  const b = await createNode({ commstrats: [tcp({ listen: LISTEN })()], lookup: dir, announcer: dir })
  await b.start()
  b.handle('m', () => { got++ })
  target = b.nodeId
  stopReceiver = () => b.stop()
}
const body = new Uint8Array(size).fill(7)
await a.send(target, 'm', body)
const cpu0 = process.cpuUsage()
const faults0 = process.resourceUsage().minorPageFault
const rcpu0 = await receiverCpu()
const start = performance.now()
const done = await pumpFor(seconds * 1000, window, () => a.send(target, 'm', body))
const secs = (performance.now() - start) / 1000
const cpu = process.cpuUsage(cpu0)
const faults = process.resourceUsage().minorPageFault - faults0
const rcpu1 = await receiverCpu()
const rcpu = (rcpu1.user + rcpu1.system - rcpu0.user - rcpu0.system) / 1e6
const rsys = (rcpu1.system - rcpu0.system) / 1e6
console.log(`${size} B: ${(done / secs).toFixed(0)} msg/s, ${((cpu.user + cpu.system) / done).toFixed(1)} cpu-us/msg, ${(done * size / secs / 1e6).toFixed(1)} MB/s${apart ? '' : `, got ${got}`}, sender cpu ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s (sys ${(cpu.system / 1e6).toFixed(2)}) of ${secs.toFixed(2)} s wall${apart ? `, receiver cpu ${rcpu.toFixed(2)} s (sys ${rsys.toFixed(2)})` : ''}; minor faults per MB: sender ${(faults / (done * size / 1e6)).toFixed(0)}${apart ? `, receiver ${(((rcpu1.faults ?? 0) - (rcpu0.faults ?? 0)) / (done * size / 1e6)).toFixed(0)}` : ''}`)
await a.stop()
await stopReceiver()
