import type { EgtpError } from '@egtp/interface'
import { bytesKey, counterOf, isEpoch, makeMessageId, writeMessageId } from './ids.ts'
import type { StatsCollector } from './stats.ts'
import type { NodeLimits } from './types.ts'
import type { Peer } from './peers.ts'
import { BYTES_MESSAGE_ID_OFFSET, encodeMessage, encodeOwnBytesMessage, encodePayloadMessage } from '@egtp/codec/node'
import type { MessageBytes, NodeMessage } from '@egtp/codec/node'
import { REFERENCED_PAYLOAD_BYTES } from './constants.ts'
import { CounterRing } from './counter-ring.ts'

/** What an outbound message is: a query, a one-way message, or a reply to a peer's query. */
export type OutKind = 'q' | 'o' | 'a'

/** The key of an outbound entry: a counter (own stream) or a query ID key (replies). */
export type OutKey = number | string

/** How an outbound message ended. */
export type Settlement = { ok: true } | { ok: false, error: EgtpError }

/** How an entry's outcome is reported (a method of the entry: one function can serve every entry). */
export type EntrySettle = (this: OutEntry, result: Settlement, peer: Peer) => void

/** The settle of entries whose outcome nobody awaits (replies). */
export const IGNORE_SETTLEMENT: EntrySettle = () => {}

/** One unacknowledged message held for re-sending. */
export interface OutEntry {
  /** Own messages: the counter; replies: the query ID as a string key. */
  readonly key: OutKey
  readonly id: Uint8Array
  readonly kind: OutKind
  /** Counter in this sender's stream to the peer; 0 for replies (they are keyed by their query's ID). */
  readonly counter: number
  /** The application message type (for replies: the query's type), for stats. */
  readonly type: string
  /** The encoded message (an own message's large byte payload is referenced: see REFERENCED_PAYLOAD_BYTES). */
  readonly bytes: MessageBytes
  /** Monotonic ms after which the message is given up. */
  readonly deadline: number
  readonly createdAt: number
  /** Times handed to a commstrat successfully. */
  attempts: number
  nextRetryAt: number
  /** Waiting in the peer's send queue (not to be queued twice). */
  queued: boolean
  /** Called once (as a method: `this` is the entry), when acknowledged or given up; `peer` is its peer's. */
  settle: EntrySettle
  /** For a `settle` shared by many entries: the caller's promise to settle. */
  readonly resolve?: (() => void) | undefined
  readonly reject?: ((error: EgtpError) => void) | undefined
}

/**
 * An own query or one-way message held for re-sending. Without an explicit ID its ID is read from the encoded
 * message (where {@link encodeOwnBytesMessage} put it) when asked for: no ID buffer per message in flight.
 */
export class OwnEntry implements OutEntry {
  readonly key: number
  readonly kind: 'q' | 'o'
  readonly counter: number
  readonly type: string
  readonly bytes: MessageBytes
  readonly deadline: number
  readonly createdAt: number
  attempts = 0
  nextRetryAt: number
  queued = false
  settle: EntrySettle
  readonly resolve: (() => void) | undefined
  readonly reject: ((error: EgtpError) => void) | undefined
  readonly #id: Uint8Array | undefined

  constructor (kind: 'q' | 'o', counter: number, id: Uint8Array | undefined, type: string, bytes: MessageBytes, now: number, timeoutMs: number,
    retryAt: number, settle: EntrySettle, resolve?: () => void, reject?: (error: EgtpError) => void) {
    this.key = counter
    this.kind = kind
    this.counter = counter
    this.type = type
    this.bytes = bytes
    this.deadline = now + timeoutMs
    this.createdAt = now
    this.nextRetryAt = retryAt
    this.settle = settle
    this.resolve = resolve
    this.reject = reject
    this.#id = id
  }

