import { contactRecordFromWire, nodeIdFromBytes } from '@egtp/identity'
import { isEgtpError } from '@egtp/interface'
import type { InboundFrame } from '@egtp/interface'
import { refusalReplies } from '@egtp/session'
import type { FrameOrigin, OpenOptions, OpenResult } from '@egtp/session'
import type { NodeContext } from './context.ts'
import type { InboundDedup, DedupStream } from './dedup.ts'
import type { Dispatcher } from './dispatcher.ts'
import { Delivery } from './delivery.ts'
import { reportDrop } from './drops.ts'
import { FrameLease } from './frame-lease.ts'
import { counterOf, isEpoch } from './ids.ts'
import type { DedupJournal } from './journal.ts'
import type { Peer, PeerTable } from './peers.ts'
import type { DropReason } from './types.ts'
import { decodeBatch, decodeContactInfo, encodeMessage, peekContactInfo } from '@egtp/codec/node'
import { isDataFrame } from '@egtp/codec/session'
import type { ContactInfoEntry, OnewayMsg, QueryMsg, ReplyMsg } from '@egtp/codec/node'

/** The sender's side the receiver needs: acknowledgements in and out, error replies. */
export interface AckSink {
  onAck: (peer: Peer, ids: readonly Uint8Array[] | undefined, epoch?: Uint8Array, counters?: readonly number[]) => void
  onUncertain: (peer: Peer, ids: readonly Uint8Array[]) => void
  ack: (peer: Peer, id: Uint8Array) => void
  /** `arm` false: {@link armAcks} follows (after the handler ran). */
  ackCounter: (peer: Peer, epoch: Uint8Array, counter: number, arm?: boolean) => void
  armAcks: (peer: Peer) => void
  notifyUncertain: (peer: Peer, id: Uint8Array) => void
  control: (peer: Peer, bytes: Uint8Array) => void
  received: (peer: Peer, bytes: number) => void
  /** Send what waits for `peer` now. */
  flush: (peer: Peer) => void
  /** A frame from `peer` arrived (what answers it goes this turn). */
  heard: (peer: Peer) => void
}

/** Where delivered messages go (the node's handlers). */
export interface MessageSink {
  /** True while new messages may be delivered (false once stopping). */
  readonly accepting: boolean
  has: (type: string) => boolean
  /** True when some handler borrows its payload: data frames are then opened in place. */
  readonly borrowing: boolean
  /**
   * Invoke the handler (the message is recorded as delivered and acknowledged before this is called). `lease`:
   * the message views a frame opened in place (see {@link FrameLease}); then `epoch` (a copy) and `counter` are
   * its ID's parts.
   */
  invoke: (peer: Peer, message: QueryMsg | OnewayMsg, receivedAt: number, lease?: FrameLease, epoch?: Uint8Array, counter?: number) => Promise<unknown> | undefined
}

/** Where replies go (the pending queries). */
export interface ReplySink {
  /** A reply (or an error report for a one-way message) from `peer`. */
  onReply: (peer: Peer, message: ReplyMsg) => void
}

/** What the receiver passes frames on to. */
export interface ReceiverParts {
  readonly peers: PeerTable
  readonly acks: AckSink
  readonly handlers: MessageSink
  readonly replies: ReplySink
  readonly dedup: InboundDedup
  readonly dispatcher: Dispatcher
  readonly journal: DedupJournal | undefined
}

/** Codes of a frame that is not a session frame at all: its path is closed at once (`ReturnPath.reject`). */
const GARBAGE = new Set(['ERR_MALFORMED', 'ERR_UNKNOWN_TYPE', 'ERR_FIELD', 'ERR_VERSION', 'ERR_FRAME_TOO_LARGE'])

const IN_PLACE: OpenOptions = { inPlace: true }

const SESSION_DROP: Record<string, DropReason> = {
  ERR_AUTH: 'auth', ERR_REPLAY: 'replay', ERR_SELF: 'self', ERR_CLOCK_WINDOW: 'clock-window', ERR_RATE_LIMITED: 'rate-limited'
}

/**
 * The inbound half of a node: opens frames through the session manager (answering handshakes and hints on
 * the path they came by), remembers that path for the authenticated peer, decodes the batch, and routes
 * each message: acknowledgements and replies to the sender side, queries and one-way messages through
 * de-duplication (and the journal when persistent) to a bounded handler dispatcher.
 */
