// The scenarios 1–6 on the deterministic simulator (6 also in clock-window.test.ts; 7 and 8 are in
// replay.test.ts and self.test.ts,
// 5's exhaustive interleavings in crossover.test.ts). Two nodes A and B with persistent keys.
import { describe, expect, it } from 'vitest'
import { DEFAULT_IDLE_RECEIVE_TIMEOUT_MS } from '../src/defaults.ts'
import { Simulator } from './helpers/sim.ts'
import type { SimInit, SimNode } from './helpers/sim.ts'
import { Traffic } from './helpers/traffic.ts'
import { identity } from './helpers/fixtures.ts'

const alice = identity(1)
const bob = identity(2)
const JITTER = { minDelayMs: 5, maxDelayMs: 40, loss: 0, duplicate: 0 }

async function setup (opts: SimInit, persistent: boolean, extra: { a?: Partial<Parameters<Simulator['add']>[0]>, b?: Partial<Parameters<Simulator['add']>[0]> } = {}): Promise<{ sim: Simulator, A: SimNode, B: SimNode, traffic: Traffic }> {
  const sim = new Simulator(opts)
  const A = await sim.add({ name: 'A', identity: alice, persistent, ...extra.a })
  const B = await sim.add({ name: 'B', identity: bob, persistent, ...extra.b })
  return { sim, A, B, traffic: new Traffic(sim) }
}

/** First time ≥ since at which a message sent then was delivered on its first transmission and every later one too. */
function resumedAt (traffic: Traffic, since: number, maxLatencyMs: number): number | undefined {
  const msgs = [...traffic.sent.entries()].filter(([, m]) => m.at >= since).sort((x, y) => x[1].at - y[1].at)
  let candidate: number | undefined
  for (const [id, m] of msgs) {
    const ok = (m.to.deliveredAt.get(id) ?? Infinity) - m.at <= maxLatencyMs
    if (ok && candidate === undefined) candidate = m.at
    if (!ok) candidate = undefined
  }
  return candidate
}

for (const persistent of [true, false]) {
  const store = persistent ? 'with a store' : 'without a store'

  describe(`scenario 1: B restarts while A talks to it over a two-way path (${store})`, () => {
    it('converges within a few round trips and loses nothing', async () => {
      const { sim, A, B, traffic } = await setup({ seed: 1, link: JITTER }, persistent)
      traffic.both(A, B, 300, 30_000)
      await sim.runUntil(5_000)
      expect(sim.converged(A, B)).toBe(true)
      await B.restart()
      const t = await sim.runUntilConverged(A, B, 60_000)
      expect(t! - 5_000).toBeLessThan(1_000)
      await sim.runUntil(40_000)
      expect(traffic.lost()).toEqual([])
      expect(traffic.late(t!, 100)).toEqual([])
      expect(traffic.duplicated()).toEqual([])
    })
  })

  describe(`scenario 2: B restarts while A reaches it only through a store-and-forward relay (${store})`, () => {
    it('relay with replies to the authenticated sender: converges within a few relay polls', async () => {
      const { sim, A, B, traffic } = await setup({ seed: 2, direct: false, relay: ['A>B', 'B>A'], relayReplies: true, relayPollMs: 2_000 }, persistent)
      traffic.both(A, B, 500, 60_000)
      await sim.runUntil(10_000)
      expect(sim.converged(A, B)).toBe(true)
      await B.restart()
      const t = await sim.runUntilConverged(A, B, 60_000)
      expect(t! - 10_000).toBeLessThanOrEqual(4 * 2_000 + 1_000)
      await sim.runUntil(80_000)
      expect(traffic.lost()).toEqual([])
      expect(traffic.late(t!, 2 * 2_000 + 100)).toEqual([])
      expect(traffic.duplicated()).toEqual([])
    })

    it('pure one-way relay (no reply channel at all): delivery resumes, at worst after the idle timeout', async () => {
      const { sim, A, B, traffic } = await setup({ seed: 3, direct: false, relay: ['A>B'], relayPollMs: 2_000 }, persistent)
      A.maxAttempts = 2
      traffic.oneWay(A, B, 500, 400_000)
      await sim.runUntil(10_000)
      expect(B.delivered.size).toBeGreaterThan(10)
      await B.restart()
      await sim.runUntil(420_000)
      const resumed = resumedAt(traffic, 10_000, 2_000 + 100)
      // Without a store the repeated initiation rebuilds the session from the very next frame; with one, that
      // initiation is (correctly) a replay to B, and A's idle expiry starts a new one.
      const bound = persistent ? DEFAULT_IDLE_RECEIVE_TIMEOUT_MS + 2_000 + 1_000 : 2_000
      expect(resumed! - 10_000).toBeLessThanOrEqual(bound)
      expect(traffic.lost(resumed)).toEqual([])
      expect(traffic.duplicated()).toEqual([])
    })
  })

  describe(`scenario 3: A restarts (${store})`, () => {
    it('converges within a few round trips', async () => {
      const { sim, A, B, traffic } = await setup({ seed: 4, link: JITTER }, persistent)
      traffic.both(A, B, 300, 30_000)
      await sim.runUntil(5_000)
      await A.restart()
      const t = await sim.runUntilConverged(A, B, 60_000)
      expect(t! - 5_000).toBeLessThan(1_000)
      await sim.runUntil(40_000)
      expect(traffic.lost()).toEqual([])
      expect(traffic.late(t!, 100)).toEqual([])
      expect(traffic.duplicated()).toEqual([])
    })
  })

  describe(`scenario 4: both restart at once (${store})`, () => {
    it('converges within a few round trips', async () => {
      const { sim, A, B, traffic } = await setup({ seed: 5, link: JITTER }, persistent)
      traffic.both(A, B, 300, 30_000)
      await sim.runUntil(5_000)
      await A.restart()
      await B.restart()
      const t = await sim.runUntilConverged(A, B, 60_000)
      expect(t! - 5_000).toBeLessThan(1_000)
      await sim.runUntil(40_000)
      expect(traffic.lost()).toEqual([])
      expect(traffic.late(t!, 100)).toEqual([])
      expect(traffic.duplicated()).toEqual([])
    })
  })
}

