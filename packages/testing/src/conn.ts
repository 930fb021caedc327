import { EgtpError, TypedEventTarget, joinOutboundFrame, outboundFrameBytes } from '@egtp/interface'
import type { AbortOptions, Conn, ConnEvents, OutboundFrame } from '@egtp/interface'

/** What the network decides for each frame on one direction of a connection. */
export interface Direction {
  /** Milliseconds until the frame arrives, or `undefined` when it is lost (loss, partition). */
  fate: (bytes: number) => number | undefined
  /** Whether frames may overtake each other (jitter without the in-order guarantee). */
  reorder: () => boolean
  /**
   * Checked when a frame is due: deliver it, drop it (a partition began while it was in flight), or hold it (a
   * stream across a partition: it is tried again `retransmitMs` later, and the frames behind it wait).
   */
  arrive: () => 'deliver' | 'drop' | 'hold'
  /** Frames that were in flight when their connection ended. */
  discard: (frames: number) => void
  /** Whether a close or a reset reaches the other end now (a stream's waits for a partition to heal). */
  passes: () => boolean
}

/** The limits of one connection (resolved from the network's init). */
export interface MemoryConnLimits {
  maxFrameBytes: number
  maxQueuedBytesPerConn: number
  sendTimeoutMs: number
  closeTimeoutMs: number
  /** How long a held frame of a stream waits before it is tried again. */
  retransmitMs: number
}

interface InFlight { frame: Uint8Array, dueAt: number }

/**
 * One end of an in-memory framed connection. Frames are copied on `send` and arrive as `message` events on the
 * other end after the link's delay, never synchronously. Close semantics follow tcp: `close()` is graceful (the
 * frames already queued arrive, then both ends emit `close`, the remote one with `local: false`), `abort(err)`
 * drops what is queued and the remote end sees `close` with an `ERR_CLOSED` error (a reset). Both idempotent.
 */
export class MemoryConn extends TypedEventTarget<ConnEvents> implements Conn {
  readonly id: string
  readonly direction: 'inbound' | 'outbound'
  readonly remoteAddress: string
  readonly #limits: MemoryConnLimits
  readonly #out: Direction
  #peer: MemoryConn | undefined
  #queue: InFlight[] = []
  #queuedBytes = 0
  #lastDueAt = 0
  #timer: ReturnType<typeof setTimeout> | undefined
  #immediate: ReturnType<typeof setImmediate> | undefined
  #timerDueAt = Infinity
  #waiters = new Set<{ resolve: () => void, reject: (err: unknown) => void }>()
  #closing: Promise<void> | undefined
  #closingDone: (() => void) | undefined
  #finished = false

  constructor (id: string, direction: 'inbound' | 'outbound', remoteAddress: string, out: Direction, limits: MemoryConnLimits) {
    super()
    this.id = id
    this.direction = direction
    this.remoteAddress = remoteAddress
    this.#out = out
    this.#limits = limits
  }

  /** Join two ends (called once by the network when it makes the pair). */
  static pair (a: MemoryConn, b: MemoryConn): void {
    a.#peer = b
    b.#peer = a
  }

  get closed (): boolean {
    return this.#finished || this.#closing !== undefined
  }

  /** Bytes queued on this end, not yet arrived. */
  get queuedBytes (): number {
    return this.#queuedBytes
  }

