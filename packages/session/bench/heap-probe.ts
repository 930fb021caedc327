// Heap probe: establish N sessions (hub as responder, or initiator with --initiator), then write a heap snapshot.
import { writeHeapSnapshot } from 'node:v8'
import { generateIdentity } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import type { Clock } from '@egtp/interface'
import { SessionManager } from '../src/index.ts'
import type { PeerKey } from '../src/index.ts'

class BenchClock implements Clock {
  mono = 1_000
  now = (): number => 1_700_000_000_000 + this.mono
  monotonic = (): number => this.mono
}
const gc = (globalThis as { gc?: () => void }).gc!
const N = Number(process.argv[2] ?? 2000)
const hubInitiates = process.argv.includes('--initiator')
const unlimited = { maxHandshakesPerSecond: 1e9, maxHandshakesPerPeerPerSecond: 1e9, maxHintsPerSecond: 1e9 }
const clock = new BenchClock()
const peerOf = (id: NodeIdentity): PeerKey => ({ nodeId: id.nodeId, publicKey: id.publicKey })
const alice = generateIdentity()
const hub = new SessionManager({ identity: alice, clock, ...unlimited })
;(globalThis as { hub?: unknown }).hub = hub
const one = new Uint8Array(1)
gc(); gc()
const before = process.memoryUsage().heapUsed
for (let i = 0; i < N; i++) {
  const id = generateIdentity()
  const peer = new SessionManager({ identity: id, clock, ...unlimited })
  const [x, y, yKey] = hubInitiates ? [hub, peer, peerOf(id)] : [peer, hub, peerOf(alice)]
  const first = y.open(x.seal(yKey, one).frame)
  for (const r of first.replies) for (const c of x.open(r).replies) y.open(c)
  peer.close()
}
gc(); gc()
console.log('per session', ((process.memoryUsage().heapUsed - before) / N).toFixed(0), 'B (incl. keys)')
if (process.argv.includes('--snap')) console.log(writeHeapSnapshot('/tmp/sm/hub.heapsnapshot'))
