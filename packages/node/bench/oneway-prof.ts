// Profiling helper: one-way sends only. Usage: node --import tsx --conditions=@egtp/source bench/oneway-prof.ts <size> <n> <window> <seconds>
import { tcp } from '@egtp/tcp'
import { createNode, memoryDirectory } from '../src/index.ts'

const size = Number(process.argv[2] ?? 64)
const window = Number(process.argv[4] ?? 4096)
const seconds = Number(process.argv[5] ?? 3)
const LISTEN = [{ kind: 'tcp' as const, host: '127.0.0.1', port: 0 }]
const dir = memoryDirectory()
const limits = process.env.ACK !== undefined ? { ackDelayMs: Number(process.env.ACK) } : undefined
const a = await createNode({ commstrats: [tcp({ listen: LISTEN })()], lookup: dir, announcer: dir })
const b = await createNode({ commstrats: [tcp({ listen: LISTEN })()], lookup: dir, announcer: dir, ...(limits !== undefined ? { limits } : {}) })
await a.start()
await b.start()
let got = 0
b.handle('m', () => { got++ })
const body = new Uint8Array(size).fill(7)
await a.send(b.nodeId, 'm', body)
const cpu0 = process.cpuUsage()
const start = performance.now()
const end = start + seconds * 1000
let done = 0
let inflight = 0
await new Promise<void>((resolve, reject) => {
  const next = (): void => {
    while (inflight < window && performance.now() < end) {
      inflight++
      a.send(b.nodeId, 'm', body).then(() => {
        inflight--
        done++
        if (inflight === 0 && performance.now() >= end) resolve()
        else next()
      }, reject)
    }
  }
  next()
})
const secs = (performance.now() - start) / 1000
const cpu = process.cpuUsage(cpu0)
console.log(`${size} B: ${(done / secs).toFixed(0)} msg/s, ${((cpu.user + cpu.system) / done).toFixed(1)} cpu-us/msg, ${(done * size / secs / 1e6).toFixed(1)} MB/s, got ${got}, cpu ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s of ${secs.toFixed(2)} s wall`)
await Promise.all([a.stop(), b.stop()])
