// Scenario 5: both nodes initiate at the same instant; every order in which the two initiations and all the
// frames they cause can arrive is explored, and both nodes must end on the same session with every message
// delivered exactly once.
import { describe, expect, it } from 'vitest'
import { SessionManager } from '../src/index.ts'
import { inspectSessions } from '../src/testing.ts'
import { FakeClock, identity, peerOf, seededRandom, str, text } from './helpers/fixtures.ts'

const alice = identity(1)
const bob = identity(2)

interface Flight { to: 'A' | 'B', frame: Uint8Array }

interface Outcome { branching: number[], converged: boolean, delivered: string[], errors: string[] }

function run (choices: number[], skewMs: number): Outcome {
  const clock = new FakeClock()
  const bClock = { now: () => clock.now() + skewMs, monotonic: () => clock.monotonic() }
  const m = {
    A: new SessionManager({ identity: alice, clock, random: seededRandom(1) }),
    B: new SessionManager({ identity: bob, clock: bClock, random: seededRandom(2) })
  }
  const other = { A: 'B', B: 'A' } as const
  const key = { A: peerOf(alice), B: peerOf(bob) }
  const delivered: string[] = []
  const errors: string[] = []
  const inflight: Flight[] = []
  const branching: number[] = []
  const deliver = (f: Flight): void => {
    try {
      const res = m[f.to].open(f.frame)
      if (res.plaintext !== undefined) delivered.push(`${f.to}:${str(res.plaintext)!}`)
      for (const r of res.replies) inflight.push({ to: other[f.to], frame: r })
    } catch (err) {
      errors.push(`${f.to}:${(err as { code: string }).code}`)
    }
  }
  const drain = (): void => {
    while (inflight.length > 0) {
      const k = branching.length
      const pick = k < choices.length ? choices[k]! : 0
      branching.push(inflight.length)
      deliver(inflight.splice(pick, 1)[0]!)
      clock.advance(1)
    }
  }
  inflight.push({ to: 'B', frame: m.A.seal(key.B, text('a1')).frame })
  inflight.push({ to: 'A', frame: m.B.seal(key.A, text('b1')).frame })
  drain()
  for (let round = 2; round <= 3; round++) {
    inflight.push({ to: 'B', frame: m.A.seal(key.B, text(`a${round}`)).frame })
    inflight.push({ to: 'A', frame: m.B.seal(key.A, text(`b${round}`)).frame })
    drain()
  }
  const x = inspectSessions(m.A, bob.nodeId).find(s => s.current)
  const y = inspectSessions(m.B, alice.nodeId).find(s => s.current)
  const converged = x !== undefined && y !== undefined && x.timestamp === y.timestamp && x.initiator === y.initiator && x.confirmed && y.confirmed
  return { branching, converged, delivered: delivered.sort(), errors }
}

/** Every choice sequence: depth-first over the branching factors each run reports. */
function* allOrders (skewMs: number): Generator<[number[], Outcome]> {
  const stack: number[][] = [[]]
  while (stack.length > 0) {
    const prefix = stack.pop()!
    const out = run(prefix, skewMs)
    if (prefix.length === out.branching.length || prefix.length >= out.branching.length) {
      yield [prefix, out]
      continue
    }
    // Extend the prefix at the next position with every alternative.
    const width = out.branching[prefix.length]!
    for (let c = width - 1; c >= 0; c--) stack.push([...prefix, c])
  }
}

describe('scenario 5: crossover, messages crossing in every order', () => {
  for (const [label, skew] of [['same instant', 0], ["A's initiation newer", -50], ["B's initiation newer", 50]] as const) {
    it(`${label}: every interleaving converges on one session and delivers each message once`, () => {
      let paths = 0
      for (const [prefix, out] of allOrders(skew)) {
        paths++
        expect({ prefix, converged: out.converged }).toEqual({ prefix, converged: true })
        expect(out.delivered).toEqual(['A:b1', 'A:b2', 'A:b3', 'B:a1', 'B:a2', 'B:a3'])
      }
      expect(paths).toBe(44)
    })
  }
})
