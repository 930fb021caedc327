/** Upper bounds (ms) of the round-trip histogram buckets; the last bucket is open-ended. */
export const RTT_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000] as const

/** A round-trip-time histogram. `buckets[i]` counts samples ≤ RTT_BUCKETS_MS[i] (the last: everything above). */
export interface HistogramSnapshot {
  count: number
  sumMs: number
  minMs: number
  maxMs: number
  buckets: number[]
  /** Estimated from the buckets (upper bound of the bucket holding the quantile). */
  p50Ms: number
  p99Ms: number
}

export class Histogram {
  count = 0
  sumMs = 0
  minMs = Infinity
  maxMs = 0
  /** One per bucket of {@link RTT_BUCKETS_MS} and one open-ended (a literal: cloned, cheaper than `fill`). */
  readonly buckets: number[] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]

  record (ms: number): void {
    this.count++
    this.sumMs += ms
    if (ms < this.minMs) this.minMs = ms
    if (ms > this.maxMs) this.maxMs = ms
    let i = 0
    while (i < RTT_BUCKETS_MS.length && ms > RTT_BUCKETS_MS[i]!) i++
    this.buckets[i]!++
  }

  /** Add `other`'s samples to this one. */
  add (other: Histogram): void {
    this.count += other.count
    this.sumMs += other.sumMs
    if (other.minMs < this.minMs) this.minMs = other.minMs
    if (other.maxMs > this.maxMs) this.maxMs = other.maxMs
    for (let i = 0; i < this.buckets.length; i++) this.buckets[i]! += other.buckets[i]!
  }

  #quantile (q: number): number {
    if (this.count === 0) return 0
    const target = Math.ceil(q * this.count)
    let seen = 0
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!
      if (seen >= target) return Math.min(this.maxMs, RTT_BUCKETS_MS[i] ?? this.maxMs)
    }
    return this.maxMs
  }

  snapshot (): HistogramSnapshot {
    return {
      count: this.count,
      sumMs: this.sumMs,
      minMs: this.count === 0 ? 0 : this.minMs,
      maxMs: this.maxMs,
      buckets: [...this.buckets],
      p50Ms: this.#quantile(0.5),
      p99Ms: this.#quantile(0.99)
    }
  }
}

/** Counters for one peer or one message type. */
export interface TrafficStats {
  messagesSent: number
  messagesReceived: number
  bytesSent: number
  bytesReceived: number
  failed: number
  /** Query round trips (send to reply). */
  rtt: HistogramSnapshot
}

class Traffic {
  messagesSent = 0
  messagesReceived = 0
  bytesSent = 0
  bytesReceived = 0
  failed = 0
  /**
   * Made at the first round trip: most peers of a server never send it a reply (and a fresh peer's first
   * contact, in V8's interpreter, pays for every object it makes).
   */
  #rtt: Histogram | undefined = undefined

