// Bytes per fresh-peer node lifecycle in the CLIENT process: createNode (new identity, tcp commstrat), start,
// addContact(server record), one 64 B query, stop — what fresh-prof.ts times. The server runs in its own
// process (fixtures/fresh-server.ts), so only the client's allocations are counted. V8's sampling heap profiler
// either with every allocation (`all`) or without what minor GCs freed (what survived a scavenge: promoted, so
// only a mark-compact frees it). Also the client's CPU per lifecycle (with `cpu`: the profiler off, CPU only,
// to be alternated with another DIR). Usage:
//   node --import tsx --conditions=@egtp/source bench/lifecycle.ts [lifecycles] [all|survived|cpu] [DIR]
// DIR: a built checkout whose packages/*/dist are measured instead of this one's sources.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { Session } from 'node:inspector/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { loadEgtp } from './fixtures/load.ts'
import { bytesBySite } from './fixtures/heap-sites.ts'
import type { ProfileNode } from './fixtures/heap-sites.ts'


const count = Number(process.argv[2] ?? 300)
const all = process.argv[3] === 'all'
const cpuOnly = process.argv[3] === 'cpu'
const from = process.argv[4]
const { createNode, tcp, decodeContactRecord, generateIdentity } = await loadEgtp(from)
const child = fork(new URL('./fixtures/fresh-server.ts', import.meta.url), from === undefined ? [] : [from], { execArgv: process.execArgv, stdio: 'inherit' })
const [ready] = await once(child, 'message') as [{ record: string }]
const record = decodeContactRecord(Buffer.from(ready.record, 'base64'))
const PAYLOAD = new Uint8Array(64).fill(7)

const one = async (): Promise<void> => {
  const node = await createNode({ identity: generateIdentity(), commstrats: [tcp()()] })
  await node.start()
  node.addContact(record)
  await node.query(record.nodeId, 'echo', PAYLOAD)
  await node.stop()
}
for (let i = 0; i < 100; i++) await one() // warm-up: compiled

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as (o?: { type: 'minor' | 'major', execution: 'sync' }) => void
gc({ type: 'major', execution: 'sync' })
const session = new Session()
session.connect()
if (!cpuOnly) await session.post('HeapProfiler.startSampling', { samplingInterval: all ? 512 : 2048, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: all })
const c0 = process.cpuUsage()
for (let i = 0; i < count; i++) await one()
const cpu = process.cpuUsage(c0)
gc({ type: 'minor', execution: 'sync' }) // what the young generation still holds is not counted as surviving
const profile = cpuOnly ? undefined : (await session.post('HeapProfiler.stopSampling') as unknown as { profile: { head: ProfileNode } }).profile
child.send({ op: 'stop' })
await once(child, 'exit')
if (profile === undefined) {
  console.log(`${from ?? 'this workspace'}: ${count} lifecycles; client CPU ${((cpu.user + cpu.system) / count).toFixed(0)} µs per lifecycle`)
  process.exit(0)
}

const { total, bySite } = bytesBySite(profile.head)
console.log(`${from ?? 'this workspace'}: ${count} lifecycles; ${(total / count / 1024).toFixed(1)} KiB per lifecycle ${all ? 'allocated' : 'survived a scavenge'} (sampled); client CPU ${((cpu.user + cpu.system) / count).toFixed(0)} µs per lifecycle (sampling on)`)
for (const [site, bytes] of [...bySite].sort((x, y) => y[1] - x[1]).slice(0, Number(process.env.LIFECYCLE_SITES ?? 25))) console.log(`${(bytes / count).toFixed(0).padStart(8)}  ${site}`)
