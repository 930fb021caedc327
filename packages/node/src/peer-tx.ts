import { MAX_ACK_COUNTERS, MAX_ACKS_PER_MESSAGE, MAX_BATCH_MESSAGES } from '@egtp/codec'
import { encodeBatchParts, encodeMessage } from '@egtp/codec/node'
import type { MessageBytes } from '@egtp/codec/node'
import { Fifo } from '@egtp/interface'
import { bytesKey, counterOf, isEpoch, sameId } from './ids.ts'
import type { OutEntry, PeerOutbound } from './outbound.ts'

/** The node's own contact record as a ready `ci` message. */
export interface OwnContactMessage {
  seq: number
  bytes: Uint8Array
}

/** One batch (one session frame) taken from a peer's pending work. */
export interface Batch {
  /** The batch's plaintext in pieces (large messages by reference). */
  parts: Uint8Array[]
  entries: OutEntry[]
  /** Our record, when the batch carries it. */
  ci: OwnContactMessage | undefined
  expectReply: boolean
  /** A query or a reply is in it: someone waits for it (see `Flusher`'s transmit). */
  awaited: boolean
}

const MAX_CONTROL_PER_BATCH = 256
/**
 * The empty arrays of a peer with nothing owed: shared, never written (replaced by a new array on first use).
 * No `[]` per peer, and none per batch (a site whose arrays all live long is one V8 pretenures).
 */
const NO_COUNTERS: number[] = []
const FLUSHING = 1
const FLUSH_AGAIN = 2
const FLUSH_SCHEDULED = 4
const NO_CONTROL: Uint8Array[] = []

/**
 * What waits to go to one peer besides its unacknowledged messages: the send queue, acknowledgements to
 * give, unreliable control messages, and the flush state. The sender is its only writer. It is its own send
 * queue (a subclass rather than a field: one object per peer instead of two).
 */
export class PeerTx extends Fifo<OutEntry> {
  /** Reliable messages waiting to be sealed and sent, in order: this object's own queue. */
  get queue (): Fifo<OutEntry> {
    return this
  }

