import { makeMessageId, toHex } from './ids.ts'
import { replyBodyForError } from './errors.ts'
import type { HandlerContext } from './types.ts'

/** A reply body: a payload or an error. */
export type ReplyBody = { p: unknown } | { e: { c: string, s: string } }

/**
 * Where a context's answer goes (the node sends it as a reliable reply to `query`, the query message `id` of
 * type `type`, held for at most `remainingMs`).
 */
export interface Answerer {
  answer: (query: unknown, body: ReplyBody, id: Uint8Array, type: string, remainingMs: number) => void
}

/** The `ctx` a handler receives. Its signal is created only when read. */
export class MessageContext implements HandlerContext {
  readonly peerId: string
  readonly type: string
  readonly kind: 'query' | 'oneway'
  /** The message ID, or its sender's epoch when `#counter` ≥ 0 (the ID is then made only when asked for). */
  readonly #id: Uint8Array
  readonly #counter: number
  readonly #sink: Answerer | undefined
  readonly #query: unknown
  readonly #shutdown: AbortSignal
  readonly #remainingMs: number
  #signal: AbortSignal | undefined
  #answered = false
  #deferred = false

  /**
   * `sink` and `query` are set for queries: `sink.answer(query, body)` sends the reply. `id` is the message ID,
   * or with `counter` ≥ 0 the sender's epoch (a one-way message whose ID bytes may not outlive its handler).
   */
  constructor (peerId: string, type: string, id: Uint8Array, sink: Answerer | undefined, query: unknown, shutdown: AbortSignal, remainingMs: number, counter = -1) {
    this.peerId = peerId
    this.type = type
    this.kind = sink === undefined ? 'oneway' : 'query'
    this.#id = id
    this.#counter = counter
    this.#sink = sink
    this.#query = query
    this.#shutdown = shutdown
    this.#remainingMs = remainingMs
  }

  get messageId (): string {
    return toHex(this.#counter < 0 ? this.#id : makeMessageId(this.#id, this.#counter))
  }

  get signal (): AbortSignal {
    this.#signal ??= this.#sink === undefined
      ? this.#shutdown
      : AbortSignal.any([this.#shutdown, AbortSignal.timeout(Math.max(0, Math.ceil(this.#remainingMs)))]) // the delay must be an integer
    return this.#signal
  }

  get answered (): boolean {
    return this.#answered
  }

  reply (value: unknown): void {
    if (this.#sink === undefined) throw new TypeError('a one-way message cannot be answered')
    if (this.#answered) return
    this.#answered = true
    this.#sink.answer(this.#query, { p: value === undefined ? null : value }, this.#id, this.type, this.#remainingMs)
  }

  fail (error: unknown): void {
    if (this.#sink === undefined) throw new TypeError('a one-way message cannot be answered')
    if (this.#answered) return
    this.#answered = true
    this.#sink.answer(this.#query, { e: replyBodyForError(error) }, this.#id, this.type, this.#remainingMs)
  }

  defer (): void {
    this.#deferred = true
  }

  /** The handler returned (or its promise resolved) with `value`. */
  completed (value: unknown): void {
    if (this.#sink === undefined || this.#answered) return
    if (value === undefined && this.#deferred) return
    this.reply(value)
  }

  /** The handler threw. Returns false when nobody can be told (one-way, or already answered). */
  failed (error: unknown): boolean {
    if (this.#sink === undefined || this.#answered) return false
    this.fail(error)
    return true
  }
}
