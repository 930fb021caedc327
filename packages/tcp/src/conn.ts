import { FrameDecoder, FRAME_HEADER_BYTES } from '@egtp/codec'
import { isDataFrame } from '@egtp/codec/session'
import { EgtpError, outboundFrameBytes } from '@egtp/interface'
import type { Clock, CloseDetail, Conn, ConnEvents, FrameSendOptions, Logger, OutboundFrame } from '@egtp/interface'
import type { Socket } from 'node:net'
import { READ_BUFFER_BYTES, RECYCLE_FRAME_BYTES, THROTTLED_READ_BYTES } from './constants.ts'
import { LazyEventTarget } from './lazy-events.ts'
import { readIntoSharedBuffer } from './read-buffer.ts'
import { throttleDelay } from './token-bucket.ts'
import type { TokenBucket } from './token-bucket.ts'
import { FrameWriter } from './writer.ts'
import type { FrameWriterInit } from './writer.ts'

/** Counters shared by every connection of one instance. */
export interface TrafficCounters {
  bytesIn: number
  bytesOut: number
  framesIn: number
  framesOut: number
}

/** What every connection of one pool shares (one object per pool, kept by each connection). */
export interface TcpConnInit extends FrameWriterInit {
  closeTimeoutMs: number
  clock: Clock
  log: Logger
  counters: TrafficCounters
  inBucket?: TokenBucket | undefined
  /** Called once, synchronously, when the connection stops accepting sends (before `close` is dispatched). */
  onClosing?: (conn: TcpConn) => void
  /** Called when the peer broke the framing (an oversized length, or an end inside a frame), before the abort. */
  onViolation?: (conn: TcpConn, error: Error) => void
  /** Called once when the socket closed, before `close` is dispatched (a callback shared by every connection). */
  onClose?: (conn: TcpConn, detail: CloseDetail) => void
}

/** Bits of a connection's state: closed to sends, closed by our side, socket closed, accepted (not dialed). */
const CLOSED = 1
const LOCAL = 2
const FINISHED = 4
const INBOUND = 8

/** The connection a socket belongs to, on the socket itself (its listeners are shared functions). */
const CONN = Symbol('egtp.tcpConn')
type ConnSocket = Socket & { [CONN]?: TcpConn }

/** Where a managed connection's frames go instead of `message` events. */
export interface FrameSink {
  deliver: (frame: Uint8Array) => void
}

/**
 * Monotonic time in whole milliseconds, rounded up: an integer stays a small integer in the connection object
 * (a fractional one is a separate 16-byte heap number per connection on Node 20's V8). Rounding up never makes
 * a connection look idle earlier than it is.
 */
export const wholeMs = (clock: Clock): number => Math.ceil(clock.monotonic())

