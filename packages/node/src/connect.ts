import { EgtpError } from '@egtp/interface'
import type { AbortOptions } from '@egtp/interface'
import type { NodeContext } from './context.ts'
import type { Peer, PeerTable } from './peers.ts'
import type { Router } from './router.ts'
import type { Sender } from './sender.ts'
import { encodeBatch } from '@egtp/codec/node'

/** Per-call options of `connect`. */
export interface ConnectOptions extends AbortOptions {
  /** Give up (ERR_TIMEOUT) after this long (ms). Default `limits.connectTimeoutMs`; at most MAX_TIMEOUT_MS. */
  timeoutMs?: number
}

/** Per-call options of `disconnect`. */
export type DisconnectOptions = AbortOptions

/** What `connect` found or set up. */
export interface PeerConnection {
  readonly peerId: string
  /**
   * The kind of path the peer's frames last arrived on (`tcp`, `relay`, …), which the node answers on first;
   * `none` when no such path is open (a session was up, and the frame went out on a new connection to the
   * peer's endpoints, which carries the next messages).
   */
  readonly path: string
  /** The path's description (connection and address), for logs. */
  readonly description: string
  /** True when this call (or a concurrent one it joined) set up a new session; false when one was up already. */
  readonly handshake: boolean
  /** With `handshake`: time from sending the initiation to the peer's answer (one round trip plus its work), ms. */
  readonly rttMs?: number
  /** Time the call took: lookup, transport connection and handshake (ms). */
  readonly elapsedMs: number
}

type Established = Omit<PeerConnection, 'elapsedMs' | 'path' | 'description'>

/** One connection attempt to a peer, shared by every `connect` call waiting for it. */
interface Attempt {
  promise: Promise<Established>
  waiters: number
  settled: boolean
  /** Set while the attempt waits for the handshake to complete. */
  confirmed: (() => void) | undefined
  fail: (error: unknown) => void
}

/** Where the connector fails the queries to a disconnected peer (the pending queries). */
export interface PeerQueries {
  /** Fail every query to `peer` still waiting for its reply; how many. */
  failPeer: (peer: Peer, error: EgtpError) => number
}

/**
 * `connect` and `disconnect` of one peer. Connecting sends one empty batch to the peer: under no session it
 * carries the handshake initiation (the session layer's rule), under an established one it is a data frame that
 * opens a transport connection when none is open; the attempt then waits for the session to be established.
 * Concurrent calls for one peer share one attempt; each caller keeps its own signal and deadline, and the
 * attempt stops waiting when the last caller gave up.
 */
export class Connector {
  readonly #ctx: NodeContext
  readonly #peers: PeerTable
  readonly #sender: Sender
  readonly #router: Router
  readonly #queries: PeerQueries
  readonly #attempts = new Map<string, Attempt>()

  constructor (ctx: NodeContext, peers: PeerTable, sender: Sender, router: Router, queries: PeerQueries) {
    this.#ctx = ctx
    this.#peers = peers
    this.#sender = sender
    this.#router = router
    this.#queries = queries
  }

