import { EgtpError } from '@egtp/interface'
import type { Clock, TypedEventTarget } from '@egtp/interface'
import { clockSkewError, errorFromReply } from './errors.ts'
import { toHex } from './ids.ts'
import type { EntrySettle, OutEntry, OutKey, Settlement } from './outbound.ts'
import type { Peer } from './peers.ts'
import { Deadlines } from './deadlines.ts'
import { PendingQueries } from './queries.ts'
import type { PendingQuery } from './queries.ts'
import type { ReplySink } from './receiver.ts'
import type { StatsCollector } from './stats.ts'
import type { NodeEvents, NodeLimits } from './types.ts'
import type { ReplyMsg } from '@egtp/codec/node'

// Read once: on Node 20 `performance` is an accessor of globalThis (each read a getter call).
const perf = performance

/** The sender's side queries need. */
export interface QuerySender {
  submit: (peer: Peer, kind: 'q', type: string, payload: unknown, timeoutMs: number, settle: EntrySettle) => OutEntry
  forget: (peer: Peer, key: OutKey) => OutEntry | undefined
  settle: (peer: Peer, key: OutKey, result: Settlement) => OutEntry | undefined
  ack: (peer: Peer, id: Uint8Array) => void
}

/** A pending query as the book keeps it: with its peer and timeout, for the shared deadline timer. */
interface TimedQuery extends PendingQuery {
  readonly peer: Peer
  readonly timeoutMs: number
}

/** Drops a reply that answers nothing of ours. */
export type UnknownReply = (peerId: string) => void

/**
 * Queries in flight: each has one timeout, its deadline (the sender holds the query message without one of
 * its own); a reply settles it, and one that comes after the deadline is reported as `query:late`.
 */
export class QueryBook implements ReplySink {
  readonly #sender: QuerySender
  readonly #limits: NodeLimits
  readonly #clock: Clock
  readonly #stats: StatsCollector
  readonly #events: TypedEventTarget<NodeEvents>
  readonly #unknownReply: UnknownReply
  readonly #pending: PendingQueries
  /** One timer for every query's timeout. */
  readonly #deadlines = new Deadlines<TimedQuery>(q => { this.#timedOut(q) }, q => this.#pending.has(q), () => this.#pending.size)

  /**
   * The settle of every query message (one function, not a closure per query): when the message itself failed
   * (unreachable, uncertain), its query fails with it.
   */
  readonly #messageSettled: EntrySettle

