import type { EgtpErrorCode } from '@egtp/interface'

/** A cheap map key for 20 node ID bytes (the text form costs a base32 encoding per message). */
export const idKey = (bytes: Uint8Array): string => String.fromCharCode.apply(null, bytes as unknown as number[])

/** One message in a client's queue. */
export interface QueuedMessage {
  /** Position in the recipient's queue: consecutive, never reused (persisted with the queue). */
  readonly id: number
  /** The authenticated sender's node ID, 20 bytes. */
  readonly from: Uint8Array
  readonly payload: Uint8Array
  /** Wall-clock enqueue time (ms), for the TTL. */
  readonly at: number
  /** The sender's connection number and message number, for notices; 0 when unknown (after a restart). */
  readonly conn: number
  readonly m: number
  /**
   * A large message is kept as its own ready-made `rd` frame (one entry: `id`, `from`, `payload`), and
   * `payload` is a view of it: it is pushed as it is, without being copied into a batch.
   */
  readonly frame: Uint8Array | undefined
}

/**
 * The queue of one registered client. Live items are `items[head..]`; their ids are consecutive, because
 * messages only ever leave from the front (acknowledged or expired).
 */
export class ClientQueue {
  /** Node ID, text form. */
  readonly id: string
  readonly idBytes: Uint8Array
  /** {@link idKey} of the node ID. */
  readonly key: string
  items: QueuedMessage[] = []
  head = 0
  /** Id of the next enqueued message. */
  nextId = 1
  bytes = 0
  /** Wall-clock time the client was last connected (or registered). */
  lastSeen: number
  /** True while a client connection is attached. */
  attached = false
  /**
   * Registered as a client (kept `registrationTtlMs` after it leaves); otherwise the node only connected to
   * send, and its queue is forgotten as soon as it is away and empty.
   */
  retain = false
  /** Where the client registered from ({@link sourceOf}); '' when unknown (replayed after a restart). */
  source = ''

  constructor (id: string, idBytes: Uint8Array, now: number) {
    this.id = id
    this.idBytes = idBytes
    this.key = idKey(idBytes)
    this.lastSeen = now
  }

  get length (): number {
    return this.items.length - this.head
  }

  /** Id of the oldest live message (or `nextId` when empty). */
  get firstId (): number {
    return this.items[this.head]?.id ?? this.nextId
  }

  /** The live message with this id, if any. */
  get (id: number): QueuedMessage | undefined {
    const first = this.items[this.head]
    if (first === undefined) return undefined
    return this.items[this.head + (id - first.id)]
  }

  /** Remove and return live messages with ids ≤ `upTo`. */
  shiftUpTo (upTo: number): QueuedMessage[] {
    const first = this.items[this.head]
    if (first === undefined || upTo < first.id) return []
    const n = Math.min(upTo - first.id + 1, this.length)
    const removed = this.items.slice(this.head, this.head + n)
    this.head += n
    for (const item of removed) this.bytes -= item.payload.length
    // Compact the backing array once the dead prefix dominates.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    } else if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    }
    return removed
  }
}

export interface MailboxLimits {
  maxQueuedMessagesPerClient: number
  maxQueuedBytesPerClient: number
  maxTotalQueuedBytes: number
  maxClients: number
}

/** The in-memory state of every client queue, with the admission limits. No I/O. */
export class Mailbox {
  /** Queues by {@link idKey}. */
  readonly clients = new Map<string, ClientQueue>()
  readonly limits: MailboxLimits
  totalBytes = 0
  totalMessages = 0
  /**
   * The first position of a new mailbox: above every position a forgotten mailbox used in this epoch. A node
   * whose mailbox was forgotten (a sender-only node that left, an idle registration given up) and that comes
   * back keeps its position tracking across the reconnection (same epoch), and drops any position it has
   * already received as a redelivery: positions are never reused (PROTOCOL.md §4.3). Persisted in the log.
   */
  firstFreeId = 1
  /** Client registrations (retained queues) per known source. */
  readonly #bySource = new Map<string, number>()

  constructor (limits: MailboxLimits) {
    this.limits = limits
  }

  /** The queue of `id`, created when it is new and there is room (or `force`); `undefined` when the relay is full. */
  register (id: string, idBytes: Uint8Array, now: number, force = false): { queue: ClientQueue, created: boolean } | undefined {
    const existing = this.clients.get(idKey(idBytes))
    if (existing !== undefined) {
      existing.lastSeen = now
      return { queue: existing, created: false }
    }
    if (!force && this.clients.size >= this.limits.maxClients) return undefined
    const queue = new ClientQueue(id, idBytes, now)
    queue.nextId = this.firstFreeId
    this.clients.set(queue.key, queue)
    return { queue, created: true }
  }

  unregister (queue: ClientQueue): void {
    this.firstFreeId = Math.max(this.firstFreeId, queue.nextId)
    this.#count(queue, -1)
    queue.shiftUpTo(Number.MAX_SAFE_INTEGER)
    this.clients.delete(queue.key)
  }

