// The configurations the explorer runs: each small enough to explore exhaustively to its stated depth.
// Names are what a failure prints, so a pasted test finds its configuration here.
import type { Config } from './model.ts'

/** A and B hold one confirmed session (A initiated), then a tick passes. */
const ESTABLISHED = ['send A B', 'flush', 'tick']
const SHORT = { rekeyAfterMs: 2_000, rejectAfterMs: 3_000, idleReceiveTimeoutMs: 3_000 }
const BUDGET = { maxEarlyDataMessages: 3, maxHandshakesPerPeerPerSecond: 1 }

function oneWay (name: string, restart: string): Config {
  return {
    name,
    nodes: [{ name: 'A', persistent: false }, { name: 'B', persistent: true }],
    direct: false,
    relay: ['A>B'],
    setup: ['send A B', 'flush', 'tick'],
    sends: [['A', 'B', 2]],
    events: [restart],
    depth: 3
  }
}

export const configs: Record<string, Config> = {
  /** Defect 1: B restarts with its store; A is paranoid (60 s window); B speaks first. */
  'restart-store-window': {
    name: 'restart-store-window',
    nodes: [{ name: 'A', persistent: false, options: { clockWindowMs: 60_000 } }, { name: 'B', persistent: true }],
    setup: [...ESTABLISHED, 'restart B store'],
    sends: [['B', 'A', 1], ['A', 'B', 1]],
    depth: 4
  },
  /** Defect 2: B's clock runs 2 min ahead of paranoid A (60 s window); B speaks first. */
  'skew-window': {
    name: 'skew-window',
    nodes: [{ name: 'A', persistent: false, options: { clockWindowMs: 60_000 } }, { name: 'B', persistent: false, wallOffsetMs: 120_000 }],
    setup: [],
    sends: [['B', 'A', 1], ['A', 'B', 1]],
    depth: 4
  },
  /** Both initiate at once (scenario 5), every order of every frame; one duplication or loss on top. */
  crossover: {
    name: 'crossover',
    nodes: [{ name: 'A', persistent: false }, { name: 'B', persistent: false }],
    setup: [],
    sends: [['A', 'B', 1], ['B', 'A', 1]],
    faultBudget: 1,
    depth: 4
  },
  /** An established pair; B restarts with or without its store, either side may speak first. */
  'restart-two-way': {
    name: 'restart-two-way',
    nodes: [{ name: 'A', persistent: true }, { name: 'B', persistent: true }],
    setup: ESTABLISHED,
    sends: [['A', 'B', 1], ['B', 'A', 1]],
    events: ['restart B store', 'restart B wipe'],
    depth: 4
  },
  /** Only A→B through a relay that carries no replies: hints and responses never come back; B restarts. */
  'one-way-relay': oneWay('one-way-relay', 'restart B wipe'),
  /**
   * The same with B's store kept: B's owed recovery initiation (which cannot reach A) carries a leased timestamp
   * up to an hour ahead, so it outranks every initiation A makes (defect 1 on a one-way path).
   */
  'one-way-relay-store': oneWay('one-way-relay-store', 'restart B store'),
  /** Relayed both ways, replies carried: a restarted B is told who sent a frame and may answer it. */
  'relay-two-way': {
    name: 'relay-two-way',
    nodes: [{ name: 'A', persistent: true }, { name: 'B', persistent: true }],
    direct: false,
    relay: ['A>B', 'B>A'],
    relayReplies: true,
    setup: ESTABLISHED,
    sends: [['A', 'B', 1], ['B', 'A', 1]],
    events: ['restart B wipe'],
    depth: 4
  },
  /** The initiator A restarts (with or without its store) on an established pair. */
  'restart-initiator': {
    name: 'restart-initiator',
    nodes: [{ name: 'A', persistent: true }, { name: 'B', persistent: true }],
    setup: ESTABLISHED,
    sends: [['A', 'B', 1], ['B', 'A', 1]],
    events: ['restart A store', 'restart A wipe'],
    depth: 4
  },
  /** Both paranoid (60 s window), good clocks, both initiate at once: the window must not get in the way. */
  'window-crossover': {
    name: 'window-crossover',
    nodes: [{ name: 'A', persistent: true, options: { clockWindowMs: 60_000 } }, { name: 'B', persistent: true, options: { clockWindowMs: 60_000 } }],
    setup: [],
    sends: [['A', 'B', 1], ['B', 'A', 1]],
    depth: 4
  },
  /** Wall clocks step by ±2 h on an established pair (no window: the logical clock must carry it). */
  'clock-step': {
    name: 'clock-step',
    nodes: [{ name: 'A', persistent: true }, { name: 'B', persistent: true }],
    setup: ESTABLISHED,
    sends: [['A', 'B', 1], ['B', 'A', 1]],
    events: ['clock B -7200000', 'clock A 7200000'],
    depth: 4
  },
  /** Rekey, reject and idle timers lifted down to seconds so they fire inside the explored depth. */
  'short-timers': {
    name: 'short-timers',
    nodes: [{ name: 'A', persistent: false, options: SHORT }, { name: 'B', persistent: false, options: SHORT }],
    setup: ESTABLISHED,
    sends: [['A', 'B', 1], ['B', 'A', 1]],
    faultBudget: 1,
    depth: 3
  },
  /**
   * B's table holds more peers than `tickMaxPeers` (lifted down to 1 by name), so each of its ticks checks the
   * expiry of one peer (A or C, in turn) and retransmits every unanswered handshake; timers are short enough
   * to fire inside the explored depth.
   */
  'sliced-tick': {
    name: 'sliced-tick',
    nodes: [
      { name: 'A', persistent: false, options: SHORT },
      { name: 'B', persistent: false, options: { ...SHORT, tickMaxPeers: 1 } },
      { name: 'C', persistent: false, options: SHORT }
    ],
    setup: ['send A B', 'send C B', 'flush', 'tick'],
    sends: [['A', 'B', 1], ['B', 'C', 1]],
    faultBudget: 1,
    depth: 4
  },
  /** Defect 4: B remembers one initiation; C's evicts A's while A is still repeating it. */
  'min-caches': {
    name: 'min-caches',
    nodes: [
      { name: 'A', persistent: false },
      { name: 'B', persistent: false, options: { maxCachedInitiations: 1, maxArchivedPerPeer: 1 } },
      { name: 'C', persistent: false }
    ],
    setup: [],
    sends: [['A', 'B', 2], ['C', 'B', 1]],
    depth: 4
  },
  /**
   * B is always under load (a load threshold below one initiation per second, lifted down by name): every new
   * initiation to it must first prove its source with a cookie reply. A and C initiate to B while B initiates
   * to A.
   */
  'under-load': {
    name: 'under-load',
    nodes: [
      { name: 'A', persistent: false },
      { name: 'B', persistent: false, options: { handshakeLoadThresholdPerSecond: 0.5 } },
      { name: 'C', persistent: false }
    ],
    setup: [],
    sends: [['A', 'B', 1], ['C', 'B', 1], ['B', 'A', 1]],
    depth: 4
  },
  /** Defect 5: three early-data messages per initiation and one handshake per second; A sends five at once. */
  'handshake-budget': {
    name: 'handshake-budget',
    nodes: [{ name: 'A', persistent: false, options: BUDGET }, { name: 'B', persistent: false, options: BUDGET }],
    setup: ['send A B', 'send A B', 'send A B', 'send A B', 'send A B'],
    sends: [],
    depth: 4
  }
}
