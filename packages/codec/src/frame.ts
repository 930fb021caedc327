import { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES, MAX_FRAME_BYTES_LIMIT } from './constants.ts'
import { CodecError } from './errors.ts'

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
  const out = new Uint8Array(FRAME_HEADER_BYTES + body.byteLength)
  new DataView(out.buffer).setUint32(0, body.byteLength)
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
  const out = new Uint8Array(total)
  const view = new DataView(out.buffer)
  let pos = 0
  for (const b of bodies) {
    view.setUint32(pos, b.byteLength)
    out.set(b, pos + FRAME_HEADER_BYTES)
    pos += FRAME_HEADER_BYTES + b.byteLength
  }
  return out
}

export interface FrameDecoderInit {
  /** Largest frame body accepted; a larger length prefix is rejected before buffering. Default 1 MiB. */
  maxFrameBytes?: number
}

/**
 * Incremental decoder for length-prefixed frames: push chunks of any size (one byte at a time too) and get
 * whole frame bodies back. Holds at most one partial frame (≤ header + maxFrameBytes). Once it has thrown,
 * the stream is out of sync: close the connection.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number
  #chunks: Uint8Array[] = []
  #buffered = 0
  #need = -1 // body length of the frame being read, or -1 while reading its header
  #failed = false

  constructor (init: FrameDecoderInit = {}) {
    this.maxFrameBytes = checkMaxFrameBytes(init.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES)
  }

  /** Bytes held for an incomplete frame. */
  get bufferedBytes (): number {
    return this.#buffered
  }

  /**
   * Feed a chunk; returns the frames it completed (bodies only, possibly views into the chunk).
   * @throws {CodecError} ERR_FRAME_TOO_LARGE
   */
  push (chunk: Uint8Array): Uint8Array[] {
    if (this.#failed) throw new CodecError('ERR_MALFORMED', 'frame decoder used after a failure')
    const frames: Uint8Array[] = []
    if (chunk.byteLength === 0) return frames
    this.#chunks.push(chunk)
    this.#buffered += chunk.byteLength
    for (;;) {
      if (this.#need < 0) {
        if (this.#buffered < FRAME_HEADER_BYTES) break
        const header = this.#take(FRAME_HEADER_BYTES)
        const length = ((header[0]! << 24) >>> 0) + (header[1]! << 16) + (header[2]! << 8) + header[3]!
        if (length > this.maxFrameBytes) {
          this.#failed = true
          this.#chunks = []
          this.#buffered = 0
          throw new CodecError('ERR_FRAME_TOO_LARGE', `frame length ${length} exceeds ${this.maxFrameBytes}`)
        }
        this.#need = length
      }
      if (this.#buffered < this.#need) break
      frames.push(this.#take(this.#need))
      this.#need = -1
    }
    return frames
  }

  /** Remove and return the first `n` buffered bytes (a view when they lie in one chunk). */
  #take (n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0)
    this.#buffered -= n
    const first = this.#chunks[0]!
    if (first.byteLength >= n) {
      if (first.byteLength === n) this.#chunks.shift()
      else this.#chunks[0] = first.subarray(n)
      return first.subarray(0, n)
    }
    const out = new Uint8Array(n)
    let filled = 0
    while (filled < n) {
      const c = this.#chunks[0]!
      const part = Math.min(c.byteLength, n - filled)
      out.set(c.subarray(0, part), filled)
      filled += part
      if (part === c.byteLength) this.#chunks.shift()
      else this.#chunks[0] = c.subarray(part)
    }
    return out
  }
}
