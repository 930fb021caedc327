import { EgtpError, isEgtpError } from '@egtp/interface'
import type { NodeContext } from './context.ts'
import { bytesKey, isEpoch, makeMessageId, toHex } from './ids.ts'
import { expiryError, stopError } from './errors.ts'
import { Flusher } from './flush.ts'
import type { OwnContactSource } from './flush.ts'
import { IGNORE_SETTLEMENT, OwnEntry, encodeOwnBytes, encodeOwnPayload, encodeReply, retryDelay } from './outbound.ts'
import type { EntrySettle, OutEntry, OutKey, Settlement } from './outbound.ts'
import type { Peer, PeerTable } from './peers.ts'
import type { Router } from './router.ts'
import { DrainWaiters } from './drain.ts'

export type { OwnContactSource } from './flush.ts'

/**
 * The outbound half of a node: holds every reliable message until acknowledged (bounded per peer and in
 * total), packs messages, acknowledgements and the contact record into batches (one session frame each),
 * seals and sends them, re-sends on a timer with backoff or when the session was replaced, and reports
 * each message's outcome exactly once.
 */
export class Sender {
  readonly #ctx: NodeContext
  readonly #peers: PeerTable
  readonly #router: Router
  /** Schedules and runs the flushes (turns, acknowledgement timers, sealing and handing over batches). */
  readonly #flusher: Flusher
  /** Peers holding unacknowledged entries (and, until the next tick, ones that just emptied). */
  readonly #active = new Set<Peer>()
  /** Peers whose maps may be emptied (see `tick`). */
  readonly #compactable = new Set<Peer>()
  #unackedBytes = 0
  #unackedMessages = 0
  /** Waiting for every peer (`peer` undefined: and nothing unacknowledged) or one peer to have nothing on its way. */
  readonly #drain = new DrainWaiters(() => this.#unackedMessages === 0 && [...this.#peers.values()].every(p => p.tx.idle()))
  /** Called whenever an entry of `peer` is released (the send window's drain hook). */
  readonly #released: ((peer: Peer) => void) | undefined

