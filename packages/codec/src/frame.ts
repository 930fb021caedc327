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
  if (body.length > maxFrameBytes) throw new CodecError('ERR_FRAME_TOO_LARGE', `frame of ${body.length} bytes exceeds ${maxFrameBytes}`)
  const out = uninitializedBytes(FRAME_HEADER_BYTES + body.length)
  new DataView(out.buffer, out.byteOffset, FRAME_HEADER_BYTES).setUint32(0, body.length)
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
    if (b.length > maxFrameBytes) throw new CodecError('ERR_FRAME_TOO_LARGE', `frame of ${b.length} bytes exceeds ${maxFrameBytes}`)
    total += FRAME_HEADER_BYTES + b.length
  }
  if (bodies.length === 1) {
    const framed = takePrefixed(bodies[0]!) // a data frame sealed with its prefix in front: no copy
    if (framed !== undefined) return framed
  }
  const out = total > MAX_POOLED_BYTES ? uninitializedBytes(total) : slabBytes(total) // small: a slab view
  let pos = 0
  for (const b of bodies) {
    writeU32(out, pos, b.length)
    out.set(b, pos + FRAME_HEADER_BYTES)
    pos += FRAME_HEADER_BYTES + b.length
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
  /**
   * The caller reuses each chunk's memory once `decode` returns (a socket that reads into one buffer): every
   * frame is then copied out of the chunk (a large one into recycled memory when there is some) and the bytes
   * of a partial frame are kept as copies. Default false: frames inside a chunk are views of it.
   */
  reusedChunks?: boolean
  /**
   * With `reusedChunks`: which frames the consumer keeps no view of once its callback returned (e.g. session
   * data frames, opened into new memory). Such a frame, when small (at most `MAX_POOLED_BYTES`), is copied into
   * a view of a shared slab instead of memory of its own: a slab's bytes are never written twice, so a frame
   * kept after all stays intact, but it keeps its whole slab alive. Default: none.
   */
  slabFrame?: (frame: Uint8Array) => boolean
}

/** No parts: what a decoder without a partial frame iterates. */
const NO_PARTS: readonly Uint8Array[] = []