  /** Make `queue` a client registration (kept while away) attributed to `source`. */
  retainFor (queue: ClientQueue, source: string): void {
    this.#count(queue, -1)
    queue.retain = true
    queue.source = source
    this.#count(queue, 1)
  }

  /** Client registrations attributed to `source`. */
  registrationsFrom (source: string): number {
    return this.#bySource.get(source) ?? 0
  }

  /**
   * The registration to give up first when room is needed: away, with an empty queue, seen longest ago (from
   * `source` when given). `undefined` when every one is connected or holds messages.
   */
  oldestIdle (source?: string): ClientQueue | undefined {
    let victim: ClientQueue | undefined
    for (const queue of this.clients.values()) {
      if (queue.attached || queue.length > 0 || (source !== undefined && queue.source !== source)) continue
      if (victim === undefined || queue.lastSeen < victim.lastSeen) victim = queue
    }
    return victim
  }

  #count (queue: ClientQueue, delta: number): void {
    if (!queue.retain || queue.source === '' || !this.clients.has(queue.key)) return
    const n = (this.#bySource.get(queue.source) ?? 0) + delta
    if (n > 0) this.#bySource.set(queue.source, n)
    else this.#bySource.delete(queue.source)
  }

  /** Why a message of `bytes` for `queue` cannot be queued now, or `undefined` when it can. */
  refusal (queue: ClientQueue | undefined, bytes: number): EgtpErrorCode | undefined {
    // A node that only connected to send can receive (replies, handshakes) while it is connected; once it
    // is gone nothing would ever pick its mail up, so it is unknown rather than queued until the TTL.
    if (queue === undefined || (!queue.retain && !queue.attached)) return 'ERR_RELAY_UNKNOWN_RECIPIENT'
    if (queue.length >= this.limits.maxQueuedMessagesPerClient) return 'ERR_RELAY_FULL'
    if (queue.bytes + bytes > this.limits.maxQueuedBytesPerClient) return 'ERR_RELAY_FULL'
    if (this.totalBytes + bytes > this.limits.maxTotalQueuedBytes) return 'ERR_RELAY_FULL'
    return undefined
  }

  /** Append a message (after {@link refusal} said yes, or when replaying the store with an explicit id). */
  push (queue: ClientQueue, message: Omit<QueuedMessage, 'id' | 'frame'>, id: number = queue.nextId): QueuedMessage {
    const item: QueuedMessage = { id, from: message.from, payload: message.payload, at: message.at, conn: message.conn, m: message.m, frame: undefined }
    queue.items.push(item)
    queue.nextId = id + 1
    queue.bytes += item.payload.length
    this.totalBytes += item.payload.length
    this.totalMessages++
    return item
  }

  /** {@link push} for a new message (id `queue.nextId`), without the intermediate object. */
  append (queue: ClientQueue, from: Uint8Array, payload: Uint8Array, frame: Uint8Array | undefined, at: number, conn: number, m: number): QueuedMessage {
    const id = queue.nextId
    const item: QueuedMessage = { id, from, payload, at, conn, m, frame }
    queue.items.push(item)
    queue.nextId = item.id + 1
    queue.bytes += payload.length
    this.totalBytes += payload.length
    this.totalMessages++
    return item
  }

  /** Remove the messages of `queue` up to `upTo` (acknowledged or expired). */
  remove (queue: ClientQueue, upTo: number): QueuedMessage[] {
    const removed = queue.shiftUpTo(upTo)
    for (const item of removed) this.totalBytes -= item.payload.length
    this.totalMessages -= removed.length
    return removed
  }

  /**
   * Expired messages: from the front of each queue, older than `ttlMs`, and not on their way to a client
   * (`inflightBefore(queue)` returns the first id not yet pushed on the queue's connection).
   */
  expire (now: number, ttlMs: number, inflightBefore: (queue: ClientQueue) => number): Array<{ queue: ClientQueue, upTo: number }> {
    const out: Array<{ queue: ClientQueue, upTo: number }> = []
    for (const queue of this.clients.values()) {
      const first = queue.items[queue.head]
      if (first === undefined || first.at + ttlMs > now) continue
      const pushedBefore = inflightBefore(queue)
      let upTo = -1
      for (let k = queue.head; k < queue.items.length; k++) {
        const item = queue.items[k]!
        if (item.at + ttlMs > now || item.id < pushedBefore) break
        upTo = item.id
      }
      if (upTo >= 0) out.push({ queue, upTo })
    }
    return out
  }

  /** Away nodes with empty queues: clients unseen for `ttlMs`, senders at once. */
  idle (now: number, ttlMs: number): ClientQueue[] {
    const out: ClientQueue[] = []
    for (const queue of this.clients.values()) {
      if (!queue.attached && queue.length === 0 && (!queue.retain || queue.lastSeen + ttlMs <= now)) out.push(queue)
    }
    return out
  }
}
