import { bytesEqual } from '@egtp/interface'
import type { Clock, EgtpErrorCode } from '@egtp/interface'
import { deliverInPlace, encodeDeliverOne } from '@egtp/codec/relay'
import { OWN_FRAME_BYTES } from '../constants.ts'
import type { RelayServerConfig } from './config.ts'
import type { ServerConnection } from './connection.ts'
import { idKey } from './mailbox.ts'
import type { ClientQueue, Mailbox, QueuedMessage } from './mailbox.ts'
import { SenderBucket } from './rate.ts'
import type { LogStore } from './store.ts'

/** What the router shares with the server it works for. */
export interface RouterDeps {
  config: RelayServerConfig
  mailbox: Mailbox
  clock: Clock
  counters: { accepted: number, delivered: number, expired: number }
  /** Open connections by number (a queued message names its sender's). */
  conns: ReadonlyMap<number, ServerConnection>
  store: () => LogStore | undefined
  refuse: (code: EgtpErrorCode) => void
  violation: (sc: ServerConnection, what: string) => void
}

/**
 * Where messages go: the connection each mailbox is delivered on, each sender's rate budget, and what moves
 * messages through the mailboxes: a client's `rs` batch, a recipient's `ra` ack, and the TTL.
 */
export class Router {
  /** The connection each mailbox is currently delivered on, by {@link idKey}. */
  readonly receivers = new Map<string, ServerConnection>()
  /** Rate budgets by sender node ID, shared by its connections, forgotten with the last one. */
  readonly #buckets = new Map<string, SenderBucket>()
  readonly #d: RouterDeps

  constructor (deps: RouterDeps) {
    this.#d = deps
  }

