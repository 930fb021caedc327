// Proof of address under load (WireGuard's cookie reply): a flood from one transport source no longer starves
// the handshakes of another, and cookies cannot be forged, outlive their secret, or be used from another source.
import { describe, expect, it } from 'vitest'
import { createComponentLogger, isEgtpError } from '@egtp/interface'
import { identityFromSeed } from '@egtp/identity'
import { COOKIE_SECRET_ROTATION_MS, SessionManager, refusalReplies } from '../src/index.ts'
import type { FrameOrigin, SessionManagerInit } from '../src/index.ts'
import { inspectSessions } from '../src/testing.ts'
import { sessionCodec } from '@egtp/codec/session'
import { FakeClock, identity, peerOf, seededRandom, str, text } from './helpers/fixtures.ts'

const alice = identity(1)
const bob = identity(2)
const FLOOD = { source: '198.51.100.7' }
const HONEST = { source: '203.0.113.5' }
/** Bob's budget: 100 initiations/s, so under load past 25/s (a quarter). */
const BUDGET: Partial<SessionManagerInit> = { maxHandshakesPerSecond: 100 }

let seed = 0
/** A throwaway identity's initiation to bob (a fresh manager each: per-peer budgets cannot stop these). */
function throwaway (clock: FakeClock): SessionManager {
  const s = new Uint8Array(32)
  new DataView(s.buffer).setUint32(0, ++seed)
  s[31] = 0xee
  return new SessionManager({ identity: identityFromSeed(s), clock })
}

interface Outcome { code: string, replies: Uint8Array[] }
function open (m: SessionManager, frame: Uint8Array, from?: FrameOrigin): Outcome {
  try {
    return { code: 'ok', replies: m.open(frame, from).replies }
  } catch (err) {
    if (!isEgtpError(err)) throw err
    return { code: err.code, replies: refusalReplies(err) }
  }
}

/** Play frames between `a` (at `from`) and `b` until neither has anything to say (bounded). */
function converse (a: SessionManager, b: SessionManager, first: Uint8Array, from: FrameOrigin): string[] {
  const codes: string[] = []
  let toB = [first]
  for (let round = 0; round < 4 && toB.length > 0; round++) {
    const toA = toB.flatMap(f => { const o = open(b, f, from); codes.push(o.code); return o.replies })
    toB = toA.flatMap(f => open(a, f).replies)
  }
  return codes
}

/** One step of a flood from FLOOD: `n` new identities, each answering its cookie reply at once when `smart`. */
function flood (b: SessionManager, clock: FakeClock, n: number, smart: boolean): void {
  for (let i = 0; i < n; i++) {
    const m = throwaway(clock)
    const hi = m.seal(peerOf(bob), text('spam')).frame
    if (smart) converse(m, b, hi, FLOOD)
    else open(b, hi, FLOOD)
    m.close()
  }
}

const tType = (f: Uint8Array): string => sessionCodec.decode(f).t