/** `host:port`, with brackets around an IPv6 host. */
export const formatAddress = (host: string, port: number): string =>
  host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`

/**
 * A framed connection over one socket: frames out through a {@link FrameWriter} (batching, backpressure,
 * throttling), frames in through codec's bounded `FrameDecoder`. Any framing error (an oversized length, or the
 * peer ending inside a frame) aborts this connection with the coded error as its close reason.
 */
export class TcpConn extends LazyEventTarget<ConnEvents> implements Conn {
  /** The number in its {@link id} (the string is made when asked for: logs and errors). */
  readonly #serial: number
  readonly #remotePort: number
  /** The remote IP address (for per-address limits). */
  readonly remoteHost: string
  /** Monotonic time of the last bytes written or received (whole ms, rounded up: {@link wholeMs}). */
  lastActivity: number
  /** Set by the connection manager: receives frames instead of `message` events. */
  frameSink: FrameSink | undefined

  readonly #socket: Socket
  readonly #init: TcpConnInit
  readonly #decoder: FrameDecoder
  readonly #writer: FrameWriter
  #resumeTimer: ReturnType<typeof setTimeout> | undefined
  #undecodedBytes = 0 // bytes received that are not yet part of a delivered frame (a partial frame)
  /** CLOSED, LOCAL, FINISHED and INBOUND in one small integer (one field instead of four, per connection). */
  #state = 0
  #error: Error | undefined
  /** A graceful `close()`: its promise, and what it waits for (the socket to close). One field, set once. */
  #closing: { promise?: Promise<void>, finished?: () => void } | undefined
  /** The listener that accepted it (that closes it when it closes). @internal */
  acceptedBy: object | undefined

  /**
   * `dialed`: the address a dialed socket connected to, when it is the one Node would report (an IPv4 literal):
   * no `getpeername` call then. Sockets are made with `noDelay` (the dial's and the server's option): no
   * `setNoDelay` call here.
   */
  constructor (socket: Socket, serial: number, direction: 'inbound' | 'outbound', init: TcpConnInit,
    dialed?: { readonly host: string, readonly port: number }) {
    super()
    this.#init = init
    this.#socket = socket
    this.#serial = serial
    if (direction === 'inbound') this.#state = INBOUND
    if (dialed !== undefined) {
      this.remoteHost = dialed.host
      this.#remotePort = dialed.port
    } else {
      this.remoteHost = socket.remoteAddress ?? 'unknown'
      this.#remotePort = socket.remotePort ?? 0
      // Reading the address made Node cache it on the socket in an object of its own (`_peername`, ~60 bytes
      // per connection for as long as it is open); the connection keeps its own copy, so the cache goes (Node
      // fetches it again should anything ask).
      ;(socket as { _peername?: unknown })._peername = undefined
    }
    this.lastActivity = wholeMs(init.clock)
    this.frameSink = undefined
    this.#writer = new FrameWriter(socket, init, this)
    this.acceptedBy = undefined
    ;(socket as ConnSocket)[CONN] = this
    // Reads into the process's shared buffer when Node allows it: the decoder then copies every frame out.
    const reused = readIntoSharedBuffer(socket, TcpConn.#socketRead, init.inBucket === undefined ? READ_BUFFER_BYTES : THROTTLED_READ_BYTES)
    // A session data frame is opened into new memory and never kept (ReturnPath.recycle's contract): a small
    // one is copied into a shared slab, not into an allocation of its own.
    this.#decoder = new FrameDecoder({ maxFrameBytes: init.maxFrameBytes, recycleFromBytes: RECYCLE_FRAME_BYTES, reusedChunks: reused, slabFrame: isDataFrame })
    socket.on('data', TcpConn.#socketData) // no `data` events with the shared buffer, but it keeps `end` coming
    socket.on('drain', TcpConn.#socketDrain)
    socket.on('end', TcpConn.#socketEnd)
    socket.on('error', TcpConn.#socketError)
    socket.on('close', TcpConn.#socketClose)
  }

  // The socket's listeners: shared by every connection (`this` is the socket), not five closures per connection.
  static readonly #socketData = function (this: ConnSocket, chunk: Buffer): void {
    this[CONN]!.#onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length), chunk.length)
  }

  static readonly #socketRead = function (this: ConnSocket, nread: number, buffer: Uint8Array): void {
    this[CONN]!.#onData(buffer, nread)
  }

  static readonly #socketDrain = function (this: ConnSocket): void {
    const conn = this[CONN]!
    conn.#writer.pump()
    conn.safeDispatch('drain', undefined)
  }

  static readonly #socketEnd = function (this: ConnSocket): void {
    const conn = this[CONN]!
    if (conn.#undecodedBytes > 0) {
      const err = new EgtpError('ERR_MALFORMED', `${conn.remoteAddress} ended inside a frame`)
      conn.#init.onViolation?.(conn, err)
      conn.abort(err)
    } else conn.#markClosed() // the peer is done; our side ends too (no half-open connections)
    // (Not destroyed here even with nothing left to write: a close(2) of a socket whose peer's FIN just came, in
    // place of Node's shutdown(2) first, measured ~1 ms per connection on loopback, the shutdown ~5 µs.)
  }

  static readonly #socketError = function (this: ConnSocket, err: Error): void {
    const conn = this[CONN]!
    conn.#error ??= new EgtpError('ERR_CLOSED', `connection ${conn.id} to ${conn.remoteAddress} failed`, { cause: err })
  }

  static readonly #socketClose = function (this: ConnSocket): void { this[CONN]!.#finish() }

  /** The writer wrote `bytes` to the socket. @internal */
  noteWrite (bytes: number): void {
    this.#init.counters.bytesOut += bytes
    this.lastActivity = wholeMs(this.#init.clock)
  }

  /** A frame of `bytes` (header included) went to the socket before this connection was made. @internal */
  noteEarlyFrame (bytes: number): void {
    this.#init.counters.framesOut++
    this.noteWrite(bytes)
  }

  /** The writer queued a frame. @internal */
  noteQueued (): void {
    this.#init.counters.framesOut++
  }

  /** Who opened it: the peer (`inbound`, accepted by a listener) or we (`outbound`, dialed). */
  get direction (): 'inbound' | 'outbound' {
    return (this.#state & INBOUND) !== 0 ? 'inbound' : 'outbound'
  }

  /** `tcp-N`: unique within its instance. */
  get id (): string {
    return `tcp-${this.#serial}`
  }

  /** `host:port` of the other end (made when asked for: logs and errors; not a string kept per connection). */
  get remoteAddress (): string {
    return formatAddress(this.remoteHost, this.#remotePort)
  }

  get closed (): boolean {
    return (this.#state & CLOSED) !== 0
  }

  /** Bytes waiting to be written: queued here plus the socket's user-space buffer. */
  get queuedBytes (): number {
    return this.#writer.queuedBytes
  }

  /** Sends waiting for room in the queue. */
  get waitingSends (): number {
    return this.#writer.waitingSends
  }

  /**
   * Queue one frame (one buffer, or pieces sent back to back as one frame). Resolves once it is queued within
   * the bound; do not modify the bytes afterwards.
   * @throws {EgtpError} ERR_CLOSED, ERR_FRAME_TOO_LARGE, ERR_BACKPRESSURE; rethrows `signal.reason` on abort
   */
  send (frame: OutboundFrame, options?: FrameSendOptions): Promise<void> {
    const bytes = frame instanceof Uint8Array ? frame.length : outboundFrameBytes(frame)
    if (bytes < 0) return Promise.reject(new TypeError('frame must be a Uint8Array or an array of them'))
    if ((this.#state & CLOSED) !== 0) return Promise.reject(this.#closedError())
    if (bytes > this.#init.maxFrameBytes) {
      return Promise.reject(new EgtpError('ERR_FRAME_TOO_LARGE', `frame of ${bytes} bytes exceeds ${this.#init.maxFrameBytes}`))
    }
    const signal = options?.signal
    if (signal?.aborted === true) return Promise.reject(signal.reason)
    return this.#writer.send(frame, bytes, signal, options?.flushNow === true)
  }

  /** The consumer is done with a frame of this connection (see `ReturnPath.recycle`): its memory may serve again. */
  recycle (frame: Uint8Array): void {
    this.#decoder.recycle(frame)
  }

  /** Drop the memory kept for reassembly unless it served since the last call (the pool's sweep calls this). */
  trimSpare (): void {
    this.#decoder.trimSpare()
  }

  /** `bytes` bytes arrived at the start of `chunk`. */
  #onData (chunk: Uint8Array, bytes: number): void {
    this.lastActivity = wholeMs(this.#init.clock)
    const counters = this.#init.counters
    counters.bytesIn += bytes
    const bucket = this.#init.inBucket
    if (bucket !== undefined) {
      bucket.consume(bytes)
      const wait = bucket.waitMs(0)
      if (wait > 0 && this.#resumeTimer === undefined) this.#pauseFor(bucket, wait)
    }
    this.#undecodedBytes += bytes
    try {
      this.#decoder.decode(chunk, TcpConn.#onFrame, this, bytes)
    } catch (err) {
      this.#init.log.trace('closing %s: %s', this.id, (err as Error).message)
      this.#init.onViolation?.(this, err as Error)
      this.abort(err as Error)
    }
  }

  /** The decoder's callback, with the connection as `this`: one function for every connection, not a closure each. */
  static readonly #onFrame = function (this: TcpConn, frame: Uint8Array): void {
    this.#undecodedBytes -= frame.length + FRAME_HEADER_BYTES
    if ((this.#state & CLOSED) !== 0) return
    this.#init.counters.framesIn++
    const sink = this.frameSink
    if (sink !== undefined) sink.deliver(frame)
    else this.safeDispatch('message', frame)
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

  /** The error a send on this closed connection fails with (ERR_CLOSED, caused by what closed it, if anything). */
  #closedError (): EgtpError {
    return new EgtpError('ERR_CLOSED', this.closedMessage, { cause: this.#error })
  }

  /** The message of the ERR_CLOSED a send on this closed connection fails with. */
  get closedMessage (): string {
    return `connection ${this.id} to ${this.remoteAddress} is closed`
  }

  /** What closed the connection, when something did (an error of the socket, a violation, an abort). */
  get closeCause (): Error | undefined {
    return this.#error
  }

  /** Stop accepting sends; fail the waiting ones. */
  #markClosed (): void {
    if ((this.#state & CLOSED) !== 0) return
    this.#state |= CLOSED
    this.#writer.close(() => this.#closedError())
    this.#init.onClosing?.(this)
  }

  /** Graceful: write what is queued (ignoring the throttle), end the socket, destroy it after `closeTimeoutMs`. */
  async close (): Promise<void> {
    if (this.#closing?.promise !== undefined) return this.#closing.promise
    if ((this.#state & CLOSED) === 0) this.#state |= LOCAL
    this.#markClosed()
    const closing: { promise?: Promise<void>, finished?: () => void } = this.#closing = {}
    closing.promise = (async () => {
      if ((this.#state & FINISHED) !== 0) return
      const finished = new Promise<void>(resolve => { closing.finished = resolve })
      if (this.#socket.destroyed) return await finished
      clearTimeout(this.#resumeTimer)
      this.#resumeTimer = undefined
      this.#writer.flushAll()
      this.#socket.resume() // a throttle-paused socket must still read the peer's FIN
      this.#socket.end()
      const timer = setTimeout(() => { this.#socket.destroy() }, this.#init.closeTimeoutMs)
      try {
        await finished
      } finally {
        clearTimeout(timer)
      }
    })()
    return closing.promise
  }

  /** Immediate: destroy the socket; `close` is dispatched with `err`. Idempotent. */
  abort (err: Error): void {
    if ((this.#state & FINISHED) !== 0 || this.#socket.destroyed) return
    if ((this.#state & CLOSED) === 0) this.#state |= LOCAL
    this.#error ??= err
    this.#markClosed()
    this.#socket.destroy()
  }

  #finish (): void {
    if ((this.#state & FINISHED) !== 0) return
    this.#markClosed()
    this.#state |= FINISHED
    clearTimeout(this.#resumeTimer)
    this.#writer.dispose()
    this.#init.log.trace('%s closed%s', this.id, this.#error !== undefined ? `: ${this.#error.message}` : '')
    const local = (this.#state & LOCAL) !== 0
    const detail = this.#error !== undefined ? { error: this.#error, local } : { local }
    this.#init.onClose?.(this, detail)
    this.safeDispatch('close', detail)
    this.#closing?.finished?.()
  }
}
