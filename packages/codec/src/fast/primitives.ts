/*
 * The low-level msgpack pieces every encoder and fast reader of this package is written on: shortest-form
 * sizes and writers (the schema Writer and the hand-written fast paths emit the same bytes because they call
 * the same functions), and bounded shortest-form readers that give -1 for anything else, so a fast reader
 * hands whatever it does not recognise to the validating schema decoder.
 */
import { uninitializedBytes } from '@egtp/interface'

/** Bytes of `v`'s shortest msgpack unsigned-integer encoding. */
export const uintBytes = (v: number): number => v < 0x80 ? 1 : v < 0x100 ? 2 : v < 0x1_0000 ? 3 : v < 0x1_0000_0000 ? 5 : 9
/** Bytes of the shortest bin header for `n` bytes. */
export const binHeaderBytes = (n: number): number => n < 0x100 ? 2 : n < 0x1_0000 ? 3 : 5
/** Bytes of the shortest array header for `n` items. */
export const arrayHeaderBytes = (n: number): number => n < 16 ? 1 : n < 0x1_0000 ? 3 : 5

/** Big-endian u32 at `pos`; returns the position after it. */
export function writeU32 (out: Uint8Array, pos: number, v: number): number {
  out[pos] = v >>> 24
  out[pos + 1] = v >>> 16
  out[pos + 2] = v >>> 8
  out[pos + 3] = v
  return pos + 4
}

/** Big-endian u32 read at `pos` (the caller checked the bounds). */
export function readU32 (b: Uint8Array, pos: number): number {
  return ((b[pos]! << 24) >>> 0) + ((b[pos + 1]! << 16) | (b[pos + 2]! << 8) | b[pos + 3]!)
}

/** The shortest encoding of a non-negative safe integer at `pos`; returns the position after it. */
export function writeUint (out: Uint8Array, pos: number, v: number): number {
  if (v < 0x80) {
    out[pos] = v
    return pos + 1
  }
  if (v < 0x100) {
    out[pos] = 0xcc
    out[pos + 1] = v
    return pos + 2
  }
  if (v < 0x1_0000) {
    out[pos] = 0xcd
    out[pos + 1] = v >>> 8
    out[pos + 2] = v
    return pos + 3
  }
  if (v < 0x1_0000_0000) {
    out[pos] = 0xce
    return writeU32(out, pos + 1, v)
  }
  out[pos] = 0xcf
  writeU32(out, pos + 1, Math.floor(v / 0x1_0000_0000))
  return writeU32(out, pos + 5, v >>> 0)
}

/** The shortest bin header for `n` bytes at `pos`; returns the position after it. */
export function writeBinHeader (out: Uint8Array, pos: number, n: number): number {
  if (n < 0x100) {
    out[pos] = 0xc4
    out[pos + 1] = n
    return pos + 2
  }
  if (n < 0x1_0000) {
    out[pos] = 0xc5
    out[pos + 1] = n >>> 8
    out[pos + 2] = n
    return pos + 3
  }
  out[pos] = 0xc6
  return writeU32(out, pos + 1, n)
}

/** The shortest array header for `n` items at `pos`; returns the position after it. */
export function writeArrayHeader (out: Uint8Array, pos: number, n: number): number {
  if (n < 16) {
    out[pos] = 0x90 | n
    return pos + 1
  }
  if (n < 0x1_0000) {
    out[pos] = 0xdc
    out[pos + 1] = n >>> 8
    out[pos + 2] = n
    return pos + 3
  }
  out[pos] = 0xdd
  return writeU32(out, pos + 1, n)
}

/** `TypedArray.set` has a fixed cost that dominates for the few bytes of keys and IDs: loop below 64. */
export function copyBytes (from: Uint8Array, fromPos: number, to: Uint8Array, toPos: number, n: number): void {
  if (n < 64) {
    for (let i = 0; i < n; i++) to[toPos + i] = from[fromPos + i]!
  } else {
    to.set(fromPos === 0 && n === from.length ? from : from.subarray(fromPos, fromPos + n), toPos)
  }
}

/** All of `from` into `to` at `pos`; returns the position after it. */
export function putBytes (from: Uint8Array, to: Uint8Array, pos: number): number {
  copyBytes(from, 0, to, pos, from.length)
  return pos + from.length
}

/**
 * A shortest-form unsigned integer at `pos` (whole before `end`), or -1 for anything else, including integers
 * beyond 2^53. It is `uintBytes(value)` bytes long.
 */
export function uintAt (b: Uint8Array, pos: number, end: number): number {
  const h = pos < end ? b[pos]! : 0xc1
  if (h < 0x80) return h
  if (h === 0xcc) return pos + 2 <= end && b[pos + 1]! >= 0x80 ? b[pos + 1]! : -1
  if (h === 0xcd) {
    if (pos + 3 > end) return -1
    const v = (b[pos + 1]! << 8) | b[pos + 2]!
    return v >= 0x100 ? v : -1
  }
  return h === 0xce || h === 0xcf ? wideUintAt(b, pos, end, h) : -1
}