  /**
   * The settle of this book's entries (the entry is `this`). Made here, not by a function literal assigned in the
   * constructor: V8 (Node 20) keeps a closure that the function which made it stores on an object alive through
   * the next scavenge, and with it the whole node: each short-lived node would be promoted.
   */
  static #settleFor (book: QueryBook): EntrySettle {
    return function (this: OutEntry, r: Settlement, peer: Peer) {
      if (r.ok) return
      // (Not yet pending when it fails during `submit`: then it times out, as before it was known.)
      const q = book.#pending.take(peer.id, this.key as number)
      if (q !== undefined) book.#fail(peer, q, r.error, false)
    }
  }

  constructor (sender: QuerySender, limits: NodeLimits, clock: Clock, stats: StatsCollector, events: TypedEventTarget<NodeEvents>, unknownReply: UnknownReply) {
    this.#messageSettled = QueryBook.#settleFor(this)
    this.#sender = sender
    this.#limits = limits
    this.#clock = clock
    this.#stats = stats
    this.#events = events
    this.#unknownReply = unknownReply
    this.#pending = new PendingQueries(limits.maxLateQueries, limits.lateReplyWindowMs)
  }

  get size (): number {
    return this.#pending.size
  }

  hasPending (peer: Peer): boolean {
    return this.#pending.hasPeer(peer.id)
  }

  /** @throws {EgtpError} ERR_TOO_MANY_PENDING */
  checkRoom (): void {
    if (this.#pending.size >= this.#limits.maxPendingQueries) throw new EgtpError('ERR_TOO_MANY_PENDING', `${this.#pending.size} queries pending`)
  }

  start (peer: Peer, type: string, payload: unknown, timeoutMs: number, softMs: number | undefined, signal: AbortSignal | undefined,
    resolve: (v: unknown) => void, reject: (e: Error) => void): void {
    const entry = this.#sender.submit(peer, 'q', type, payload, timeoutMs, this.#messageSettled)
    const pending: TimedQuery = {
      peerId: peer.id,
      key: entry.counter,
      message: entry,
      type,
      startedAt: entry.createdAt,
      deadline: entry.deadline,
      dueAt: perf.now() + timeoutMs,
      timeoutMs,
      peer,
      resolve,
      reject,
      cleanup: undefined
    }
    this.#pending.add(pending)
    this.#deadlines.add(pending)
    if ((softMs !== undefined && softMs < timeoutMs) || signal !== undefined) this.#watch(pending, softMs, signal)
  }

  /** The optional parts of a query: its soft timeout and its abort signal (their cleanup runs when it settles). */
  #watch (pending: TimedQuery, softMs: number | undefined, signal: AbortSignal | undefined): void {
    const { peer, type, key } = pending
    let soft: ReturnType<typeof setTimeout> | undefined
    let onAbort: (() => void) | undefined
    if (softMs !== undefined && softMs < pending.timeoutMs) {
      soft = setTimeout(() => {
        this.#events.safeDispatch('query:impatient', { peerId: peer.id, type, messageId: toHex(pending.message.id), elapsedMs: this.#clock.monotonic() - pending.startedAt })
      }, softMs)
    }
    if (signal !== undefined) {
      onAbort = () => {
        if (this.#pending.take(peer.id, key) === undefined) return
        this.#sender.forget(peer, key)
        this.#settled()
        pending.reject(signal.reason as Error)
      }
      signal.addEventListener('abort', onAbort, { once: true })
    }
    pending.cleanup = () => {
      clearTimeout(soft)
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
    }
  }

  /** The query's timeout passed without a reply. */
  #timedOut (pending: TimedQuery): void {
    const { peer, key, type, timeoutMs } = pending
    if (this.#pending.take(peer.id, key) === undefined) return
    this.#pending.remember(pending, this.#clock.monotonic())
    const held = peer.out.get(key)
    const fate = held === undefined ? 'it was delivered' : held.attempts > 0 ? 'it may have been delivered' : 'it was never sent'
    this.#fail(peer, pending, clockSkewError(peer.id, peer.contact.clockSkew, `no reply from ${peer.id} to ${type} within ${timeoutMs} ms`) ??
      new EgtpError('ERR_TIMEOUT', `no reply from ${peer.id} to ${type} within ${timeoutMs} ms (${fate})`), true)
  }

  /** A query left the book: when it was the last, the shared deadline timer no longer keeps the process alive. */
  #settled (): void {
    if (this.#pending.size === 0) this.#deadlines.idle()
  }

  /** Fail every query to `peer` still waiting for its reply (as timed out: forgotten, `message:failed`); how many. */
  failPeer (peer: Peer, error: EgtpError): number {
    let n = 0
    for (const q of this.#pending.ofPeer(peer.id)) {
      if (this.#pending.take(peer.id, q.key) === undefined) continue
      this.#fail(peer, q, error, true)
      n++
    }
    return n
  }

  /** Fail every pending query with `error` (stop). */
  failAll (peerOf: (id: string) => Peer | undefined, error: EgtpError): void {
    for (const q of this.#pending.drain()) this.#fail(peerOf(q.peerId), q, error, false)
    this.#deadlines.clear()
  }

  /** Forget timed-out queries past the late-reply window. */
  sweep (now: number): void {
    this.#pending.sweep(now)
  }

  #fail (peer: Peer | undefined, q: PendingQuery, error: EgtpError, timedOut: boolean): void {
    this.#settled()
    if (peer !== undefined && (timedOut || error.code === 'ERR_CLOSED')) this.#sender.forget(peer, q.key)
    this.#stats.queriesFailed++
    this.#stats.failure(q.peerId, q.type, error.code)
    if (timedOut || error.code === 'ERR_CLOSED') this.#events.safeDispatch('message:failed', { peerId: q.peerId, type: q.type, messageId: toHex(q.message.id), error })
    q.reject(error)
  }

  onReply (peer: Peer, m: ReplyMsg): void {
    const key = peer.out.keyOf(m.m)
    const now = this.#clock.monotonic()
    if (typeof key !== 'number') { // not an answer to anything of ours
      this.#sender.ack(peer, m.m)
      this.#unknownReply(peer.id)
      return
    }
    const q = this.#pending.take(peer.id, key)
    if (q !== undefined) {
      this.#sender.forget(peer, key) // the reply implies the query arrived
      this.#sender.ack(peer, m.m)
      this.#stats.roundTrip(peer.id, q.type, now - q.startedAt)
      if (m.e !== undefined) {
        this.#fail(peer, q, errorFromReply(peer.id, q.type, m.e), false)
      } else {
        this.#settled()
        this.#stats.queriesSucceeded++
        q.resolve(m.p ?? null)
      }
      return
    }
    const own = peer.out.own.get(key)
    if (own !== undefined && own.kind === 'o') { // a one-way message's refusal (no handler)
      this.#sender.settle(peer, key, m.e !== undefined ? { ok: false, error: errorFromReply(peer.id, own.type, m.e) } : { ok: true })
      return
    }
    this.#sender.ack(peer, m.m)
    const late = this.#pending.takeLate(peer.id, key, now)
    if (late !== undefined) {
      this.#stats.queriesLate++
      const detail: NodeEvents['query:late'] = { peerId: peer.id, type: late.type, messageId: toHex(late.id), lateByMs: now - late.timedOutAt }
      if (m.e !== undefined) detail.error = errorFromReply(peer.id, late.type, m.e)
      else detail.reply = m.p ?? null
      this.#events.safeDispatch('query:late', detail)
      return
    }
    this.#unknownReply(peer.id)
  }
}
