/*
 * The handshake frames `hi` (an initiation) and `hr` (a response), written and read directly: byte for byte what
 * the schema codec writes and reads (canonical: fixed key order, shortest integers and headers; proven by
 * test/fast-handshake.test.ts). Every fresh peer sends and reads one of each, in code V8 never optimises (it
 * runs once per peer), where the schema codec's generic walk costs ~100 µs a frame against a few here. The
 * reader declines (undefined) whatever is not exactly such a canonical frame, and the caller then asks
 * `sessionCodec.decode`, which validates it and names the error: the same value or the same coded error.
 */
import { DEFAULT_MAX_FIELD_BYTES } from '../constants.ts'
import { MAX_HANDSHAKE_BYTES } from '../messages/session.ts'
import { binHeaderBytes, binLengthAt, prefixedBytes, uintAt, uintBytes, writeBinHeader, writeUint } from './primitives.ts'

/** After the map header: "t": "hi", "v": 1 (an initiation); byte 4 is the tag's second letter. */
const HI_TAG = Uint8Array.of(0xa1, 0x74, 0xa2, 0x68, 0x69, 0xa1, 0x76, 0x01)
/** After the map header: "t": "hr", "v": 1 (a response). */
const HR_TAG = Uint8Array.of(0xa1, 0x74, 0xa2, 0x68, 0x72, 0xa1, 0x76, 0x01)
/** Each key is a one-letter fixstr: 0xa1 and the letter. */
const KEY = 0xa1
const K_H = 0x68
const K_N = 0x6e
const K_C = 0x63
const K_M = 0x6d
const K_R = 0x72
/** The schema's bounds (messages/session.ts): `h` of an initiation and of a response, `c`, `m`. */
const MIN_HI_H = 96
const MIN_HR_H = 48
const MIN_C = 16
const M_BYTES = 16
const MAX_INDEX = 0xffff_ffff

/** An initiation frame (the `hi` of the session codec), as {@link readHandshakeFrame} gives it. */
export interface InitiationFrame { t: 'hi', h: Uint8Array, n?: number, c?: Uint8Array, m?: Uint8Array }
/** A response frame (`hr`), as {@link readHandshakeFrame} gives it. */
export interface ResponseFrame { t: 'hr', r: number, h: Uint8Array, n?: number, c?: Uint8Array }

const binBytes = (b: Uint8Array | undefined): number => b === undefined ? 0 : 2 + binHeaderBytes(b.length) + b.length

function putBin (out: Uint8Array, pos: number, key: number, b: Uint8Array): number {
  out[pos] = KEY
  out[pos + 1] = key
  pos = writeBinHeader(out, pos + 2, b.length)
  out.set(b, pos)
  return pos + b.length
}

function putUint (out: Uint8Array, pos: number, key: number, v: number): number {
  out[pos] = KEY
  out[pos + 1] = key
  return writeUint(out, pos + 2, v)
}

/**
 * The canonical bytes of `{ t: tag, r?, h, n?, c?, m? }` (`r` < 0: absent), as `sessionCodec.encode` writes
 * them. `n` and `r` are non-negative safe integers, as the session gives them.
 */
function handshakeFrame (tag: Uint8Array, r: number, h: Uint8Array, n: number | undefined, c: Uint8Array | undefined, m: Uint8Array | undefined): Uint8Array {
  const entries = 3 + (r >= 0 ? 1 : 0) + (n === undefined ? 0 : 1) + (c === undefined ? 0 : 1) + (m === undefined ? 0 : 1)
  const size = 1 + tag.length + (r >= 0 ? 2 + uintBytes(r) : 0) + binBytes(h) + (n === undefined ? 0 : 2 + uintBytes(n)) + binBytes(c) + binBytes(m)
  // A slab view with its length prefix in front, as a data frame (a stream transport frames it without a copy).
  const out = prefixedBytes(size)
  out[0] = 0x80 | entries
  out.set(tag, 1)
  let pos = 1 + tag.length
  if (r >= 0) pos = putUint(out, pos, K_R, r)
  pos = putBin(out, pos, K_H, h)
  if (n !== undefined) pos = putUint(out, pos, K_N, n)
  if (c !== undefined) pos = putBin(out, pos, K_C, c)
  if (m !== undefined) putBin(out, pos, K_M, m)
  return out
}

