// Fuzzing SessionManager.open (read-only use of @egtp/session) with random bytes and mutations of real frames
// (initiations, responses, transport frames, unknown-session hints), against a manager that holds a live
// session. A failure is: open throwing anything but an EgtpError with a code, the live session no longer
// carrying data both ways, or the manager's tables growing with garbage.
// Bounded in CI; EGTP_FUZZ_RUNS=100000 (and EGTP_FUZZ_SEED) for a long run. Every file in corpus/session/ is
// replayed on each run: add an input there when a run finds one.
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { identityFromSeed } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import { isEgtpError } from '@egtp/interface'
import { SessionManager } from '@egtp/session'
import { DEFAULT_MAX_ARCHIVED_PER_PEER, DEFAULT_MAX_CACHED_INITIATIONS } from '@egtp/session/defaults'
import { describe, expect, test } from 'vitest'

const SEED = Number(process.env.EGTP_FUZZ_SEED ?? 2004)
const RUNS = Number(process.env.EGTP_FUZZ_RUNS ?? 1000)
const CORPUS = join(import.meta.dirname, 'corpus', 'session')

const alice = identityFromSeed(new Uint8Array(32).fill(1))
const bob = identityFromSeed(new Uint8Array(32).fill(2))
const carol = identityFromSeed(new Uint8Array(32).fill(3))
const peer = (id: NodeIdentity): { nodeId: string, publicKey: Uint8Array } => ({ nodeId: id.nodeId, publicKey: id.publicKey })
const text = (s: string): Uint8Array => new TextEncoder().encode(s)

function seeded (seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1
  return (n) => {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; out[i] = x & 0xff }
    return out
  }
}

interface World { a: SessionManager, b: SessionManager, tick: (ms: number) => void, frames: Record<string, Uint8Array> }

/** Alice and Bob with an established session, and one real frame of each kind. */
function world (): World {
  let mono = 1000
  const clock = { now: () => 1_700_000_000_000 + mono, monotonic: () => mono }
  const a = new SessionManager({ identity: alice, clock, random: seeded(1) })
  const b = new SessionManager({ identity: bob, clock, random: seeded(2) })
  const initiation = a.seal(peer(bob), text('hello')).frame
  const opened = b.open(initiation)
  const response = opened.replies[0]!
  const confirm = a.open(response).replies[0]!
  b.open(confirm)
  const transport = a.seal(peer(bob), text('data')).frame
  b.open(transport)
  const back = b.seal(peer(alice), text('back')).frame
  a.open(back)
  // A hint: Carol gets a transport frame of a session she does not have.
  const c = new SessionManager({ identity: carol, clock, random: seeded(3) })
  const hint = c.open(a.seal(peer(bob), text('lost')).frame).replies[0]!
  c.close()
  // Time passes as in a node: its housekeeping tick runs (expiry, wiping archived sessions); its frames are dropped.
  const tick = (ms: number): void => {
    mono += ms
    a.tick()
    b.tick()
  }
  return { a, b, tick, frames: { initiation, response, confirm, transport, back, hint } }
}

/** open() either works or throws a coded EgtpError; the live session still carries data both ways. */
function feed (w: World, target: 'a' | 'b', bytes: Uint8Array): void {
  const m = target === 'a' ? w.a : w.b
  try {
    const res = m.open(bytes)
    expect(Array.isArray(res.replies)).toBe(true)
  } catch (err) {
    if (!isEgtpError(err)) throw err
    expect(err.code).toMatch(/^ERR_[A-Z_]+$/)
  }
}

function stillLive (w: World): void {
  const ab = w.b.open(w.a.seal(peer(bob), text('ping')).frame)
  expect(ab.peer?.nodeId).toBe(alice.nodeId)
  expect(new TextDecoder().decode(ab.plaintext)).toBe('ping')
  const ba = w.a.open(w.b.seal(peer(alice), text('pong')).frame)
  expect(new TextDecoder().decode(ba.plaintext)).toBe('pong')
}

function bounded (w: World): void {
  for (const m of [w.a, w.b]) {
    const s = m.stats()
    expect(s.peers).toBeLessThanOrEqual(2) // garbage never creates a peer
    expect(s.sessions).toBeLessThanOrEqual(s.peers * (1 + DEFAULT_MAX_ARCHIVED_PER_PEER)) // current + archived
    // Cached verdicts: one per live session plus rejected initiations for a few seconds, under the hard cap.
    expect(s.cachedInitiations).toBeLessThanOrEqual(Math.min(DEFAULT_MAX_CACHED_INITIATIONS, s.sessions + 64))
    expect(s.replayRecords).toBeLessThanOrEqual(s.peers)
  }
}

type Edit = [number, number, 'flip' | 'set' | 'cut' | 'insert' | 'dup']
const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'set', 'cut', 'insert', 'dup')), { minLength: 1, maxLength: 6 })

function mutate (base: Uint8Array, list: Edit[]): Uint8Array {
  let bytes = Uint8Array.from(base)
  for (const [where, value, op] of list) {
    const i = where % Math.max(bytes.length, 1)
    if (op === 'flip') bytes[i] = bytes[i]! ^ (1 << (value % 8))
    else if (op === 'set') bytes[i] = value
    else if (op === 'cut') bytes = bytes.subarray(0, i)
    else if (op === 'dup') bytes = Uint8Array.from([...bytes, ...bytes.subarray(i)])
    else bytes = Uint8Array.from([...bytes.subarray(0, i), value, ...bytes.subarray(i)])
  }
  return bytes
}

describe('fuzz: SessionManager.open', () => {
  test('the corpus replays without a failure', () => {
    if (process.env.EGTP_FUZZ_WRITE_CORPUS === '1') {
      mkdirSync(CORPUS, { recursive: true })
      for (const [name, bytes] of Object.entries(world().frames)) writeFileSync(join(CORPUS, `${name}.bin`), bytes)
    }
    const files = readdirSync(CORPUS).filter(f => f.endsWith('.bin'))
    expect(files.length).toBeGreaterThan(0)
    const w = world()
    for (const f of files) {
      const bytes = new Uint8Array(readFileSync(join(CORPUS, f)))
      feed(w, 'a', bytes)
      feed(w, 'b', bytes)
      stillLive(w)
    }
    bounded(w)
  })

  test('random bytes', () => {
    const w = world()
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, toA) => {
      feed(w, toA ? 'a' : 'b', bytes)
    }), { seed: SEED, numRuns: RUNS })
    stillLive(w)
    bounded(w)
  })

  test('mutated real frames (and replays of the originals) never break the live session', () => {
    const w = world()
    const kinds = Object.keys(w.frames)
    fc.assert(fc.property(fc.constantFrom(...kinds), edits, fc.boolean(), fc.integer({ min: 0, max: 3000 }), (kind, list, toA, ms) => {
      w.tick(ms)
      feed(w, toA ? 'a' : 'b', mutate(w.frames[kind]!, list as Edit[]))
      feed(w, toA ? 'b' : 'a', w.frames[kind]!) // the untouched original, replayed
      stillLive(w)
    }), { seed: SEED, numRuns: Math.max(1, Math.floor(RUNS / 4)) })
    bounded(w)
  })
})
