import { MAX_ACKS_PER_MESSAGE } from '@egtp/codec'
import { EgtpError, SENT, outboundFrameBytes } from '@egtp/interface'
import type { OutboundFrame } from '@egtp/interface'
import type { NodeContext } from './context.ts'
import type { DrainWaiters } from './drain.ts'
import { markSent } from './outbound.ts'
import type { OutEntry, OutKey, Settlement } from './outbound.ts'
import type { Batch, OwnContactMessage } from './peer-tx.ts'
import type { Peer, PeerTable } from './peers.ts'
import type { Router } from './router.ts'

// Read once: on Node 20 `performance` and `process` are accessors of globalThis, each read a getter call.
const perf = performance
const { nextTick } = process

/** Where the sender finds the node's own record to piggyback. */
export interface OwnContactSource {
  readonly message: OwnContactMessage | undefined
}

/** What the flusher reports back to the sender. */
export interface FlushHooks {
  /** A batch could not be sealed or handed over. */
  failed: (peer: Peer, entries: OutEntry[], err: unknown) => void
  /** Settle an entry (a first message to a peer whose key cannot be found). */
  settle: (peer: Peer, key: OutKey, result: Settlement) => OutEntry | undefined
}

/**
 * Acknowledge at once (this turn) rather than after `ackDelayMs` once this much
 * plaintext arrived since the last acknowledgement: a bulk sender's window is then not held up by the timer.
 */
const ACK_PROMPT_BYTES = 64 * 1024
/**
 * Batches to one peer handed to commstrats and not yet settled before the next one waits. A relay settles a
 * send only once the relay has accepted it: waiting for each would allow one batch per round trip to the relay.
 */
const MAX_TRANSMITS_IN_FLIGHT = 8
/**
 * A peer heard from less than this long ago (in quarter milliseconds: {@link turnTime}), and sent nothing
 * since, is being answered in the turn that heard it (see {@link Flusher.schedule}).
 */
const TURN_QUARTER_MS = 4
/** `PeerTx.heardAt` of a peer not heard from since the last flush to it. */
const NOT_HEARD = -1_000_000

/**
 * `performance.now()` in whole quarter milliseconds: a small integer in the peer's field (not a heap number)
 * for the first 74 hours of the process.
 */
function turnTime (): number {
  return Math.floor(perf.now() * 4)
}

/**
 * When and how what waits for a peer goes out: the turn in which a peer was heard, the scheduled flush of a
 * peer, the acknowledgement timer, and the flush itself (take a batch, seal it, hand it to the router, count
 * it sent), one flush per peer at a time. The sender holds the messages; this moves them.
 */
