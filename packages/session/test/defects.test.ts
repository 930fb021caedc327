// Issue 10's defects, each reproduced first on the code before the fix (they failed there) and kept here.
// 1 and 2 run on the deterministic simulator; 3–6 on two managers; 7 lives in @egtp/identity.
import { describe, expect, it, vi } from 'vitest'
import { isEgtpError } from '@egtp/interface'
import type { Clock } from '@egtp/interface'
import { SessionManager, TIMESTAMP_LEASE_MS, refusalReplies } from '../src/index.ts'
import { SymmetricState } from '../src/noise/state.ts'
import { Simulator } from './helpers/sim.ts'
import type { SimInit, SimNode } from './helpers/sim.ts'
import { Traffic } from './helpers/traffic.ts'
import { FakeClock, identity, peerOf, seededRandom, str, text } from './helpers/fixtures.ts'

const alice = identity(1)
const bob = identity(2)
const JITTER = { minDelayMs: 5, maxDelayMs: 40, loss: 0, duplicate: 0 }
const WINDOW = { clockWindowMs: 60_000 }

async function pair (opts: SimInit, b: { wallOffsetMs?: number, persistent?: boolean }): Promise<{ sim: Simulator, A: SimNode, B: SimNode, traffic: Traffic }> {
  const sim = new Simulator(opts)
  const A = await sim.add({ name: 'A', identity: alice, persistent: true, options: WINDOW })
  const B = await sim.add({ name: 'B', identity: bob, persistent: b.persistent ?? true, wallOffsetMs: b.wallOffsetMs ?? 0 })
  return { sim, A, B, traffic: new Traffic(sim) }
}

const paths: Array<[string, SimInit]> = [
  ['direct', { seed: 31, link: JITTER }],
  ['through a relay both ways', { seed: 32, direct: false, relay: ['A>B', 'B>A'], relayReplies: true, relayPollMs: 500 }]
]

describe('defect 1: a restarted peer with persisted state, a paranoid node, the restarted peer sends first', () => {
  for (const [name, opts] of paths) {
    it(`converges at once and loses nothing (${name})`, async () => {
      const { sim, A, B, traffic } = await pair(opts, {})
      traffic.both(A, B, 300, 5_000)
      await sim.runUntil(6_000)
      expect(sim.converged(A, B)).toBe(true)
      // B issued timestamps; its persisted lease ceiling is ahead of its clock. It restarts and speaks first.
      await B.restart()
      traffic.send(B, A)
      traffic.both(A, B, 300, 30_000)
      const t = await sim.runUntilConverged(A, B, 40_000)
      expect(t).toBeDefined()
      expect(t! - 6_000).toBeLessThan(5_000)
      await sim.runUntil(45_000)
      expect(traffic.lost()).toEqual([])
      expect(traffic.duplicated()).toEqual([])
      // Nothing was refused: a restarted node's timestamps stay within the lease of its clock.
      expect(A.errors.get('ERR_CLOCK_WINDOW') ?? 0).toBe(0)
    })
  }

  it('a restarted node\'s first timestamp is at most the lease ahead of its clock', async () => {
    const { sim, A, B, traffic } = await pair({ seed: 33, link: JITTER }, {})
    traffic.both(A, B, 300, 3_000)
    await sim.runUntil(4_000)
    await B.restart()
    const sealed = B.manager.seal(A.peerKey, text('x'))
    expect(sealed.sessionId).toBeDefined()
    const current = B.current(A)!
    expect(current.timestamp - B.clock.now()).toBeLessThanOrEqual(TIMESTAMP_LEASE_MS + 1)
  })
})

describe('defect 2: a paranoid node and a peer whose clock runs ahead, the peer speaking first', () => {
  for (const skew of [120_000, 3_000_000]) {
    for (const [name, opts] of paths) {
      it(`B at +${skew / 60_000} min: both directions deliver, B is told its skew (${name})`, async () => {
        const { sim, A, B, traffic } = await pair(opts, { wallOffsetMs: skew })
        traffic.send(B, A)
        traffic.both(A, B, 300, 20_000)
        const t = await sim.runUntilConverged(A, B, 30_000)
        expect(t).toBeDefined()
        expect(t!).toBeLessThan(5_000)
        await sim.runUntil(30_000)
        expect(traffic.lost()).toEqual([])
        expect(traffic.duplicated()).toEqual([])
        // A refused B's initiation (it is paranoid) and said so; B heard the signed notice and the skew.
        expect(A.errors.get('ERR_CLOCK_WINDOW')).toBeGreaterThan(0)
        const notice = B.events.find(e => e.type === 'clock-skew')
        expect(notice).toBeDefined()
        expect(Math.abs(Number(notice!.reason) - skew)).toBeLessThan(1_000)
      })
    }
  }
})

