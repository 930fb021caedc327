import { uninitializedBytes } from '@egtp/interface'
import { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES, MAX_FRAME_BYTES_LIMIT } from './constants.ts'
import { CodecError } from './errors.ts'
import { MAX_POOLED_BYTES, slabBytes, takePrefixed, writeU32 } from './fast/primitives.ts'

/** Validates a `maxFrameBytes` setting: a whole number from 1 to {@link MAX_FRAME_BYTES_LIMIT}. */
export function checkMaxFrameBytes (maxFrameBytes: number): number {
  if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > MAX_FRAME_BYTES_LIMIT) {
    throw new RangeError(`maxFrameBytes must be an integer from 1 to ${MAX_FRAME_BYTES_LIMIT}, got ${maxFrameBytes}`)
  }
  return maxFrameBytes
}

/**
 * Prefix `body` with its length as a big-endian u32.
 * @throws {CodecError} ERR_FRAME_TOO_LARGE when `body` exceeds `maxFrameBytes`
 */
export function encodeFrame (body: Uint8Array, maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES): Uint8Array {
  if (body.byteLength > maxFrameBytes) throw new CodecError('ERR_FRAME_TOO_LARGE', `frame of ${body.byteLength} bytes exceeds ${maxFrameBytes}`)
  const out = uninitializedBytes(FRAME_HEADER_BYTES + body.byteLength)
  new DataView(out.buffer, out.byteOffset, FRAME_HEADER_BYTES).setUint32(0, body.byteLength)
  out.set(body, FRAME_HEADER_BYTES)
  return out
}

/**
 * Frame many bodies into one buffer, so a batch costs one socket write.
 * @throws {CodecError} ERR_FRAME_TOO_LARGE when any body exceeds `maxFrameBytes`
 */
export function encodeFrames (bodies: readonly Uint8Array[], maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES): Uint8Array {
  let total = 0
  for (const b of bodies) {
    if (b.byteLength > maxFrameBytes) throw new CodecError('ERR_FRAME_TOO_LARGE', `frame of ${b.byteLength} bytes exceeds ${maxFrameBytes}`)
    total += FRAME_HEADER_BYTES + b.byteLength
  }
  if (bodies.length === 1) {
    const framed = takePrefixed(bodies[0]!) // a data frame sealed with its prefix in front: no copy
    if (framed !== undefined) return framed
  }
  const out = total > MAX_POOLED_BYTES ? uninitializedBytes(total) : slabBytes(total) // small: a slab view
  let pos = 0
  for (const b of bodies) {
    writeU32(out, pos, b.byteLength)
    out.set(b, pos + FRAME_HEADER_BYTES)
    pos += FRAME_HEADER_BYTES + b.byteLength
  }
  return out
}

export interface FrameDecoderInit {
  /** Largest frame body accepted; a larger length prefix is rejected before buffering. Default 1 MiB. */
  maxFrameBytes?: number
  /**
   * Frames of at least this many bytes that had to be reassembled may be handed back with
   * {@link FrameDecoder.recycle}, and the next such frame is written into their memory. Default `Infinity`: never.
   */
  recycleFromBytes?: number
}

/** A decoder's memory for recycling (see {@link FrameDecoder.recycle}). */
interface Recycling {
  /** The last frame reassembled into memory that may be recycled (only that one can be handed back). */
  lent: Uint8Array | undefined
  /** Memory handed back, for the next large reassembled frame; `spareUsed` tells whether it served since the last trim. */
  spare: Uint8Array | undefined
  spareUsed: boolean
}