export class Flusher {
  readonly #ctx: NodeContext
  readonly #peers: PeerTable
  readonly #router: Router
  readonly #contact: OwnContactSource
  readonly #drain: DrainWaiters
  readonly #hooks: FlushHooks
  /** The scheduled flush of a peer: one function for every peer, not a closure per peer or per schedule. */
  readonly #flushScheduled = (peer: Peer): void => {
    peer.tx.flushScheduled = false
    this.flush(peer)
  }

  /** A flush whose peer's route was prepared a tick ago (see {@link flush}): one function for every peer. */
  readonly #flushPrepared = (peer: Peer): void => { this.#flushOn(peer) }

  constructor (ctx: NodeContext, peers: PeerTable, router: Router, contact: OwnContactSource, drain: DrainWaiters, hooks: FlushHooks) {
    this.#ctx = ctx
    this.#peers = peers
    this.#router = router
    this.#contact = contact
    this.#drain = drain
    this.#hooks = hooks
  }

  /**
   * `bytes` of plaintext arrived from `peer`. After a lot since our last acknowledgement, what is pending
   * goes now (this turn) instead of after `ackDelayMs`, so a sender with a full window
   * is not left waiting on the timer.
   */
  received (peer: Peer, bytes: number): void {
    const tx = peer.tx
    tx.rxBytesSinceAck += bytes
    if (tx.rxBytesSinceAck >= ACK_PROMPT_BYTES && (tx.ackCounters.length > 0 || tx.fullAcks > 0)) this.schedule(peer)
  }

  /** A frame from `peer` arrived: what answers it goes at the end of the tick (see {@link schedule}). */
  heard (peer: Peer): void {
    peer.tx.heardAt = turnTime()
  }

  /**
   * Flush `peer` soon. Messages to a peer heard from in this turn (a reply, a query made by a caller that
   * awaited a reply) go at the end of the tick, after the current callback and the microtasks it queued (a
   * read's frames, the replies of handlers that answered at once, a caller's loop of sends share one batch):
   * a lone reply or query is sealed and written in the turn of the read, not a phase later. Otherwise, and for
   * acknowledgements alone, after the current I/O callbacks (the check phase): the acknowledgements of every
   * read of this loop iteration share a frame (a bulk receiver reads 64 KiB at a time, many times per
   * iteration), and a path whose peer closed it is known closed before a frame is put on it.
   * "In this turn": a frame from the peer arrived less than `TURN_QUARTER_MS` ago and nothing was flushed to
   * it since (the answer to a frame ends its turn), rather than "in this loop iteration": ending turns with a
   * `setImmediate` cost one per round trip (measured: ~4% of the CPU per round trip with one query in flight).
   * A turn must end even when nothing more arrives, or a send to a peer that just closed its connection would
   * be written before the close is read.
   */
  schedule (peer: Peer): void {
    const tx = peer.tx
    if (tx.flushScheduled) return
    tx.flushScheduled = true
    if (tx.queue.length > 0 && turnTime() - tx.heardAt < TURN_QUARTER_MS) nextTick(this.#flushScheduled, peer)
    else setImmediate(this.#flushScheduled, peer)
  }

  /**
   * An acknowledgement waits: it goes with the next batch, or alone `ackDelayMs` after the oldest waiting one.
   * The per-peer timer is not cleared when a batch takes the acknowledgements (that would cost a timer per
   * round trip): when it fires with nothing waiting it does nothing, and it waits again for a younger one.
   */
  armAck (peer: Peer, size: number): void {
    const tx = peer.tx
    if (size >= MAX_ACKS_PER_MESSAGE) {
      this.schedule(peer)
      return
    }
    // Due `ackDelayMs` after the frame that carried it arrived (acknowledgements are owed while a frame is
    // handled: its arrival time saves a clock read per round trip), or from now once the peer's turn ended.
    tx.ackDueAt ??= (tx.heardAt !== NOT_HEARD ? tx.heardAt / 4 : perf.now()) + this.#ctx.limits.ackDelayMs
    if (tx.ackTimer === undefined && !tx.flushScheduled && !tx.flushing) this.#startAckTimer(peer, this.#ctx.limits.ackDelayMs)
  }

  #startAckTimer (peer: Peer, ms: number): void {
    const tx = peer.tx
    tx.ackTimer = setTimeout(() => {
      tx.ackTimer = undefined
      if (!tx.hasAcks()) return // a batch took them
      const waitMs = (tx.ackDueAt ?? 0) - perf.now()
      if (waitMs >= 1) this.#startAckTimer(peer, Math.ceil(waitMs))
      else this.schedule(peer)
    }, ms)
    tx.ackTimer.unref?.()
  }

  /** Stop: no acknowledgement timer may fire any more. */
  clearTimers (): void {
    for (const p of this.#peers.values()) p.tx.clearAckTimer()
  }

  /**
   * Seal and send batches until nothing is left for `peer`. One flush per peer runs at a time. Synchronous while
   * nothing must be waited for (the peer's key is known, the transmit window has room): the common case costs
   * no promise of its own; otherwise the flush goes on asynchronously ({@link #flushWaiting}).
   */
  flush (peer: Peer): void {
    const tx = peer.tx
    tx.heardAt = NOT_HEARD // its turn ends (see schedule)
    if (tx.flushing) {
      tx.flushAgain = true
      return
    }
    tx.flushing = true
    // A first frame to a peer with no open path dials while it is sealed (a handshake takes a while): the seal
    // waits for the dial's next tick, in which Node opens the socket (the peer accepts meanwhile, not after).
    if (peer.contact.publicKey !== undefined && this.#router.prepare(peer)) {
      nextTick(this.#flushPrepared, peer)
      return
    }
    this.#flushOn(peer)
  }

  /** The body of {@link flush} (its `flushing` flag set). */
  #flushOn (peer: Peer): void {
    const tx = peer.tx
    let waiting = false
    try {
      do {
        tx.flushAgain = false
        while (tx.hasWork() && !this.#ctx.shutdown.aborted) {
          const publicKey = peer.contact.publicKey
          if (publicKey === undefined || tx.transmitting >= MAX_TRANSMITS_IN_FLIGHT) {
            waiting = true
            void this.#flushWaiting(peer)
            return
          }
          if (!this.#sendBatch(peer, publicKey)) break
        }
      } while (tx.flushAgain && !this.#ctx.shutdown.aborted)
    } finally {
      if (!waiting) this.#flushEnded(tx)
    }
  }

  /** The rest of a flush that must wait: for the peer's key (a lookup) or for room in the transmit window. */
  async #flushWaiting (peer: Peer): Promise<void> {
    const tx = peer.tx
    try {
      do {
        tx.flushAgain = false
        while (tx.hasWork() && !this.#ctx.shutdown.aborted) {
          const publicKey = peer.contact.publicKey ?? await this.#resolveKey(peer)
          if (publicKey === undefined) break
          if (tx.transmitting >= MAX_TRANSMITS_IN_FLIGHT) {
            await new Promise<void>(resolve => { tx.transmitSettled = resolve })
            continue
          }
          if (!this.#sendBatch(peer, publicKey)) break
        }
      } while (tx.flushAgain && !this.#ctx.shutdown.aborted)
    } finally {
      this.#flushEnded(tx)
    }
  }

  #flushEnded (tx: Peer['tx']): void {
    tx.flushing = false
    if (this.#drain.waiting) this.#drain.check()
  }

  /** Take, seal and hand over one batch; false when there was nothing to take after all. */
  #sendBatch (peer: Peer, publicKey: Uint8Array): boolean {
    const tx = peer.tx
    const batch = tx.takeBatch(peer.out, this.#contact.message)
    if (batch === undefined) return false
    let frame: OutboundFrame
    try {
      const { pieces } = this.#ctx.sessions.sealParts({ nodeId: peer.id, publicKey }, batch.parts)
      frame = pieces.length === 1 ? pieces[0]! : pieces
    } catch (err) {
      this.#hooks.failed(peer, batch.entries, err)
      return true
    }
    tx.transmitting++
    // The last batch of a flush that someone waits for (a query, a reply) is written at once, not a tick later.
    // Not one-way messages and acknowledgements: written at the tick's end, after the work that follows them
    // (measured: one-way throughput -10% when written at once, the receiver woken while the sender works).
    const sent = this.#router.transmit(peer, frame, batch.expectReply, batch.awaited && !tx.hasWork())
    if (sent === SENT) {
      // Taken at once (the common case): settled now, without a promise, closures and a microtask per batch
      // (measured: ~3% less CPU per round trip with one query in flight).
      try {
        this.#batchSent(peer, batch, outboundFrameBytes(frame))
      } finally {
        this.#transmitted(tx)
      }
      return true
    }
    sent.then(
      () => {
        try {
          this.#batchSent(peer, batch, outboundFrameBytes(frame))
        } finally {
          this.#transmitted(tx)
        }
      },
      (err: unknown) => {
        try {
          this.#hooks.failed(peer, batch.entries, err)
        } finally {
          this.#transmitted(tx)
        }
      }
    )
    return true
  }

  /** A batch's transmit settled: wake a flush waiting for room, and drain waiters. */
  #transmitted (tx: Peer['tx']): void {
    tx.transmitting--
    const wake = tx.transmitSettled
    tx.transmitSettled = undefined
    wake?.()
    if (this.#drain.waiting) this.#drain.check()
  }

  /** A first message to a peer never heard from: find its key. Fails the queued messages when impossible. */
  async #resolveKey (peer: Peer): Promise<Uint8Array | undefined> {
    if (peer.contact.record === undefined) await this.#peers.lookUp(peer)
    const key = peer.contact.publicKey
    if (key !== undefined) return key
    const error = new EgtpError('ERR_UNREACHABLE', `no contact record for ${peer.id}`)
    for (const e of peer.tx.queue.drain()) {
      e.queued = false
      if (e.attempts === 0) this.#hooks.settle(peer, e.key, { ok: false, error })
    }
    peer.tx.clearAcks()
    return undefined
  }

  #batchSent (peer: Peer, batch: Batch, frameBytes: number): void {
    const now = this.#ctx.clock.monotonic()
    const { limits, stats } = this.#ctx
    stats.framesSent++
    stats.bytesSent += frameBytes
    if (batch.ci !== undefined && batch.ci.seq > peer.tx.ciSentSeq) peer.tx.ciSent = batch.ci
    markSent(batch.entries, now, limits, stats, peer.id)
  }
}
