// pnpm bench: full IK handshakes through the SessionManager, seal+open through established sessions beside raw
// node:crypto ChaCha20-Poly1305 of the same size (same run), and heap per established session.
// Issue targets: sealing at most 1.5x raw AEAD at 1 KiB; at most 1 KiB of heap per session beyond its keys.
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto'
import { heading, measure, report } from '@egtp/scripts/bench'
import type { BenchResult } from '@egtp/scripts/bench'
import { generateIdentity } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import type { Clock } from '@egtp/interface'
import { SessionManager } from '../src/index.ts'
import type { PeerKey } from '../src/index.ts'

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with node --expose-gc (pnpm bench)')

/** A clock the bench advances by hand: no timer ever fires, no rate limit depends on wall time. */
class BenchClock implements Clock {
  mono = 1_000
  now = (): number => 1_700_000_000_000 + this.mono
  monotonic = (): number => this.mono
}

const unlimited = { maxHandshakesPerSecond: 1e9, maxHandshakesPerPeerPerSecond: 1e9, maxHintsPerSecond: 1e9 }
const peerOf = (id: NodeIdentity): PeerKey => ({ nodeId: id.nodeId, publicKey: id.publicKey })
const clock = new BenchClock()
const alice = generateIdentity()
const bob = generateIdentity()
const B = peerOf(bob)

/** One complete handshake: A's initiation (with 64 B early data) → B's response → A's confirmation → B. */
function handshake (a: SessionManager, b: SessionManager, payload: Uint8Array): void {
  const first = b.open(a.seal(B, payload).frame)
  for (const r of first.replies) {
    for (const c of a.open(r).replies) b.open(c)
  }
}

heading('handshake (Noise IK, both sides, through the SessionManager public API)')
{
  const a = new SessionManager({ identity: alice, clock, ...unlimited })
  const b = new SessionManager({ identity: bob, clock, ...unlimited })
  const payload = new Uint8Array(64).fill(1)
  const res = measure('seal(hi+64 B early) → open → open(hr) → open(hd)', () => {
    // Forget the sessions (not the replay records): the next seal starts a fresh handshake.
    a.drop(bob.nodeId)
    b.drop(alice.nodeId)
    handshake(a, b, payload)
  }, { minMs: 300, rounds: 3 })
  report(res)
  console.log(`  = ${(1e6 / res.opsPerSec).toFixed(0)} µs per handshake (initiator + responder: 8 X25519 DH, 1 key generation)`)
  a.close()
  b.close()
}

// Raw AEAD baseline: what a minimal transport would do per message with node:crypto and nothing else.
const rawKey = createSecretKey(randomBytes(32))
const aad = new Uint8Array(8)
function rawSealOpen (n: number, plaintext: Uint8Array): Uint8Array {
  const nonce = Buffer.alloc(12)
  nonce.writeUInt32LE(n >>> 0, 4)
  const c = createCipheriv('chacha20-poly1305', rawKey, nonce, { authTagLength: 16 })
  c.setAAD(aad, { plaintextLength: plaintext.byteLength })
  const ct = c.update(plaintext)
  c.final()
  const tag = c.getAuthTag()
  const d = createDecipheriv('chacha20-poly1305', rawKey, nonce, { authTagLength: 16 })
  d.setAAD(aad, { plaintextLength: ct.byteLength })
  d.setAuthTag(tag)
  const pt = d.update(ct)
  d.final()
  return pt
}