/**
 * Incremental decoder for length-prefixed frames: push chunks of any size (one byte at a time too) and get
 * whole frame bodies back. Frames that lie whole inside a chunk are returned as views of it (no copy); only
 * a frame split across chunks is copied once, when complete. Holds at most one partial frame, and only the
 * bytes that actually arrived (a length prefix alone allocates nothing). Once it has thrown, the stream is
 * out of sync: close the connection.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number
  // The partial frame: its chunks (views; no array while there is none: most connections are idle) and how
  // many bytes they hold, header included.
  #parts: Uint8Array[] | undefined
  #partBytes = 0
  #need = -1 // body length of the partial frame, or -1 while its header is incomplete
  #failed = false
  readonly #recycleFrom: number
  /** Made at the first frame that may be recycled (one field while there is none: most decoders see none). */
  #recycling: Recycling | undefined

  constructor (init: FrameDecoderInit = {}) {
    this.maxFrameBytes = checkMaxFrameBytes(init.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES)
    this.#recycleFrom = init.recycleFromBytes ?? Infinity
  }

  /** Bytes of memory held for reuse (handed back with {@link recycle} and not trimmed). */
  get spareBytes (): number {
    return this.#recycling?.spare?.buffer.byteLength ?? 0
  }

  /**
   * The consumer is done with `frame` (the last frame this decoder reassembled, at least `recycleFromBytes`
   * long) and keeps no view of it: the next large reassembled frame is written into its memory. Anything else
   * is ignored. Returns whether the memory was taken back.
   */
  recycle (frame: Uint8Array): boolean {
    const r = this.#recycling
    if (r?.lent === undefined || frame.buffer !== r.lent.buffer) return false
    r.lent = undefined
    if (r.spare === undefined || frame.buffer.byteLength > r.spare.buffer.byteLength) {
      r.spare = new Uint8Array(frame.buffer)
    }
    return true
  }

  /**
   * Drop the memory held for reuse unless it served since the previous call (a connection calls this now and
   * then, so a quiet one holds nothing). Returns the bytes dropped.
   */
  trimSpare (): number {
    const r = this.#recycling
    const spare = r?.spare
    if (spare === undefined) return 0
    if (r!.spareUsed) {
      r!.spareUsed = false
      return 0
    }
    r!.spare = undefined
    return spare.byteLength
  }

  /** Bytes held for an incomplete frame (header included once the body has started). */
  get bufferedBytes (): number {
    return this.#need >= 0 ? this.#partBytes - FRAME_HEADER_BYTES : this.#partBytes
  }

  /**
   * Feed a chunk; returns the frames it completed.
   * @throws {CodecError} ERR_FRAME_TOO_LARGE (frames completed earlier in the same chunk are lost: use
   * {@link FrameDecoder.decode} to receive them before the error)
   */
  push (chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = []
    this.decode(chunk, frames)
    return frames
  }

  /**
   * Feed a chunk, calling `onFrame` (with `thisArg` as `this`: one shared function can serve many decoders) for
   * each frame as soon as it is complete; throws only after every frame before the bad length was delivered.
   * @throws {CodecError} ERR_FRAME_TOO_LARGE
   */
  decode<T = undefined> (chunk: Uint8Array, onFrame: ((this: T, frame: Uint8Array) => void) | Uint8Array[], thisArg?: T): void {
    if (this.#failed) throw new CodecError('ERR_MALFORMED', 'frame decoder used after a failure')
    const n = chunk.byteLength
    let pos = 0
    if (this.#partBytes > 0) {
      pos = this.#continuePartial(chunk, onFrame, thisArg as T)
      if (pos < 0) return
    }
    // Whole frames inside the chunk: views, no copy.
    while (n - pos >= FRAME_HEADER_BYTES) {
      const length = ((chunk[pos]! << 24) >>> 0) + (chunk[pos + 1]! << 16) + (chunk[pos + 2]! << 8) + chunk[pos + 3]!
      this.#check(length)
      if (n - pos - FRAME_HEADER_BYTES < length) break
      const frame = chunk.subarray(pos + FRAME_HEADER_BYTES, pos + FRAME_HEADER_BYTES + length)
      if (Array.isArray(onFrame)) onFrame.push(frame)
      else onFrame.call(thisArg as T, frame)
      pos += FRAME_HEADER_BYTES + length
    }
    if (pos < n) {
      const rest = chunk.subarray(pos)
      this.#parts = [rest]
      this.#partBytes = rest.byteLength
      this.#need = rest.byteLength >= FRAME_HEADER_BYTES ? this.#lengthOfPartial() : -1
    }
  }

  /** Adds bytes of `chunk` to the partial frame; returns where whole-frame parsing resumes, or -1. */
  #continuePartial<T> (chunk: Uint8Array, onFrame: ((this: T, frame: Uint8Array) => void) | Uint8Array[], thisArg: T): number {
    const parts = this.#parts! // a partial frame has its parts
    let pos = 0
    if (this.#need < 0) {
      const take = Math.min(FRAME_HEADER_BYTES - this.#partBytes, chunk.byteLength)
      parts.push(chunk.subarray(0, take))
      this.#partBytes += take
      pos = take
      if (this.#partBytes < FRAME_HEADER_BYTES) return -1
      this.#need = this.#lengthOfPartial()
    }
    const missing = FRAME_HEADER_BYTES + this.#need - this.#partBytes
    const take = Math.min(missing, chunk.byteLength - pos)
    if (take > 0) parts.push(chunk.subarray(pos, pos + take))
    this.#partBytes += take
    pos += take
    if (take < missing) return -1
    const frame = this.#frameMemory(this.#need) // every byte is copied in below
    let filled = -FRAME_HEADER_BYTES
    for (const part of parts) {
      if (filled >= 0) frame.set(part, filled)
      else if (filled + part.byteLength > 0) frame.set(part.subarray(-filled), 0)
      filled += part.byteLength
    }
    this.#parts = undefined
    this.#partBytes = 0
    this.#need = -1
    if (Array.isArray(onFrame)) onFrame.push(frame)
    else onFrame.call(thisArg, frame)
    return pos
  }

  /** Memory for a reassembled frame of `n` bytes: the spare when it is large enough and `n` may be recycled. */
  #frameMemory (n: number): Uint8Array {
    if (n < this.#recycleFrom) return uninitializedBytes(n)
    const r = this.#recycling ??= { lent: undefined, spare: undefined, spareUsed: false }
    const spare = r.spare
    let frame: Uint8Array
    if (spare !== undefined && spare.byteLength >= n) {
      r.spare = undefined
      r.spareUsed = true
      frame = spare.byteLength === n ? spare : spare.subarray(0, n)
    } else {
      frame = uninitializedBytes(n)
    }
    r.lent = frame
    return frame
  }

  /** Reads the length prefix of the partial frame (its first four bytes, possibly split) and checks it. */
  #lengthOfPartial (): number {
    let length = 0
    let got = 0
    for (const part of this.#parts!) {
      for (let i = 0; i < part.byteLength && got < FRAME_HEADER_BYTES; i++, got++) length = length * 256 + part[i]!
      if (got === FRAME_HEADER_BYTES) break
    }
    this.#check(length)
    return length
  }

  #check (length: number): void {
    if (length > this.maxFrameBytes) {
      this.#failed = true
      this.#parts = undefined
      this.#partBytes = 0
      throw new CodecError('ERR_FRAME_TOO_LARGE', `frame length ${length} exceeds ${this.maxFrameBytes}`)
    }
  }
}
