// The replay window against a plain model: accept a counter iff it was never accepted and is not 2048 or more
// below the highest accepted one. Sequences mix in-order runs (no bitmap yet), gaps, reordering and replays.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { REPLAY_WINDOW } from '../src/index.ts'
import { ReplayWindow } from '../src/testing.ts'

class Model {
  readonly seen = new Set<number>()
  top = -1
  check (n: number): boolean { return !this.seen.has(n) && n + REPLAY_WINDOW > this.top }
  update (n: number): void { this.seen.add(n); this.top = Math.max(this.top, n) }
}

function run (ops: number[]): void {
  const w = new ReplayWindow()
  const m = new Model()
  for (const [i, n] of ops.entries()) {
    const ok = m.check(n)
    expect({ i, n, ok: w.check(n) }).toEqual({ i, n, ok })
    if (ok) { w.update(n); m.update(n) }
    expect(w.top).toBe(m.top)
  }
}

const step = fc.oneof(
  { weight: 6, arbitrary: fc.constant('next' as const) },
  { weight: 2, arbitrary: fc.integer({ min: 2, max: 100 }).map(d => ({ jump: d })) },
  { weight: 1, arbitrary: fc.integer({ min: 2_000, max: 5_000 }).map(d => ({ jump: d })) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 2_100 }).map(d => ({ back: d })) }
)

describe('ReplayWindow', () => {
  it('matches the model on seeded mixes of in-order runs, gaps, reordering and replays', () => {
    fc.assert(fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
      const ops: number[] = []
      let hi = -1
      for (const s of steps) {
        const n = s === 'next' ? hi + 1 : 'jump' in s ? hi + s.jump : Math.max(0, hi - s.back)
        ops.push(n)
        hi = Math.max(hi, n)
      }
      run(ops)
    }), { seed: 6479, numRuns: 300 })
  })

  it('in order from 0 with no gap: every counter once, every repeat refused', () => {
    run([0, 1, 2, 3, 2, 0, 4, 5, 5, 6])
  })

  it('the first gap at every position within a block keeps what was seen (block edges included)', () => {
    for (const top of [0, 30, 31, 32, 33, 63, 64, 2047, 2048, 2100]) {
      const ops = Array.from({ length: top + 1 }, (_, i) => i)
      run([...ops, top + 5, top + 1, top, 0, top + 2, top + 5, top + 3, top + 4])
    }
  })

  it('starting with a gap (first counter above 0) and far jumps', () => {
    run([5, 0, 1, 5, 3_000, 900, 953, 952, 2_000, 3_000, 1_000_000, 997_953, 997_952, 2 ** 52])
  })
})
