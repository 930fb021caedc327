// Allocation sampling of the in-process echo on the built dist (both nodes in this process): JS-heap bytes
// allocated per round trip by function, garbage included (V8's sampling heap profiler keeping collected
// objects; off-heap ArrayBuffer memory is not counted). Build first (pnpm turbo run build --filter=@egtp/node...).
// Usage: node bench/echo-alloc.mjs [round trips]
//   TOP=n: functions listed; CALLERS=subarray,delete,...: who calls these (native) allocators
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
for (let i = 0; i < 3000; i++) await a.query(b.nodeId, 'echo', body)
const N = Number(process.argv[2] ?? 20000)
const s = new Session(); s.connect()
await s.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
for (let i = 0; i < N; i++) await a.query(b.nodeId, 'echo', body)
const { profile } = await s.post('HeapProfiler.stopSampling')
const self = new Map(); let all = 0
const callers = new Map()
const CALLERS = new Set((process.env.CALLERS ?? 'subarray,delete,Map,push').split(','))
const walk = (n, parent) => {
  const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/^.*\/(packages|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`
  const sz = n.selfSize; all += sz
  self.set(k, (self.get(k) ?? 0) + sz)
  if (CALLERS.has(n.callFrame.functionName) && sz > 0) { const ck = `${n.callFrame.functionName} <- ${parent}`; callers.set(ck, (callers.get(ck) ?? 0) + sz) }
  for (const c of n.children) walk(c, k)
}
walk(profile.head, [])
console.log(`allocated ${(all / N).toFixed(0)} B per round trip (both nodes)`)
for (const [k, v] of [...self].sort((x, y) => y[1] - x[1]).slice(0, Number(process.env.TOP ?? 40))) console.log(`${(v / N).toFixed(0).padStart(7)} B  ${k}`)
console.log('-- callers')
for (const [k, v] of [...callers].sort((x, y) => y[1] - x[1]).slice(0, 40)) console.log(`${(v / N).toFixed(0).padStart(7)} B  ${k}`)
await a.stop(); await b.stop()
