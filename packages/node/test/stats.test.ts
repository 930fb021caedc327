import { describe, expect, test } from 'vitest'
import { Histogram, OTHER_KEY, StatsCollector } from '../src/stats.ts'

const live = { queries: { pending: 0, succeeded: 0, failed: 0, late: 0 }, handlers: { running: 0, queued: 0 }, unacked: { messages: 0, bytes: 0 }, peers: { known: 0, dedupStreams: 0 } }

describe('StatsCollector round trips', () => {
  test("the node's histogram is the sum of the per-type ones, types past the table's bound included", () => {
    const stats = new StatsCollector(8, 2) // two types kept; a third is counted under OTHER_KEY
    const samples: Array<[string, string, number]> = [['p1', 'a', 0.4], ['p1', 'b', 7], ['p2', 'c', 250], ['p2', 'a', 1.5], ['p3', 'd', 40_000]]
    const expected = new Histogram()
    for (const [peer, type, ms] of samples) {
      stats.roundTrip(peer, type, ms)
      expected.record(ms)
    }
    const snap = stats.snapshot(live)
    expect(snap.rtt).toEqual(expected.snapshot())
    expect(snap.rtt.count).toBe(5)
    expect(snap.rtt.minMs).toBe(0.4)
    expect(snap.rtt.maxMs).toBe(40_000)
    expect(Object.keys(snap.perType).sort()).toEqual([OTHER_KEY, 'a', 'b'].sort())
    expect(snap.perType[OTHER_KEY]!.rtt.count).toBe(2)
    expect(snap.perPeer.p2!.rtt.count).toBe(2)
  })

  test('no round trip: an empty histogram', () => {
    const stats = new StatsCollector(8, 8)
    stats.sent('p1', 'a', 10) // traffic without a round trip
    expect(stats.snapshot(live).rtt).toEqual(new Histogram().snapshot())
  })
})