/** {@link uintAt} of a u32 or u64 (kept out of line so the common small cases inline). */
function wideUintAt (b: Uint8Array, pos: number, end: number, h: number): number {
  if (h === 0xce) {
    if (pos + 5 > end) return -1
    const v = readU32(b, pos + 1)
    return v >= 0x1_0000 ? v : -1
  }
  if (pos + 9 > end) return -1
  const v = readU32(b, pos + 1) * 0x1_0000_0000 + readU32(b, pos + 5)
  return v >= 0x1_0000_0000 && v <= Number.MAX_SAFE_INTEGER ? v : -1
}

/** The length in a shortest-form bin header at `pos` (whole before `end`), or -1. It is `binHeaderBytes(length)` long. */
export function binLengthAt (b: Uint8Array, pos: number, end: number): number {
  const h = b[pos]
  if (h === 0xc4 && pos + 2 <= end) return b[pos + 1]!
  if (h === 0xc5 && pos + 3 <= end) {
    const len = (b[pos + 1]! << 8) | b[pos + 2]!
    return len >= 0x100 ? len : -1
  }
  if (h === 0xc6 && pos + 5 <= end) {
    const len = readU32(b, pos + 1)
    return len >= 0x1_0000 ? len : -1
  }
  return -1
}

/** The length in a shortest-form array header at `pos` (whole before `end`), or -1. It is `arrayHeaderBytes(length)` long. */
export function arrayLengthAt (b: Uint8Array, pos: number, end: number): number {
  const h = b[pos]
  if (h !== undefined && h >= 0x90 && h <= 0x9f && pos < end) return h & 0x0f
  if (h === 0xdc && pos + 3 <= end) {
    const n = (b[pos + 1]! << 8) | b[pos + 2]!
    return n >= 16 ? n : -1
  }
  if (h === 0xdd && pos + 5 <= end) {
    const n = readU32(b, pos + 1)
    return n >= 0x1_0000 ? n : -1
  }
  return -1
}

/** Whether `b` holds `expected` at `pos` (whole before `end`). */
export function bytesAt (b: Uint8Array, pos: number, end: number, expected: Uint8Array): boolean {
  const n = expected.length
  if (pos + n > end) return false
  for (let i = 0; i < n; i++) if (b[pos + i] !== expected[i]) return false
  return true
}

/** A plain Uint8Array over the same bytes (views handed out are never Buffers, as the schema decoder's are not). */
export const plainBytes = (b: Uint8Array): Uint8Array =>
  b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.length)

/**
 * Output slabs for small encodings, as Node's `Buffer` pool does: one ArrayBuffer allocation per slab instead of
 * one per message. Slabs stay small because a message held for re-sending keeps its whole slab alive.
 */
export const SLAB_BYTES = 8 * 1024
/** Largest encoding that shares a slab; larger ones get their own buffer. */
export const MAX_POOLED_BYTES = 1024
// The slab's ArrayBuffer and bytes are kept apart: Node 20 does not inline the TypedArray getters (`buffer`,
// `byteOffset`), each read a call.
let slabBuffer = new ArrayBuffer(SLAB_BYTES)
let slab = new Uint8Array(slabBuffer)
let slabPos = 0

/** Where `n` (≤ {@link MAX_POOLED_BYTES}) bytes of the current slab start ({@link slabBuffer} may change). */
function slabTake (n: number): number {
  if (slabPos + n > SLAB_BYTES) {
    slabBuffer = new ArrayBuffer(SLAB_BYTES)
    slab = new Uint8Array(slabBuffer)
    slabPos = 0
  }
  const at = slabPos
  slabPos = (slabPos + n + 7) & ~7
  return at
}

/** `n` (≤ {@link MAX_POOLED_BYTES}) bytes of the current slab, for the caller to fill. */
export function slabBytes (n: number): Uint8Array {
  const at = slabTake(n)
  return new Uint8Array(slabBuffer, at, n) // cheaper than subarray (no species lookup)
}

/**
 * The last frame body allocated by {@link prefixedBytes}: the 4 bytes before it are its own and hold its length,
 * so {@link takePrefixed} can hand the framed bytes to a stream transport without copying the body behind a
 * length prefix. One slot, not a set: a frame is sealed and written in the same turn when one query is in
 * flight, which is the case this serves (otherwise the frame is copied, as before).
 */
let prefixedBody: Uint8Array | undefined
let prefixedBuffer: ArrayBuffer = slabBuffer
let prefixedAt = 0

/**
 * `n` bytes for the caller to fill. A small one (a slab view) is preceded by 4 bytes of the same allocation
 * holding `n` as a big-endian u32 (a stream transport's length prefix, PROTOCOL.md §Framing); a larger one gets
 * a buffer of its own as before, so the one slot never keeps a large frame alive after it was written.
 */
export function prefixedBytes (n: number): Uint8Array {
  if (n + 4 > MAX_POOLED_BYTES) return uninitializedBytes(n)
  const at = slabTake(n + 4)
  writeU32(slab, at, n)
  const body = new Uint8Array(slabBuffer, at + 4, n)
  prefixedBody = body
  prefixedBuffer = slabBuffer
  prefixedAt = at
  return body
}

/** `body` with its length prefix in front, when it is the last {@link prefixedBytes} body (else undefined). */
export function takePrefixed (body: Uint8Array): Uint8Array | undefined {
  if (body !== prefixedBody) return undefined
  prefixedBody = undefined
  return new Uint8Array(prefixedBuffer, prefixedAt, body.length + 4)
}
