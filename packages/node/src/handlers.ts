import { MAX_TYPE_CHARS } from '@egtp/codec'
import { EgtpError } from '@egtp/interface'
import type { Clock, Logger } from '@egtp/interface'
import type { FrameLease } from './frame-lease.ts'
import { MessageContext } from './handler-context.ts'
import type { Answerer, ReplyBody } from './handler-context.ts'
import type { Peer } from './peers.ts'
import type { MessageSink } from './receiver.ts'
import type { Handler, NodeLimits } from './types.ts'
import type { OnewayMsg, QueryMsg } from '@egtp/codec/node'

/** Where a handler's answer goes: a reliable reply to the peer's query (the sender's `reply`). */
export interface ReplySender {
  reply: (peer: Peer, queryId: Uint8Array, type: string, body: ReplyBody, horizonMs: number) => void
}

/** The handler registry: runs the handler of each delivered message and sends its answer. */
export class Handlers implements MessageSink {
  readonly #handlers = new Map<string, Handler>()
  /** The types whose handlers borrow their payload (`HandleOptions.borrowPayload`). */
  readonly #borrowing = new Set<string>()
  readonly #replies: ReplySender
  readonly #limits: NodeLimits
  readonly #clock: Clock
  readonly #log: Logger
  readonly #shutdown: AbortSignal
  #accepting = false

  constructor (replies: ReplySender, limits: NodeLimits, clock: Clock, log: Logger, shutdown: AbortSignal) {
    this.#replies = replies
    this.#limits = limits
    this.#clock = clock
    this.#log = log
    this.#shutdown = shutdown
  }

  /** True when some handler borrows its payload: the receiver then opens data frames in place. */
  get borrowing (): boolean {
    return this.#borrowing.size > 0
  }

  /** True while new messages are delivered (between start and stop). */
  get accepting (): boolean {
    return this.#accepting
  }

  open (): void { this.#accepting = true }
  close (): void { this.#accepting = false }

  /** @throws {TypeError} when `type` is not a valid type or already has a handler */
  add (type: string, handler: Handler, borrowPayload = false): void {
    checkType(type)
    if (typeof handler !== 'function') throw new TypeError('handler must be a function')
    if (this.#handlers.has(type)) throw new TypeError(`type ${type} already has a handler`)
    this.#handlers.set(type, handler)
    if (borrowPayload) this.#borrowing.add(type)
  }

  remove (type: string): void {
    this.#handlers.delete(type)
    this.#borrowing.delete(type)
  }

  has (type: string): boolean {
    return this.#handlers.has(type)
  }

  /**
   * `lease`: the message's frame was opened in place (its bytes are the frame's memory): a borrowing handler
   * holds the frame until it returns or settles; any other handler keeps the frame's memory for good. `epoch`
   * and `counter` (with a lease): the message ID's parts, the epoch a copy of its own.
   */
  invoke (peer: Peer, m: QueryMsg | OnewayMsg, receivedAt: number, lease?: FrameLease, epoch?: Uint8Array, counter = -1): Promise<unknown> | undefined {
    const handler = this.#handlers.get(m.y)
    const isQuery = m.t === 'q'
    let borrowed: FrameLease | undefined
    let id = m.m
    let idCounter = -1
    if (lease !== undefined) {
      if (handler !== undefined && this.#borrowing.has(m.y)) {
        // The context may outlive the handler (a deferred reply, a kept ctx): not a view of the frame. A query's
        // reply needs the ID anyway; a one-way message's is made only if asked for (from the epoch's copy).
        borrowed = lease
        if (isQuery || epoch === undefined || counter < 0) id = id.slice()
        else {
          id = epoch
          idCounter = counter
        }
      } else {
        lease.keep()
      }
    }
    // Only a query's context uses the time left (its signal): a one-way message skips the clock read.
    const horizonMs = isQuery ? (m.d ?? this.#limits.defaultTimeoutMs) - (this.#clock.monotonic() - receivedAt) : (m.d ?? this.#limits.defaultTimeoutMs)
    const ctx = isQuery
      ? new MessageContext(peer.id, m.y, id, this.#answerer, peer, this.#shutdown, horizonMs)
      : new MessageContext(peer.id, m.y, id, undefined, undefined, this.#shutdown, horizonMs, idCounter)
    if (handler === undefined) { // unregistered after the message was accepted
      if (isQuery) ctx.fail(new EgtpError('ERR_NO_HANDLER', `no handler for ${m.y}`))
      return undefined
    }
    borrowed?.hold()
    let result: unknown
    try {
      result = handler(m.p, ctx)
    } catch (err) {
      this.#handlerFailed(ctx, err)
      borrowed?.release()
      return undefined
    }
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      return Promise.resolve(result).then(v => {
        try {
          ctx.completed(v)
        } finally {
          borrowed?.release()
        }
      }, (err: unknown) => {
        this.#handlerFailed(ctx, err)
        borrowed?.release()
      })
    }
    try {
      ctx.completed(result)
    } finally {
      borrowed?.release()
    }
    return undefined
  }

  #handlerFailed (ctx: MessageContext, err: unknown): void {
    if (!ctx.failed(err)) this.#log.error('%s handler failed for a message from %s: %e', ctx.type, ctx.peerId, err)
  }

  readonly #answerer: Answerer = {
    answer: (peer, body, id, type, remainingMs) => {
      // (A reply is encoded now, into bytes of its own: a borrowing handler may reply with its payload.)
      this.#replies.reply(peer as Peer, id, type, body, Math.max(1, Math.min(remainingMs, this.#limits.dedupRetentionMs)))
    }
  }
}

/** @throws {TypeError} unless `type` is a string of 1..MAX_TYPE_CHARS characters */
export function checkType (type: string): void {
  if (typeof type !== 'string' || type.length === 0 || type.length > MAX_TYPE_CHARS) {
    throw new TypeError(`message type must be a string of 1..${MAX_TYPE_CHARS} characters`)
  }
}
