// Scenario 7: an attacker captures an initiation and transport frames and replays them later. Every replay is
// refused with ERR_REPLAY and changes nothing: the working session keeps working, including after the
// responder restarted with its persisted replay state.
import { describe, expect, it } from 'vitest'
import { MemoryStore, isEgtpError } from '@egtp/interface'
import { DEFAULT_ARCHIVE_KEEP_MS } from '../src/defaults.ts'
import { SessionManager } from '../src/index.ts'
import { inspectSessions } from '../src/testing.ts'
import { FakeClock, connect, identity, peerOf, seededRandom, str, text } from './helpers/fixtures.ts'

const alice = identity(1)
const bob = identity(2)

function codeOf (fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (isEgtpError(err)) return err.code
    throw err
  }
  return 'no error'
}

async function pair (store?: MemoryStore): Promise<{ a: SessionManager, b: SessionManager, clock: FakeClock }> {
  const clock = new FakeClock()
  const a = new SessionManager({ identity: alice, clock, random: seededRandom(1) })
  const b = new SessionManager({ identity: bob, clock, random: seededRandom(2), ...(store === undefined ? {} : { store }) })
  await a.start()
  await b.start()
  return { a, b, clock }
}

function talk (a: SessionManager, b: SessionManager, label: string): void {
  expect(str(b.open(a.seal(peerOf(bob), text(`${label}>`)).frame).plaintext)).toBe(`${label}>`)
  expect(str(a.open(b.seal(peerOf(alice), text(`<${label}`)).frame).plaintext)).toBe(`<${label}`)
}

describe('scenario 7: captured frames replayed later', () => {
  it('a replayed initiation (with its early data) is ERR_REPLAY and leaves the working session alone', async () => {
    const { a, b, clock } = await pair()
    const { hi } = connect(a, b, peerOf(bob))
    talk(a, b, '1')
    const before = inspectSessions(b, alice.nodeId)
    clock.advance(30_000)
    expect(codeOf(() => b.open(hi))).toBe('ERR_REPLAY')
    expect(inspectSessions(b, alice.nodeId)).toEqual(before)
    expect(b.stats().replaysRejected).toBe(1)
    talk(a, b, '2')
  })

  it('replayed transport frames are ERR_REPLAY, in order, out of order and after newer frames', async () => {
    const { a, b, clock } = await pair()
    connect(a, b, peerOf(bob))
    const captured = [1, 2, 3].map(i => a.seal(peerOf(bob), text(`m${i}`)).frame)
    for (const f of captured) b.open(f)
    talk(a, b, 'x')
    const before = inspectSessions(b, alice.nodeId)
    clock.advance(10_000)
    for (const f of [captured[2]!, captured[0]!, captured[1]!, captured[0]!]) expect(codeOf(() => b.open(f))).toBe('ERR_REPLAY')
    expect(inspectSessions(b, alice.nodeId)).toEqual(before)
    talk(a, b, 'y')
  })

  it('a bare initiation replayed to a confirmed session does not keep it alive past the idle timeout', async () => {
    const { a, b, clock } = await pair()
    const bare = (() => {
      const frame = a.seal(peerOf(bob), text('first')).frame
      const hr = b.open(frame).replies[0]!
      // a's tick retransmits the bare initiation while b's response is "in flight"
      clock.advance(1_000)
      const retransmitted = a.tick()[0]!.frame
      b.open(a.open(hr).replies[0]!)
      return retransmitted
    })()
    expect(b.hasSession(alice.nodeId)).toBe(true)
    clock.advance(100_000)
    b.open(bare)
    clock.advance(20_000)
    expect(b.hasSession(alice.nodeId)).toBe(false)
  })

  it('an initiation replayed after its session was replaced and forgotten is ERR_REPLAY (the timestamp is old)', async () => {
    const { a, b, clock } = await pair()
    const { hi } = connect(a, b, peerOf(bob))
    // A new session replaces the first (both sides forget theirs, A initiates again).
    a.drop(bob.nodeId)
    clock.advance(1_000)
    connect(a, b, peerOf(bob))
    clock.advance(DEFAULT_ARCHIVE_KEEP_MS + 1_000)
    b.tick()
    expect(inspectSessions(b, alice.nodeId)).toHaveLength(1)
    const before = inspectSessions(b, alice.nodeId)
    expect(codeOf(() => b.open(hi))).toBe('ERR_REPLAY')
    expect(inspectSessions(b, alice.nodeId)).toEqual(before)
    talk(a, b, 'after')
  })

  it('after the responder restarts with its persisted store, the old initiation and frames are still refused', async () => {
    const store = new MemoryStore()
    const { a, b, clock } = await pair(store)
    const { hi } = connect(a, b, peerOf(bob))
    const data = a.seal(peerOf(bob), text('captured')).frame
    b.open(data)
    await b.flush()
    b.close()
    clock.advance(60_000)
    const b2 = new SessionManager({ identity: bob, clock, random: seededRandom(3), store })
    await b2.start()
    expect(codeOf(() => b2.open(hi))).toBe('ERR_REPLAY')
    expect(inspectSessions(b2, alice.nodeId)).toEqual([])
    // The captured transport frame names a session b2 never had: only the signed unknown-session hint comes back.
    const res = b2.open(data)
    expect(res.plaintext).toBeUndefined()
    expect(inspectSessions(b2, alice.nodeId)).toEqual([])
    // The genuine peer heals: the hint ends A's session, A's next message starts a fresh handshake.
    a.open(res.replies[0]!)
    const fresh = a.seal(peerOf(bob), text('again'))
    const opened = b2.open(fresh.frame)
    expect(str(opened.plaintext)).toBe('again')
    b2.open(a.open(opened.replies[0]!).replies[0]!)
    talk(a, b2, 'healed')
  })

  it('without a store a restarted responder cannot tell an old initiation from a new one (why the store exists)', async () => {
    const { a, b, clock } = await pair()
    const { hi } = connect(a, b, peerOf(bob))
    b.close()
    clock.advance(60_000)
    const b2 = new SessionManager({ identity: bob, clock, random: seededRandom(3) })
    expect(str(b2.open(hi).plaintext)).toBe('hello')
  })
})