  constructor (ctx: NodeContext, peers: PeerTable, router: Router, contact: OwnContactSource, released?: (peer: Peer) => void) {
    this.#ctx = ctx
    this.#peers = peers
    this.#router = router
    this.#released = released
    this.#flusher = new Flusher(ctx, peers, router, contact, this.#drain, {
      failed: (peer, entries, err) => { this.#batchFailed(peer, entries, err) },
      settle: (peer, key, result) => this.settle(peer, key, result)
    })
  }

  /** No peer holds unacknowledged entries (nor emptied since the last tick): a tick has no retransmission to make. */
  get quiet (): boolean {
    return this.#active.size === 0
  }

  get unackedBytes (): number {
    return this.#unackedBytes
  }

  get unackedMessages (): number {
    return this.#unackedMessages
  }

  /**
   * Accept a query or one-way message for delivery; `settle` reports its outcome once.
   * @throws {EgtpError} ERR_TOO_MANY_PENDING past the per-peer or total bounds
   * @throws {RangeError} when the encoded message is larger than `maxMessageBytes` or nested too deeply
   */
  submit (peer: Peer, kind: 'q' | 'o', type: string, payload: unknown, timeoutMs: number, settle: EntrySettle,
    resolve?: () => void, reject?: (error: EgtpError) => void): OutEntry {
    const limits = this.#ctx.limits
    if (peer.out.size >= limits.maxUnackedPerPeer) {
      throw new EgtpError('ERR_TOO_MANY_PENDING', `${peer.out.size} messages to ${peer.id} await acknowledgement`)
    }
    const counter = peer.out.allocateCounter()
    // No object per message: a byte-string payload's ID stays in its encoded bytes (OwnEntry reads it there).
    let id: Uint8Array | undefined
    let bytes = payload instanceof Uint8Array ? encodeOwnBytes(kind, peer.out.epoch, counter, type, payload, timeoutMs) : undefined
    if (bytes === undefined) {
      id = makeMessageId(peer.out.epoch, counter)
      bytes = encodeOwnPayload(kind, id, type, payload, timeoutMs)
    }
    if (bytes.length > limits.maxMessageBytes) {
      throw new RangeError(`message of ${bytes.length} bytes exceeds maxMessageBytes ${limits.maxMessageBytes}`)
    }
    if (peer.out.bytes + bytes.length > limits.maxUnackedBytesPerPeer || this.#unackedBytes + bytes.length > limits.maxUnackedBytes) {
      throw new EgtpError('ERR_TOO_MANY_PENDING', 'too many unacknowledged bytes')
    }
    const now = this.#ctx.clock.monotonic()
    const entry = new OwnEntry(kind, counter, id, type, bytes, now, timeoutMs, now + limits.retryInitialMs, settle, resolve, reject)
    this.#hold(peer, entry)
    this.#enqueue(peer, entry)
    return entry
  }

  /** Send a reply to the peer's query `queryId`, held until acknowledged or `horizonMs` passes. */
  reply (peer: Peer, queryId: Uint8Array, type: string, body: { p: unknown } | { e: { c: string, s: string } }, horizonMs: number): void {
    const bytes = encodeReply(queryId, body, this.#ctx.limits.maxMessageBytes, err => {
      this.#ctx.log.error('reply to %s %s cannot be encoded: %e', peer.id, type, err)
    })
    const key = bytesKey(queryId)
    // The reply acknowledges the query (PROTOCOL §3.3.1): no acknowledgement of it goes beside the reply.
    peer.tx.deleteAck(queryId, key)
    peer.tx.dropAckCounter(queryId)
    if (peer.out.get(key) !== undefined) return // answered already
    const limits = this.#ctx.limits
    if (peer.out.size >= limits.maxUnackedPerPeer || this.#unackedBytes + bytes.length > limits.maxUnackedBytes) {
      // No room to hold it for re-sending: send it once; the caller re-sends its query if it is lost.
      this.control(peer, bytes)
      return
    }
    const now = this.#ctx.clock.monotonic()
    const entry: OutEntry = {
      key, id: queryId, kind: 'a', counter: 0, type, bytes, deadline: now + horizonMs, createdAt: now, attempts: 0,
      nextRetryAt: now + limits.retryInitialMs, queued: false, settle: IGNORE_SETTLEMENT, resolve: undefined, reject: undefined
    }
    this.#hold(peer, entry)
    this.#enqueue(peer, entry)
  }

  /** Send an unreliable message (an error reply that is regenerated if the peer re-sends). */
  control (peer: Peer, bytes: Uint8Array): void {
    if (peer.tx.control.length >= this.#ctx.limits.maxUnackedPerPeer) return
    peer.tx.addControl(bytes)
    this.#flusher.schedule(peer)
  }

  /** Acknowledge a message ID in full (replies; IDs of other streams). */
  ack (peer: Peer, id: Uint8Array): void {
    if (peer.tx.addAck(id)) this.#compactable.add(peer)
    this.#flusher.armAck(peer, peer.tx.fullAcks)
  }

  /**
   * Acknowledge message `epoch ‖ counter` of the peer's stream (compact when it is the current one). `arm`
   * false: the caller calls {@link armAcks} once the message's handler ran (a query answered at once needs no
   * acknowledgement, and no timer for it: its reply acknowledges it).
   */
  ackCounter (peer: Peer, epoch: Uint8Array, counter: number, arm = true): void {
    if (!peer.tx.addAckCounter(epoch, counter)) this.ack(peer, makeMessageId(epoch, counter))
    else if (arm) this.#flusher.armAck(peer, peer.tx.ackCounters.length)
  }

  /** Acknowledgements added without arming ({@link ackCounter}) wait for the next batch or the timer. */
  armAcks (peer: Peer): void {
    const tx = peer.tx
    if (tx.ackCounters.length > 0) this.#flusher.armAck(peer, tx.ackCounters.length)
  }

  notifyUncertain (peer: Peer, id: Uint8Array): void {
    if (peer.tx.addUncertain(bytesKey(id), id)) this.#compactable.add(peer)
    this.#flusher.armAck(peer, peer.tx.uncertainIds)
  }

  /** `bytes` of plaintext arrived from `peer` (see {@link Flusher.received}). */
  received (peer: Peer, bytes: number): void {
    this.#flusher.received(peer, bytes)
  }

  /** A frame from `peer` arrived (see {@link Flusher.heard}). */
  heard (peer: Peer): void {
    this.#flusher.heard(peer)
  }

  /** Send what waits for `peer` now (see {@link Flusher.flush}). */
  flush (peer: Peer): void {
    this.#flusher.flush(peer)
  }

  /** Stop: no acknowledgement timer may fire any more. */
  clearTimers (): void {
    this.#flusher.clearTimers()
  }

  /** The peer acknowledged these IDs (full, and/or `epoch ‖ counters`). */
  onAck (peer: Peer, ids: readonly Uint8Array[] | undefined, epoch?: Uint8Array, counters?: readonly number[]): void {
    if (ids !== undefined) for (const id of ids) this.settle(peer, peer.out.keyOf(id), OK)
    if (epoch !== undefined && counters !== undefined && isEpoch(epoch, peer.out.epoch)) {
      for (const c of counters) this.settle(peer, c, OK)
    }
  }

  /** The peer may or may not have delivered these (it lost its records in a crash). */
  onUncertain (peer: Peer, ids: readonly Uint8Array[]): void {
    for (const id of ids) {
      this.settle(peer, peer.out.keyOf(id), { ok: false, error: new EgtpError('ERR_DELIVERY_UNCERTAIN', `${peer.id} restarted and cannot tell whether message ${toHex(id)} was delivered`) })
    }
  }

  /** Settle and forget an entry (no-op when unknown). */
  settle (peer: Peer, key: OutKey, result: Settlement): OutEntry | undefined {
    const entry = this.forget(peer, key)
    if (entry === undefined) return undefined
    if (!result.ok) this.#reportFailure(peer, entry, result.error)
    entry.settle(result, peer)
    return entry
  }

  /** Forget an entry without settling it (its caller already has an outcome). */
  forget (peer: Peer, key: OutKey): OutEntry | undefined {
    const entry = peer.out.remove(key)
    if (entry === undefined) return undefined
    this.#unackedBytes -= entry.bytes.length
    this.#unackedMessages--
    // An emptied peer stays in #active until the next tick (a peer asked one query at a time would leave and
    // rejoin the set every round trip, each time reshaping its table).
    if (peer.out.size === 0) this.#compactable.add(peer)
    this.#released?.(peer)
    if (this.#unackedMessages === 0 && this.#drain.waiting) this.#drain.check()
    return entry
  }

  /**
   * Resolves once nothing is unacknowledged and nothing waits or is on its way to any peer (what is pending
   * is flushed now). Unbounded: the caller races it against its own deadline.
   */
  drained (): Promise<void> {
    for (const p of this.#peers.values()) if (p.tx.hasWork()) this.#flusher.schedule(p)
    return this.#drain.wait(undefined, undefined)
  }

  /**
   * Resolves once what waits for `peer` (acknowledgements owed, control messages) went out (it is flushed
   * now), or when `bound` aborts.
   */
  flushed (peer: Peer, bound: AbortSignal): Promise<void> {
    if (peer.tx.hasWork()) this.#flusher.schedule(peer)
    return this.#drain.wait(peer, bound)
  }

  /** The session to `peer` was replaced: send everything unacknowledged again now. */
  resendAll (peer: Peer): void {
    for (const e of peer.out.entries()) this.#enqueue(peer, e)
  }

  /** Re-send what is due and give up what is past its deadline. */
  tick (now: number): void {
    // Peers that went quiet since the last tick give back their emptied maps (one tick later, so a busy peer
    // does not make them anew for every round trip).
    for (const peer of this.#compactable) {
      if (peer.out.size > 0) this.#compactable.delete(peer) // active again: back here when it empties
      else if (!peer.tx.hasWork() && peer.out.compact() && peer.tx.compact()) this.#compactable.delete(peer)
    }
    for (const peer of [...this.#active]) {
      if (peer.out.size === 0) {
        this.#active.delete(peer)
        continue
      }
      const { retry, expired } = peer.out.due(now)
      if (retry.length > 0 && retry[0]!.attempts > 0) this.#router.recheck(peer, now)
      for (const e of expired) {
        if (e.kind === 'a') {
          this.forget(peer, e.key)
          this.#ctx.stats.drop('reply-expired')
          continue
        }
        this.settle(peer, e.key, { ok: false, error: expiryError(peer.id, peer.contact.clockSkew, e) })
      }
      for (const e of retry) this.#enqueue(peer, e)
    }
  }

  /**
   * Report every held message failed (stop): ERR_DELIVERY_UNCERTAIN for a one-way message that was sent,
   * else ERR_CLOSED.
   */
  failAll (): void {
    for (const peer of [...this.#active]) {
      for (const e of [...peer.out.entries()]) this.settle(peer, e.key, { ok: false, error: stopError(e) })
    }
  }

  #hold (peer: Peer, entry: OutEntry): void {
    peer.out.add(entry)
    this.#unackedBytes += entry.bytes.length
    this.#unackedMessages++
    if (peer.out.size === 1) this.#active.add(peer) // (a no-op when it is still there: see forget)
  }

  #enqueue (peer: Peer, entry: OutEntry): void {
    if (entry.queued) return
    entry.queued = true
    peer.tx.queue.push(entry)
    this.#flusher.schedule(peer)
  }

  #reportFailure (peer: Peer, entry: OutEntry, error: EgtpError): void {
    if (entry.kind === 'a') return
    this.#ctx.stats.failure(peer.id, entry.type, error.code)
    this.#ctx.events.safeDispatch('message:failed', { peerId: peer.id, type: entry.type, messageId: toHex(entry.id), error })
  }

  #batchFailed (peer: Peer, entries: OutEntry[], err: unknown): void {
    const now = this.#ctx.clock.monotonic()
    const limits = this.#ctx.limits
    for (const e of entries) {
      e.queued = false
      e.nextRetryAt = now + retryDelay(e.attempts + 1, limits.retryInitialMs, limits.retryMaxMs)
    }
    if (this.#ctx.shutdown.aborted) return
    if (isEgtpError(err, 'ERR_FRAME_TOO_LARGE') && entries.length > 1) {
      // Half of what was refused (batches sealed before the first refusal fail alike: they halve no further).
      let size = 0
      for (const e of entries) size += e.bytes.length
      peer.tx.batchBytes = Math.max(1024, Math.min(peer.tx.batchBytes, Math.floor(size / 2)))
      for (const e of entries) this.#enqueue(peer, e)
      return
    }
    // A route that may pass (a relay restarting or full, the peer not re-registered yet): messages wait for it
    // (re-sent with backoff) until their deadline (README, 4).
    if (isEgtpError(err) && err.retryable === true) {
      this.#ctx.log.trace('no route to %s yet (%e); %d message(s) wait for a re-send', peer.id, err, entries.length)
      return
    }
    // Messages that never left this machine fail at once: they certainly were not delivered.
    const fatal = isEgtpError(err, 'ERR_UNREACHABLE') || isEgtpError(err, 'ERR_FRAME_TOO_LARGE') || isEgtpError(err, 'ERR_SELF')
    if (fatal) {
      const error = err as EgtpError
      for (const e of entries) {
        if (e.attempts === 0 && e.kind !== 'a') this.settle(peer, e.key, { ok: false, error })
      }
    } else {
      this.#ctx.log.error('sending to %s failed, will retry: %e', peer.id, err)
    }
  }
}

const OK: Settlement = { ok: true }