  recordRtt (ms: number): void {
    (this.#rtt ??= new Histogram()).record(ms)
  }

  /** Add this one's round trips to `total`. */
  addRttTo (total: Histogram): void {
    if (this.#rtt !== undefined) total.add(this.#rtt)
  }

  snapshot (): TrafficStats {
    return {
      messagesSent: this.messagesSent,
      messagesReceived: this.messagesReceived,
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
      failed: this.failed,
      rtt: (this.#rtt ?? new Histogram()).snapshot()
    }
  }
}

/** Key for what does not fit the bounded tables. */
export const OTHER_KEY = '(other)'

/** A bounded table of {@link Traffic}: past `max` keys, new ones are counted under {@link OTHER_KEY}. */
class TrafficTable {
  readonly #max: number
  readonly #map = new Map<string, Traffic>()
  constructor (max: number) {
    this.#max = max
  }

  #lastKey: string | undefined
  #last: Traffic | undefined

  get (key: string): Traffic {
    // Entries are never removed: the last one looked up may be remembered (messages come in runs).
    if (key === this.#lastKey) return this.#last!
    const found = this.#lookup(key)
    this.#lastKey = key
    this.#last = found
    return found
  }

  #lookup (key: string): Traffic {
    let t = this.#map.get(key)
    if (t !== undefined) return t
    if (this.#map.size >= this.#max) key = OTHER_KEY
    t = this.#map.get(key)
    if (t === undefined) {
      t = new Traffic()
      this.#map.set(key, t)
    }
    return t
  }

  /** Every entry's round trips in one histogram. */
  rtt (): Histogram {
    const total = new Histogram()
    for (const t of this.#map.values()) t.addRttTo(total)
    return total
  }

  snapshot (): Record<string, TrafficStats> {
    const out: Record<string, TrafficStats> = {}
    for (const [k, v] of this.#map) out[k] = v.snapshot()
    return out
  }
}

/** Everything `node.stats()` reports. */
export interface NodeStats {
  messagesSent: number
  messagesReceived: number
  /** Re-sends of unacknowledged messages. */
  retransmissions: number
  /** Received again and not delivered again. */
  duplicates: number
  framesSent: number
  framesReceived: number
  bytesSent: number
  bytesReceived: number
  /** Sessions established (both roles). */
  handshakes: number
  /** Sessions replaced (restart, crossover, expiry, hint), by reason. */
  resets: Record<string, number>
  /** Inbound frames or messages dropped, by reason. */
  dropped: Record<string, number>
  /**
   * Inbound frames that were not session frames at all (undecodable): each closed the path it came on (a TCP
   * connection; the transport's own stats count its auth timeouts and refusals).
   */
  protocolViolations: number
  /** Outbound messages reported failed, by error code. */
  failed: Record<string, number>
  queries: { pending: number, succeeded: number, failed: number, late: number }
  handlers: { running: number, queued: number }
  unacked: { messages: number, bytes: number }
  peers: { known: number, dedupStreams: number }
  rtt: HistogramSnapshot
  perPeer: Record<string, TrafficStats>
  perType: Record<string, TrafficStats>
}

/** Mutable counters behind `node.stats()`. Bounded: per-peer and per-type tables have a maximum size. */
export class StatsCollector {
  messagesSent = 0
  messagesReceived = 0
  retransmissions = 0
  duplicates = 0
  framesSent = 0
  framesReceived = 0
  bytesSent = 0
  bytesReceived = 0
  handshakes = 0
  protocolViolations = 0
  queriesSucceeded = 0
  queriesFailed = 0
  queriesLate = 0
  readonly resets: Record<string, number> = {}
  readonly dropped: Record<string, number> = {}
  readonly failed: Record<string, number> = {}
  readonly peers: TrafficTable
  readonly types: TrafficTable

  constructor (maxPeers: number, maxTypes: number) {
    this.peers = new TrafficTable(maxPeers)
    this.types = new TrafficTable(maxTypes)
  }

  /** The counters, with the gauges other parts hold. */
  snapshot (live: Pick<NodeStats, 'queries' | 'handlers' | 'unacked' | 'peers'>): NodeStats {
    return {
      messagesSent: this.messagesSent,
      messagesReceived: this.messagesReceived,
      retransmissions: this.retransmissions,
      duplicates: this.duplicates,
      framesSent: this.framesSent,
      framesReceived: this.framesReceived,
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
      handshakes: this.handshakes,
      resets: { ...this.resets },
      dropped: { ...this.dropped },
      protocolViolations: this.protocolViolations,
      failed: { ...this.failed },
      ...live,
      // Every round trip is counted under exactly one type (an unknown one under OTHER_KEY): their sum is the
      // node's, and a round trip updates two histograms, not three.
      rtt: this.types.rtt().snapshot(),
      perPeer: this.peers.snapshot(),
      perType: this.types.snapshot()
    }
  }

  sent (peerId: string, type: string, bytes: number): void {
    this.messagesSent++
    const p = this.peers.get(peerId)
    const t = this.types.get(type)
    p.messagesSent++
    t.messagesSent++
    p.bytesSent += bytes
    t.bytesSent += bytes
  }

  /** `count` messages of one type with `bytes` in all (a batch's worth of {@link sent}). */
  sentMany (peerId: string, type: string, count: number, bytes: number): void {
    this.messagesSent += count
    const p = this.peers.get(peerId)
    const t = this.types.get(type)
    p.messagesSent += count
    t.messagesSent += count
    p.bytesSent += bytes
    t.bytesSent += bytes
  }

  received (peerId: string, type: string, bytes: number): void {
    this.messagesReceived++
    const p = this.peers.get(peerId)
    const t = this.types.get(type)
    p.messagesReceived++
    t.messagesReceived++
    p.bytesReceived += bytes
    t.bytesReceived += bytes
  }

  roundTrip (peerId: string, type: string, ms: number): void {
    this.peers.get(peerId).recordRtt(ms)
    this.types.get(type).recordRtt(ms)
  }

  failure (peerId: string, type: string, code: string): void {
    this.failed[code] = (this.failed[code] ?? 0) + 1
    this.peers.get(peerId).failed++
    this.types.get(type).failed++
  }

  drop (reason: string): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1
  }

  reset (reason: string): void {
    this.resets[reason] = (this.resets[reason] ?? 0) + 1
  }
}
