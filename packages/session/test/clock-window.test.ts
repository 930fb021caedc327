// Scenario 6 at the manager level: B's clock is an hour behind. By default nothing cares; in paranoid mode
// (clockWindowMs) A refuses B's initiation with ERR_CLOCK_WINDOW and answers with its own, which B accepts.
// The simulator versions (restarts, rekeys, one-way relay and idle expiry) are in scenarios.test.ts.
import { describe, expect, it } from 'vitest'
import { isEgtpError } from '@egtp/interface'
import type { Clock } from '@egtp/interface'
import { SessionManager } from '../src/index.ts'
import type { SessionManagerInit } from '../src/index.ts'
import { inspectSessions } from '../src/testing.ts'
import { FakeClock, identity, peerOf, seededRandom, str, text } from './helpers/fixtures.ts'

const alice = identity(1)
const bob = identity(2)
const HOUR = 3_600_000

function setup (aOptions: Partial<SessionManagerInit>): { a: SessionManager, b: SessionManager, clock: FakeClock } {
  const clock = new FakeClock()
  const behind: Clock = { now: () => clock.now() - HOUR, monotonic: () => clock.monotonic() }
  return {
    a: new SessionManager({ identity: alice, clock, random: seededRandom(1), ...aOptions }),
    b: new SessionManager({ identity: bob, clock: behind, random: seededRandom(2) }),
    clock
  }
}

describe("scenario 6: B's clock is an hour behind", () => {
  it('by default A accepts B\'s initiation', () => {
    const { a, b } = setup({})
    const res = a.open(b.seal(peerOf(alice), text('hi from the past')).frame)
    expect(str(res.plaintext)).toBe('hi from the past')
    expect(a.isEstablished(bob.nodeId)).toBe(false) // A answered; B has not confirmed yet
    expect(b.isEstablished(alice.nodeId)).toBe(false) // B's initiation is unanswered
    const confirm = b.open(res.replies[0]!)
    expect(b.isEstablished(alice.nodeId)).toBe(true)
    a.open(confirm.replies[0]!)
    expect(a.hasSession(bob.nodeId)).toBe(true)
    expect(a.isEstablished(bob.nodeId)).toBe(true)
    expect(a.isEstablished(alice.nodeId)).toBe(false) // unknown peer
  })

  it('in paranoid mode A refuses it with ERR_CLOCK_WINDOW, counts it, keeps no session, then connects with its own initiation', () => {
    const { a, b, clock } = setup({ clockWindowMs: 300_000 })
    const frame = b.seal(peerOf(alice), text('early')).frame
    let err: unknown
    try { a.open(frame) } catch (e) { err = e }
    expect(isEgtpError(err, 'ERR_CLOCK_WINDOW')).toBe(true)
    expect((err as Error).message).toMatch(/ms from our clock \(window 300000 ms\)/)
    expect(a.stats().clockWindowRejected).toBe(1)
    expect(inspectSessions(a, bob.nodeId)).toEqual([])
    // B's repeats get the cached verdict (no Diffie-Hellman), still coded.
    try { a.open(frame) } catch (e) { err = e }
    expect(isEgtpError(err, 'ERR_CLOCK_WINDOW')).toBe(true)
    // A owes B a fresh initiation of its own; the next tick sends it, and it outranks B's.
    clock.advance(1_000)
    const out = a.tick()
    expect(out.map(o => o.peer.nodeId)).toEqual([bob.nodeId])
    const res = b.open(out[0]!.frame)
    a.open(res.replies[0]!)
    expect(str(a.open(b.seal(peerOf(alice), text('now it works')).frame).plaintext)).toBe('now it works')
    expect(inspectSessions(a, bob.nodeId).find(s => s.current)).toMatchObject({ role: 'initiator', confirmed: true })
  })

  it('in paranoid mode an initiation from the future is refused too', () => {
    const clock = new FakeClock()
    const ahead: Clock = { now: () => clock.now() + HOUR, monotonic: () => clock.monotonic() }
    const a = new SessionManager({ identity: alice, clock, random: seededRandom(1), clockWindowMs: 300_000 })
    const b = new SessionManager({ identity: bob, clock: ahead, random: seededRandom(2) })
    let err: unknown
    try { a.open(b.seal(peerOf(alice), text('x')).frame) } catch (e) { err = e }
    expect(isEgtpError(err, 'ERR_CLOCK_WINDOW')).toBe(true)
  })
})