describe('scenario 5: crossover under jitter, loss and duplication (see crossover.test.ts for every order)', () => {
  for (const seed of [11, 12, 13, 14, 15]) {
    it(`seed ${seed}: both initiate at the same instant and agree on one session`, async () => {
      const { sim, A, B, traffic } = await setup({ seed, link: { minDelayMs: 1, maxDelayMs: 80, loss: 0.1, duplicate: 0.1 } }, true)
      sim.schedule(100, () => { traffic.send(A, B); traffic.send(B, A) })
      traffic.both(A, B, 250, 20_000)
      const t = await sim.runUntilConverged(A, B, 20_000)
      expect(t).toBeDefined()
      await sim.runUntil(40_000)
      expect(sim.converged(A, B)).toBe(true)
      expect(traffic.lost()).toEqual([])
      expect(traffic.duplicated()).toEqual([])
    })
  }
})

describe("scenario 6: B's clock is an hour behind", () => {
  it('works by default: crossovers and restarts converge', async () => {
    const { sim, A, B, traffic } = await setup({ seed: 21, link: JITTER }, true, { b: { wallOffsetMs: -3_600_000 } })
    sim.schedule(100, () => { traffic.send(A, B); traffic.send(B, A) })
    traffic.both(A, B, 300, 60_000)
    expect(await sim.runUntilConverged(A, B, 5_000)).toBeDefined()
    await sim.runUntil(10_000)
    await B.restart()
    const t1 = await sim.runUntilConverged(A, B, 20_000)
    expect(t1! - 10_000).toBeLessThan(1_000)
    await sim.runUntil(20_000)
    await A.restart()
    const t2 = await sim.runUntilConverged(A, B, 30_000)
    expect(t2! - 20_000).toBeLessThan(1_000)
    await sim.runUntil(70_000)
    expect(traffic.lost()).toEqual([])
    expect(traffic.duplicated()).toEqual([])
  })

  it("paranoid mode rejects B's initiation with ERR_CLOCK_WINDOW, then A's own initiation connects them", async () => {
    const { sim, A, B, traffic } = await setup({ seed: 22, link: JITTER }, true, {
      a: { options: { clockWindowMs: 300_000 } }, b: { wallOffsetMs: -3_600_000 }
    })
    sim.schedule(100, () => { traffic.send(B, A) })
    await sim.runUntil(500)
    expect(A.errors.get('ERR_CLOCK_WINDOW')).toBeGreaterThan(0)
    traffic.both(A, B, 300, 30_000)
    const t = await sim.runUntilConverged(A, B, 10_000)
    expect(t).toBeLessThan(3_000)
    await sim.runUntil(40_000)
    expect(traffic.lost()).toEqual([])
  })

  it('paranoid mode with a skewed peer keeps delivering across rekeys (B rekeys with a logical timestamp; when A refuses it, A re-initiates)', async () => {
    const { sim, A, B, traffic } = await setup({ seed: 23, link: JITTER }, true, {
      a: { options: { clockWindowMs: 300_000, rekeyAfterMs: 3_600_000, rejectAfterMs: 3_600_000, idleReceiveTimeoutMs: 3_600_000 } },
      b: { wallOffsetMs: -3_600_000 }
    })
    traffic.both(A, B, 400, 600_000)
    await sim.runUntil(620_000)
    expect(traffic.lost()).toEqual([])
    expect(traffic.duplicated()).toEqual([])
    expect(B.events.filter(e => e.type === 'new').length).toBeGreaterThan(2)
  })

  it('paranoid mode: when B restarts and A reaches it only one-way, idle expiry still recovers', async () => {
    const { sim, A, B, traffic } = await setup({ seed: 24, link: JITTER }, false, {
      a: { options: { clockWindowMs: 300_000 } }, b: { wallOffsetMs: -3_600_000 }
    })
    traffic.both(A, B, 500, 10_000)
    await sim.runUntil(10_000)
    expect(sim.converged(A, B)).toBe(true)
    // From now on A reaches B only through a relay without a reply channel; B cannot reach A at all.
    sim.direct = false
    sim.relay = new Set(['A>B'])
    await B.restart()
    A.maxAttempts = 2
    traffic.oneWay(A, B, 500, 300_000)
    await sim.runUntil(320_000)
    const resumed = resumedAt(traffic, 10_000, 2_000 + 100)
    expect(resumed! - 10_000).toBeLessThanOrEqual(DEFAULT_IDLE_RECEIVE_TIMEOUT_MS + 2_000 + 1_000)
    expect(A.events.some(e => e.type === 'replaced' && e.reason === 'expired')).toBe(true)
    expect(traffic.lost(resumed)).toEqual([])
  })
})
