// Randomized property: after any seeded mix of restarts (with or without a store), clock jumps, crossovers,
// loss, duplication and delay, once the disturbances stop the two nodes converge on one session within the
// stated bound, and every message sent after convergence is delivered on its first transmission.
// Replay a failure with EGTP_PROPERTY_SEED=<seed> (and EGTP_PROPERTY_RUNS for more runs).
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { DEFAULT_RECOVERY_QUIET_MS } from '../src/defaults.ts'
import { Simulator } from './helpers/sim.ts'
import { Traffic } from './helpers/traffic.ts'
import { identity } from './helpers/fixtures.ts'

const alice = identity(1)
const bob = identity(2)

const DISTURB_UNTIL_MS = 30_000
const TICK_MS = 1_000
const MAX_DELAY_MS = 50
const POLL_MS = 500
/**
 * The recovery bound after the last disturbance (and the last frame it left in flight): the quiet period
 * before a refused initiation is answered with our own, plus a tick to send it, plus a few round trips
 * (four relay polls on the relay path).
 */
const BOUND_MS = DEFAULT_RECOVERY_QUIET_MS + 2 * TICK_MS + 4 * POLL_MS + 4 * MAX_DELAY_MS

const event = fc.record({
  at: fc.integer({ min: 0, max: DISTURB_UNTIL_MS }),
  kind: fc.constantFrom('restartA', 'restartB', 'restartBoth', 'crossover'),
  clockJumpMs: fc.option(fc.integer({ min: -7_200_000, max: 7_200_000 }), { nil: undefined })
})

const scenario = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  relay: fc.boolean(),
  persistentA: fc.boolean(),
  persistentB: fc.boolean(),
  offsetA: fc.integer({ min: -7_200_000, max: 7_200_000 }),
  offsetB: fc.integer({ min: -7_200_000, max: 7_200_000 }),
  loss: fc.double({ min: 0, max: 0.3, noNaN: true }),
  duplicate: fc.double({ min: 0, max: 0.2, noNaN: true }),
  maxDelayMs: fc.integer({ min: 1, max: 300 }),
  events: fc.array(event, { maxLength: 6 })
})

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never

let worst = 0

async function check (s: Scenario): Promise<void> {
  const sim = new Simulator({
    seed: s.seed,
    link: { minDelayMs: 1, maxDelayMs: s.maxDelayMs, loss: s.loss, duplicate: s.duplicate },
    direct: !s.relay,
    relay: s.relay ? ['A>B', 'B>A'] : [],
    relayReplies: true,
    relayPollMs: POLL_MS,
    tickMs: TICK_MS
  })
  const A = await sim.add({ name: 'A', identity: alice, persistent: s.persistentA, wallOffsetMs: s.offsetA })
  const B = await sim.add({ name: 'B', identity: bob, persistent: s.persistentB, wallOffsetMs: s.offsetB })
  const traffic = new Traffic(sim)
  const end = DISTURB_UNTIL_MS + BOUND_MS + 20_000
  traffic.both(A, B, 300, end)
  for (const e of [...s.events].sort((x, y) => x.at - y.at)) {
    await sim.runUntil(e.at)
    const jump = (n: typeof A): number | undefined => e.clockJumpMs === undefined ? undefined : n.wallOffsetMs + e.clockJumpMs
    if (e.kind === 'restartA' || e.kind === 'restartBoth') await A.restart(jump(A))
    if (e.kind === 'restartB' || e.kind === 'restartBoth') await B.restart(jump(B))
    if (e.kind === 'crossover') {
      // Both lose their sessions at once and both send at the same instant.
      await A.restart(jump(A))
      await B.restart(jump(B))
      traffic.send(A, B)
      traffic.send(B, A)
    }
  }
  await sim.runUntil(DISTURB_UNTIL_MS)
  sim.link = { minDelayMs: 1, maxDelayMs: MAX_DELAY_MS, loss: 0, duplicate: 0 }
  // Frames sent during the disturbance may still be in flight for up to their delay.
  const calm = DISTURB_UNTIL_MS + s.maxDelayMs
  const t = await sim.runUntilConverged(A, B, calm + BOUND_MS)
  expect(t, 'converged within the bound').toBeDefined()
  worst = Math.max(worst, t! - calm)
  await sim.runUntil(end)
  expect(sim.converged(A, B), 'still converged at the end').toBe(true)
  const latency = MAX_DELAY_MS + (s.relay ? POLL_MS : 0)
  expect(traffic.late(t! + latency, latency), 'delivered on first transmission after convergence').toEqual([])
  expect(traffic.duplicated(), 'no frame opened twice').toEqual([])
}

describe('property: random restarts, clock jumps, crossovers, loss and delay converge', () => {
  const seed = process.env.EGTP_PROPERTY_SEED === undefined ? 20_040_808 : Number(process.env.EGTP_PROPERTY_SEED)
  const numRuns = process.env.EGTP_PROPERTY_RUNS === undefined ? 60 : Number(process.env.EGTP_PROPERTY_RUNS)
  it(`converges within ${BOUND_MS} ms of the last disturbance (seed ${seed}, ${numRuns} runs)`, async () => {
    await fc.assert(fc.asyncProperty(scenario, check), { seed, numRuns, endOnFailure: true })
    if (process.env.EGTP_PROPERTY_RUNS !== undefined) console.log(`worst convergence after the calm: ${worst} ms`)
  }, 300_000)
})