  /** A session with `peerId` was confirmed (the session events' observer calls this). */
  confirmed (peerId: string): void {
    const a = this.#attempts.get(peerId)
    if (a?.confirmed !== undefined && this.#ctx.sessions.isEstablished(peerId)) a.confirmed()
  }

  /** `peerId` refused our initiation as outside its clock window (the session events' observer calls this). */
  clockSkew (peerId: string, skewMs: number): void {
    this.#attempts.get(peerId)?.fail(new EgtpError('ERR_CLOCK_SKEW', `${peerId} refuses our session as outside its clock window; ` +
      `our clock is ${Math.abs(skewMs)} ms ${skewMs >= 0 ? 'ahead of' : 'behind'} its clock`))
  }

  /**
   * Establish a session with `peer` (joining an attempt in flight).
   * @throws {EgtpError} ERR_UNREACHABLE, ERR_TIMEOUT, ERR_CLOCK_SKEW, ERR_RATE_LIMITED, ERR_DISCONNECTED, ERR_CLOSED;
   *   rethrows `signal.reason` on abort
   */
  async connect (peer: Peer, timeoutMs: number, signal: AbortSignal | undefined): Promise<PeerConnection> {
    const startedAt = this.#ctx.clock.monotonic()
    const attempt = this.#attempts.get(peer.id) ?? this.#start(peer)
    attempt.waiters++
    let timer: ReturnType<typeof setTimeout> | undefined
    let onAbort: (() => void) | undefined
    try {
      const result = await new Promise<Established>((resolve, reject) => {
        timer = setTimeout(() => { reject(new EgtpError('ERR_TIMEOUT', `no session with ${peer.id} within ${timeoutMs} ms`)) }, timeoutMs)
        if (signal !== undefined) {
          onAbort = () => { reject(signal.reason) }
          signal.addEventListener('abort', onAbort, { once: true })
        }
        attempt.promise.then(resolve, reject)
      })
      const path = peer.contact.returnPath
      return { ...result, path: path?.kind ?? 'none', description: path?.description ?? '', elapsedMs: this.#ctx.clock.monotonic() - startedAt }
    } finally {
      clearTimeout(timer)
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
      // Nobody waits any more: stop waiting for the handshake (it may still complete, harmlessly).
      if (--attempt.waiters === 0 && !attempt.settled) attempt.fail(new EgtpError('ERR_CLOSED', 'every caller gave up'))
    }
  }

  #start (peer: Peer): Attempt {
    let fail: (error: unknown) => void = () => {}
    const failed = new Promise<never>((_resolve, reject) => { fail = reject })
    const attempt: Attempt = {
      promise: failed,
      waiters: 0,
      settled: false,
      confirmed: undefined,
      fail: (error) => { fail(error) }
    }
    const promise = Promise.race([this.#run(peer, attempt), failed]).finally(() => {
      attempt.settled = true
      attempt.confirmed = undefined
      if (this.#attempts.get(peer.id) === attempt) this.#attempts.delete(peer.id)
    })
    promise.catch(() => {}) // its callers see the outcome; an attempt nobody waits for ends quietly
    failed.catch(() => {})
    attempt.promise = promise
    this.#attempts.set(peer.id, attempt)
    return attempt
  }

  async #run (peer: Peer, attempt: Attempt): Promise<Established> {
    const ctx = this.#ctx
    if (peer.contact.publicKey === undefined) await this.#peers.lookUp(peer)
    const publicKey = peer.contact.publicKey
    if (publicKey === undefined) throw new EgtpError('ERR_UNREACHABLE', `no contact record for ${peer.id}`)
    if (attempt.settled) throw new EgtpError('ERR_CLOSED', 'connect attempt ended')
    const established = ctx.sessions.isEstablished(peer.id)
    if (established && peer.contact.returnPath?.usable() === true) return { peerId: peer.id, handshake: false } // warm already
    // Listen before sending: the answer can arrive before `transmit` settles.
    const confirmed = established ? undefined : new Promise<void>(resolve => { attempt.confirmed = resolve })
    // The dial starts in the next tick (see Router.prepare): let it, then seal.
    if (this.#router.prepare(peer)) await new Promise<void>(resolve => { process.nextTick(resolve) })
    const { pieces } = ctx.sessions.sealParts({ nodeId: peer.id, publicKey }, [encodeBatch(undefined, [])])
    const sentAt = ctx.clock.monotonic()
    await this.#router.transmit(peer, pieces.length === 1 ? pieces[0]! : pieces, !established)
    if (confirmed === undefined) return { peerId: peer.id, handshake: false }
    await confirmed
    return { peerId: peer.id, handshake: true, rttMs: ctx.clock.monotonic() - sentAt }
  }

  /**
   * Close every session and connection with `peer`. Messages to it that are not acknowledged are reported
   * failed (ERR_DISCONNECTED when never sent, ERR_DELIVERY_UNCERTAIN when sent), as are queries waiting for a
   * reply (ERR_DISCONNECTED); acknowledgements owed to it go out first (within `limits.disconnectTimeoutMs`).
   * @returns how many messages and queries were reported failed
   */
  async disconnect (peer: Peer, signal: AbortSignal | undefined): Promise<number> {
    const ctx = this.#ctx
    const gone = new EgtpError('ERR_DISCONNECTED', `disconnected from ${peer.id}`)
    this.#attempts.get(peer.id)?.fail(gone)
    let failed = 0
    for (const e of [...peer.out.entries()]) {
      if (e.kind === 'a') {
        this.#sender.forget(peer, e.key) // our reply: the peer asks again after reconnecting
        continue
      }
      const error = e.attempts > 0
        ? new EgtpError('ERR_DELIVERY_UNCERTAIN', `disconnected from ${peer.id} before it acknowledged the message`)
        : new EgtpError('ERR_DISCONNECTED', `disconnected from ${peer.id} before the message was sent`)
      if (this.#sender.settle(peer, e.key, { ok: false, error }) !== undefined) failed++
    }
    failed += this.#queries.failPeer(peer, new EgtpError('ERR_DISCONNECTED', `disconnected from ${peer.id} while waiting for the reply`))
    await this.#flushAcks(peer, signal)
    ctx.sessions.drop(peer.id)
    const closing: Array<Promise<void>> = []
    for (const path of peer.contact.disconnected()) if (path.close !== undefined) closing.push(path.close())
    for (const endpoint of peer.contact.record?.endpoints ?? []) {
      for (const c of ctx.commstrats) if (c.disconnect !== undefined && c.canSend(endpoint)) closing.push(c.disconnect(peer.id, endpoint))
    }
    for (const r of await Promise.allSettled(closing)) {
      if (r.status === 'rejected') ctx.log.trace('closing a connection to %s failed: %e', peer.id, r.reason)
    }
    ctx.events.safeDispatch('peer:disconnect', { peerId: peer.id, failed })
    return failed
  }

  /** Send the acknowledgements owed to `peer` before its session goes (bounded; an abort only cuts the wait). */
  async #flushAcks (peer: Peer, signal: AbortSignal | undefined): Promise<void> {
    if (peer.tx.idle()) return
    const bounds = [this.#ctx.shutdown, AbortSignal.timeout(this.#ctx.limits.disconnectTimeoutMs)]
    await this.#sender.flushed(peer, AbortSignal.any(signal !== undefined ? [...bounds, signal] : bounds))
  }

  /** The node stopped: attempts in flight fail with ERR_CLOSED. */
  close (): void {
    if (this.#attempts.size === 0) return // no error made for nobody (each costs a stack trace)
    const error = new EgtpError('ERR_CLOSED', 'node stopped')
    for (const a of [...this.#attempts.values()]) a.fail(error)
  }
}