function managers (aInit: Partial<ConstructorParameters<typeof SessionManager>[0]> = {}, bClock?: Clock): { a: SessionManager, b: SessionManager, clock: FakeClock } {
  const clock = new FakeClock()
  return {
    a: new SessionManager({ identity: alice, clock, random: seededRandom(1), ...aInit }),
    b: new SessionManager({ identity: bob, clock: bClock ?? clock, random: seededRandom(2) }),
    clock
  }
}

function refusal (fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  throw new Error('expected a refusal')
}

describe('defect 3: a clock-window refusal is visible on both sides', () => {
  it('the refusing side logs it and counts it; the refused side gets a signed notice naming the skew', () => {
    const lines: string[] = []
    const logger = Object.assign(() => {}, { error: (f: string, ...a: unknown[]) => { lines.push([f, ...a].join(' ')) }, trace: () => {}, enabled: true, newScope: () => logger })
    const clock = new FakeClock()
    const ahead: Clock = { now: () => clock.now() + 120_000, monotonic: () => clock.monotonic() }
    const a = new SessionManager({ identity: alice, clock, random: seededRandom(1), logger, ...WINDOW })
    const b = new SessionManager({ identity: bob, clock: ahead, random: seededRandom(2) })
    const skews: number[] = []
    b.addEventListener('session:clock-skew', (e) => { skews.push(e.detail.skewMs) })
    const err = refusal(() => a.open(b.seal(peerOf(alice), text('x')).frame))
    expect(isEgtpError(err, 'ERR_CLOCK_WINDOW')).toBe(true)
    expect(a.stats().clockWindowRejected).toBe(1)
    expect(lines.some(l => l.includes('clock window'))).toBe(true)
    const replies = refusalReplies(err)
    expect(replies).toHaveLength(1)
    const res = b.open(replies[0]!)
    expect(res.peer?.nodeId).toBe(alice.nodeId)
    expect(skews).toEqual([120_000])
    expect(b.stats().clockRefusalsReceived).toBe(1)
  })

  it('a notice cannot be forged, nor applied to another initiation, nor drop a live session', () => {
    const clock = new FakeClock()
    const ahead: Clock = { now: () => clock.now() + 120_000, monotonic: () => clock.monotonic() }
    const a = new SessionManager({ identity: alice, clock, random: seededRandom(1), ...WINDOW })
    const b = new SessionManager({ identity: bob, clock: ahead, random: seededRandom(2) })
    const notice = refusalReplies(refusal(() => a.open(b.seal(peerOf(alice), text('x')).frame)))[0]!
    // Tampered: one byte of the clock field changed.
    const tampered = notice.slice()
    tampered[tampered.length - 70] = tampered[tampered.length - 70]! ^ 1
    expect(() => b.open(tampered)).toThrow()
    // The genuine notice: B gives way (drops its refused initiation, starts none for a while)...
    b.open(notice)
    expect(isEgtpError(refusal(() => b.seal(peerOf(alice), text('not yet'))), 'ERR_CLOCK_SKEW')).toBe(true)
    // ...so A's own recovery initiation connects them; the old notice then names no pending initiation.
    clock.advance(1_000)
    const out = a.tick()
    const res = b.open(out[0]!.frame)
    for (const r of res.replies) a.open(r)
    expect(str(b.open(a.seal(peerOf(bob), text('live')).frame).plaintext)).toBe('live')
    expect(isEgtpError(refusal(() => b.open(notice)), 'ERR_AUTH')).toBe(true)
    expect(str(a.open(b.seal(peerOf(alice), text('still live')).frame).plaintext)).toBe('still live')
  })
})