/** A decoder's memory for recycling (see {@link FrameDecoder.recycle}), made at its first frame that may be recycled. */
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
 * bytes that actually arrived (a length prefix alone allocates nothing). With `reusedChunks`, every frame is
 * copied out of its chunk instead, and a partial frame gets its whole memory once a quarter of it arrived (or
 * at once when recycled memory can hold it). Once it has thrown, the stream is out of sync: close the
 * connection.
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
  readonly #reused: boolean
  /** Reused chunks: the partial frame's own memory once allocated (its body bytes so far are in it, not in #parts). */
  #target: Uint8Array | undefined
  readonly #slabFrame: ((frame: Uint8Array) => boolean) | undefined

  constructor (init: FrameDecoderInit = {}) {
    this.maxFrameBytes = checkMaxFrameBytes(init.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES)
    this.#recycleFrom = init.recycleFromBytes ?? Infinity
    this.#reused = init.reusedChunks === true
    this.#slabFrame = init.slabFrame
  }

  /** Bytes of memory held for reuse (handed back with {@link recycle} and not trimmed). */
  get spareBytes (): number {
    return this.#recycling?.spare?.buffer.byteLength ?? 0 // eslint-disable-line no-restricted-syntax -- an ArrayBuffer's
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
    if (r.spare === undefined || frame.buffer.byteLength > r.spare.buffer.byteLength) { // eslint-disable-line no-restricted-syntax -- ArrayBuffers'
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
    return spare.length
  }

  /**
   * Bytes of an incomplete frame received so far: its body bytes once the length is known, else the length
   * bytes. (With `reusedChunks`, a frame given its own memory holds all of it: recycled memory it held
   * already, or at most four times this.)
   */
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
   * `end`: where the chunk's bytes end, when they do before its length (a socket's read buffer holds `nread`
   * bytes: no view of them needed).
   * @throws {CodecError} ERR_FRAME_TOO_LARGE
   */
  decode<T = undefined> (chunk: Uint8Array, onFrame: ((this: T, frame: Uint8Array) => void) | Uint8Array[], thisArg?: T,
    end = chunk.length): void {
    if (this.#failed) throw new CodecError('ERR_MALFORMED', 'frame decoder used after a failure')
    if (!(end >= 0 && end <= chunk.length)) throw new RangeError(`end ${end} outside a chunk of ${chunk.length} bytes`)
    const n = end
    let pos = 0
    if (this.#partBytes > 0) {
      if (n < chunk.length) chunk = chunk.subarray(0, n) // (what follows a partial frame reads the chunk whole)
      pos = this.#continuePartial(chunk, onFrame, thisArg as T)
      if (pos < 0) return
    }
    // Whole frames inside the chunk: views, no copy.
    while (n - pos >= FRAME_HEADER_BYTES) {
      const length = ((chunk[pos]! << 24) >>> 0) + (chunk[pos + 1]! << 16) + (chunk[pos + 2]! << 8) + chunk[pos + 3]!
      this.#check(length)
      if (n - pos - FRAME_HEADER_BYTES < length) break
      const start = pos + FRAME_HEADER_BYTES
      let frame = chunk.subarray(start, start + length)
      if (this.#reused) {
        const slabbed = length <= MAX_POOLED_BYTES && this.#slabFrame?.(frame) === true
        const copy = slabbed ? slabBytes(length) : this.#frameMemory(length) // a slab view: no allocation of its own
        copy.set(frame)
        frame = slabbed ? copy : this.#lend(copy)
      }
      if (Array.isArray(onFrame)) onFrame.push(frame)
      else onFrame.call(thisArg as T, frame)
      pos += FRAME_HEADER_BYTES + length
    }
    if (pos < n) this.#startPartial(chunk.subarray(pos, n))
  }

  /** The bytes after the last whole frame of a chunk: the start of the next frame. */
  #startPartial (rest: Uint8Array): void {
    this.#partBytes = rest.length
    if (!this.#reused) {
      this.#addPart(rest)
      this.#need = rest.length >= FRAME_HEADER_BYTES ? this.#lengthOfPartial() : -1
      return
    }
    if (rest.length < FRAME_HEADER_BYTES) {
      this.#addPart(rest.slice())
      this.#need = -1
      return
    }
    const need = ((rest[0]! << 24) >>> 0) + (rest[1]! << 16) + (rest[2]! << 8) + rest[3]! // checked by decode
    this.#need = need
    const body = rest.subarray(FRAME_HEADER_BYTES)
    if (this.#mayTarget(need, body.length)) {
      this.#target = this.#frameMemory(need)
      this.#target.set(body)
    } else {
      this.#addPart(rest.slice())
    }
  }

  /**
   * Reused chunks: whether a partial frame of `need` body bytes, `arrived` of them here, gets its own memory
   * now: when recycled memory holds it, or once a quarter of it arrived (a peer makes it hold at most four
   * times what it sent).
   */
  #mayTarget (need: number, arrived: number): boolean {
    const spare = this.#recycling?.spare
    if (need >= this.#recycleFrom && spare !== undefined && spare.length >= need) return true
    return arrived * 4 >= need
  }

  /** Adds bytes of `chunk` to the partial frame; returns where whole-frame parsing resumes, or -1. */
  #continuePartial<T> (chunk: Uint8Array, onFrame: ((this: T, frame: Uint8Array) => void) | Uint8Array[], thisArg: T): number {
    const reused = this.#reused
    let pos = 0
    if (this.#need < 0) {
      const take = Math.min(FRAME_HEADER_BYTES - this.#partBytes, chunk.length)
      const head = chunk.subarray(0, take)
      this.#addPart(reused ? head.slice() : head)
      this.#partBytes += take
      pos = take
      if (this.#partBytes < FRAME_HEADER_BYTES) return -1
      this.#need = this.#lengthOfPartial()
    }
    const need = this.#need
    const missing = FRAME_HEADER_BYTES + need - this.#partBytes
    const take = Math.min(missing, chunk.length - pos)
    const piece = chunk.subarray(pos, pos + take)
    if (reused && this.#target === undefined && this.#mayTarget(need, this.#partBytes - FRAME_HEADER_BYTES + take)) {
      this.#target = this.#frameMemory(need)
      this.#copyParts(this.#target)
    }
    const target = this.#target
    if (target !== undefined) target.set(piece, this.#partBytes - FRAME_HEADER_BYTES)
    else if (take > 0) this.#addPart(reused ? piece.slice() : piece)
    this.#partBytes += take
    pos += take
    if (take < missing) return -1
    let frame = target
    if (frame === undefined) {
      frame = this.#frameMemory(need) // every byte is copied in below
      this.#copyParts(frame)
    }
    this.#target = undefined
    this.#partBytes = 0
    this.#need = -1
    this.#lend(frame)
    if (Array.isArray(onFrame)) onFrame.push(frame)
    else onFrame.call(thisArg, frame)
    return pos
  }

  /** Hold a piece of the partial frame (the array is made for the first: none while there is no partial frame). */
  #addPart (part: Uint8Array): void {
    if (this.#parts === undefined) this.#parts = [part]
    else this.#parts.push(part)
  }

  /** Copy the body bytes held in #parts (the frame's header left out) to the start of `frame`; empties #parts. */
  #copyParts (frame: Uint8Array): void {
    let filled = -FRAME_HEADER_BYTES
    for (const part of this.#parts ?? NO_PARTS) {
      if (filled >= 0) frame.set(part, filled)
      else if (filled + part.length > 0) frame.set(part.subarray(-filled), 0)
      filled += part.length
    }
    this.#parts = undefined
  }

  /** Memory for a reassembled frame of `n` bytes: the spare when it is large enough and `n` may be recycled. */
  #frameMemory (n: number): Uint8Array {
    if (n < this.#recycleFrom) return uninitializedBytes(n)
    const r = this.#recycling
    const spare = r?.spare
    if (spare === undefined || spare.length < n) return uninitializedBytes(n)
    r!.spare = undefined
    r!.spareUsed = true
    return spare.length === n ? spare : spare.subarray(0, n)
  }

  /**
   * A frame in memory of its own is about to be delivered: the consumer may hand it back when it is large
   * enough (only once complete, so a late hand-back never frees memory still being filled).
   */
  #lend (frame: Uint8Array): Uint8Array {
    if (frame.length >= this.#recycleFrom) (this.#recycling ??= { lent: undefined, spare: undefined, spareUsed: false }).lent = frame
    return frame
  }

  /** Reads the length prefix of the partial frame (its first four bytes, possibly split) and checks it. */
  #lengthOfPartial (): number {
    let length = 0
    let got = 0
    for (const part of this.#parts ?? NO_PARTS) {
      for (let i = 0; i < part.length && got < FRAME_HEADER_BYTES; i++, got++) length = length * 256 + part[i]!
      if (got === FRAME_HEADER_BYTES) break
    }
    this.#check(length)
    return length
  }

  #check (length: number): void {
    if (length > this.maxFrameBytes) {
      this.#failed = true
      this.#parts = undefined
      this.#target = undefined
      this.#partBytes = 0
      throw new CodecError('ERR_FRAME_TOO_LARGE', `frame length ${length} exceeds ${this.maxFrameBytes}`)
    }
  }
}