heading('seal + open through an established session, beside raw node:crypto ChaCha20-Poly1305 seal + open')
const ratios: Array<{ size: string, ratio: number }> = []
{
  const a = new SessionManager({ identity: alice, clock, ...unlimited })
  const b = new SessionManager({ identity: bob, clock, ...unlimited })
  handshake(a, b, new Uint8Array(1))
  if (!a.hasSession(bob.nodeId) || !b.hasSession(alice.nodeId)) throw new Error('no session')
  let sealed = 0
  for (const [label, size] of [['64 B', 64], ['1 KiB', 1024], ['64 KiB', 64 * 1024]] as const) {
    const msg = randomBytes(size)
    const opts = { bytesPerOp: size, minMs: 100, rounds: 1 }
    let n = 0
    // Other work shares these cores and its load drifts: measure the two in short alternating rounds and take
    // medians (of each rate, and of the ratio within each adjacent pair).
    const raws: BenchResult[] = []
    const ourss: BenchResult[] = []
    const pairRatios: number[] = []
    for (let round = 0; round < 8; round++) {
      const r = measure(`raw createCipheriv+createDecipheriv ${label}`, () => rawSealOpen(n++, msg), opts)
      const o = measure(`SessionManager seal+open ${label}`, () => {
        sealed++
        return b.open(a.seal(B, msg).frame)
      }, opts)
      raws.push(r)
      ourss.push(o)
      pairRatios.push(r.opsPerSec / o.opsPerSec)
    }
    const median = <T>(xs: T[], by: (x: T) => number): T => [...xs].sort((x, y) => by(x) - by(y))[xs.length >> 1]!
    const raw = median(raws, x => x.opsPerSec)
    const ours = median(ourss, x => x.opsPerSec)
    report(raw)
    report(ours, raw)
    ratios.push({ size: label, ratio: median(pairRatios, x => x) })
  }
  const s = b.stats()
  if (s.framesOpened < sealed || s.authFailures > 0 || s.replaysRejected > 0) throw new Error('a frame failed to open')
  a.close()
  b.close()
}
for (const { size, ratio } of ratios) {
  console.log(`  cost vs raw AEAD at ${size.padEnd(6)} (median of 8 paired rounds): ${ratio.toFixed(2)}x${size === '1 KiB' ? `  (target ≤ 1.50x: ${ratio <= 1.5 ? 'met' : 'MISSED'})` : ''}`)
}

heading('memory per established session (10 000 distinct peers against one manager)')
const SESSIONS = 10_000
function heap (): { heap: number, external: number } {
  gc!()
  gc!()
  const m = process.memoryUsage()
  return { heap: m.heapUsed, external: m.external }
}

/** Establish SESSIONS sessions with `hub`, each peer a fresh identity and manager that is closed afterwards. */
function establish (hub: SessionManager, hubId: NodeIdentity, hubInitiates: boolean): void {
  const hubKey = peerOf(hubId)
  const one = new Uint8Array(1)
  for (let i = 0; i < SESSIONS; i++) {
    const id = generateIdentity()
    const peer = new SessionManager({ identity: id, clock, ...unlimited })
    const [x, y, yKey] = hubInitiates ? [hub, peer, peerOf(id)] : [peer, hub, hubKey]
    const first = y.open(x.seal(yKey, one).frame)
    for (const r of first.replies) for (const c of x.open(r).replies) y.open(c)
    peer.close()
  }
  const s = hub.stats()
  if (s.currentSessions !== SESSIONS) throw new Error(`expected ${SESSIONS} sessions, have ${s.currentSessions}`)
}

/**
 * The key material a session holds, built alone: per session 3 keys (send, receive and the early-data key,
 * which the responder keeps to open repeated initiations' early data), each a node:crypto KeyObject (the raw
 * bytes are zeroed once imported, as the session does).
 */
function keysOnly (keysPerSession: number): { heap: number, external: number, hold: unknown[] } {
  const before = heap()
  const hold: unknown[] = []
  for (let i = 0; i < SESSIONS * keysPerSession; i++) {
    const raw = randomBytes(32)
    hold.push(createSecretKey(raw))
    raw.fill(0)
  }
  const after = heap()
  return { heap: (after.heap - before.heap) / SESSIONS, external: (after.external - before.external) / SESSIONS, hold }
}

const kb = (n: number): string => `${n.toFixed(0).padStart(6)} B`
// The hub answers (the usual server case; as initiator it holds one key fewer and about the same heap). One role
// by default: 10 000 handshakes take most of this bench's run time; `pnpm bench --initiator` adds the other.
const roles = [['responder', false, 3]] as Array<readonly [string, boolean, number]>
if (process.argv.includes('--initiator')) roles.push(['initiator', true, 2])
for (const [role, hubInitiates, keysPerSession] of roles) {
  const hub = new SessionManager({ identity: alice, clock, ...unlimited })
  const before = heap()
  establish(hub, alice, hubInitiates)
  const after = heap()
  const total = (after.heap - before.heap) / SESSIONS
  const external = (after.external - before.external) / SESSIONS
  const keys = keysOnly(keysPerSession)
  console.log(`hub as ${role} (${SESSIONS} sessions, ${keysPerSession} keys each):`)
  console.log(`  heap per session, total            ${kb(total)}`)
  console.log(`  of which key material (${keysPerSession} keys)     ${kb(keys.heap)}   (+ ${keys.external.toFixed(0)} B native per session, outside the heap)`)
  console.log(`  heap per session beyond its keys   ${kb(total - keys.heap)}   (target ≤ 1024 B: ${total - keys.heap <= 1024 ? 'met' : 'MISSED'})`)
  console.log(`  native (external) per session      ${kb(external)}`)
  keys.hold.length = 0
  hub.close()
}
