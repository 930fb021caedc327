import { encodeFrames, FRAME_HEADER_BYTES } from '@egtp/codec'
import { EgtpError, SENT, joinOutboundFrame } from '@egtp/interface'
import type { OutboundFrame } from '@egtp/interface'
import type { Socket } from 'node:net'
import { nextTick } from 'node:process'
import { FLUSH_THRESHOLD_BYTES, LARGE_FRAME_BYTES } from './constants.ts'
import { throttleDelay } from './token-bucket.ts'
import type { TokenBucket } from './token-bucket.ts'

/** The limits of every writer of one pool (one object shared by all its connections). */
export interface FrameWriterInit {
  maxFrameBytes: number
  maxQueuedBytes: number
  sendTimeoutMs: number
  outBucket?: TokenBucket | undefined
}

/** The connection a writer writes for (its methods, not closures per connection). */
export interface FrameWriterHost {
  /** For error messages. */
  readonly remoteAddress: string
  /** Called for every socket write with its byte count. */
  noteWrite: (bytes: number) => void
  /** Called for every frame that enters the queue. */
  noteQueued: () => void
}

/** `process.nextTick` callback: one function for every writer. */
const flushLater = (writer: FrameWriter): void => { writer.flushScheduled() }

interface Waiter {
  frame: OutboundFrame
  size: number
  resolve: () => void
  reject: (err: unknown) => void
  dispose: () => void
}

/** The encoded bytes of one flush on their way to the socket: shared by every writer, empty between flushes. */
const FLUSHING: Uint8Array[] = []
/**
 * A one-element array for `encodeFrames` of a lone frame (the writer's common case: one frame per turn),
 * cleared after the synchronous call: no array per write.
 */
const LONE: Array<Uint8Array | undefined> = [undefined]
const NO_BYTES = new Uint8Array(0)
const FLUSH_SCHEDULED = 1
const CLOSED = 2
/** Pieces of a frame smaller than this are copied together with their neighbours instead of written alone. */
const SMALL_PIECE_BYTES = 1024

/**
 * The sending half of a connection. Frames queued in the same tick are encoded into one buffer and written with
 * one `socket.write` (batching is what makes small frames fast); large frames go out as header + body without a
 * copy. The bytes queued here plus the socket's own buffer never exceed `maxQueuedBytes` (one frame is always
 * accepted on an empty queue): past it sends wait, in order, for the socket to drain, and fail with
 * `ERR_BACKPRESSURE` after `sendTimeoutMs`. With an outbound bucket, bytes leave only as tokens allow.
 */
export class FrameWriter {
  readonly #init: FrameWriterInit
  readonly #socket: Socket
  readonly #host: FrameWriterHost
  /** The first frame queued since the last flush (a lone frame, the usual case, needs no array). */
  #first: OutboundFrame | undefined
  /**
   * The frames queued after `#first`: an array from the second one to the flush, none in between (an idle
   * connection holds no array; each lives one tick, so V8 never pretenures the site).
   */
  #pending: OutboundFrame[] | undefined
  #pendingBytes = 0
  #pendingLarge = 0 // pending frames of at least LARGE_FRAME_BYTES
  /** Encoded bytes held back by the outbound throttle (an array only while there are any). */
  #carry: Uint8Array[] | undefined
  #queuedBytes = 0 // #pendingBytes + bytes in #carry
  /** FLUSH_SCHEDULED and CLOSED in one small integer (one field instead of two, per connection). */
  #state = 0
  #throttleTimer: ReturnType<typeof setTimeout> | undefined
  /** Sends waiting for room: no array until the first one waits (most connections never wait). */
  #waiters: Waiter[] | undefined
  /**
   * The callback of every socket write once a send had to wait (it pumps the waiting sends as room opens):
   * until then writes need none, and an idle connection holds no closure.
   */
  #onWritten: (() => void) | undefined

  constructor (socket: Socket, init: FrameWriterInit, host: FrameWriterHost) {
    this.#init = init
    this.#socket = socket
    this.#host = host
  }

  /** The flush scheduled for the next tick. @internal */
  flushScheduled (): void {
    this.#flush()
  }

  /** Bytes waiting to be written: queued here plus the socket's user-space buffer. */
  get queuedBytes (): number {
    return this.#queuedBytes + this.#socket.writableLength
  }

  get waitingSends (): number {
    return this.#waiters?.length ?? 0
  }