  /** `sc` authenticated: it sends under its node's budget and, with `queue`, receives that mailbox. */
  attach (sc: ServerConnection, queue: ClientQueue | undefined): void {
    if (queue !== undefined) {
      const previous = this.receivers.get(queue.key)
      // The newest connection wins: the old one is usually a dead socket of a restarted client.
      if (previous !== undefined) previous.closeWith('ERR_RELAY_REFUSED', 'replaced by a newer connection of the same node')
      this.receivers.set(queue.key, sc)
      queue.attached = true
      sc.queue = queue
      sc.nextPush = queue.firstId
    }
    let bucket = this.#buckets.get(sc.peer)
    if (bucket === undefined) {
      bucket = new SenderBucket(this.#d.config.senderMessagesPerSecond, this.#d.config.senderBytesPerSecond, this.#d.clock.monotonic())
      this.#buckets.set(sc.peer, bucket)
    }
    bucket.refs++
  }

  /** `sc` closed. Returns the mailbox it was delivering, which is now away. */
  detach (sc: ServerConnection): ClientQueue | undefined {
    const bucket = this.#buckets.get(sc.peer)
    if (bucket !== undefined && --bucket.refs <= 0) this.#buckets.delete(sc.peer)
    const queue = sc.queue
    if (queue === undefined || this.receivers.get(queue.key) !== sc) return undefined
    this.receivers.delete(queue.key)
    queue.attached = false
    queue.lastSeen = this.#d.clock.now()
    return queue
  }

  /**
   * A client's `rs` batch: each message is refused (with a code, in `sc.refusals`) or queued for its recipient,
   * whose connection is woken; accepted (`sc.acceptedUpTo`) at once, or once durable when persistent.
   */
  send (sc: ServerConnection, entries: ReadonlyArray<{ m: number, to: Uint8Array, p: Uint8Array }>, frame: Uint8Array): void {
    const now = this.#d.clock.now()
    const mono = this.#d.clock.monotonic()
    const bucket = this.#buckets.get(sc.peer)
    const store = this.#d.store()
    let lastAccepted = -1
    let durable: Promise<void> | undefined
    const pending: number[] = []
    let lastTo: Uint8Array | undefined
    let queue: ClientQueue | undefined
    let receiver: ServerConnection | undefined
    for (const e of entries) {
      if (e.m <= sc.lastM) { this.#d.violation(sc, 'message numbers must increase'); return }
      sc.lastM = e.m
      const size = e.p.length
      let code: EgtpErrorCode | undefined
      if (size > this.#d.config.maxMessageBytes) code = 'ERR_FRAME_TOO_LARGE'
      else if (bucket !== undefined && !bucket.take(size, mono)) code = 'ERR_RATE_LIMITED'
      else if (store?.failed !== undefined) code = 'ERR_RELAY_STORE'
      // Batches usually go to one recipient: look it up once per run of the same recipient.
      if (lastTo === undefined || (e.to !== lastTo && !bytesEqual(e.to, lastTo))) {
        lastTo = e.to
        const key = idKey(e.to)
        queue = this.#d.mailbox.clients.get(key)
        receiver = this.receivers.get(key)
      }
      code ??= this.#d.mailbox.refusal(queue, size)
      if (code !== undefined || queue === undefined) {
        this.#d.refuse(code ??= 'ERR_RELAY_UNKNOWN_RECIPIENT')
        sc.refusals.push({ m: e.m, c: code })
        continue
      }
      // Copy: the frame may be a view into a larger socket buffer that must not stay alive with the queue. A
      // large message is copied into its own delivery frame, which is then pushed without another copy.
      // A large message alone in its frame (as clients send them) becomes its delivery frame in place. That
      // relies on the wire contract of message numbers (FIRST_MESSAGE_NUMBER, PROTOCOL.md §4.2 "Numbering"):
      // deliverInPlace checks that the rd head fits in the rs head, and the message is copied when it does not.
      let item: QueuedMessage
      if (size >= OWN_FRAME_BYTES) {
        const inPlace = entries.length === 1 ? deliverInPlace(frame, e.p, queue.nextId, sc.peerBytes) : undefined
        const own = inPlace !== undefined ? { frame: inPlace, payload: e.p } : encodeDeliverOne(queue.nextId, sc.peerBytes, e.p)
        item = this.#d.mailbox.append(queue, sc.peerBytes, own.payload, own.frame, now, sc.num, e.m)
      } else {
        item = this.#d.mailbox.append(queue, sc.peerBytes, e.p.slice(), undefined, now, sc.num, e.m)
      }
      this.#d.counters.accepted++
      if (store !== undefined) {
        durable = store.enqueue(queue, item)
        pending.push(e.m)
      }
      lastAccepted = e.m
      if (receiver !== undefined && receiver.push) receiver.schedule()
    }
    if (durable === undefined) {
      if (lastAccepted >= 0) sc.acceptedUpTo = lastAccepted
      if (sc.checkBacklog()) sc.schedule()
      return
    }
    if (sc.checkBacklog()) sc.schedule()
    // Accept only once durable: the sender's ack means the relay has taken responsibility.
    durable.then(() => {
      sc.acceptedUpTo = Math.max(sc.acceptedUpTo, lastAccepted)
      sc.schedule()
    }, () => {
      for (const m of pending) { this.#d.refuse('ERR_RELAY_STORE'); sc.refusals.push({ m, c: 'ERR_RELAY_STORE' }) }
      sc.schedule()
    })
  }

  /** A recipient's `ra`: its messages up to `upTo` leave the queue; their senders that asked get `rv` notices. */
  ack (sc: ServerConnection, upTo: number): void {
    const queue = sc.queue
    if (queue === undefined) { this.#d.violation(sc, 'ack without registration'); return }
    if (upTo >= sc.nextPush) { this.#d.violation(sc, 'ack of a message not delivered'); return }
    const removed = this.#d.mailbox.remove(queue, upTo)
    if (removed.length === 0) return
    this.#d.store()?.remove(queue, upTo)
    this.#d.counters.delivered += removed.length
    let senders: Set<ServerConnection> | undefined
    for (const item of removed) {
      sc.inflightBytes -= item.payload.length
      if (item.conn === 0) continue
      const sender = this.#d.conns.get(item.conn)
      if (sender === undefined || !sender.notices) continue
      sender.delivered.push(item.m)
      ;(senders ??= new Set()).add(sender)
    }
    if (sc.inflightBytes < 0) sc.inflightBytes = 0
    if (senders !== undefined) for (const s of senders) if (s.checkBacklog()) s.schedule()
    sc.schedule()
  }

  /** Drop messages past their TTL (never one on its way to its client); senders still connected get `rl`. */
  expire (): void {
    const { mailbox, config, counters, conns } = this.#d
    const expired = mailbox.expire(this.#d.clock.now(), config.messageTtlMs, q => this.receivers.get(q.key)?.nextPush ?? 0)
    for (const { queue, upTo } of expired) {
      const removed = mailbox.remove(queue, upTo)
      this.#d.store()?.remove(queue, upTo)
      counters.expired += removed.length
      for (const item of removed) {
        const sender = item.conn === 0 ? undefined : conns.get(item.conn)
        if (sender === undefined) continue
        sender.lost.push({ m: item.m, c: 'ERR_TIMEOUT' })
        if (sender.checkBacklog()) sender.schedule()
      }
    }
  }
}
