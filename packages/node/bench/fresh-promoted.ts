// What a fresh client peer leaves surviving a scavenge (and so promoted, or copied at each minor GC while alive):
// V8's sampling heap profiler with the objects that minor GCs freed left out, per peer, by allocation site. The
// client here (a new node per peer, connect + handshake + first 64 B query + stop, as bench/fresh-prof.ts), the
// server in its own process. With `all`, every allocation (what minor GCs freed too): bytes allocated per peer.
//   node --import tsx --conditions=@egtp/source bench/fresh-promoted.ts [peers] [all] [DIR]
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { Session } from 'node:inspector/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { bytesBySite } from './fixtures/heap-sites.ts'
import type { ProfileNode } from './fixtures/heap-sites.ts'
import { loadEgtp } from './fixtures/load.ts'

const peers = Number(process.argv[2] ?? 300)
const all = process.argv[3] === 'all'
const from = process.argv[4]
const { createNode, tcp, decodeContactRecord, generateIdentity } = await loadEgtp(from)
const PAYLOAD = new Uint8Array(64).fill(7)
const child = fork(new URL('./fixtures/fresh-server.ts', import.meta.url), from === undefined ? [] : [from], { execArgv: process.execArgv, stdio: 'inherit' })
const [ready] = await once(child, 'message') as [{ record: string }]
const record = decodeContactRecord(Buffer.from(ready.record, 'base64'))
const one = async (): Promise<void> => {
  const node = await createNode({ identity: generateIdentity(), commstrats: [tcp()()] })
  await node.start()
  node.addContact(record)
  await node.query(record.nodeId, 'echo', PAYLOAD)
  await node.stop()
}
for (let i = 0; i < 150; i++) await one()
const session = new Session()
session.connect()
await session.post('HeapProfiler.startSampling', { samplingInterval: all ? 512 : 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: all })
for (let i = 0; i < peers; i++) await one()
setFlagsFromString('--expose-gc')
;(runInNewContext('gc') as (o: { type: 'minor', execution: 'sync' }) => void)({ type: 'minor', execution: 'sync' })
const { profile } = await session.post('HeapProfiler.stopSampling') as unknown as { profile: { head: ProfileNode } }
const { total, bySite } = bytesBySite(profile.head)
console.log(`${from ?? 'here'}: ${peers} fresh peers; ${(total / peers).toFixed(0)} bytes per peer ${all ? 'allocated' : 'survived a scavenge'} (sampled), by site:`)
for (const [site, bytes] of [...bySite].sort((x, y) => y[1] - x[1]).slice(0, 25)) console.log(`${(bytes / peers).toFixed(0).padStart(9)}  ${site}`)
child.send({ op: 'stop' })
await once(child, 'exit')