/** `sessionCodec.encode({ t: 'hi', h, n, c, m })` (absent fields left out), written directly. */
export function initiationFrame (h: Uint8Array, n?: number, c?: Uint8Array, m?: Uint8Array): Uint8Array {
  return handshakeFrame(HI_TAG, -1, h, n, c, m)
}

/** `sessionCodec.encode({ t: 'hr', r, h, n, c })` (absent fields left out), written directly. */
export function responseFrame (r: number, h: Uint8Array, n?: number, c?: Uint8Array): Uint8Array {
  return handshakeFrame(HR_TAG, r, h, n, c, undefined)
}

/** Whether `b` holds a one-letter key `key` at `pos` (before `end`). */
const keyAt = (b: Uint8Array, pos: number, end: number, key: number): boolean => pos + 2 <= end && b[pos] === KEY && b[pos + 1] === key

/** A plain Uint8Array view of `len` bytes of `b` at `pos`, as the schema decoder hands out. */
const view = (b: Uint8Array, pos: number, len: number): Uint8Array => new Uint8Array(b.buffer, b.byteOffset + pos, len)

/**
 * Read a canonical `hi` or `hr` frame without the schema codec. Returns undefined for anything else (another
 * type, a non-canonical or invalid encoding), so the caller falls back to `sessionCodec.decode`; the byte
 * arrays are views into `bytes`.
 */
export function readHandshakeFrame (bytes: Uint8Array): InitiationFrame | ResponseFrame | undefined {
  const end = bytes.length
  if (end < 1 + HI_TAG.length + 2 + 2 + MIN_HR_H) return undefined
  const head = bytes[0]!
  const entries = head & 0x0f
  if ((head & 0xf0) !== 0x80 || entries < 3) return undefined
  for (let i = 0; i < HI_TAG.length; i++) if (i !== 4 && bytes[1 + i] !== HI_TAG[i]) return undefined
  const initiation = bytes[5] === 0x69
  if (!initiation && bytes[5] !== 0x72) return undefined
  let pos = 1 + HI_TAG.length
  let seen = 2
  let r = -1
  if (!initiation) {
    if (!keyAt(bytes, pos, end, K_R)) return undefined
    r = uintAt(bytes, pos + 2, end)
    if (r < 0 || r > MAX_INDEX) return undefined
    pos += 2 + uintBytes(r)
    seen++
  }
  if (!keyAt(bytes, pos, end, K_H)) return undefined
  const hLength = binLengthAt(bytes, pos + 2, end)
  if (hLength < (initiation ? MIN_HI_H : MIN_HR_H) || hLength > MAX_HANDSHAKE_BYTES) return undefined
  pos += 2 + binHeaderBytes(hLength)
  if (pos + hLength > end) return undefined
  const h = view(bytes, pos, hLength)
  pos += hLength
  seen++
  // Keys added in wire order, as the schema decoder adds them.
  const out: { t: 'hi' | 'hr', r?: number, h: Uint8Array, n?: number, c?: Uint8Array, m?: Uint8Array } = initiation ? { t: 'hi', h } : { t: 'hr', r, h }
  if (keyAt(bytes, pos, end, K_N)) {
    const n = uintAt(bytes, pos + 2, end)
    if (n < 0) return undefined
    out.n = n
    pos += 2 + uintBytes(n)
    seen++
  }
  if (keyAt(bytes, pos, end, K_C)) {
    const cLength = binLengthAt(bytes, pos + 2, end)
    if (cLength < MIN_C || cLength > DEFAULT_MAX_FIELD_BYTES) return undefined
    pos += 2 + binHeaderBytes(cLength)
    if (pos + cLength > end) return undefined
    out.c = view(bytes, pos, cLength)
    pos += cLength
    seen++
  }
  if (initiation && keyAt(bytes, pos, end, K_M)) {
    if (binLengthAt(bytes, pos + 2, end) !== M_BYTES || pos + 4 + M_BYTES > end) return undefined
    out.m = view(bytes, pos + 4, M_BYTES)
    pos += 4 + M_BYTES
    seen++
  }
  return pos === end && seen === entries ? out as InitiationFrame | ResponseFrame : undefined
}
