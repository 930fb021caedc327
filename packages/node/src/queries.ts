/** A query waiting for its reply. */
export interface PendingQuery {
  readonly peerId: string
  /** The query's counter in our stream to the peer. */
  readonly key: number
  readonly id: Uint8Array
  readonly type: string
  /** Monotonic ms. */
  readonly startedAt: number
  readonly deadline: number
  readonly resolve: (value: unknown) => void
  readonly reject: (error: Error) => void
  /** Timers and listeners to clear when settled. */
  cleanup: () => void
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
  readonly #pending = new Map<string, PendingQuery>()
  readonly #late = new Map<string, LateEntry>()
  readonly #maxLate: number
  readonly #lateWindowMs: number

  constructor (maxLate: number, lateWindowMs: number) {
    this.#maxLate = maxLate
    this.#lateWindowMs = lateWindowMs
  }

  get size (): number {
    return this.#pending.size
  }

  add (q: PendingQuery): void {
    this.#pending.set(`${q.peerId}/${q.key}`, q)
  }

  /** Remove and return the pending query (its cleanup already run). */
  take (peerId: string, key: number): PendingQuery | undefined {
    const k = `${peerId}/${key}`
    const q = this.#pending.get(k)
    if (q === undefined) return undefined
    this.#pending.delete(k)
    q.cleanup()
    return q
  }

  /** Remember a timed-out query for late replies. */
  remember (q: PendingQuery, now: number): void {
    const k = `${q.peerId}/${q.key}`
    if (this.#late.size >= this.#maxLate) {
      const oldest = this.#late.keys().next()
      if (oldest.done !== true) this.#late.delete(oldest.value)
    }
    this.#late.set(k, { peerId: q.peerId, type: q.type, id: q.id, timedOutAt: now })
  }

  /** The timed-out query a late reply answers, if still remembered (forgotten after this call). */
  takeLate (peerId: string, key: number, now: number): LateEntry | undefined {
    const k = `${peerId}/${key}`
    const e = this.#late.get(k)
    if (e === undefined) return undefined
    this.#late.delete(k)
    return e.timedOutAt + this.#lateWindowMs > now ? e : undefined
  }

  /** Forget late entries past the window. */
  sweep (now: number): void {
    for (const [k, e] of this.#late) {
      if (e.timedOutAt + this.#lateWindowMs > now) break
      this.#late.delete(k)
    }
  }

  /** Remove and return every pending query. */
  /** The pending queries to `peerId` (not taken). */
  ofPeer (peerId: string): PendingQuery[] {
    const out: PendingQuery[] = []
    for (const q of this.#pending.values()) if (q.peerId === peerId) out.push(q)
    return out
  }

  drain (): PendingQuery[] {
    const all = [...this.#pending.values()]
    this.#pending.clear()
    for (const q of all) q.cleanup()
    return all
  }
}
