// In-process echo on the built dist (no tsx): both nodes in this process, 64 B queries one at a time; prints
// round trips/s and CPU per round trip (both nodes). Build first (pnpm turbo run build --filter=@egtp/node...).
// Usage: node bench/echo-dist.mjs [round trips]   (EGTP_NO_SODIUM=1: AEAD through node:crypto only)
// ALLOC=1: instead, JS-heap bytes allocated per round trip by function, garbage included (V8's sampling heap
// profiler keeping collected objects; off-heap ArrayBuffer memory is not counted); TOP=n functions listed,
// CALLERS=subarray,delete,...: who calls these (native) allocators.
import { Session } from 'node:inspector/promises'
import { createNode, memoryDirectory } from '@egtp/node'
import { tcp } from '@egtp/tcp'
const dir = memoryDirectory()
const L = [{ kind: 'tcp', host: '127.0.0.1', port: 0 }]
const a = await createNode({ commstrats: [tcp({ listen: L })()], lookup: dir, announcer: dir })
const b = await createNode({ commstrats: [tcp({ listen: L })()], lookup: dir, announcer: dir })
await a.start(); await b.start()
b.handle('echo', p => p)
const body = new Uint8Array(64)
for (let i = 0; i < 2000; i++) await a.query(b.nodeId, 'echo', body)
const N = Number(process.argv[2] ?? 20000)
if (process.env.ALLOC === '1') await allocations(); else await cpu()
await a.stop(); await b.stop()

async function cpu () {
  const c0 = process.cpuUsage(); const t0 = performance.now()
  for (let i = 0; i < N; i++) await a.query(b.nodeId, 'echo', body)
  const c = process.cpuUsage(c0); const secs = (performance.now() - t0) / 1000
  console.log(`in-process echo: ${(N / secs).toFixed(0)} rt/s, cpu ${((c.user + c.system) / N).toFixed(1)} µs/rt (sys ${(c.system / N).toFixed(1)})`)
}

async function allocations () {
  const s = new Session(); s.connect()
  await s.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
  for (let i = 0; i < N; i++) await a.query(b.nodeId, 'echo', body)
  const { profile } = await s.post('HeapProfiler.stopSampling')
  const self = new Map(); const callers = new Map(); let all = 0
  const CALLERS = new Set((process.env.CALLERS ?? 'subarray,delete,Map,push').split(','))
  const walk = (n, parent) => {
    const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/^.*\/(packages|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`
    all += n.selfSize
    self.set(k, (self.get(k) ?? 0) + n.selfSize)
    if (CALLERS.has(n.callFrame.functionName) && n.selfSize > 0) callers.set(`${n.callFrame.functionName} <- ${parent}`, (callers.get(`${n.callFrame.functionName} <- ${parent}`) ?? 0) + n.selfSize)
    for (const c of n.children) walk(c, k)
  }
  walk(profile.head, '')
  const list = (m, top) => { for (const [k, v] of [...m].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`${(v / N).toFixed(0).padStart(7)} B  ${k}`) }
  console.log(`allocated ${(all / N).toFixed(0)} B per round trip (both nodes)`)
  list(self, Number(process.env.TOP ?? 40))
  console.log('-- callers')
  list(callers, 40)
}