describe('defect 4: an initiation dropped from the cache is still recognised', () => {
  it('the initiator\'s identical re-send opens its early data (no ERR_REPLAY)', () => {
    const { a, b } = managers({ maxCachedInitiations: 1 })
    const carol = identity(3)
    const c = new SessionManager({ identity: carol, random: seededRandom(3) })
    const first = b.seal(peerOf(alice), text('one')).frame
    expect(str(a.open(first).plaintext)).toBe('one')
    // Another peer's initiation pushes B's out of the one-entry cache.
    a.open(c.seal(peerOf(alice), text('other')).frame)
    // B has not heard back yet: its next frame repeats the same initiation with more early data.
    const second = b.seal(peerOf(alice), text('two')).frame
    expect(str(a.open(second).plaintext)).toBe('two')
    // And a replay of that frame is still refused by the replay window.
    expect(isEgtpError(refusal(() => a.open(second)), 'ERR_REPLAY')).toBe(true)
  })
})

describe('defect 5: early data never exceeds what the receiver accepts', () => {
  it('with the handshake budget spent, the sender is told to wait (ERR_RATE_LIMITED) instead of sending what will be refused', () => {
    const { a, b, clock } = managers({}, undefined)
    const b2 = new SessionManager({ identity: bob, clock, random: seededRandom(2), maxEarlyDataMessages: 3, maxHandshakesPerPeerPerSecond: 1 })
    const a2 = new SessionManager({ identity: alice, clock, random: seededRandom(1), maxEarlyDataMessages: 3 })
    void a; void b
    const outcomes: string[] = []
    for (let i = 0; i < 5; i++) {
      try {
        const { frame } = b2.seal(peerOf(alice), text(`m${i}`))
        a2.open(frame)
        outcomes.push('ok')
      } catch (err) {
        outcomes.push((err as { code?: string }).code ?? String(err))
      }
    }
    expect(outcomes).toEqual(['ok', 'ok', 'ok', 'ERR_RATE_LIMITED', 'ERR_RATE_LIMITED'])
    // A second later the budget allows a new initiation, whose early data is accepted.
    clock.advance(1_000)
    expect(str(a2.open(b2.seal(peerOf(alice), text('later')).frame).plaintext)).toBe('later')
  })
})

describe('defect 6: rollback copies of handshake keys are zeroed', () => {
  it('after a handshake message is read, the snapshot taken for rollback holds only zeros', () => {
    const snaps: Array<ReturnType<SymmetricState['snapshot']>> = []
    const original = SymmetricState.prototype.snapshot
    const spy = vi.spyOn(SymmetricState.prototype, 'snapshot').mockImplementation(function (this: SymmetricState) {
      const snap = original.call(this)
      snaps.push(snap)
      return snap
    })
    try {
      const { a, b } = managers()
      const res = a.open(b.seal(peerOf(alice), text('x')).frame)
      b.open(res.replies[0]!)
    } finally {
      spy.mockRestore()
    }
    expect(snaps.length).toBeGreaterThanOrEqual(2)
    for (const snap of snaps) {
      expect(snap.ck.every(x => x === 0)).toBe(true)
      expect(snap.cs.k === undefined || snap.cs.k.every(x => x === 0)).toBe(true)
    }
  })
})

describe('a replayed initiation from the far future cannot make two paranoid nodes trade refusals', () => {
  it('the refusing node initiates on its own clock, and the pair connects', () => {
    const clock = new FakeClock()
    const twoHoursAhead: Clock = { now: () => clock.now() + 7_200_000, monotonic: () => clock.monotonic() }
    // Captured while B's clock ran two hours ahead, replayed later by someone else.
    const captured = new SessionManager({ identity: bob, clock: twoHoursAhead, random: seededRandom(9) }).seal(peerOf(alice), text('old')).frame
    const a = new SessionManager({ identity: alice, clock, random: seededRandom(1), ...WINDOW })
    const b = new SessionManager({ identity: bob, clock, random: seededRandom(2), ...WINDOW })
    expect(isEgtpError(refusal(() => a.open(captured)), 'ERR_CLOCK_WINDOW')).toBe(true)
    clock.advance(1_000)
    const out = a.tick()
    expect(out).toHaveLength(1)
    const res = b.open(out[0]!.frame)
    for (const r of res.replies) a.open(r)
    expect(str(b.open(a.seal(peerOf(bob), text('hello')).frame).plaintext)).toBe('hello')
    expect(str(a.open(b.seal(peerOf(alice), text('back')).frame).plaintext)).toBe('back')
    clock.advance(1_000)
    expect(a.tick()).toEqual([])
    expect(b.tick()).toEqual([])
    expect(a.stats().handshakesInitiated + b.stats().handshakesInitiated).toBe(1)
  })
})
