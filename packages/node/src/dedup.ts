import { compactCopy } from '@egtp/interface'
import { EPOCH_BYTES, isEpoch } from './ids.ts'

/** What the receiver should do with a reliable message. */
export type Verdict =
  | 'new' // deliver it
  | 'duplicate' // delivered before (or settled by the sender): acknowledge again, do not deliver
  | 'pending' // accepted, waiting for a handler slot: ignore (it will be acknowledged)
  | 'uncertain' // recorded before a crash, maybe delivered: tell the sender (`u`), do not deliver
  | 'full' // too many out-of-order IDs in this stream: refuse (the sender re-sends later)

/** The receiver's memory of one sender stream (one run of one peer). */
export interface DedupStream {
  readonly peerId: string
  readonly epoch: Uint8Array
  /** Every counter ≤ low is delivered or settled by the sender. */
  low: number
  /** Delivered counters above `low` (the shared empty set {@link NONE} until there is one: most streams never have any). */
  above: ReadonlySet<number>
  /** Accepted, not delivered yet. Never persisted. */
  pending: ReadonlySet<number>
  /** Restored from a journal: may or may not have been delivered before a crash. */
  uncertain: ReadonlySet<number>
  /** Wall-clock ms of the last message. */
  lastActivity: number
}

export interface InboundDedupInit {
  maxStreams: number
  maxStreamsPerPeer: number
  maxReorder: number
  retentionMs: number
}

/** A stream as persisted. */
export interface StreamSnapshot {
  p: string
  e: Uint8Array
  l: number
  a: number[]
  u: number[]
  x: number
}

/** The sets of a stream that holds nothing there: one shared, never written (a Set costs ~180 bytes per stream). */
const NONE: ReadonlySet<number> = new Set()

/** `set` with `n` added: a new set in place of {@link NONE}. */
function added (set: ReadonlySet<number>, n: number): ReadonlySet<number> {
  if (set === NONE) return new Set([n])
  ;(set as Set<number>).add(n)
  return set
}

/** Remove `n` from `set`; whether it was there. */
function removed (set: ReadonlySet<number>, n: number): boolean {
  return set !== NONE && (set as Set<number>).delete(n)
}

/** `set`, or {@link NONE} when it became empty. */
function compact (set: ReadonlySet<number>): ReadonlySet<number> {
  return set.size === 0 ? NONE : set
}

/**
 * Receiver-side de-duplication by message ID, bounded: per sender stream a low-water mark plus the
 * out-of-order IDs above it, so memory does not grow with traffic. Sender floors (`b.f`) close gaps left
 * by messages the sender gave up. Streams are forgotten `retentionMs` after their last message, which
 * must outlast the sender's retry horizon.
 */
export class InboundDedup {
  readonly #init: InboundDedupInit
  /**
   * A peer's streams (one per run of it), found by comparing epochs: no key string per stream. Most peers
   * have one: that stream itself, not an array of one.
   */
  readonly #byPeer = new Map<string, DedupStream | DedupStream[]>()
  #size = 0

  constructor (init: InboundDedupInit) {
    this.#init = init
  }

  get size (): number {
    return this.#size
  }

