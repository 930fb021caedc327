// Fresh-peer handshakes through two built versions of @egtp/session, interleaved in one process (the load of a
// shared machine falls on both alike):  node --import tsx bench/fresh-pair.ts DIR_A DIR_B [handshakes]
// Every handshake is with a new initiator (a new identity, a new SessionManager, as a fresh peer is): the
// initiator's seal (initiation with 64 B early data), the responder's open, the initiator's open of the response
// (+ its confirmation), the responder's open of the confirmation; µs per side (medians).
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { generateIdentity } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import type { SessionManager } from '../src/index.ts'

const dirs = [process.argv[2]!, process.argv[3]!]
const n = Number(process.argv[4] ?? 2000)
const unlimited = { maxHandshakesPerSecond: 1e9, maxHandshakesPerPeerPerSecond: 1e9, maxHintsPerSecond: 1e9 }
type Ctor = new (init: Record<string, unknown>) => SessionManager
const payload = new Uint8Array(64).fill(1)
const responderId = generateIdentity()
const initiators: NodeIdentity[] = Array.from({ length: Number(process.env.IDS ?? 64) }, () => generateIdentity())

interface Side { dir: string, Manager: Ctor, responder: SessionManager, init: number[], resp: number[] }
const sides: Side[] = []
for (const dir of dirs) {
  const { SessionManager: Manager } = await import(pathToFileURL(join(dir, 'packages/session/dist/index.js')).href) as { SessionManager: Ctor }
  sides.push({ dir, Manager, responder: new Manager({ identity: responderId, ...unlimited }), init: [], resp: [] })
}
const R = { nodeId: responderId.nodeId, publicKey: responderId.publicKey }

const once = (s: Side, i: number, keep: boolean): void => {
  const id = initiators[i % initiators.length]!
  const a = new s.Manager({ identity: id, ...unlimited })
  const t0 = performance.now()
  const frame = a.seal(R, payload).frame
  const t1 = performance.now()
  const first = s.responder.open(frame)
  const t2 = performance.now()
  const back = a.open(first.replies[0]!)
  const t3 = performance.now()
  for (const c of back.replies) s.responder.open(c)
  const t4 = performance.now()
  a.close()
  s.responder.drop(id.nodeId)
  if (keep) {
    s.init.push((t1 - t0 + t3 - t2) * 1000)
    s.resp.push((t2 - t1 + t4 - t3) * 1000)
  }
}

for (let i = 0; i < n * 1.25; i++) for (const s of i % 2 === 0 ? sides : [...sides].reverse()) once(s, i, i >= n / 4)
const median = (x: number[]): number => [...x].sort((p, q) => p - q)[x.length >> 1]!
for (const s of sides) console.log(`${s.dir}: initiator ${median(s.init).toFixed(1)} µs, responder ${median(s.resp).toFixed(1)} µs (medians of ${s.init.length})`)
const [a, b] = sides as [Side, Side]
console.log(`B/A: initiator ${(median(b.init) / median(a.init)).toFixed(3)}x, responder ${(median(b.resp) / median(a.resp)).toFixed(3)}x`)
