import { MAX_ACKS_PER_MESSAGE, MAX_ACK_COUNTERS, MAX_BATCH_MESSAGES } from '@egtp/codec'
import { EgtpError, isEgtpError, outboundFrameBytes } from '@egtp/interface'
import type { OutboundFrame } from '@egtp/interface'
import type { NodeContext } from './context.ts'
import { bytesKey, isEpoch, makeMessageId, toHex } from './ids.ts'
import { clockSkewError } from './errors.ts'
import { OwnEntry, retryDelay } from './outbound.ts'
import type { OutEntry, OutKey, OutKind, Settlement } from './outbound.ts'
import { hasRelayRoute, lookupPeer, transmit } from './peers.ts'
import type { Peer, PeerTable } from './peers.ts'
import { encodeBatchParts, encodeMessage, encodeOwnBytesMessage, encodePayloadMessage } from '@egtp/codec/node'
import type { MessageBytes, NodeMessage } from '@egtp/codec/node'
import { REFERENCED_PAYLOAD_BYTES } from './constants.ts'

/** The node's own contact record as a ready `ci` message. */
export interface OwnContactMessage {
  seq: number
  bytes: Uint8Array
}

interface Batch {
  /** The batch's plaintext in pieces (large messages by reference). */
  parts: Uint8Array[]
  entries: OutEntry[]
  ciSeq: number
  expectReply: boolean
}

const MAX_CONTROL_PER_BATCH = 256
/**
 * Batches to one peer handed to commstrats and not yet settled before the next one waits. A relay settles a
 * send only once the relay has accepted it: waiting for each would allow one batch per round trip to the relay.
 */
const MAX_TRANSMITS_IN_FLIGHT = 8

/**
 * The outbound half of a node: holds every reliable message until acknowledged (bounded per peer and in
 * total), packs messages, acknowledgements and the contact record into batches (one session frame each),
 * seals and sends them, re-sends on a timer with backoff or when the session was replaced, and reports
 * each message's outcome exactly once.
 */
export class Sender {
  readonly #ctx: NodeContext
  readonly #peers: PeerTable
  readonly #contact: () => OwnContactMessage | undefined
  readonly #active = new Set<Peer>()
  #unackedBytes = 0
  #unackedMessages = 0

  /** Called whenever an entry of `peer` is released (the send window's drain hook). */
  readonly #released: ((peer: Peer) => void) | undefined