export class Receiver {
  readonly #ctx: NodeContext
  readonly #peers: PeerTable
  readonly #sender: AckSink
  readonly #handlers: MessageSink
  readonly #replies: ReplySink
  readonly #dedup: InboundDedup
  readonly #dispatcher: Dispatcher
  readonly #journal: DedupJournal | undefined
  /**
   * Records piggybacked on an initiation we just answered (their `ci` messages, undecoded), decoded and
   * verified on the peer's next frame (its confirmation), oldest first; at most `maxPeers` (the oldest is
   * verified to make room).
   */
  readonly #recordsAwaitingTurn = new Map<string, Uint8Array>()
  /** Set while the frame being processed carried an initiation that our response answers. */
  #answeringInitiation = false

  constructor (ctx: NodeContext, parts: ReceiverParts) {
    this.#ctx = ctx
    this.#peers = parts.peers
    this.#sender = parts.acks
    this.#handlers = parts.handlers
    this.#replies = parts.replies
    this.#dedup = parts.dedup
    this.#dispatcher = parts.dispatcher
    this.#journal = parts.journal
  }

  drop (reason: DropReason, peerId?: string, type?: string, error?: Error): void {
    reportDrop(this.#ctx, reason, peerId, type, error)
  }

  #reply (path: InboundFrame['path'], reply: Uint8Array): void {
    path.reply(reply, { signal: this.#ctx.shutdown }).catch((err: unknown) => { this.#ctx.log.trace('handshake reply on %s failed: %e', path.description, err) })
  }

  /** A frame from a commstrat (its direct listener or its `frame` event). */
  onFrame (frame: Uint8Array, path: InboundFrame['path']): void {
    const { stats, sessions } = this.#ctx
    stats.framesReceived++
    stats.bytesReceived += frame.length
    let res
    let lease: FrameLease | undefined
    try {
      const from: FrameOrigin = path.source !== undefined ? { source: path.source } : {}
      if (path.authenticatedSender !== undefined) from.authenticatedSender = path.authenticatedSender
      // The transport hands us the frame's memory (it may be recycled): with borrowing handlers, a data frame is
      // decrypted in place and its memory goes back once they are done (FrameLease); else opened into new memory.
      const recyclable = path.recycle !== undefined && isDataFrame(frame)
      const inPlace = recyclable && this.#handlers.borrowing
      res = sessions.open(frame, from, inPlace ? IN_PLACE : undefined)
      if (recyclable) {
        // (Only an in-place open can leave the plaintext in the frame's memory; `buffer` is a getter call.)
        if (inPlace && res.plaintext !== undefined && res.plaintext.buffer === frame.buffer) lease = new FrameLease(frame, path)
        else path.recycle!(frame) // nothing keeps its bytes: the transport may reuse them
      }
    } catch (err) {
      const code = isEgtpError(err) ? err.code : ''
      if (GARBAGE.has(code)) {
        // Not EGTP: whoever sent it on this path is broken or hostile. Other failures (an unknown session, a
        // replay, a bad tag) can happen to honest peers and leave the path open.
        stats.protocolViolations++
        path.reject?.(err as Error)
      }
      this.drop(SESSION_DROP[code] ?? (code.startsWith('ERR_') && code !== 'ERR_HANDSHAKE' && code !== 'ERR_UNKNOWN_SESSION' ? 'decode' : 'session'), undefined, undefined, err as Error)
      // A refusal may carry a notice for the sender (the signed clock-window notice, a responder's cookie reply
      // under load): it goes back the same way.
      for (const reply of refusalReplies(err)) this.#reply(path, reply)
      return
    }
    // Our handshake response to an initiation that carried data is held until that data was handled: the frame
    // carrying the handlers' answers carries the response too (one frame for the initiator to open, not two).
    let held = res.responseOnly === true && res.plaintext !== undefined && res.durable === undefined ? res.replies : undefined
    if (res.confirmationOnly === true) {
      // Our handshake completed: the bare confirmation goes after what arrived with the response (this frame's
      // data, the next frames of the same read) was handed over, so the peer, woken by it, does not compete
      // with our handlers for the CPU first.
      const replies = res.replies
      const peerId = res.peer?.nodeId
      setImmediate(() => {
        for (const reply of replies) this.#reply(path, reply)
        if (peerId !== undefined) this.#ackNow(peerId)
      })
    } else if (held === undefined) {
      for (const reply of res.replies) this.#reply(path, reply)
    }
    try {
      held = this.#deliver(res, path, held, lease)
    } finally {
      lease?.release()
      if (held !== undefined) for (const reply of held) this.#reply(path, reply)
    }
  }

  /**
   * Acknowledgements owed to a peer whose response we just opened (of the answers that came with it) go now,
   * not `ackDelayMs` later: queued in the same tick as the confirmation, they leave in the same socket write, so
   * the peer is woken and reads once. (Not instead of the confirmation: it took the session's next counter when
   * it was sealed, and a frame that skipped it would cost the peer's replay window its bitmap.)
   */
  #ackNow (peerId: string): void {
    const peer = this.#peers.get(peerId)
    if (peer !== undefined && peer.tx.hasAcks() && this.#ctx.sessions.isEstablished(peerId)) this.#sender.flush(peer)
  }

  /** Hand an opened frame's data over; returns `held` unless a frame that carries it went out meanwhile. */
  #deliver (res: OpenResult, path: InboundFrame['path'], held: Uint8Array[] | undefined, lease: FrameLease | undefined): Uint8Array[] | undefined {
    if (res.peer === undefined) return held
    // Not the initiation we answer (nor its repeat): the peer has had its turn to open our response.
    const answering = res.replies.length > 0 && res.confirmationOnly !== true
    if (!answering && this.#recordsAwaitingTurn.size > 0) {
      this.#verifyAwaitingRecord(res.peer.nodeId)
    }
    // A frame that carried nothing and asked for nothing (a bare repeat of an initiation we already confirmed,
    // which anyone who saw it can replay) proves nothing about this path: it neither authenticates the path
    // nor becomes the peer's return path, or a replay would divert our traffic for the peer to the replayer.
    const fresh = res.plaintext !== undefined || res.replies.length > 0
    if (!fresh) return held
    path.authenticated?.()
    let peer: Peer
    try {
      peer = this.#peers.getOrCreate(res.peer.nodeId)
    } catch (err) {
      this.drop('busy', res.peer.nodeId, undefined, err as Error)
      return held
    }
    peer.contact.learnKey(res.peer.publicKey)
    const receivedAt = this.#ctx.clock.monotonic()
    if (peer.contact.heardOn(path, receivedAt)) this.#ctx.events.safeDispatch('peer:connect', { peerId: peer.id, path: path.kind })
    this.#sender.heard(peer)
    const plaintext = res.plaintext
    if (plaintext === undefined) return held
    if (res.durable !== undefined) {
      lease?.keep()
      res.durable.then(() => { this.#process(peer, plaintext) }, (err: unknown) => { this.drop('persist', peer.id, undefined, err as Error) })
      return held
    }
    this.#answeringInitiation = answering
    try {
      this.#process(peer, plaintext, receivedAt, lease)
    } finally {
      this.#answeringInitiation = false
    }
    // A handshake response just went (or waits) for the transport: what the handlers answered goes now too, so
    // the initiator wakes once (not once for the response, once for the reply).
    if (res.replies.length > 0 && res.confirmationOnly !== true && peer.tx.queue.length > 0) {
      const before = peer.tx.transmitting
      const sentBefore = this.#ctx.stats.framesSent
      this.#sender.flush(peer)
      // A frame sealed on the new session went out (still in the transport's hands, or taken at once and counted
      // sent already): it carries the response, which needs no frame of its own.
      if (peer.tx.transmitting > before || this.#ctx.stats.framesSent > sentBefore) return undefined
    }
    return held
  }

  /** `receivedAt`: the monotonic time the frame was opened at (read once per frame), when it was just now. */
  #process (peer: Peer, plaintext: Uint8Array, receivedAt = this.#ctx.clock.monotonic(), lease?: FrameLease): void {
    let batch
    try {
      batch = decodeBatch(plaintext)
    } catch (err) {
      this.drop('decode', peer.id, undefined, err as Error)
      return
    }
    let stream: DedupStream | undefined // the batch's stream (most batches carry one)
    if (batch.floor !== undefined) {
      stream = this.#streamFor(peer, batch.floor, stream)
      if (stream !== undefined) this.#dedup.applyFloor(stream, counterOf(batch.floor))
    }
    for (const m of batch.messages) {
      if (m instanceof Error) {
        this.drop('decode', peer.id, undefined, m)
        continue
      }
      switch (m.t) {
        case 'k': this.#sender.onAck(peer, m.m, m.e, m.c); break
        case 'u': this.#sender.onUncertain(peer, m.m); break
        case 'a':
          lease?.keep() // the reply's payload goes to the caller, to keep
          this.#replies.onReply(peer, m)
          break
        case 'ci':
          this.#offerRecordSoon(peer, m)
          break
        case 'q': case 'o': {
          stream = this.#streamFor(peer, m.m, stream)
          if (stream === undefined) {
            this.drop('dedup-full', peer.id, m.y)
            break
          }
          this.#onReliable(peer, stream, m, receivedAt, lease)
          break
        }
      }
    }
    this.#sender.received(peer, plaintext.length)
  }

  /** The de-duplication stream of message `id` from `peer`: `stream` when the ID is of it (no closure per batch). */
  #streamFor (peer: Peer, id: Uint8Array, stream: DedupStream | undefined): DedupStream | undefined {
    if (stream !== undefined && isEpoch(id, stream.epoch)) return stream
    return this.#dedup.stream(peer.id, id, this.#ctx.clock.now()) // (it reads the epoch, the ID's first bytes, and copies it)
  }

  /**
   * A piggybacked record is decoded and verified (an Ed25519 verification, ~0.15 ms) after this frame's answers
   * went out: nothing answering them needs it (answers take the frame's path), and a new peer's first reply waits
   * for no decoding or signature check. On an initiation we answer, not before the peer's next frame (see
   * below). Its bytes are copied now (the batch may view a reused buffer).
   */
  #offerRecordSoon (peer: Peer, entry: ContactInfoEntry): void {
    // The record we already hold, piggybacked again (every new session of a peer that does not know we have
    // it): the test offerRecord makes first, on the entry's first bytes (who, which seq), without decoding it.
    // Skipped, it is ignored, as offerRecord would ignore it: nothing of it is kept.
    // (No record known, as for every new peer: nothing to compare, and no node ID string made for it.)
    const head = peer.contact.record !== undefined ? peekContactInfo(entry) : undefined
    if (head !== undefined && this.#peers.knowsNoOlder(peer, nodeIdFromBytes(head.id), head.seq)) return
    const record = entry.bytes.slice()
    if (this.#answeringInitiation) {
      // Not right after our response either: with both ends on one machine (loopback, a test, a benchmark) the
      // verification would compete for the CPU with the initiator opening that response (Linux wakes the reader
      // on the writer's core). The peer's next frame, its confirmation, comes once it has.
      const waiting = this.#recordsAwaitingTurn
      waiting.delete(peer.id)
      const oldest = waiting.keys().next().value
      if (oldest !== undefined && waiting.size >= this.#ctx.limits.maxPeers) this.#verifyAwaitingRecord(oldest)
      waiting.set(peer.id, record)
      return
    }
    this.#verifyRecordSoon(peer, record)
  }

  /** Verify the record the peer `peerId` piggybacked on its initiation, if one waits (and the peer is still known). */
  #verifyAwaitingRecord (peerId: string): void {
    const waiting = this.#recordsAwaitingTurn
    if (waiting.size === 0) return
    const record = waiting.get(peerId)
    if (record === undefined) return
    waiting.delete(peerId)
    const peer = this.#peers.get(peerId)
    if (peer !== undefined) this.#verifyRecordSoon(peer, record)
  }

  #verifyRecordSoon (peer: Peer, ci: Uint8Array): void {
    setImmediate(() => {
      if (this.#ctx.shutdown.aborted) return
      let wire
      try {
        wire = decodeContactInfo({ t: 'ci', bytes: ci })
      } catch (err) {
        this.drop('decode', peer.id, undefined, err as Error)
        return
      }
      // A record that names no endpoint and no service, from a peer we hold no record of, teaches nothing: the
      // session already authenticated the peer's key, and there is nothing to dial or to know. It is neither
      // verified (an Ed25519 verification, ~50 µs, per new client-only peer) nor kept, and no `peer:record`
      // says it. One that would replace a record we hold (its endpoints gone) is verified and kept.
      if (wire.e.length === 0 && wire.s.length === 0 && peer.contact.record === undefined) return
      try {
        this.#peers.offerRecord(peer, contactRecordFromWire(wire))
      } catch (err) {
        this.drop('record', peer.id, undefined, err as Error)
      }
    })
  }

  #onReliable (peer: Peer, s: DedupStream, m: QueryMsg | OnewayMsg, receivedAt: number, lease: FrameLease | undefined): void {
    const counter = counterOf(m.m)
    const verdict = this.#dedup.check(s, counter)
    switch (verdict) {
      case 'duplicate':
        this.#ctx.stats.duplicates++
        this.#sender.ack(peer, lease === undefined ? m.m : m.m.slice()) // the acknowledgement waits: not a view of a lease
        this.drop('duplicate', peer.id, m.y)
        return
      case 'pending':
        return
      case 'uncertain':
        this.#sender.notifyUncertain(peer, lease === undefined ? m.m : m.m.slice())
        this.drop('uncertain', peer.id, m.y)
        return
      case 'full':
        this.drop('reorder-full', peer.id, m.y)
        return
    }
    if (!this.#handlers.accepting) {
      this.drop('closing', peer.id, m.y)
      return
    }
    if (!this.#handlers.has(m.y)) {
      // Not recorded: every re-send gets the same answer, and a handler registered meanwhile gets it.
      this.#sender.control(peer, noHandlerReply(m.m, m.y))
      this.drop('no-handler', peer.id, m.y)
      return
    }
    if (!this.#dispatcher.hasRoom()) {
      this.drop('busy', peer.id, m.y)
      return
    }
    if (this.#journal === undefined && this.#dispatcher.claim()) {
      // A free handler slot and nothing to persist first: hand it over now, without a Delivery.
      let result: Promise<unknown> | undefined
      try {
        result = this.#handOver(peer, s, counter, m, receivedAt, lease)
      } catch {
        result = undefined
      }
      this.#dispatcher.ran(result)
      return
    }
    lease?.keep() // queued (or persisted first): it runs later, with the frame's memory as its own
    this.#dedup.accept(s, counter)
    this.#dispatcher.tryRun(new Delivery(this, peer, s, counter, m, receivedAt))
  }

  #handOver (peer: Peer, stream: DedupStream, counter: number, message: QueryMsg | OnewayMsg, receivedAt: number, lease?: FrameLease): Promise<unknown> | undefined {
    this.#dedup.delivered(stream, counter)
    this.#ctx.stats.received(peer.id, message.y, 0)
    // A query's acknowledgement is armed once its handler ran: answered at once, its reply acknowledges it
    // (and a fresh peer's server starts no acknowledgement timer that would fire for nothing).
    const query = message.t === 'q'
    this.#sender.ackCounter(peer, stream.epoch, counter, !query)
    try {
      return lease === undefined ? this.#handlers.invoke(peer, message, receivedAt) : this.#handlers.invoke(peer, message, receivedAt, lease, stream.epoch, counter)
    } finally {
      if (query) this.#sender.armAcks(peer)
    }
  }

  /** @internal Called by a {@link Delivery} once it may hand the message over. */
  deliver (d: Delivery): Promise<unknown> | undefined {
    return this.#handOver(d.peer, d.stream, d.counter, d.message, d.receivedAt)
  }

  /** @internal The message was not delivered after all: a re-send will be. */
  release (d: Delivery, reason: DropReason | undefined): void {
    this.#dedup.release(d.stream, d.counter)
    if (reason !== undefined) this.drop(reason, d.peer.id, d.message.y)
  }

  /** @internal */
  get journal (): DedupJournal | undefined {
    return this.#journal
  }
}

function noHandlerReply (id: Uint8Array, type: string): Uint8Array {
  return encodeMessage({ t: 'a', m: id, e: { c: 'ERR_NO_HANDLER', s: `no handler for ${type}` } })
}