  /**
   * Queue `frame`; it resolves once queued within `maxQueuedBytesPerConn` (a lost frame resolves too, as a
   * real network cannot tell). Past the bound it waits for room up to `sendTimeoutMs`.
   * @throws {EgtpError} ERR_CLOSED, ERR_FRAME_TOO_LARGE, ERR_BACKPRESSURE; rethrows `signal.reason` on abort
   */
  async send (frame: OutboundFrame, options?: AbortOptions): Promise<void> {
    const signal = options?.signal
    signal?.throwIfAborted()
    const bytes = outboundFrameBytes(frame)
    if (bytes < 0) throw new TypeError('frame must be a Uint8Array or an array of them')
    if (this.closed) throw new EgtpError('ERR_CLOSED', `connection ${this.id} to ${this.remoteAddress} is closed`)
    if (bytes > this.#limits.maxFrameBytes) throw new EgtpError('ERR_FRAME_TOO_LARGE', `frame of ${bytes} bytes exceeds ${this.#limits.maxFrameBytes}`)
    const copy = frame instanceof Uint8Array ? frame.slice() : joinOutboundFrame(frame).slice()
    while (this.#queuedBytes > 0 && this.#queuedBytes + bytes > this.#limits.maxQueuedBytesPerConn) {
      await this.#room(signal)
      if (this.closed) throw new EgtpError('ERR_CLOSED', `connection ${this.id} to ${this.remoteAddress} is closed`)
    }
    this.#enqueue(copy)
  }

  #room (signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        this.#waiters.delete(waiter)
      }
      const waiter = {
        resolve: () => { done(); resolve() },
        reject: (err: unknown) => { done(); reject(err) }
      }
      const onAbort = (): void => { waiter.reject(signal?.reason) }
      const timer = setTimeout(() => {
        waiter.reject(new EgtpError('ERR_BACKPRESSURE', `${this.remoteAddress} did not drain ${this.#queuedBytes} queued bytes within ${this.#limits.sendTimeoutMs} ms`))
      }, this.#limits.sendTimeoutMs)
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiters.add(waiter)
    })
  }

  #enqueue (frame: Uint8Array): void {
    const delay = this.#out.fate(frame.length)
    if (delay === undefined) return
    let dueAt = performance.now() + delay
    if (!this.#out.reorder()) dueAt = Math.max(dueAt, this.#lastDueAt)
    this.#lastDueAt = Math.max(this.#lastDueAt, dueAt)
    let i = this.#queue.length
    while (i > 0 && this.#queue[i - 1]!.dueAt > dueAt) i--
    this.#queue.splice(i, 0, { frame, dueAt })
    this.#queuedBytes += frame.length
    this.#schedule()
  }

  #schedule (): void {
    const head = this.#queue[0]
    if (head === undefined || head.dueAt >= this.#timerDueAt) return
    this.#cancelTimer()
    this.#timerDueAt = head.dueAt
    const wait = head.dueAt - performance.now()
    const fire = (): void => {
      this.#timer = this.#immediate = undefined
      this.#timerDueAt = Infinity
      this.#flush()
    }
    // no delay: the next turn of the event loop, as a socket read would (setTimeout waits at least 1 ms)
    if (wait <= 0) this.#immediate = setImmediate(fire)
    else this.#timer = setTimeout(fire, wait)
  }

  #cancelTimer (): void {
    clearTimeout(this.#timer)
    clearImmediate(this.#immediate)
    this.#timer = this.#immediate = undefined
  }

  #flush (): void {
    const now = performance.now()
    while (this.#queue.length > 0 && this.#queue[0]!.dueAt <= now) {
      const head = this.#queue[0]!
      const peer = this.#peer
      const fate = peer === undefined || peer.#finished ? 'gone' : this.#out.arrive()
      if (fate === 'hold') {
        // head-of-line blocking, as a stream retransmitting: whatever follows (now or later) waits behind it
        head.dueAt = now + this.#limits.retransmitMs
        this.#lastDueAt = Math.max(this.#lastDueAt, head.dueAt)
        break
      }
      this.#queue.shift()
      this.#queuedBytes -= head.frame.length
      if (fate === 'gone') this.#out.discard(1)
      else if (fate === 'deliver') peer?.safeDispatch('message', head.frame)
      if (this.#finished) return // a listener aborted us
    }
    if (this.#waiters.size > 0 && this.#queuedBytes < this.#limits.maxQueuedBytesPerConn) {
      for (const w of [...this.#waiters]) w.resolve()
      this.safeDispatch('drain', undefined)
    }
    if (this.#queue.length > 0) this.#schedule()
    else if (this.#closing !== undefined) this.#closingDone?.()
  }

  /** Graceful: queued frames still arrive (bounded by `closeTimeoutMs`, then abort), then both ends close. */
  close (): Promise<void> {
    if (this.#closing !== undefined) return this.#closing
    if (this.#finished) return Promise.resolve()
    this.#closing = new Promise<void>(resolve => {
      const timer = setTimeout(() => { this.abort(new EgtpError('ERR_TIMEOUT', `close of ${this.id} timed out`)) }, this.#limits.closeTimeoutMs)
      const finish = (): void => {
        clearTimeout(timer)
        this.#closingDone = undefined
        this.#rejectWaiters()
        const peer = this.#peer
        this.#finish(undefined, true)
        if (peer !== undefined) this.#tellPeer(peer, () => { peer.#finish(undefined, false) })
        resolve()
      }
      this.#closingDone = finish
      this.addEventListener('close', () => { clearTimeout(timer); resolve() }, { once: true })
      if (this.#queue.length === 0) setImmediate(finish)
    })
    return this.#closing
  }

  /** Immediate: queued frames are dropped; the remote end sees a reset. */
  abort (err: Error): void {
    if (this.#finished) return
    const peer = this.#peer
    this.#finish(err, true)
    if (peer !== undefined && !peer.#finished) {
      this.#tellPeer(peer, () => { peer.#finish(new EgtpError('ERR_CLOSED', `connection ${peer.id} reset by ${peer.remoteAddress}`, { cause: err }), false) })
    }
  }

  /**
   * Tell the other end of a close or reset as a packet would: on the next turn of the event loop, or for a
   * stream across a partition once it heals (tried every `retransmitMs`; nothing is told to an end that finished).
   */
  #tellPeer (peer: MemoryConn, tell: () => void): void {
    const attempt = (): void => {
      if (peer.#finished) return
      if (this.#out.passes()) tell()
      else setTimeout(attempt, this.#limits.retransmitMs).unref()
    }
    setImmediate(attempt)
  }

  #rejectWaiters (): void {
    for (const w of [...this.#waiters]) w.reject(new EgtpError('ERR_CLOSED', `connection ${this.id} to ${this.remoteAddress} is closed`))
  }

  #finish (error: Error | undefined, local: boolean): void {
    if (this.#finished) return
    this.#finished = true
    this.#cancelTimer()
    if (this.#queue.length > 0) this.#out.discard(this.#queue.length)
    this.#queue = []
    this.#queuedBytes = 0
    this.#rejectWaiters()
    this.#closingDone = undefined
    this.safeDispatch('close', error === undefined ? { local } : { error, local })
  }
}
