import type { SimNode, Simulator } from './sim.ts'

/** Application traffic between nodes, with the send time of every message. */
export class Traffic {
  readonly sim: Simulator
  readonly sent = new Map<number, { from: SimNode, to: SimNode, at: number }>()
  #next = 1

  constructor (sim: Simulator) {
    this.sim = sim
  }

  send (from: SimNode, to: SimNode): number {
    const id = this.#next++
    this.sent.set(id, { from, to, at: this.sim.now })
    from.send(to, id)
    return id
  }

  /** Both directions, every `periodMs` (B offset by half a period), until `until`. */
  both (a: SimNode, b: SimNode, periodMs: number, until: number): void {
    this.sim.every(periodMs, until, () => { this.send(a, b) })
    this.sim.schedule(Math.floor(periodMs / 2), () => { this.sim.every(periodMs, until, () => { this.send(b, a) }) })
  }

  oneWay (a: SimNode, b: SimNode, periodMs: number, until: number): void {
    this.sim.every(periodMs, until, () => { this.send(a, b) })
  }

  /** Messages sent at or after `since` that never arrived. */
  lost (since = 0): number[] {
    return [...this.sent].filter(([id, m]) => m.at >= since && !m.to.delivered.has(id)).map(([id]) => id)
  }

  /** Messages sent in [since, until) that took longer than `maxMs` to arrive (or never did). */
  late (since: number, maxMs: number, until = this.sim.now - maxMs): number[] {
    return [...this.sent].filter(([id, m]) => m.at >= since && m.at < until && !((m.to.deliveredAt.get(id) ?? Infinity) - m.at <= maxMs)).map(([id]) => id)
  }

  /**
   * Frames delivered more than once (one transmission opened twice: a replay the session layer let through).
   * Application-level duplicates from retransmission are expected and not counted.
   */
  duplicated (): string[] {
    const nodes = new Set([...this.sent.values()].flatMap(m => [m.from, m.to]))
    return [...nodes].flatMap(n => [...n.transmissions].filter(([, c]) => c > 1).map(([tx]) => `${n.name}<-${tx}`))
  }
}
