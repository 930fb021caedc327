import { describe, expect, it } from 'vitest'
import { SeededRandom } from '../src/random.ts'
import { FAULT_KINDS, MAX_FAULT_MS, buildSchedule, describeFault } from '../src/schedule.ts'

const init = {
  durationMs: 60_000,
  warmupMs: 5_000,
  meanGapMs: 6_000,
  nodes: 8,
  directNodes: [0, 1, 2, 3],
  relays: 2,
  trackers: 2,
  publicHosts: ['rly0', 'rly1', 'trk0', 'trk1', 'n0', 'n1', 'n2', 'n3', 'nat0', 'nat1']
}

describe('fault schedule', () => {
  it('is a function of the seed: the same seed replays the same faults', () => {
    expect(buildSchedule({ ...init, seed: 42 })).toEqual(buildSchedule({ ...init, seed: 42 }))
    expect(buildSchedule({ ...init, seed: 42 })).not.toEqual(buildSchedule({ ...init, seed: 43 }))
  })

  it('keeps faults inside the phase, after the warm-up, in time order', () => {
    for (let seed = 0; seed < 50; seed++) {
      const s = buildSchedule({ ...init, seed })
      expect(s.length).toBeGreaterThan(3)
      expect(s[0]!.atMs).toBeGreaterThan(init.warmupMs)
      expect(s.at(-1)!.atMs).toBeLessThanOrEqual(init.durationMs - MAX_FAULT_MS)
      for (let i = 1; i < s.length; i++) expect(s[i]!.atMs).toBeGreaterThan(s[i - 1]!.atMs)
    }
  })

  it('plays every kind of fault in a long run, and only moves nodes that have a public address', () => {
    const s = buildSchedule({ ...init, seed: 9, durationMs: 900_000, meanGapMs: 10_000 })
    expect(new Set(s.map(f => f.fault.kind))).toEqual(new Set(FAULT_KINDS))
    for (const { fault } of s) {
      if (fault.kind === 'move') expect(init.directNodes).toContain(fault.node)
      if (fault.kind === 'crossover') expect(fault.a).not.toBe(fault.b)
      expect(describeFault(fault)).not.toBe('')
    }
  })

  it('the PRNG is deterministic and in range', () => {
    const a = new SeededRandom(5)
    const b = new SeededRandom(5)
    for (let i = 0; i < 1000; i++) {
      const x = a.next()
      expect(x).toBe(b.next())
      expect(x).toBeGreaterThanOrEqual(0)
      expect(x).toBeLessThan(1)
    }
    expect(new SeededRandom(1).sample([1, 2, 3, 4], 4).sort()).toEqual([1, 2, 3, 4])
    expect(() => new SeededRandom(-1)).toThrow(RangeError)
  })
})
