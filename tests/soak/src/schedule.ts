// The fault schedule: a pure function of (seed, topology, duration). The run prints the seed; the same seed
// gives the same faults at the same offsets, so a failure replays.
import { SeededRandom } from './random.ts'

export type Fault =
  | { kind: 'kill9', node: number, downMs: number }
  | { kind: 'restart', node: number }
  | { kind: 'relay-restart', relay: number, hard: boolean }
  | { kind: 'tracker-restart', tracker: number, hard: boolean }
  | { kind: 'cut', host: string, ms: number }
  | { kind: 'partition', side: string[], ms: number }
  | { kind: 'loss', host: string, probability: number, ms: number }
  | { kind: 'latency', minMs: number, maxMs: number, ms: number }
  | { kind: 'skew', node: number, offsetMs: number, ms: number }
  | { kind: 'crossover', a: number, b: number, burst: number }
  | { kind: 'move', node: number }

export interface ScheduledFault { atMs: number, fault: Fault }

export interface ScheduleInit {
  seed: number
  /** Length of the fault phase (ms); faults start after `warmupMs` and end before the phase does. */
  durationMs: number
  warmupMs: number
  /** Mean gap between two faults (ms). */
  meanGapMs: number
  nodes: number
  /** Nodes with a public address (the others are behind NAT): only these can move. */
  directNodes: number[]
  relays: number
  trackers: number
  /** Namespaces on the public segment that link cuts, loss and partitions may hit. */
  publicHosts: string[]
}

/** Every kind appears at least once when the phase is long enough: the first faults cycle through them. */
export const FAULT_KINDS: ReadonlyArray<Fault['kind']> = [
  'kill9', 'restart', 'relay-restart', 'tracker-restart', 'cut', 'partition', 'loss', 'latency', 'skew', 'crossover', 'move'
]

/** The longest a fault leaves something broken (ms); nothing is scheduled closer than this to the phase end. */
export const MAX_FAULT_MS = 8_000
export const CLOCK_SKEW_MS = 3_600_000

export function buildSchedule (init: ScheduleInit): ScheduledFault[] {
  const rnd = new SeededRandom(init.seed)
  const out: ScheduledFault[] = []
  const order = rnd.sample(FAULT_KINDS, FAULT_KINDS.length)
  let at = init.warmupMs
  let i = 0
  for (;;) {
    at += Math.round(init.meanGapMs * (0.5 + rnd.next()))
    if (at > init.durationMs - MAX_FAULT_MS) break
    const kind = i < order.length ? order[i]! : rnd.pick(FAULT_KINDS)
    i++
    out.push({ atMs: at, fault: makeFault(kind, rnd, init) })
  }
  return out
}

function makeFault (kind: Fault['kind'], rnd: SeededRandom, init: ScheduleInit): Fault {
  const nodes = Array.from({ length: init.nodes }, (_, n) => n)
  const ms = rnd.int(2_000, MAX_FAULT_MS)
  switch (kind) {
    case 'kill9': return { kind, node: rnd.pick(nodes), downMs: rnd.int(500, 3_000) }
    case 'restart': return { kind, node: rnd.pick(nodes) }
    case 'relay-restart': return { kind, relay: rnd.int(0, init.relays - 1), hard: rnd.next() < 0.5 }
    case 'tracker-restart': return { kind, tracker: rnd.int(0, init.trackers - 1), hard: rnd.next() < 0.5 }
    case 'cut': return { kind, host: rnd.pick(init.publicHosts), ms }
    case 'partition': {
      const side = rnd.sample(init.publicHosts, Math.max(1, Math.floor(init.publicHosts.length / 2)))
      return { kind, side: side.sort(), ms }
    }
    case 'loss': return { kind, host: rnd.pick(init.publicHosts), probability: rnd.int(10, 50) / 100, ms }
    case 'latency': {
      const minMs = rnd.int(100, 500)
      return { kind, minMs, maxMs: minMs + rnd.int(100, 1_500), ms }
    }
    case 'skew': return { kind, node: rnd.pick(nodes), offsetMs: rnd.next() < 0.5 ? CLOCK_SKEW_MS : -CLOCK_SKEW_MS, ms }
    case 'crossover': {
      const [a, b] = rnd.sample(nodes, 2) as [number, number]
      return { kind, a, b, burst: rnd.int(5, 20) }
    }
    case 'move': return { kind, node: rnd.pick(init.directNodes) }
  }
}

export function describeFault (f: Fault): string {
  switch (f.kind) {
    case 'kill9': return `kill -9 node ${f.node}, back after ${f.downMs} ms`
    case 'restart': return `graceful restart of node ${f.node}`
    case 'relay-restart': return `${f.hard ? 'kill -9' : 'graceful'} restart of relay ${f.relay}`
    case 'tracker-restart': return `${f.hard ? 'kill -9' : 'graceful'} restart of tracker ${f.tracker}`
    case 'cut': return `link of ${f.host} cut for ${f.ms} ms`
    case 'partition': return `partition {${f.side.join(',')}} | rest for ${f.ms} ms`
    case 'loss': return `${Math.round(f.probability * 100)}% loss at ${f.host} for ${f.ms} ms`
    case 'latency': return `relay 1's path delayed ${f.minMs}–${f.maxMs} ms per chunk for ${f.ms} ms`
    case 'skew': return `node ${f.node} restarted with its clock ${f.offsetMs > 0 ? '+' : ''}${f.offsetMs / 60_000} min for ${f.ms} ms`
    case 'crossover': return `crossover: nodes ${f.a} and ${f.b} restart together, then ${f.burst} messages each way at once`
    case 'move': return `node ${f.node} moves to a new address`
  }
}
