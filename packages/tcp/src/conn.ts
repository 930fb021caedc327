import { FrameDecoder, encodeFrames, FRAME_HEADER_BYTES } from '@egtp/codec'
import { EgtpError, TypedEventTarget } from '@egtp/interface'
import type { AbortOptions, Clock, Conn, ConnEvents, Logger } from '@egtp/interface'
import type { Socket } from 'node:net'
import { FLUSH_THRESHOLD_BYTES, LARGE_FRAME_BYTES } from './constants.ts'
import { throttleDelay } from './token-bucket.ts'
import type { TokenBucket } from './token-bucket.ts'

/** Counters shared by every connection of one instance. */
export interface TrafficCounters {
  bytesIn: number
  bytesOut: number
  framesIn: number
  framesOut: number
}

export interface TcpConnInit {
  socket: Socket
  id: string
  direction: 'inbound' | 'outbound'
  maxFrameBytes: number
  maxQueuedBytes: number
  sendTimeoutMs: number
  closeTimeoutMs: number
  clock: Clock
  log: Logger
  counters: TrafficCounters
  inBucket?: TokenBucket | undefined
  outBucket?: TokenBucket | undefined
  /** Called once, synchronously, when the connection stops accepting sends (before `close` is dispatched). */
  onClosing?: (conn: TcpConn) => void
}

interface Waiter {
  frame: Uint8Array
  size: number
  resolve: () => void
  reject: (err: unknown) => void
  dispose: () => void
}

const RESOLVED = Promise.resolve()

