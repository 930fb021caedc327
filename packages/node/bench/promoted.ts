// What survives a scavenge, per operation: V8's sampling heap profiler with the objects that minor GCs freed
// left out, so what remains was promoted to the old generation (or allocated there directly, as a long-lived
// Map's rebuilt table is) and only a full mark-compact frees it. Both nodes in this process. A figure here
// does not move with the machine's load, unlike round trips per second. Usage:
//   pnpm --filter @egtp/node bench:promoted [echo1|echo64|oneway|bulk] [seconds] [all]
// With `all`, every allocation is counted (what minor GCs freed too): the bytes a round trip allocates.
import { Session } from 'node:inspector/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { tcp } from '@egtp/tcp'
import { createNode, memoryDirectory } from '../src/index.ts'
import { bytesBySite } from './fixtures/heap-sites.ts'
import type { ProfileNode } from './fixtures/heap-sites.ts'


const mode = process.argv[2] ?? 'echo64'
const seconds = Number(process.argv[3] ?? 2)
const all = process.argv[4] === 'all'
const LISTEN = [{ kind: 'tcp' as const, host: '127.0.0.1', port: 0 }]
const dir = memoryDirectory()
const a = await createNode({ commstrats: [tcp({ listen: LISTEN })()], lookup: dir, announcer: dir })
const b = await createNode({ commstrats: [tcp({ listen: LISTEN })()], lookup: dir, announcer: dir })
await a.start()
await b.start()
b.handle('echo', p => p)
b.handle('m', () => {})
const body = new Uint8Array(mode === 'bulk' ? 64 * 1024 : 64)
let running = true
let ops = 0
const loop = mode === 'oneway' || mode === 'bulk'
  ? async () => { while (running) { await a.send(b.nodeId, 'm', body); ops++ } }
  : async () => { while (running) { await a.query(b.nodeId, 'echo', body); ops++ } }
const loops = Array.from({ length: mode === 'echo1' ? 1 : mode === 'oneway' ? 1024 : mode === 'bulk' ? 128 : 64 }, loop)
await new Promise(resolve => setTimeout(resolve, 1000)) // warm-up: compiled, maps and rings at their working size

const session = new Session()
session.connect()
await session.post('HeapProfiler.startSampling', { samplingInterval: all ? 512 : 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: all })
const ops0 = ops
await new Promise(resolve => setTimeout(resolve, seconds * 1000))
// A last scavenge first, so what the young generation still holds is not counted as surviving.
setFlagsFromString('--expose-gc')
;(runInNewContext('gc') as (o: { type: 'minor', execution: 'sync' }) => void)({ type: 'minor', execution: 'sync' })
const { profile } = await session.post('HeapProfiler.stopSampling') as unknown as { profile: { head: ProfileNode } }
const measured = ops - ops0
running = false
await Promise.all(loops)

const { total, bySite } = bytesBySite(profile.head)
console.log(`${mode}: ${measured} operations in ${seconds} s; ${(total / measured).toFixed(1)} bytes per operation ${all ? 'allocated' : 'survived a scavenge'} (sampled), by site:`)
for (const [site, bytes] of [...bySite].sort((x, y) => y[1] - x[1]).slice(0, all ? 30 : 15)) console.log(`${(bytes / measured).toFixed(1).padStart(9)}  ${site}`)
await a.stop()
await b.stop()