  /** Counters of the peer's stream `ackEpoch` to acknowledge (compact), and other IDs in full. */
  ackEpoch: Uint8Array | undefined
  ackCounters: number[] = NO_COUNTERS
  /**
   * IDs to acknowledge in full, and IDs to report uncertain: maps only from their first use until
   * {@link compact} (most peers never need one). A lone full acknowledgement (a reply's, one per round trip
   * with one query in flight) is held without a map and without a key: the ID itself (its string key is made
   * only when a second one joins it: a 16-character string per round trip saved).
   */
  #acks: Map<string, Uint8Array> | Uint8Array | undefined
  #uncertain: Map<string, Uint8Array> | undefined
  /** Unreliable messages (error replies): add with {@link addControl}. */
  control: readonly Uint8Array[] = NO_CONTROL
  ackTimer: ReturnType<typeof setTimeout> | undefined
  /**
   * When the oldest waiting acknowledgement is due to go alone (`performance.now()` ms; undefined: none waits,
   * so that an idle peer holds no heap number here).
   */
  ackDueAt: number | undefined = undefined
  /** Plaintext bytes received from the peer since our last acknowledgement went out. */
  rxBytesSinceAck = 0
  /** FLUSHING, FLUSH_AGAIN and FLUSH_SCHEDULED in one small integer (one field instead of three, per peer). */
  #flushState = 0
  /** A flush is running. */
  get flushing (): boolean { return (this.#flushState & FLUSHING) !== 0 }
  set flushing (v: boolean) { this.#flushState = v ? this.#flushState | FLUSHING : this.#flushState & ~FLUSHING }
  /** The running flush goes round once more (work arrived meanwhile). */
  get flushAgain (): boolean { return (this.#flushState & FLUSH_AGAIN) !== 0 }
  set flushAgain (v: boolean) { this.#flushState = v ? this.#flushState | FLUSH_AGAIN : this.#flushState & ~FLUSH_AGAIN }
  /** A flush is scheduled. */
  get flushScheduled (): boolean { return (this.#flushState & FLUSH_SCHEDULED) !== 0 }
  set flushScheduled (v: boolean) { this.#flushState = v ? this.#flushState | FLUSH_SCHEDULED : this.#flushState & ~FLUSH_SCHEDULED }
  /** When a frame from the peer last arrived (`Flusher.heard`, in its quarter milliseconds). */
  heardAt = -1_000_000
  /** Batches handed to a commstrat whose outcome is not known yet (a relay answers once it has accepted them). */
  transmitting = 0
  /** Wakes a flush waiting for a transmit to settle. */
  transmitSettled: (() => void) | undefined
  /**
   * Our own record last piggybacked to this peer (its `seq`, a time in ms, would be a heap number of its own
   * per peer: the shared message is kept instead).
   */
  ciSent: OwnContactMessage | undefined = undefined

  /** Sequence number of our own record last piggybacked to this peer (0: none). */
  get ciSentSeq (): number {
    return this.ciSent?.seq ?? 0
  }
  /** Most bytes per batch to this peer (shrinks when a transport refuses a frame as too large). */
  batchBytes: number

  constructor (batchBytes: number) {
    super()
    this.batchBytes = batchBytes
  }

  /** How many IDs wait to be acknowledged in full. */
  get fullAcks (): number {
    const acks = this.#acks
    return acks === undefined ? 0 : acks instanceof Map ? acks.size : 1
  }

  /** How many IDs wait to be reported uncertain. */
  get uncertainIds (): number {
    return this.#uncertain?.size ?? 0
  }

  /** Acknowledge `id` in full. True when that made a new map (see {@link compact}). */
  addAck (id: Uint8Array): boolean {
    const acks = this.#acks
    if (acks instanceof Map) {
      acks.set(bytesKey(id), id)
      return false
    }
    if (acks === undefined || sameId(acks, id)) {
      this.#acks = id
      return false
    }
    this.#acks = new Map([[bytesKey(acks), acks], [bytesKey(id), id]])
    return true
  }

  /** No full acknowledgement of `id` (its key `key`) after all (a reply acknowledges it). */
  deleteAck (id: Uint8Array, key: string): void {
    const acks = this.#acks
    if (acks === undefined) return
    if (!(acks instanceof Map)) {
      if (sameId(acks, id)) this.#acks = undefined
    } else if (acks.delete(key) && acks.size === 0) {
      this.#acks = undefined
    }
  }

  /** Report `id` (its key `key`) uncertain. True when that made a new map (see {@link compact}). */
  addUncertain (key: string, id: Uint8Array): boolean {
    const fresh = this.#uncertain === undefined
    ;(this.#uncertain ??= new Map()).set(key, id)
    return fresh
  }

  /** Drop the emptied maps (and the send queue's kept array). True when no map is left. */
  compact (): boolean {
    this.queue.trim()
    if (this.#acks instanceof Map && this.#acks.size === 0) this.#acks = undefined
    if (this.#uncertain?.size === 0) this.#uncertain = undefined
    return this.#acks === undefined && this.#uncertain === undefined
  }

  /** Anything to pack into a batch. */
  hasWork (): boolean {
    return this.queue.length > 0 || this.hasAcks() || this.control.length > 0
  }

  /** Acknowledgements (or uncertainty reports) wait. */
  hasAcks (): boolean {
    return this.ackCounters.length > 0 || this.fullAcks > 0 || this.uncertainIds > 0
  }

  /** Nothing waits and nothing is on its way. */
  idle (): boolean {
    return !this.hasWork() && !this.flushing && this.transmitting === 0
  }

  /** Queue a compact acknowledgement of `epoch ‖ counter`; false when `epoch` is not the one being acknowledged. */
  addAckCounter (epoch: Uint8Array, counter: number): boolean {
    if (this.ackEpoch === undefined || this.ackCounters.length === 0) this.ackEpoch = epoch
    if (this.ackEpoch !== epoch && !isEpoch(this.ackEpoch, epoch)) return false
    if (this.ackCounters === NO_COUNTERS) this.ackCounters = [counter]
    else this.ackCounters.push(counter)
    return true
  }

  /**
   * Forget the compact acknowledgement of `id` when it is the latest one waiting (a reply to that query goes
   * instead, and acknowledges it).
   */
  dropAckCounter (id: Uint8Array): void {
    const n = this.ackCounters.length
    if (n > 0 && this.ackCounters[n - 1] === counterOf(id) && isEpoch(id, this.ackEpoch!)) {
      if (n === 1) this.ackCounters = NO_COUNTERS
      else this.ackCounters.pop()
    }
  }

  /** Queue an unreliable message (an error reply). */
  addControl (bytes: Uint8Array): void {
    if (this.control === NO_CONTROL) this.control = [bytes]
    else (this.control as Uint8Array[]).push(bytes)
  }

  /** Forget every acknowledgement and control message (the peer cannot be reached at all). */
  clearAcks (): void {
    this.#acks = undefined
    this.ackEpoch = undefined
    this.ackCounters = NO_COUNTERS
    this.#uncertain = undefined
    this.control = NO_CONTROL
  }

  clearAckTimer (): void {
    if (this.ackTimer === undefined) return
    clearTimeout(this.ackTimer)
    this.ackTimer = undefined
  }

  /**
   * Pack the next batch: our record when the peer has an older one, acknowledgements, control messages, then
   * queued messages of `out` up to `batchBytes`. `undefined` when there is nothing to send.
   */
  takeBatch (out: PeerOutbound, ci: OwnContactMessage | undefined): Batch | undefined {
    const parts: MessageBytes[] = []
    const entries: OutEntry[] = []
    let size = 0
    let ciSent: OwnContactMessage | undefined
    if (ci !== undefined && this.ciSentSeq < ci.seq) {
      parts.push(ci.bytes)
      size += ci.bytes.length
      ciSent = ci
    }
    if (this.ackCounters.length > 0 || this.fullAcks > 0) this.rxBytesSinceAck = 0
    this.ackDueAt = undefined // every acknowledgement goes in this batch
    while (this.ackCounters.length > 0) {
      const all = this.ackCounters.length <= MAX_ACK_COUNTERS
      const c = all ? this.ackCounters : this.ackCounters.slice(0, MAX_ACK_COUNTERS)
      this.ackCounters = all ? NO_COUNTERS : this.ackCounters.slice(MAX_ACK_COUNTERS)
      const bytes = encodeMessage({ t: 'k', e: this.ackEpoch!, c })
      parts.push(bytes)
      size += bytes.length
    }
    this.ackEpoch = undefined // a view of a received batch: not kept while nothing is owed
    // An emptied map is dropped, not kept: see takeIds.
    const acks = this.#acks
    if (acks !== undefined) {
      size += acks instanceof Map ? takeIds(acks, 'k', parts) : pushIds([acks], 'k', parts)
      this.#acks = undefined
    }
    if (this.#uncertain !== undefined) {
      size += takeIds(this.#uncertain, 'u', parts)
      this.#uncertain = undefined
    }
    if (this.control.length > 0) {
      const control = this.control as Uint8Array[]
      while (control.length > 0 && parts.length < MAX_CONTROL_PER_BATCH) {
        const bytes = control.shift()!
        parts.push(bytes)
        size += bytes.length
      }
      if (control.length === 0) this.control = NO_CONTROL
    }
    let expectReply = false
    let awaited = false
    while (this.queue.length > 0 && parts.length < MAX_BATCH_MESSAGES) {
      const e = this.queue.peek()!
      if (out.get(e.key) !== e) { // settled while queued
        this.queue.shift()
        e.queued = false
        continue
      }
      if (size > 0 && size + e.bytes.length > this.batchBytes) break
      this.queue.shift()
      parts.push(e.bytes)
      entries.push(e)
      size += e.bytes.length
      if (e.kind === 'q') expectReply = true
      else if (e.kind === 'a') awaited = true
    }
    if (parts.length === 0) return undefined
    if (this.hasWork()) this.flushAgain = true
    return { parts: encodeBatchParts(out.floor(), parts), entries, ci: ciSent, expectReply, awaited: awaited || expectReply }
  }
}

/**
 * Every ID of `map` as messages of type `t` (up to MAX_ACKS_PER_MESSAGE IDs each) appended to `parts`; their
 * bytes. The caller drops `map` afterwards instead of deleting its entries: a long-lived `Map` that entries come
 * and go through rebuilds its table as it shrinks and as deleted entries fill it, and a table that has reached
 * the old generation is rebuilt there, so one round trip's acknowledgement left garbage that only a full GC frees.
 */
function takeIds (map: ReadonlyMap<string, Uint8Array>, t: 'k' | 'u', parts: MessageBytes[]): number {
  let size = 0
  let ids: Uint8Array[] = []
  for (const id of map.values()) {
    ids.push(id)
    if (ids.length < MAX_ACKS_PER_MESSAGE) continue
    size += pushIds(ids, t, parts)
    ids = []
  }
  if (ids.length > 0) size += pushIds(ids, t, parts)
  return size
}

function pushIds (ids: Uint8Array[], t: 'k' | 'u', parts: MessageBytes[]): number {
  const bytes = encodeMessage({ t, m: ids })
  parts.push(bytes)
  return bytes.length
}