  get id (): Uint8Array {
    if (this.#id !== undefined) return this.#id
    const head = this.bytes instanceof Uint8Array ? this.bytes : this.bytes.head
    return head.subarray(BYTES_MESSAGE_ID_OFFSET, BYTES_MESSAGE_ID_OFFSET + 16)
  }
}

/**
 * Encode an own query or one-way message whose payload is a byte string, straight away (its ID is read from
 * the message when needed; a large payload is referenced, not copied); `undefined` when it needs the codec.
 * @throws {RangeError} when the payload cannot be encoded
 */
export function encodeOwnBytes (kind: 'q' | 'o', epoch: Uint8Array, counter: number, type: string, payload: Uint8Array,
  timeoutMs: number): MessageBytes | undefined {
  try {
    return encodeOwnBytesMessage(kind, epoch, counter, type, payload, timeoutMs, REFERENCED_PAYLOAD_BYTES)
  } catch (err) {
    throw new RangeError(`payload cannot be encoded: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * Encode an own query or one-way message through the codec.
 * @throws {RangeError} when the payload cannot be encoded
 */
export function encodeOwnPayload (kind: 'q' | 'o', id: Uint8Array, type: string, payload: unknown, timeoutMs: number): MessageBytes {
  try {
    return encodePayloadMessage({ t: kind, m: id, y: type, p: payload ?? null, d: timeoutMs }, payload)
  } catch (err) {
    throw new RangeError(`payload cannot be encoded: ${(err as Error).message}`, { cause: err })
  }
}

/** Encode a reply; one that cannot be encoded or exceeds `maxBytes` becomes an ERR_REMOTE reply (`failed` is told). */
export function encodeReply (queryId: Uint8Array, body: { p: unknown } | { e: { c: string, s: string } }, maxBytes: number,
  failed: (err: unknown) => void): Uint8Array {
  try {
    // (Not a spread of `body`: one object literal of a fixed shape.)
    const bytes = 'p' in body
      ? encodePayloadMessage({ t: 'a', m: queryId, p: body.p } as NodeMessage, body.p)
      : encodePayloadMessage({ t: 'a', m: queryId, e: body.e } as NodeMessage, undefined)
    if (bytes.length > maxBytes) throw new RangeError('reply too large')
    return bytes
  } catch (err) {
    failed(err)
    return encodeMessage({ t: 'a', m: queryId, e: { c: 'ERR_REMOTE', s: 'the reply could not be encoded' } })
  }
}

/**
 * Entries of one batch were handed over at `now`: count the attempt and set the next re-send, one jittered
 * delay per batch (and attempt count: the entries went out together). First sends are counted in stats per
 * run of one type, re-sends as retransmissions.
 */
export function markSent (entries: readonly OutEntry[], now: number, limits: NodeLimits, stats: StatsCollector, peerId: string): void {
  let delayFor = -1
  let delay = 0
  let runType: string | undefined
  let runCount = 0
  let runBytes = 0
  for (const e of entries) {
    e.queued = false
    e.attempts++
    if (e.attempts !== delayFor) {
      delayFor = e.attempts
      delay = retryDelay(e.attempts, limits.retryInitialMs, limits.retryMaxMs)
    }
    e.nextRetryAt = now + delay
    if (e.attempts === 1) {
      if (e.type !== runType) {
        if (runType !== undefined) stats.sentMany(peerId, runType, runCount, runBytes)
        runType = e.type
        runCount = 0
        runBytes = 0
      }
      runCount++
      runBytes += e.bytes.length
    } else {
      stats.retransmissions++
    }
  }
  if (runType !== undefined) stats.sentMany(peerId, runType, runCount, runBytes)
}

/** Backoff: `initialMs · 2^(attempts-1)` capped at `maxMs`, with ±20% jitter. */
export function retryDelay (attempts: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, Math.min(attempts - 1, 30)))
  return base * (0.8 + 0.4 * random())
}

/** {@link PeerOutbound.floor}'s bytes. */
const FLOOR = new Uint8Array(16)

/**
 * The sans-I/O bookkeeping of messages to one peer that are not acknowledged yet: counters, the floor
 * announced to the receiver, and which entries are due for a re-send or past their deadline. Replies are held
 * without a map while there is at most one (most peers are idle, and a peer asked one query at a time holds
 * one reply per round trip: a map per round trip would be garbage, a kept one a table rebuilt as it shrinks).
 */
export class PeerOutbound {
  readonly epoch: Uint8Array
  /** Queries and one-way messages by counter, in counter order. */
  readonly own = new CounterRing<OutEntry>()
  /** Replies to the peer's queries, keyed by the query ID: none, the only one, or a map of two or more. */
  #replies: Map<string, OutEntry> | OutEntry | undefined
  #replyCount = 0
  #bytes = 0
  #nextCounter = 1

  constructor (epoch: Uint8Array) {
    this.epoch = epoch
  }

  /** Replies to the peer's queries. */
  * #replyValues (): IterableIterator<OutEntry> {
    const r = this.#replies
    if (r instanceof Map) yield * r.values()
    else if (r !== undefined) yield r
  }

  get size (): number {
    return this.own.size + this.#replyCount
  }

  /**
   * Nothing held: drop the ring's slots (kept while the peer is busy, so a round trip does not allocate them
   * again). True when nothing is left to drop.
   */
  compact (): boolean {
    if (this.size > 0) return false
    this.own.compact()
    return true
  }

  /** Bytes of every held message. */
  get bytes (): number {
    return this.#bytes
  }

  /** The next message ID in this stream. */
  allocate (): { id: Uint8Array, counter: number } {
    const counter = this.#nextCounter++
    return { id: makeMessageId(this.epoch, counter), counter }
  }

  /** The next counter in this stream (its message ID is `makeMessageId(epoch, counter)`). */
  allocateCounter (): number {
    return this.#nextCounter++
  }

  add (entry: OutEntry): void {
    if (typeof entry.key === 'number') {
      if (this.own.has(entry.key)) throw new Error('duplicate outbound entry')
      this.own.set(entry.key, entry)
    } else {
      const r = this.#replies
      if (r === undefined) {
        this.#replies = entry
      } else if (r instanceof Map) {
        if (r.has(entry.key)) throw new Error('duplicate outbound entry')
        r.set(entry.key, entry)
      } else {
        if (r.key === entry.key) throw new Error('duplicate outbound entry')
        this.#replies = new Map([[r.key as string, r], [entry.key, entry]])
      }
      this.#replyCount++
    }
    this.#bytes += entry.bytes.length
  }

  get (key: OutKey): OutEntry | undefined {
    if (typeof key === 'number') return this.own.get(key)
    const r = this.#replies
    if (r === undefined) return undefined
    if (r instanceof Map) return r.get(key)
    return r.key === key ? r : undefined
  }

  /** The key an acknowledged or answered message ID maps to: its counter when it is ours. */
  keyOf (id: Uint8Array): OutKey {
    return isEpoch(id, this.epoch) ? counterOf(id) : bytesKey(id)
  }

  /** Forget an entry (acknowledged or given up). Does not settle it. */
  remove (key: OutKey): OutEntry | undefined {
    const entry = this.get(key)
    if (entry === undefined) return undefined
    if (typeof key === 'number') {
      this.own.delete(key)
    } else {
      // A map is dropped once it holds one reply, not emptied: see takeIds in peer-tx.ts.
      const r = this.#replies
      if (--this.#replyCount === 0) {
        this.#replies = undefined
      } else if (r instanceof Map) {
        r.delete(key)
        if (this.#replyCount === 1) this.#replies = r.values().next().value
      }
    }
    this.#bytes -= entry.bytes.length
    return entry
  }

  /**
   * The floor: every own message with a lower counter is settled and will not be sent again. It is the
   * oldest unsettled message's ID, or the next counter's when nothing is outstanding. The bytes are shared
   * scratch, valid until the next call (a batch encoder copies them at once): no ID per batch.
   */
  floor (): Uint8Array {
    const first = this.own.first()
    return writeMessageId(FLOOR, this.epoch, first === undefined ? this.#nextCounter : first.counter)
  }

  /**
   * Entries due for a re-send (not queued, retry time reached) and entries past their deadline. A query has
   * no deadline here: its one timeout is the pending query's (the caller forgets the entry when it fires).
   */
  due (now: number): { retry: OutEntry[], expired: OutEntry[] } {
    const retry: OutEntry[] = []
    const expired: OutEntry[] = []
    for (const values of [this.own.values(), this.#replyValues()]) {
      for (const e of values) {
        if (e.deadline <= now && e.kind !== 'q') expired.push(e)
        else if (!e.queued && e.nextRetryAt <= now) retry.push(e)
      }
    }
    return { retry, expired }
  }

  /** Every entry, replies last (for a re-send after the session was replaced). */
  * entries (): IterableIterator<OutEntry> {
    yield * this.own.values()
    yield * this.#replyValues()
  }
}