/** `host:port`, with brackets around an IPv6 host. */
export const formatAddress = (host: string, port: number): string =>
  host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`

/**
 * A framed connection over one socket. Frames sent in the same tick are encoded into one buffer and written
 * with one `socket.write` (batching is what makes small frames fast). The bytes queued here plus the socket's
 * own buffer never exceed `maxQueuedBytes` (one frame is always accepted on an empty queue): past it `send`
 * waits, in order, for the socket to drain, and fails with `ERR_BACKPRESSURE` after `sendTimeoutMs`.
 */
export class TcpConn extends TypedEventTarget<ConnEvents> implements Conn {
  readonly id: string
  readonly direction: 'inbound' | 'outbound'
  readonly remoteAddress: string
  /** The remote IP address (for per-address limits). */
  readonly remoteHost: string
  /** Monotonic time of the last frame sent or bytes received. */
  lastActivity: number
  /** Set by the connection manager: receives frames instead of `message` events. */
  frameSink: ((frame: Uint8Array) => void) | undefined

  readonly #socket: Socket
  readonly #init: TcpConnInit
  readonly #decoder: FrameDecoder
  #pending: Uint8Array[] = []
  #pendingBytes = 0
  #pendingLarge = 0 // pending frames of at least LARGE_FRAME_BYTES
  #carry: Uint8Array[] = [] // encoded bytes held back by the outbound throttle
  #queuedBytes = 0 // #pendingBytes + bytes in #carry
  #flushScheduled = false
  #throttleTimer: ReturnType<typeof setTimeout> | undefined
  #resumeTimer: ReturnType<typeof setTimeout> | undefined
  #waiters: Waiter[] = []
  #closed = false
  #local = false
  #error: Error | undefined
  #closePromise: Promise<void> | undefined
  #finished = false
  readonly #finishedPromise: Promise<void>
  #resolveFinished!: () => void
  readonly #flushNow = (): void => { this.#flush() }
  readonly #onWritten = (): void => { this.#pump() }

  constructor (init: TcpConnInit) {
    super()
    this.#init = init
    this.#socket = init.socket
    this.id = init.id
    this.direction = init.direction
    this.remoteHost = init.socket.remoteAddress ?? 'unknown'
    this.remoteAddress = formatAddress(this.remoteHost, init.socket.remotePort ?? 0)
    this.lastActivity = init.clock.monotonic()
    this.frameSink = undefined
    this.#decoder = new FrameDecoder({ maxFrameBytes: init.maxFrameBytes })
    this.#finishedPromise = new Promise(resolve => { this.#resolveFinished = resolve })
    const socket = init.socket
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => { this.#onData(chunk) })
    socket.on('drain', () => {
      this.#pump()
      this.safeDispatch('drain', undefined)
    })
    socket.on('end', () => {
      if (this.#decoder.bufferedBytes > 0) this.abort(new EgtpError('ERR_MALFORMED', `${this.remoteAddress} ended inside a frame`))
      else this.#markClosed() // the peer is done; our side ends too (no half-open connections)
    })
    socket.on('error', (err) => {
      this.#error ??= new EgtpError('ERR_CLOSED', `connection ${this.id} to ${this.remoteAddress} failed`, { cause: err })
    })
    socket.on('close', () => { this.#finish() })
  }

  get closed (): boolean {
    return this.#closed
  }

  /** Bytes waiting to be written: queued here plus the socket's user-space buffer. */
  get queuedBytes (): number {
    return this.#queuedBytes + this.#socket.writableLength
  }

  /** Sends waiting for room in the queue. */
  get waitingSends (): number {
    return this.#waiters.length
  }

  /**
   * Queue one frame. Resolves once it is queued within the bound (the bytes must not be modified afterwards).
   * @throws {EgtpError} ERR_CLOSED, ERR_FRAME_TOO_LARGE, ERR_BACKPRESSURE
   */
  send (frame: Uint8Array, options?: AbortOptions): Promise<void> {
    if (!(frame instanceof Uint8Array)) return Promise.reject(new TypeError('frame must be a Uint8Array'))
    if (this.#closed) return Promise.reject(this.#closedError())
    if (frame.byteLength > this.#init.maxFrameBytes) {
      return Promise.reject(new EgtpError('ERR_FRAME_TOO_LARGE', `frame of ${frame.byteLength} bytes exceeds ${this.#init.maxFrameBytes}`))
    }
    const signal = options?.signal
    if (signal?.aborted === true) return Promise.reject(signal.reason)
    const size = frame.byteLength + FRAME_HEADER_BYTES
    if (this.#waiters.length === 0 && this.#hasRoom(size)) {
      this.#enqueue(frame, size)
      return RESOLVED
    }
    return this.#wait(frame, size, signal)
  }

  #hasRoom (size: number): boolean {
    const queued = this.#queuedBytes + this.#socket.writableLength
    return queued === 0 || queued + size <= this.#init.maxQueuedBytes
  }

  #wait (frame: Uint8Array, size: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        remove()
        reject(new EgtpError('ERR_BACKPRESSURE', `${this.remoteAddress} did not drain ${this.queuedBytes} queued bytes within ${this.#init.sendTimeoutMs} ms`))
      }, this.#init.sendTimeoutMs)
      const onAbort = (): void => {
        remove()
        reject(signal?.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      const waiter: Waiter = {
        frame,
        size,
        resolve,
        reject,
        dispose: () => {
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
        }
      }
      const remove = (): void => {
        waiter.dispose()
        const i = this.#waiters.indexOf(waiter)
        if (i >= 0) this.#waiters.splice(i, 1)
        if (i === 0) this.#pump() // the next one in line may fit
      }
      this.#waiters.push(waiter)
    })
  }

  /** Move waiting sends into the queue while they fit. */
  #pump (): void {
    while (this.#waiters.length > 0 && !this.#closed) {
      const next = this.#waiters[0]!
      if (!this.#hasRoom(next.size)) return
      this.#waiters.shift()
      next.dispose()
      this.#enqueue(next.frame, next.size)
      next.resolve()
    }
  }

  #enqueue (frame: Uint8Array, size: number): void {
    this.#pending.push(frame)
    if (frame.byteLength >= LARGE_FRAME_BYTES) this.#pendingLarge++
    this.#pendingBytes += size
    this.#queuedBytes += size
    this.#init.counters.framesOut++
    if (this.#pendingBytes >= FLUSH_THRESHOLD_BYTES) {
      this.#flush()
    } else if (!this.#flushScheduled) {
      this.#flushScheduled = true
      process.nextTick(this.#flushNow)
    }
  }

  /** Encode pending frames into one buffer and write what the outbound throttle allows. */
  #flush (ignoreThrottle = false): void {
    this.#flushScheduled = false
    if (this.#socket.destroyed) return
    if (this.#pending.length > 0) {
      if (this.#pendingLarge === 0) this.#carry.push(encodeFrames(this.#pending, this.#init.maxFrameBytes))
      else this.#encodeMixed()
      this.#pending = []
      this.#pendingBytes = 0
      this.#pendingLarge = 0
    }
    if (this.#carry.length === 0) return
    const bucket = ignoreThrottle ? undefined : this.#init.outBucket
    if (bucket === undefined) {
      const carry = this.#carry
      this.#carry = []
      if (carry.length === 1) {
        this.#write(carry[0]!)
      } else {
        this.#socket.cork()
        for (const buf of carry) this.#write(buf)
        this.#socket.uncork()
      }
      return
    }
    if (this.#throttleTimer !== undefined) return // already waiting for tokens
    let budget = bucket.take(this.#queuedBytes)
    while (budget > 0 && this.#carry.length > 0) {
      const head = this.#carry[0]!
      if (head.byteLength <= budget) {
        this.#carry.shift()
        this.#write(head)
        budget -= head.byteLength
      } else {
        this.#write(head.subarray(0, budget))
        this.#carry[0] = head.subarray(budget)
        budget = 0
      }
    }
    if (this.#carry.length > 0) {
      this.#throttleTimer = setTimeout(() => {
        this.#throttleTimer = undefined
        this.#flush()
      }, throttleDelay(bucket.waitMs(this.#queuedBytes)))
    }
  }

  /** Small frames are copied together into one buffer; large ones go out as header + body, without a copy. */
  #encodeMixed (): void {
    let run: Uint8Array[] = []
    for (const frame of this.#pending) {
      if (frame.byteLength < LARGE_FRAME_BYTES) {
        run.push(frame)
        continue
      }
      if (run.length > 0) this.#carry.push(encodeFrames(run, this.#init.maxFrameBytes))
      run = []
      const header = new Uint8Array(FRAME_HEADER_BYTES)
      new DataView(header.buffer).setUint32(0, frame.byteLength)
      this.#carry.push(header, frame)
    }
    if (run.length > 0) this.#carry.push(encodeFrames(run, this.#init.maxFrameBytes))
  }

  #write (buf: Uint8Array): void {
    this.#queuedBytes -= buf.byteLength
    this.#init.counters.bytesOut += buf.byteLength
    this.lastActivity = this.#init.clock.monotonic()
    this.#socket.write(buf, this.#onWritten)
  }

  #onData (chunk: Buffer): void {
    this.lastActivity = this.#init.clock.monotonic()
    const counters = this.#init.counters
    counters.bytesIn += chunk.byteLength
    const bucket = this.#init.inBucket
    if (bucket !== undefined) {
      bucket.consume(chunk.byteLength)
      const wait = bucket.waitMs(0)
      if (wait > 0 && this.#resumeTimer === undefined) this.#pauseFor(bucket, wait)
    }
    let frames: Uint8Array[]
    try {
      frames = this.#decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    } catch (err) {
      this.#init.log('closing %s: %s', this.id, (err as Error).message)
      this.abort(err as Error)
      return
    }
    for (const frame of frames) {
      if (this.#closed) return
      counters.framesIn++
      const sink = this.frameSink
      if (sink !== undefined) sink(frame)
      else this.safeDispatch('message', frame)
    }
  }

  /** Inbound throttling: stop reading (the peer's TCP window fills) until the debt is paid. */
  #pauseFor (bucket: TokenBucket, waitMs: number): void {
    this.#socket.pause()
    this.#resumeTimer = setTimeout(() => {
      this.#resumeTimer = undefined
      if (this.#socket.destroyed) return
      const wait = bucket.waitMs(0)
      if (wait > 0) this.#pauseFor(bucket, wait)
      else this.#socket.resume()
    }, throttleDelay(waitMs))
  }

  #closedError (): EgtpError {
    return new EgtpError('ERR_CLOSED', `connection ${this.id} to ${this.remoteAddress} is closed`, { cause: this.#error })
  }

  /** Stop accepting sends; fail the waiting ones. */
  #markClosed (): void {
    if (this.#closed) return
    this.#closed = true
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) {
      w.dispose()
      w.reject(this.#closedError())
    }
    this.#init.onClosing?.(this)
  }

  /** Graceful: write what is queued (ignoring the throttle), end the socket, destroy it after `closeTimeoutMs`. */
  async close (): Promise<void> {
    if (this.#closePromise !== undefined) return this.#closePromise
    if (!this.#closed) this.#local = true
    this.#markClosed()
    this.#closePromise = (async () => {
      if (this.#socket.destroyed) return this.#finishedPromise
      clearTimeout(this.#throttleTimer)
      this.#throttleTimer = undefined
      clearTimeout(this.#resumeTimer)
      this.#resumeTimer = undefined
      this.#flush(true)
      this.#socket.resume() // a throttle-paused socket must still read the peer's FIN
      this.#socket.end()
      const timer = setTimeout(() => { this.#socket.destroy() }, this.#init.closeTimeoutMs)
      try {
        await this.#finishedPromise
      } finally {
        clearTimeout(timer)
      }
    })()
    return this.#closePromise
  }

  /** Immediate: destroy the socket; `close` is dispatched with `err`. */
  abort (err: Error): void {
    if (this.#finished || this.#socket.destroyed) return
    if (!this.#closed) this.#local = true
    this.#error ??= err
    this.#markClosed()
    this.#socket.destroy()
  }

  #finish (): void {
    if (this.#finished) return
    this.#markClosed()
    this.#finished = true
    clearTimeout(this.#throttleTimer)
    clearTimeout(this.#resumeTimer)
    this.#pending = []
    this.#carry = []
    this.#queuedBytes = 0
    this.#pendingBytes = 0
    this.#pendingLarge = 0
    this.#init.log.trace('%s closed%s', this.id, this.#error !== undefined ? `: ${this.#error.message}` : '')
    const detail = this.#error !== undefined ? { error: this.#error, local: this.#local } : { local: this.#local }
    this.safeDispatch('close', detail)
    this.#resolveFinished()
  }
}