  /**
   * Queue a frame already checked for size (`bytes` long: one buffer, or pieces sent as one frame); resolves at
   * once when it fits, else waits for room. `flushNow`: nothing more follows in this tick, write what is queued
   * now rather than at the tick's end (a lone frame then costs no tick of its own).
   */
  send (frame: OutboundFrame, bytes: number, signal: AbortSignal | undefined, flushNow = false): Promise<void> {
    const size = bytes + FRAME_HEADER_BYTES
    if ((this.#waiters === undefined || this.#waiters.length === 0) && this.#hasRoom(size)) {
      this.#enqueue(frame, size, flushNow)
      return SENT // taken at once: the caller may know it by identity
    }
    return this.#wait(frame, size, signal)
  }

  #hasRoom (size: number): boolean {
    const queued = this.#queuedBytes + this.#socket.writableLength
    return queued === 0 || queued + size <= this.#init.maxQueuedBytes
  }

  #wait (frame: OutboundFrame, size: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#onWritten === undefined) {
      this.#onWritten = () => { this.pump() }
      // Writes already in flight carry no callback: an empty write completes after them, and pumps then.
      const socket = this.#socket
      if (socket.writableLength > 0 && !socket.destroyed && !socket.writableEnded) socket.write(NO_BYTES, this.#onWritten)
    }
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        remove()
        reject(new EgtpError('ERR_BACKPRESSURE', `${this.#host.remoteAddress} did not drain ${this.queuedBytes} queued bytes within ${this.#init.sendTimeoutMs} ms`))
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
        const waiters = this.#waiters
        const i = waiters === undefined ? -1 : waiters.indexOf(waiter)
        if (i >= 0) waiters!.splice(i, 1)
        if (i === 0) this.pump() // the next one in line may fit
      }
      ;(this.#waiters ??= []).push(waiter)
    })
  }

  /** Move waiting sends into the queue while they fit (on drain and after each write). */
  pump (): void {
    const waiters = this.#waiters
    if (waiters === undefined) return
    while (waiters.length > 0 && (this.#state & CLOSED) === 0) {
      const next = waiters[0]!
      if (!this.#hasRoom(next.size)) return
      waiters.shift()
      next.dispose()
      this.#enqueue(next.frame, next.size, false)
      next.resolve()
    }
  }

  #enqueue (frame: OutboundFrame, size: number, flushNow: boolean): void {
    this.#host.noteQueued()
    if (size - FRAME_HEADER_BYTES >= LARGE_FRAME_BYTES) {
      this.#pendingLarge++
    } else if (!(frame instanceof Uint8Array)) {
      frame = joinOutboundFrame(frame) // small pieces are cheaper copied into the batch
    }
    if (this.#first === undefined) this.#first = frame
    else if (this.#pending === undefined) this.#pending = [frame]
    else this.#pending.push(frame)
    this.#pendingBytes += size
    this.#queuedBytes += size
    if (flushNow || this.#pendingBytes >= FLUSH_THRESHOLD_BYTES) {
      this.#flush()
    } else if ((this.#state & FLUSH_SCHEDULED) === 0) {
      this.#state |= FLUSH_SCHEDULED
      nextTick(flushLater, this)
    }
  }

  /** Encode pending frames and write what the outbound throttle allows. */
  #flush (ignoreThrottle = false): void {
    this.#state &= ~FLUSH_SCHEDULED
    if (this.#socket.destroyed) return
    const bucket = ignoreThrottle ? undefined : this.#init.outBucket
    const first = this.#first
    const pending = this.#pending
    if (first !== undefined && pending === undefined && this.#pendingLarge === 0 && bucket === undefined &&
      this.#carry === undefined) {
      // One small frame (the usual case when one message is in flight): encoded and written at once.
      this.#first = undefined
      LONE[0] = first as Uint8Array
      let buf: Uint8Array
      try {
        buf = encodeFrames(LONE as Uint8Array[], this.#init.maxFrameBytes)
      } finally {
        LONE[0] = undefined // not `length = 0`: that drops the store, and the next use would allocate one
      }
      this.#pendingBytes = 0
      this.#write(buf)
      return
    }
    // Bytes held back by the throttle stay in the writer's own array; otherwise one shared array serves the flush.
    const carry = this.#carry ?? (bucket === undefined ? FLUSHING : (this.#carry = []))
    if (first !== undefined) {
      this.#first = undefined
      this.#pending = undefined
      // A lone frame reaches here only when large, throttled or behind held-back bytes: an array is cheap then.
      const frames = pending === undefined ? [first] : (pending.unshift(first), pending)
      try {
        if (this.#pendingLarge === 0) carry.push(encodeFrames(frames as Uint8Array[], this.#init.maxFrameBytes))
        else this.#encodeMixed(frames, carry)
      } catch (err) {
        if (carry === FLUSHING) FLUSHING.length = 0 // nothing of this writer may reach another's socket
        throw err
      }
      this.#pendingBytes = 0
      this.#pendingLarge = 0
    }
    if (carry.length === 0) return
    if (bucket === undefined) {
      // Emptied before any write (so the shared array holds nothing while a socket runs code).
      if (carry === this.#carry) this.#carry = undefined
      if (carry.length === 1) {
        const buf = carry[0]!
        carry.length = 0
        this.#write(buf)
      } else {
        const bufs = carry.splice(0)
        this.#socket.cork()
        for (const buf of bufs) this.#write(buf)
        this.#socket.uncork()
      }
      return
    }
    if (this.#throttleTimer !== undefined) return // already waiting for tokens
    let budget = bucket.take(this.#queuedBytes)
    while (budget > 0 && carry.length > 0) {
      const head = carry[0]!
      if (head.length <= budget) {
        carry.shift()
        this.#write(head)
        budget -= head.length
      } else {
        this.#write(head.subarray(0, budget))
        carry[0] = head.subarray(budget)
        budget = 0
      }
    }
    if (carry.length > 0) {
      this.#throttleTimer = setTimeout(() => {
        this.#throttleTimer = undefined
        this.#flush()
      }, throttleDelay(bucket.waitMs(this.#queuedBytes)))
    }
  }

  /**
   * Small frames are copied together into one buffer; large ones go out as header + body (or header + pieces),
   * without a copy.
   */
  #encodeMixed (pending: readonly OutboundFrame[], carry: Uint8Array[]): void {
    let run: Uint8Array[] = []
    for (const frame of pending) {
      if (frame instanceof Uint8Array && frame.length < LARGE_FRAME_BYTES) {
        run.push(frame)
        continue
      }
      if (run.length > 0) carry.push(encodeFrames(run, this.#init.maxFrameBytes))
      run = []
      const pieces = frame instanceof Uint8Array ? [frame] : frame
      let bytes = 0
      for (const piece of pieces) bytes += piece.length
      const header = new Uint8Array(FRAME_HEADER_BYTES)
      new DataView(header.buffer).setUint32(0, bytes)
      this.#pushPieces(header, pieces, carry)
    }
    if (run.length > 0) carry.push(encodeFrames(run, this.#init.maxFrameBytes))
  }

  /**
   * Queue a frame's header and pieces for writing: large pieces by reference, runs of small ones (a sealed
   * frame's heads and tags) copied together, so one frame costs a few socket writes rather than one per piece.
   */
  #pushPieces (header: Uint8Array, pieces: readonly Uint8Array[], carry: Uint8Array[]): void {
    let run: Uint8Array[] = [header]
    let runBytes = header.length
    const endRun = (): void => {
      if (run.length === 1) {
        carry.push(run[0]!)
      } else if (run.length > 1) {
        const joined = new Uint8Array(runBytes)
        let pos = 0
        for (const r of run) {
          joined.set(r, pos)
          pos += r.length
        }
        carry.push(joined)
      }
      run = []
      runBytes = 0
    }
    for (const piece of pieces) {
      if (piece.length === 0) continue
      if (piece.length < SMALL_PIECE_BYTES) {
        run.push(piece)
        runBytes += piece.length
        continue
      }
      endRun()
      carry.push(piece)
    }
    endRun()
  }

  #write (buf: Uint8Array): void {
    this.#queuedBytes -= buf.length
    this.#host.noteWrite(buf.length)
    this.#socket.write(buf, this.#onWritten)
  }

  /** For a graceful close: write everything queued now, throttle or not. */
  flushAll (): void {
    clearTimeout(this.#throttleTimer)
    this.#throttleTimer = undefined
    this.#flush(true)
  }

  /** Refuse further sends: reject the waiting ones with `error()`. */
  close (error: () => Error): void {
    if ((this.#state & CLOSED) !== 0) return
    this.#state |= CLOSED
    const waiters = this.#waiters ?? []
    this.#waiters = undefined
    for (const w of waiters) {
      w.dispose()
      w.reject(error())
    }
  }

  /** The socket is gone: drop whatever is still queued. */
  dispose (): void {
    clearTimeout(this.#throttleTimer)
    this.#throttleTimer = undefined
    this.#first = undefined
    this.#pending = undefined
    this.#carry = undefined
    this.#queuedBytes = 0
    this.#pendingBytes = 0
    this.#pendingLarge = 0
  }
}
