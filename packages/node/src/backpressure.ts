import { EgtpError } from '@egtp/interface'
import type { AbortOptions } from '@egtp/interface'
import type { NodeContext } from './context.ts'
import type { Peer } from './peers.ts'

/** What the send window needs from the node (kept narrow: the node owns the peer table and the sender). */
export interface SendWindowHooks {
  /** Unacknowledged bytes across every peer. */
  totalBytes: () => number
}

interface Waiter {
  resolve: () => void
  reject: (error: unknown) => void
}

/**
 * Per-peer flow control of `send`/`query`: a peer is writable while its unacknowledged messages and bytes are
 * below the high-water marks (`limits.sendHighWaterMessages`, `limits.sendHighWaterBytes`, each capped so that
 * one more message of `maxMessageBytes` always fits under the hard bounds). A peer found full is watched: as
 * soon as acknowledgements bring it back under the marks, `peer:drain` is dispatched and `ready()` resolves.
 * Only watched peers cost anything when an entry is released (one Set lookup otherwise).
 */
export class SendWindow {
  readonly #ctx: NodeContext
  readonly #hooks: SendWindowHooks
  /** Peers found full (by `writable`, `ready` or a stream), until they drain. */
  readonly #blocked = new Map<Peer, Waiter[]>()

  constructor (ctx: NodeContext, hooks: SendWindowHooks) {
    this.#ctx = ctx
    this.#hooks = hooks
  }

  /** Whether a peer is watched for room (a `ready()`, a stream, a `writable` that found it full). */
  get waiting (): boolean {
    return this.#blocked.size > 0
  }

  /** The effective high-water mark in messages (never above `maxUnackedPerPeer`). */
  get highWaterMessages (): number {
    const l = this.#ctx.limits
    return Math.min(l.sendHighWaterMessages, l.maxUnackedPerPeer)
  }

  /** The effective high-water mark in bytes (one more largest message still fits under `maxUnackedBytesPerPeer`). */
  get highWaterBytes (): number {
    const l = this.#ctx.limits
    return Math.max(1, Math.min(l.sendHighWaterBytes, l.maxUnackedBytesPerPeer - l.maxMessageBytes))
  }

  /** Whether one more message to `peer` is within the window; when not, the peer is watched for its drain. */
  writable (peer: Peer): boolean {
    if (this.#fits(peer)) return true
    if (!this.#blocked.has(peer)) this.#blocked.set(peer, [])
    return false
  }

  /**
   * Resolves once `peer` is writable (at once when it is).
   * @throws {EgtpError} ERR_CLOSED when the node stops first; rethrows `signal.reason` on abort
   */
  async ready (peer: Peer, options: AbortOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    if (this.#ctx.shutdown.aborted) throw new EgtpError('ERR_CLOSED', 'node stopped')
    if (this.writable(peer)) return
    const waiters = this.#blocked.get(peer)!
    const signal = options.signal
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort)
          reject(error)
        }
      }
      const onAbort = (): void => {
        const list = this.#blocked.get(peer)
        const i = list?.indexOf(waiter) ?? -1
        if (i >= 0) list!.splice(i, 1)
        reject(signal!.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      waiters.push(waiter)
    })
  }

  /** The sender released an entry of `peer` (acknowledged, failed or forgotten): the hot path, kept cheap. */
  released (peer: Peer): void {
    if (this.#blocked.size === 0) return
    if (this.#blocked.has(peer)) this.#check(peer)
  }

  /** Re-check every watched peer (the total byte bound frees up through other peers' acknowledgements). */
  tick (): void {
    for (const peer of [...this.#blocked.keys()]) this.#check(peer)
  }

  /** The node stopped: every `ready()` waiting rejects with ERR_CLOSED. */
  close (): void {
    if (this.#blocked.size === 0) return // no error made for nobody (each costs a stack trace)
    const error = new EgtpError('ERR_CLOSED', 'node stopped')
    for (const waiters of this.#blocked.values()) for (const w of waiters) w.reject(error)
    this.#blocked.clear()
  }

  #fits (peer: Peer): boolean {
    const l = this.#ctx.limits
    const total = this.#hooks.totalBytes()
    return peer.out.size < this.highWaterMessages && peer.out.bytes < this.highWaterBytes &&
      (total === 0 || total + l.maxMessageBytes <= l.maxUnackedBytes)
  }

  #check (peer: Peer): void {
    if (!this.#fits(peer)) return
    const waiters = this.#blocked.get(peer)!
    this.#blocked.delete(peer)
    for (const w of waiters) w.resolve()
    this.#ctx.events.safeDispatch('peer:drain', { peerId: peer.id })
  }
}
