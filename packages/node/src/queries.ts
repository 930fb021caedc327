import { CounterRing } from './counter-ring.ts'

/** A query waiting for its reply. */
export interface PendingQuery {
  readonly peerId: string
  /** The query's counter in our stream to the peer. */
  readonly key: number
  /**
   * The sender's entry: the query's ID is read from it only when reported (a timeout, a late reply), not
   * made for every query.
   */
  readonly message: { readonly id: Uint8Array }
  readonly type: string
  /** Monotonic ms. */
  readonly startedAt: number
  readonly deadline: number
  /** When its timeout fires, in `performance.now()` ms (the node's shared deadline timer). */
  readonly dueAt: number
  readonly resolve: (value: unknown) => void
  readonly reject: (error: Error) => void
  /** Timers and listeners to clear when settled (a soft timeout, an abort listener), if any. */
  cleanup: (() => void) | undefined
}

interface LateEntry {
  readonly peerId: string
  readonly type: string
  readonly id: Uint8Array
  readonly timedOutAt: number
}

/**
 * Pending queries, keyed by peer and message ID (so a reply from any other peer never matches), plus a
 * bounded, time-limited memory of timed-out ones so a late reply can be reported.
 */
export class PendingQueries {
  /**
   * By peer ID, then counter: the peer ID strings are the peers' own (their hash is cached), no key is built.
   * A ring, not a `Map`: queries come and go every round trip, and a long-lived map's table is rebuilt in the
   * old generation as they do (see {@link CounterRing}).
   */
  readonly #pending = new Map<string, CounterRing<PendingQuery>>()
  #size = 0
  readonly #late = new Map<string, LateEntry>()
  readonly #maxLate: number
  readonly #lateWindowMs: number

  constructor (maxLate: number, lateWindowMs: number) {
    this.#maxLate = maxLate
    this.#lateWindowMs = lateWindowMs
  }

  get size (): number {
    return this.#size
  }

  /** Whether any query to `peerId` waits. */
  hasPeer (peerId: string): boolean {
    return (this.#pending.get(peerId)?.size ?? 0) > 0
  }

  add (q: PendingQuery): void {
    let ofPeer = this.#pending.get(q.peerId)
    // A peer evicted from the peer table (never with queries pending) counts from 1 again when it comes back.
    if (ofPeer === undefined || (ofPeer.size === 0 && q.key < ofPeer.next)) {
      ofPeer = new CounterRing()
      this.#pending.set(q.peerId, ofPeer)
    }
    ofPeer.set(q.key, q)
    this.#size++
  }

  /** Whether `q` still waits (not taken). */
  has (q: PendingQuery): boolean {
    return this.#pending.get(q.peerId)?.get(q.key) === q
  }

  /** Remove and return the pending query (its cleanup already run). */
  take (peerId: string, key: number): PendingQuery | undefined {
    const ofPeer = this.#pending.get(peerId)
    const q = ofPeer?.get(key)
    if (q === undefined) return undefined
    ofPeer!.delete(key) // an emptied ring stays (no new one per query to a peer asked one at a time): sweep drops it
    this.#size--
    q.cleanup?.()
    return q
  }

  /** Remember a timed-out query for late replies. */
  remember (q: PendingQuery, now: number): void {
    const k = `${q.peerId}/${q.key}`
    if (this.#late.size >= this.#maxLate) {
      const oldest = this.#late.keys().next()
      if (oldest.done !== true) this.#late.delete(oldest.value)
    }
    this.#late.set(k, { peerId: q.peerId, type: q.type, id: q.message.id, timedOutAt: now })
  }

  /** The timed-out query a late reply answers, if still remembered (forgotten after this call). */
  takeLate (peerId: string, key: number, now: number): LateEntry | undefined {
    const k = `${peerId}/${key}`
    const e = this.#late.get(k)
    if (e === undefined) return undefined
    this.#late.delete(k)
    return e.timedOutAt + this.#lateWindowMs > now ? e : undefined
  }

  /** Forget late entries past the window, and the emptied rings of peers. */
  sweep (now: number): void {
    for (const [peerId, ofPeer] of this.#pending) if (ofPeer.size === 0) this.#pending.delete(peerId)
    for (const [k, e] of this.#late) {
      if (e.timedOutAt + this.#lateWindowMs > now) break
      this.#late.delete(k)
    }
  }

  /** The pending queries to `peerId` (not taken). */
  ofPeer (peerId: string): PendingQuery[] {
    return [...(this.#pending.get(peerId)?.values() ?? [])]
  }

  /** Remove and return every pending query. */
  drain (): PendingQuery[] {
    const all: PendingQuery[] = []
    for (const ofPeer of this.#pending.values()) all.push(...ofPeer.values())
    this.#pending.clear()
    this.#size = 0
    for (const q of all) q.cleanup?.()
    return all
  }
}