describe('cookie replies under load', () => {
  it('a sustained flood of initiations from one source (answering its cookies) does not stop another source\'s handshake', () => {
    const clock = new FakeClock()
    const b = new SessionManager({ identity: bob, clock, ...BUDGET })
    const a = new SessionManager({ identity: alice, clock })
    let established = false
    // 300 initiations per second from one source (three times bob's whole budget), for two seconds.
    for (let step = 0; step < 100; step++) {
      flood(b, clock, 6, true)
      if (step === 75) {
        converse(a, b, a.seal(peerOf(bob), text('hello')).frame, HONEST)
        established = inspectSessions(a, bob.nodeId).some(x => x.current && x.established)
      }
      clock.advance(20)
    }
    expect(established).toBe(true)
    expect(str(b.open(a.seal(peerOf(bob), text('through')).frame, HONEST).plaintext)).toBe('through')
    const s = b.stats()
    expect(s.cookieRepliesSent).toBeGreaterThan(0)
    expect(s.sourceRateLimited).toBeGreaterThan(0)
    // DH work stayed near the threshold plus the per-source budget, far below the 600 initiations sent.
    expect(s.handshakesAccepted).toBeLessThan(150)
  })

  it('not under load nothing changes: one round trip, no cookie, no MAC on the initiation', () => {
    const clock = new FakeClock()
    const b = new SessionManager({ identity: bob, clock, ...BUDGET })
    const a = new SessionManager({ identity: alice, clock })
    const hi = a.seal(peerOf(bob), text('hello')).frame
    expect(sessionCodec.decode(hi)).not.toHaveProperty('m')
    const res = b.open(hi, HONEST)
    expect(str(res.plaintext)).toBe('hello')
    expect(res.replies.map(tType)).toEqual(['hr'])
    expect(b.stats().cookieRepliesSent).toBe(0)
  })

  it('under load an initiation without a cookie MAC costs a MAC, not a DH: even garbage Noise bytes get a cookie reply', () => {
    const clock = new FakeClock()
    const b = new SessionManager({ identity: bob, clock, ...BUDGET })
    flood(b, clock, 30, false)
    const before = b.stats()
    const junk = sessionCodec.encode({ t: 'hi', h: new Uint8Array(120).fill(7) })
    const o = open(b, junk, HONEST)
    expect(o.code).toBe('ERR_RATE_LIMITED')
    expect(o.replies.map(tType)).toEqual(['hk'])
    const after = b.stats()
    expect(after.authFailures).toBe(before.authFailures) // never decrypted: no DH was done
    expect(after.cookieRepliesSent).toBe(before.cookieRepliesSent + 1)
  })

  it('forged cookie MACs and forged cookie replies are refused', () => {
    const clock = new FakeClock()
    const b = new SessionManager({ identity: bob, clock, ...BUDGET })
    const a = new SessionManager({ identity: alice, clock })
    flood(b, clock, 30, false)
    const hi = sessionCodec.decode(a.seal(peerOf(bob), text('hello')).frame) as { t: 'hi', h: Uint8Array }
    const forged = open(b, sessionCodec.encode({ ...hi, m: new Uint8Array(16).fill(1) }), HONEST)
    expect(forged.code).toBe('ERR_RATE_LIMITED')
    expect(forged.replies.map(tType)).toEqual(['hk'])
    const hk = sessionCodec.decode(forged.replies[0]!) as { t: 'hk', k: Uint8Array, x: Uint8Array, c: Uint8Array }
    const tampered = hk.c.slice()
    tampered[0]! ^= 1
    expect(open(a, sessionCodec.encode({ ...hk, c: tampered })).code).toBe('ERR_AUTH')
    // A reply in the name of a key we have no session with.
    expect(open(a, sessionCodec.encode({ ...hk, k: identity(9).publicKey })).code).toBe('ERR_AUTH')
    // A genuine reply to a different initiation (its mac1 differs) does not open either.
    const other = new SessionManager({ identity: identity(5), clock })
    const otherHk = open(b, other.seal(peerOf(bob), text('x')).frame, HONEST).replies[0]!
    expect(open(a, otherHk).code).toBe('ERR_AUTH')
    expect(a.stats().cookieRepliesReceived).toBe(0)
  })

  it('a cookie proves one source: used from another it is refused with a fresh cookie reply', () => {
    const clock = new FakeClock()
    const b = new SessionManager({ identity: bob, clock, ...BUDGET })
    const a = new SessionManager({ identity: alice, clock })
    flood(b, clock, 30, false)
    const first = open(b, a.seal(peerOf(bob), text('hello')).frame, HONEST)
    const withMac = a.open(first.replies[0]!).replies[0]!
    expect(sessionCodec.decode(withMac)).toHaveProperty('m')
    const elsewhere = open(b, withMac, { source: '192.0.2.99' })
    expect(elsewhere.code).toBe('ERR_RATE_LIMITED')
    expect(elsewhere.replies.map(tType)).toEqual(['hk'])
    // From the source it proves, the same frame is admitted.
    expect(open(b, withMac, HONEST).replies.map(tType)).toEqual(['hr'])
  })

  it('a cookie expires with the responder\'s secret, and the initiator stops using it before that', () => {
    const clock = new FakeClock()
    const b = new SessionManager({ identity: bob, clock, ...BUDGET, idleReceiveTimeoutMs: 600_000, rejectAfterMs: 600_000 })
    const a = new SessionManager({ identity: alice, clock, idleReceiveTimeoutMs: 600_000, rejectAfterMs: 600_000 })
    flood(b, clock, 30, false)
    const first = open(b, a.seal(peerOf(bob), text('hello')).frame, HONEST)
    const withMac = a.open(first.replies[0]!).replies[0]!
    clock.advance(COOKIE_SECRET_ROTATION_MS)
    flood(b, clock, 30, false)
    const late = open(b, withMac, HONEST)
    expect(late.code).toBe('ERR_RATE_LIMITED')
    expect(late.replies.map(tType)).toEqual(['hk'])
    // The initiator's own frames no longer carry the old cookie's MAC.
    expect(sessionCodec.decode(a.seal(peerOf(bob), text('again')).frame)).not.toHaveProperty('m')
  })

  it('a replayed cookie reply makes the initiator send nothing more', () => {
    const clock = new FakeClock()
    const b = new SessionManager({ identity: bob, clock, ...BUDGET })
    const a = new SessionManager({ identity: alice, clock })
    flood(b, clock, 30, false)
    const hk = open(b, a.seal(peerOf(bob), text('hello')).frame, HONEST).replies[0]!
    expect(a.open(hk).replies.map(tType)).toEqual(['hi'])
    expect(a.open(hk).replies).toEqual([])
  })

  it('each refusal is counted; the first per source per minute is logged at warn level', () => {
    const clock = new FakeClock()
    const lines: string[] = []
    const logger = createComponentLogger('egtp:*', l => { if (l.level === 'warn') lines.push(l.message) }).forComponent('egtp:session')
    const b = new SessionManager({ identity: bob, clock, ...BUDGET, logger, random: seededRandom(3) })
    flood(b, clock, 60, true)
    const s = b.stats()
    expect(s.cookieRepliesSent).toBeGreaterThanOrEqual(30)
    expect(s.rateLimited).toBe(s.cookieRepliesSent + s.sourceRateLimited)
    expect(lines.filter(l => l.includes(FLOOD.source)).length).toBe(s.sourceRateLimited > 0 ? 2 : 1)
    clock.advance(61_000)
    flood(b, clock, 60, false)
    expect(lines.filter(l => l.includes('cookie reply')).length).toBe(2)
  })

  it('a source label longer than MAX_SOURCE_LABEL_LENGTH is a RangeError', () => {
    const clock = new FakeClock()
    const b = new SessionManager({ identity: bob, clock })
    const a = new SessionManager({ identity: alice, clock })
    expect(() => b.open(a.seal(peerOf(bob), text('x')).frame, { source: 'x'.repeat(257) })).toThrow(RangeError)
  })
})