  constructor (ctx: NodeContext, peers: PeerTable, contact: () => OwnContactMessage | undefined, released?: (peer: Peer) => void) {
    this.#ctx = ctx
    this.#peers = peers
    this.#contact = contact
    this.#released = released
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
  submit (peer: Peer, kind: 'q' | 'o', type: string, payload: unknown, timeoutMs: number, settle: (this: OutEntry, r: Settlement) => void,
    resolve?: () => void, reject?: (error: EgtpError) => void): OutEntry {
    const limits = this.#ctx.limits
    if (peer.out.size >= limits.maxUnackedPerPeer) {
      throw new EgtpError('ERR_TOO_MANY_PENDING', `${peer.out.size} messages to ${peer.id} await acknowledgement`)
    }
    const counter = peer.out.allocateCounter()
    let id: Uint8Array | undefined
    let bytes: MessageBytes | undefined
    try {
      // A byte-string payload is written straight away (its ID read from the message when needed; a large one
      // referenced, not copied); anything else goes through the codec.
      if (payload instanceof Uint8Array) bytes = encodeOwnBytesMessage(kind, peer.out.epoch, counter, type, payload, timeoutMs, REFERENCED_PAYLOAD_BYTES)
      if (bytes === undefined) {
        id = makeMessageId(peer.out.epoch, counter)
        bytes = encodePayloadMessage({ t: kind, m: id, y: type, p: payload ?? null, d: timeoutMs }, payload)
      }
    } catch (err) {
      throw new RangeError(`payload cannot be encoded: ${(err as Error).message}`, { cause: err })
    }
    if (bytes.byteLength > limits.maxMessageBytes) {
      throw new RangeError(`message of ${bytes.byteLength} bytes exceeds maxMessageBytes ${limits.maxMessageBytes}`)
    }
    if (peer.out.bytes + bytes.byteLength > limits.maxUnackedBytesPerPeer || this.#unackedBytes + bytes.byteLength > limits.maxUnackedBytes) {
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
    let bytes: Uint8Array
    try {
      bytes = encodePayloadMessage({ t: 'a', m: queryId, ...body } as NodeMessage, 'p' in body ? body.p : undefined)
      if (bytes.byteLength > this.#ctx.limits.maxMessageBytes) throw new RangeError('reply too large')
    } catch (err) {
      this.#ctx.log.error('reply to %s %s cannot be encoded: %e', peer.id, type, err)
      bytes = encodeMessage({ t: 'a', m: queryId, e: { c: 'ERR_REMOTE', s: 'the reply could not be encoded' } })
    }
    const key = bytesKey(queryId)
    peer.acks.delete(key) // the reply acknowledges the query (a compact ack of it may still go: harmless)
    if (peer.out.get(key) !== undefined) return // answered already
    const limits = this.#ctx.limits
    if (peer.out.size >= limits.maxUnackedPerPeer || this.#unackedBytes + bytes.byteLength > limits.maxUnackedBytes) {
      // No room to hold it for re-sending: send it once; the caller re-sends its query if it is lost.
      this.control(peer, bytes)
      return
    }
    const now = this.#ctx.clock.monotonic()
    const entry: OutEntry = {
      key, id: queryId, kind: 'a', counter: 0, type, bytes, deadline: now + horizonMs, createdAt: now, attempts: 0,
      lastSentAt: 0, nextRetryAt: now + limits.retryInitialMs, queued: false, settle: () => {}, resolve: undefined, reject: undefined
    }
    this.#hold(peer, entry)
    this.#enqueue(peer, entry)
  }

  /** Send an unreliable message (an error reply that is regenerated if the peer re-sends). */
  control (peer: Peer, bytes: Uint8Array): void {
    if (peer.control.length >= this.#ctx.limits.maxUnackedPerPeer) return
    peer.control.push(bytes)
    this.schedule(peer)
  }

  /** Acknowledge a message ID in full (replies; IDs of other streams). */
  ack (peer: Peer, id: Uint8Array): void {
    peer.acks.set(bytesKey(id), id)
    this.#armAck(peer, peer.acks.size)
  }

  /** Acknowledge message `epoch ‖ counter` of the peer's stream (compact when it is the current one). */
  ackCounter (peer: Peer, epoch: Uint8Array, counter: number): void {
    if (peer.ackEpoch === undefined || peer.ackCounters.length === 0) peer.ackEpoch = epoch
    if (peer.ackEpoch === epoch || isEpoch(peer.ackEpoch, epoch)) {
      peer.ackCounters.push(counter)
      this.#armAck(peer, peer.ackCounters.length)
      return
    }
    this.ack(peer, makeMessageId(epoch, counter))
  }

  /**
   * The peer sent us a lot since our last acknowledgement: send what is pending now (after the current I/O
   * callbacks) instead of after `ackDelayMs`, so a sender with a full window is not left waiting on the timer.
   */
  ackSoon (peer: Peer): void {
    if (peer.ackCounters.length > 0 || peer.acks.size > 0) this.schedule(peer)
  }

  notifyUncertain (peer: Peer, id: Uint8Array): void {
    peer.uncertain.set(bytesKey(id), id)
    this.#armAck(peer, peer.uncertain.size)
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
    entry.settle(result)
    return entry
  }

  /** Forget an entry without settling it (its caller already has an outcome). */
  forget (peer: Peer, key: OutKey): OutEntry | undefined {
    const entry = peer.out.remove(key)
    if (entry === undefined) return undefined
    this.#unackedBytes -= entry.bytes.byteLength
    this.#unackedMessages--
    if (peer.out.size === 0) this.#active.delete(peer)
    this.#released?.(peer)
    return entry
  }

  /** The session to `peer` was replaced: send everything unacknowledged again now. */
  resendAll (peer: Peer): void {
    for (const e of peer.out.entries()) this.#enqueue(peer, e)
  }

  /** Re-send what is due and give up what is past its deadline. */
  tick (now: number): void {
    for (const peer of [...this.#active]) {
      const { retry, expired } = peer.out.due(now)
      for (const e of expired) {
        if (e.kind === 'a') {
          this.forget(peer, e.key)
          this.#ctx.stats.drop('reply-expired')
          continue
        }
        const error = clockSkewError(peer, `message ${toHex(e.id)} to ${peer.id} could not be delivered in time`) ?? (e.kind === 'o' && e.attempts > 0
          ? new EgtpError('ERR_DELIVERY_UNCERTAIN', `message ${toHex(e.id)} to ${peer.id} was sent but not acknowledged in time`)
          : new EgtpError('ERR_TIMEOUT', `message ${toHex(e.id)} to ${peer.id} could not be delivered in time`))
        this.settle(peer, e.key, { ok: false, error })
      }
      for (const e of retry) this.#enqueue(peer, e)
    }
  }

  /** Report every held message failed (stop). */
  failAll (errorFor: (entry: OutEntry) => EgtpError): void {
    for (const peer of [...this.#active]) {
      for (const e of [...peer.out.entries()]) this.settle(peer, e.key, { ok: false, error: errorFor(e) })
    }
  }

  /** Whether anything of our own (queries, one-way) is unacknowledged. */
  hasUnackedOwn (): boolean {
    for (const p of this.#active) if (p.out.own.size > 0) return true
    return false
  }

  /** Send a frame the session manager produced (initiation retransmits, keepalives); failures are logged. */
  sendRaw (peer: Peer, frame: Uint8Array): void {
    transmit(this.#ctx, this.#peers, peer, frame, false).then(() => {
      this.#ctx.stats.framesSent++
      this.#ctx.stats.bytesSent += frame.byteLength
    }, (err: unknown) => { this.#ctx.log.trace('session frame to %s failed: %e', peer.id, err) })
  }

  /** Flush `peer` soon (after the current I/O callbacks, so they share a batch). */
  schedule (peer: Peer): void {
    if (peer.flushScheduled) return
    peer.flushScheduled = true
    setImmediate(() => {
      peer.flushScheduled = false
      void this.flush(peer)
    })
  }

  #hold (peer: Peer, entry: OutEntry): void {
    peer.out.add(entry)
    this.#unackedBytes += entry.bytes.byteLength
    this.#unackedMessages++
    this.#active.add(peer)
  }

  #enqueue (peer: Peer, entry: OutEntry): void {
    if (entry.queued) return
    entry.queued = true
    peer.queue.push(entry)
    this.schedule(peer)
  }

  #armAck (peer: Peer, size: number): void {
    if (size >= MAX_ACKS_PER_MESSAGE) {
      this.schedule(peer)
    } else if (peer.ackTimer === undefined && !peer.flushScheduled && !peer.flushing) {
      peer.ackTimer = setTimeout(() => {
        peer.ackTimer = undefined
        this.schedule(peer)
      }, this.#ctx.limits.ackDelayMs)
      peer.ackTimer.unref?.()
    }
  }

  #reportFailure (peer: Peer, entry: OutEntry, error: EgtpError): void {
    if (entry.kind === 'a') return
    this.#ctx.stats.failure(peer.id, entry.type, error.code)
    this.#ctx.events.safeDispatch('message:failed', { peerId: peer.id, type: entry.type, messageId: toHex(entry.id), error })
  }

  #hasWork (peer: Peer): boolean {
    return peer.queue.length > 0 || peer.ackCounters.length > 0 || peer.acks.size > 0 || peer.uncertain.size > 0 || peer.control.length > 0
  }

  /** Seal and send batches until nothing is left for `peer`. One flush per peer runs at a time. */
  async flush (peer: Peer): Promise<void> {
    if (peer.flushing) {
      peer.flushAgain = true
      return
    }
    peer.flushing = true
    try {
      do {
        peer.flushAgain = false
        while (this.#hasWork(peer) && !this.#ctx.shutdown.aborted) {
          if (peer.publicKey === undefined && !(await this.#resolveKey(peer))) break
          if (peer.transmitting >= MAX_TRANSMITS_IN_FLIGHT) {
            await new Promise<void>(resolve => { peer.transmitSettled = resolve })
            continue
          }
          const batch = this.#takeBatch(peer)
          if (batch === undefined) break
          let frame: OutboundFrame
          try {
            const { pieces } = this.#ctx.sessions.sealParts({ nodeId: peer.id, publicKey: peer.publicKey! }, batch.parts)
            frame = pieces.length === 1 ? pieces[0]! : pieces
          } catch (err) {
            this.#batchFailed(peer, batch.entries, err)
            continue
          }
          peer.transmitting++
          transmit(this.#ctx, this.#peers, peer, frame, batch.expectReply).then(
            () => { this.#batchSent(peer, batch, outboundFrameBytes(frame)) },
            (err: unknown) => { this.#batchFailed(peer, batch.entries, err) }
          ).finally(() => {
            peer.transmitting--
            const wake = peer.transmitSettled
            peer.transmitSettled = undefined
            wake?.()
          })
        }
      } while (peer.flushAgain && !this.#ctx.shutdown.aborted)
    } finally {
      peer.flushing = false
    }
  }

  /** A first message to a peer never heard from: find its key. Fails the queued messages when impossible. */
  async #resolveKey (peer: Peer): Promise<boolean> {
    if (peer.record === undefined) await lookupPeer(this.#ctx, this.#peers, peer)
    if (peer.publicKey !== undefined) return true
    const error = new EgtpError('ERR_UNREACHABLE', `no contact record for ${peer.id}`)
    for (const e of peer.queue.drain()) {
      e.queued = false
      if (e.attempts === 0) this.settle(peer, e.key, { ok: false, error })
    }
    peer.acks.clear()
    peer.ackCounters = []
    peer.uncertain.clear()
    peer.control.length = 0
    return false
  }

  #takeBatch (peer: Peer): Batch | undefined {
    const parts: MessageBytes[] = []
    const entries: OutEntry[] = []
    let size = 0
    let ciSeq = 0
    const ci = this.#contact()
    if (ci !== undefined && peer.ciSentSeq < ci.seq) {
      parts.push(ci.bytes)
      size += ci.bytes.byteLength
      ciSeq = ci.seq
    }
    if (peer.ackTimer !== undefined) {
      clearTimeout(peer.ackTimer)
      peer.ackTimer = undefined
    }
    if (peer.ackCounters.length > 0 || peer.acks.size > 0) peer.rxBytesSinceAck = 0
    while (peer.ackCounters.length > 0) {
      const c = peer.ackCounters.length <= MAX_ACK_COUNTERS ? peer.ackCounters : peer.ackCounters.slice(0, MAX_ACK_COUNTERS)
      peer.ackCounters = peer.ackCounters.length <= MAX_ACK_COUNTERS ? [] : peer.ackCounters.slice(MAX_ACK_COUNTERS)
      const bytes = encodeMessage({ t: 'k', e: peer.ackEpoch!, c })
      parts.push(bytes)
      size += bytes.byteLength
    }
    for (const [map, t] of [[peer.acks, 'k'], [peer.uncertain, 'u']] as const) {
      while (map.size > 0) {
        const ids: Uint8Array[] = []
        for (const [k, id] of map) {
          if (ids.length >= MAX_ACKS_PER_MESSAGE) break
          ids.push(id)
          map.delete(k)
        }
        const bytes = encodeMessage({ t, m: ids })
        parts.push(bytes)
        size += bytes.byteLength
      }
    }
    while (peer.control.length > 0 && parts.length < MAX_CONTROL_PER_BATCH) {
      const bytes = peer.control.shift()!
      parts.push(bytes)
      size += bytes.byteLength
    }
    let expectReply = false
    while (peer.queue.length > 0 && parts.length < MAX_BATCH_MESSAGES) {
      const e = peer.queue.peek()!
      if (peer.out.get(e.key) !== e) { // settled while queued
        peer.queue.shift()
        e.queued = false
        continue
      }
      if (size > 0 && size + e.bytes.byteLength > peer.batchBytes) break
      peer.queue.shift()
      parts.push(e.bytes)
      entries.push(e)
      size += e.bytes.byteLength
      if (e.kind === 'q') expectReply = true
    }
    if (parts.length === 0) return undefined
    if (this.#hasWork(peer)) peer.flushAgain = true
    return { parts: encodeBatchParts(peer.out.floor(), parts), entries, ciSeq, expectReply }
  }

  #batchSent (peer: Peer, batch: Batch, frameBytes: number): void {
    const now = this.#ctx.clock.monotonic()
    const { limits, stats } = this.#ctx
    stats.framesSent++
    stats.bytesSent += frameBytes
    if (batch.ciSeq > peer.ciSentSeq) peer.ciSentSeq = batch.ciSeq
    // One jittered delay per batch (and attempt count): the entries went out together. First sends are counted
    // per run of one type.
    let delayFor = -1
    let delay = 0
    let runType: string | undefined
    let runCount = 0
    let runBytes = 0
    for (const e of batch.entries) {
      e.queued = false
      e.attempts++
      e.lastSentAt = now
      if (e.attempts !== delayFor) {
        delayFor = e.attempts
        delay = retryDelay(e.attempts, limits.retryInitialMs, limits.retryMaxMs)
      }
      e.nextRetryAt = now + delay
      if (e.attempts === 1) {
        if (e.type !== runType) {
          if (runType !== undefined) stats.sentMany(peer.id, runType, runCount, runBytes)
          runType = e.type
          runCount = 0
          runBytes = 0
        }
        runCount++
        runBytes += e.bytes.byteLength
      } else {
        stats.retransmissions++
      }
    }
    if (runType !== undefined) stats.sentMany(peer.id, runType, runCount, runBytes)
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
      for (const e of entries) size += e.bytes.byteLength
      peer.batchBytes = Math.max(1024, Math.min(peer.batchBytes, Math.floor(size / 2)))
      for (const e of entries) this.#enqueue(peer, e)
      return
    }
    // A relay route is temporary by nature: the relay restarts, or the peer has not re-registered yet. Messages
    // wait for it (re-sent with backoff) until their deadline, as when every endpoint refused (README, 4).
    if (isEgtpError(err, 'ERR_UNREACHABLE') && hasRelayRoute(this.#ctx, peer)) {
      this.#ctx.log.trace('no route to %s through its relays yet; %d message(s) wait for a re-send', peer.id, entries.length)
      return
    }
    // Messages that never left this machine fail at once: they certainly were not delivered.
    const fatal = isEgtpError(err, 'ERR_UNREACHABLE') || isEgtpError(err, 'ERR_FRAME_TOO_LARGE') || isEgtpError(err, 'ERR_SELF')
    if (fatal) {
      const error = err as EgtpError
      for (const e of entries) {
        if (e.attempts === 0 && e.kind !== 'a') this.settle(peer, e.key, { ok: false, error: new EgtpError(error.code, error.message.replace(/^ERR_[A-Z_]+: /, ''), { cause: err }) })
      }
    } else {
      this.#ctx.log.error('sending to %s failed, will retry: %e', peer.id, err)
    }
  }
}

const OK: Settlement = { ok: true }

export type { OutKind }
