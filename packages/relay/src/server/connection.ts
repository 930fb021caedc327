import { MAX_RELAY_BATCH } from '@egtp/codec'
import { EgtpError } from '@egtp/interface'
import type { Conn } from '@egtp/interface'
import { relayCodec } from '../protocol.ts'
import { encodeDeliver } from '@egtp/codec/relay'
import type { RelayMessage, RelayRole } from '../protocol.ts'
import type { ClientQueue } from './mailbox.ts'

export interface ConnectionLimits {
  maxInflightMessages: number
  maxInflightBytes: number
  maxBatchBytes: number
  maxControlBacklog: number
}

interface Coded { m: number, c: string }

/**
 * One connection to the relay server and everything waiting to be written to it. Writes go through one
 * writer loop: whatever accumulates while a write is pending is batched into the next frames, so acks,
 * refusals and deliveries cost one frame per batch, not per message.
 */
export class ServerConnection {
  readonly num: number
  readonly conn: Conn
  readonly nonce: Uint8Array
  readonly opened: number
  readonly #limits: ConnectionLimits
  readonly #counters: { pushed: number }
  lastActivity: number
  state: 'auth' | 'ready' | 'closed' = 'auth'
  /** The proof of work this connection's challenge asked for (0: none). */
  workBits = 0
  /** Authenticated node ID (text and bytes), once ready. */
  peer = ''
  peerBytes: Uint8Array = new Uint8Array(0)
  role: RelayRole = 'sender'
  push = true
  notices = false

  // Receiving side (role client): the attached queue and the delivery window.
  queue: ClientQueue | undefined
  /** Id of the next queued message to push; ids from the queue's first up to this are in flight. */
  nextPush = 0
  inflightBytes = 0
  pollBudget = 0
  pollReply = false

  // Sending side.
  lastM = -1
  /** Every message up to this number is accepted (durable when persistent). */
  acceptedUpTo = -1
  #sentAccepted = -1
  refusals: Coded[] = []
  lost: Coded[] = []
  delivered: number[] = []
  pongs: number[] = []

  #writing = false
  #scheduled = false

  constructor (num: number, conn: Conn, nonce: Uint8Array, now: number, limits: ConnectionLimits, counters: { pushed: number }) {
    this.num = num
    this.conn = conn
    this.nonce = nonce
    this.opened = now
    this.lastActivity = now
    this.#limits = limits
    this.#counters = counters
  }

  /** Pushed and unacknowledged messages. */
  get inflight (): number {
    return this.queue === undefined ? 0 : Math.max(0, this.nextPush - this.queue.firstId)
  }

  /** Entries waiting to be written; past the bound the peer is not reading and is dropped. */
  checkBacklog (): boolean {
    const n = this.refusals.length + this.lost.length + this.delivered.length + this.pongs.length
    if (n <= this.#limits.maxControlBacklog) return true
    this.conn.abort(new EgtpError('ERR_BACKPRESSURE', `${this.conn.remoteAddress} does not read its relay notices`))
    return false
  }

  /** Start the writer after the current burst of inbound frames has been handled. */
  schedule (): void {
    if (this.#writing || this.#scheduled || this.state === 'closed') return
    this.#scheduled = true
    queueMicrotask(() => {
      this.#scheduled = false
      void this.#run()
    })
  }

  /** Write a close frame and close the connection gracefully. */
  closeWith (code: string, message: string): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.conn.send(relayCodec.encode({ t: 'rr', c: code, s: message })).catch(() => {})
    this.conn.close().catch(() => {})
  }

  send (message: RelayMessage): void {
    this.conn.send(relayCodec.encode(message)).catch((err: Error) => { this.conn.abort(err) })
  }

  async #run (): Promise<void> {
    if (this.#writing) return
    this.#writing = true
    try {
      while (this.state !== 'closed' && !this.conn.closed) {
        const frames = this.#build()
        if (frames.length === 0) break
        await Promise.all(frames.map(f => this.conn.send(f)))
      }
    } catch (err) {
      this.conn.abort(err as Error)
    } finally {
      this.#writing = false
    }
  }

  #build (): Uint8Array[] {
    const out: Uint8Array[] = []
    for (const n of this.pongs) out.push(relayCodec.encode({ t: 'ri', n, r: true }))
    this.pongs = []
    // Refusals first: a cumulative accept must never reach the sender before the refusals it skips.
    for (const e of take(this, 'refusals')) out.push(relayCodec.encode({ t: 'rx', e }))
    if (this.acceptedUpTo > this.#sentAccepted) {
      this.#sentAccepted = this.acceptedUpTo
      out.push(relayCodec.encode({ t: 'ry', m: this.acceptedUpTo }))
    }
    for (const e of take(this, 'lost')) out.push(relayCodec.encode({ t: 'rl', e }))
    while (this.delivered.length > 0) out.push(relayCodec.encode({ t: 'rv', m: this.delivered.splice(0, MAX_RELAY_BATCH) }))
    // Every batch the window allows now: they go out in one socket write.
    let deliver = this.#deliveries()
    const delivering = deliver !== undefined
    while (deliver !== undefined) {
      out.push(deliver)
      deliver = this.#deliveries()
    }
    if (this.pollReply && !delivering && this.queue !== undefined) {
      this.pollReply = false
      out.push(relayCodec.encode({ t: 'rq', q: Math.max(0, this.queue.length - this.inflight) }))
    }
    return out
  }

  /** The next batch of queued messages the window (and, without push, the poll budget) allows. */
  #deliveries (): Uint8Array | undefined {
    const queue = this.queue
    if (queue === undefined || this.state !== 'ready') return undefined
    const first = queue.firstId
    if (this.nextPush < first) this.nextPush = first
    // Live items are consecutive in queue.items: the batch is the slice [start, end), encoded in place.
    const items = queue.items
    const start = queue.head + (this.nextPush - first)
    const limits = this.#limits
    let end = start
    let bytes = 0
    let inflight = this.nextPush - first
    let own: Uint8Array | undefined
    while (end - start < MAX_RELAY_BATCH && end < items.length) {
      if (!this.push && this.pollBudget <= 0) break
      if (inflight >= limits.maxInflightMessages) break
      const item = items[end]!
      // A message stored as its own frame travels alone, as it is.
      if (item.frame !== undefined && end > start) break
      const size = item.payload.length
      if (end > start && (bytes + size > limits.maxBatchBytes || this.inflightBytes + size > limits.maxInflightBytes)) break
      if (end === start && this.inflightBytes > 0 && this.inflightBytes + size > limits.maxInflightBytes) break
      bytes += size
      this.inflightBytes += size
      inflight++
      end++
      if (!this.push) this.pollBudget--
      if (item.frame !== undefined) { own = item.frame; break }
    }
    const n = end - start
    if (n === 0) return undefined
    this.nextPush += n
    this.#counters.pushed += n
    return own ?? encodeDeliver(items, start, end)
  }
}

function take (c: ServerConnection, key: 'refusals' | 'lost'): Coded[][] {
  const list = c[key]
  if (list.length === 0) return []
  c[key] = []
  const out: Coded[][] = []
  for (let i = 0; i < list.length; i += MAX_RELAY_BATCH) out.push(list.slice(i, i + MAX_RELAY_BATCH))
  return out
}