  /**
   * The stream for `peerId`'s `epoch` (its first EPOCH_BYTES: a message ID may be passed), created if needed;
   * `undefined` when the table is full.
   */
  stream (peerId: string, epoch: Uint8Array, now: number): DedupStream | undefined {
    // A peer has a stream or two (one per run of it): comparing epochs beats building a key per frame.
    const known = this.#byPeer.get(peerId)
    const found = findEpoch(known, epoch)
    if (found !== undefined) {
      found.lastActivity = now
      return found
    }
    const mine = known === undefined ? [] : Array.isArray(known) ? known : [known]
    if (mine.length >= this.#init.maxStreamsPerPeer) {
      // A peer that restarted this often: its oldest run cannot still be re-sending.
      const oldest = mine.reduce((a, b) => (a.lastActivity <= b.lastActivity ? a : b))
      this.#remove(oldest)
    }
    if (this.#size >= this.#init.maxStreams) this.sweep(now)
    if (this.#size >= this.#init.maxStreams) return undefined
    const s: DedupStream = {
      peerId, epoch: compactCopy(epoch.subarray(0, EPOCH_BYTES)), low: 0, above: NONE, pending: NONE, uncertain: NONE, lastActivity: now
    }
    this.#add(s)
    return s
  }

  check (s: DedupStream, counter: number): Verdict {
    // The size tests skip the lookups of in-order traffic, where these sets are empty.
    if (s.uncertain.size > 0 && s.uncertain.has(counter)) return 'uncertain'
    if (counter <= s.low || (s.above.size > 0 && s.above.has(counter))) return 'duplicate'
    if (s.pending.size > 0 && s.pending.has(counter)) return 'pending'
    if (s.above.size + s.pending.size >= this.#init.maxReorder) return 'full'
    return 'new'
  }

  /** Accepted for delivery (a handler slot or the journal is awaited). */
  accept (s: DedupStream, counter: number): void {
    s.pending = added(s.pending, counter)
  }

  /** Not delivered after all (refused or the node stopped): a re-send will be delivered. */
  release (s: DedupStream, counter: number): void {
    if (removed(s.pending, counter)) s.pending = compact(s.pending)
  }

  /** Handed to the handler. */
  delivered (s: DedupStream, counter: number): void {
    if (removed(s.pending, counter)) s.pending = compact(s.pending)
    if (counter <= s.low) return
    if (counter === s.low + 1) {
      s.low = counter
      if (s.above === NONE) return
      while (removed(s.above, s.low + 1)) s.low++
      s.above = compact(s.above)
    } else {
      s.above = added(s.above, counter)
    }
  }

  /** The sender settled every counter below `floorCounter`. */
  applyFloor (s: DedupStream, floorCounter: number): void {
    const newLow = floorCounter - 1
    if (newLow <= s.low) return
    s.low = newLow
    for (const c of s.above) if (c <= newLow) removed(s.above, c)
    while (removed(s.above, s.low + 1)) s.low++
    s.above = compact(s.above)
    for (const c of s.uncertain) if (c <= newLow) removed(s.uncertain, c)
    s.uncertain = compact(s.uncertain)
  }

  /** Forget streams idle longer than the retention time. Returns how many. */
  sweep (now: number): number {
    let removed = 0
    for (const s of [...this.#all()]) {
      if (s.pending.size === 0 && s.lastActivity + this.#init.retentionMs <= now) {
        this.#remove(s)
        removed++
      }
    }
    return removed
  }

  /** Persistable state; `inflight` counters are written as uncertain (about to be delivered). */
  snapshot (inflight: ReadonlyMap<DedupStream, readonly number[]>): StreamSnapshot[] {
    const out: StreamSnapshot[] = []
    for (const s of this.#all()) {
      const u = [...s.uncertain, ...(inflight.get(s) ?? [])]
      out.push({ p: s.peerId, e: s.epoch, l: s.low, a: [...s.above], u, x: s.lastActivity })
    }
    return out
  }

  /**
   * Load persisted state (replacing nothing already known). Every stream is kept, for a full retention time
   * from `now`: the wall clock cannot tell a long downtime from a clock that moved across the restart, and a
   * stream dropped too early lets a sender's re-send be delivered twice (found by the chaos soak), while one
   * kept too long costs only memory, bounded by `maxStreams`.
   */
  restore (streams: readonly StreamSnapshot[], now: number): void {
    for (const r of streams) {
      if (findEpoch(this.#byPeer.get(r.p), r.e) !== undefined || this.#size >= this.#init.maxStreams) continue
      const s: DedupStream = {
        peerId: r.p, epoch: compactCopy(r.e), low: r.l, above: new Set(r.a.filter(c => c > r.l)), pending: NONE, uncertain: compact(new Set(r.u)), lastActivity: now
      }
      for (const c of s.uncertain) removed(s.above, c)
      s.above = compact(s.above)
      this.#add(s)
    }
  }

  * #all (): Generator<DedupStream> {
    for (const streams of this.#byPeer.values()) {
      if (Array.isArray(streams)) yield * streams
      else yield streams
    }
  }

  #add (s: DedupStream): void {
    this.#size++
    const known = this.#byPeer.get(s.peerId)
    if (known === undefined) this.#byPeer.set(s.peerId, s)
    else if (Array.isArray(known)) known.push(s)
    else this.#byPeer.set(s.peerId, [known, s])
  }

  #remove (s: DedupStream): void {
    const known = this.#byPeer.get(s.peerId)
    if (known === s) {
      this.#size--
      this.#byPeer.delete(s.peerId)
      return
    }
    if (!Array.isArray(known) || !known.includes(s)) return
    this.#size--
    const rest = known.filter(x => x !== s)
    this.#byPeer.set(s.peerId, rest.length === 1 ? rest[0]! : rest)
  }
}

/** The stream of `streams` (one peer's) whose epoch `epoch` is. */
function findEpoch (streams: DedupStream | readonly DedupStream[] | undefined, epoch: Uint8Array): DedupStream | undefined {
  if (streams === undefined) return undefined
  if (!Array.isArray(streams)) return isEpoch(epoch, (streams as DedupStream).epoch) ? streams as DedupStream : undefined
  for (const s of streams as readonly DedupStream[]) if (isEpoch(epoch, s.epoch)) return s
  return undefined
}
