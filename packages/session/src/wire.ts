// The session wire (PROTOCOL.md §Sessions): codec frames hi/hr/hd/hu and the fixed binary payloads carried
// inside the Noise messages.
import { EgtpError, uninitializedBytes } from '@egtp/interface'
import { createMessageCodec, sessionMessages } from '@egtp/codec'
import type { MessageOf } from '@egtp/codec'

/** The codec of session frames. */
export const sessionCodec = createMessageCodec(sessionMessages)
export type SessionFrame = MessageOf<typeof sessionMessages[number]>

/** Initiation payload (inside IK message 1, encrypted and bound to the initiator's static key). */
export interface InitiationPayload {
  /** The initiator's Ed25519 public key: must map to the Noise static key and hash to its node ID. */
  publicKey: Uint8Array
  /** The initiator's receiver index for this session. */
  index: number
  /** The initiation timestamp (ms; a logical clock, see timestamps.ts). */
  timestamp: number
}

/** 32-byte Ed25519 key ‖ u32 index ‖ u64 timestamp, big-endian. */
export const INITIATION_PAYLOAD_BYTES = 44
/** u32 responder index, big-endian. */
export const RESPONSE_PAYLOAD_BYTES = 4

export function encodeInitiationPayload (p: InitiationPayload): Uint8Array {
  const out = new Uint8Array(INITIATION_PAYLOAD_BYTES)
  const view = new DataView(out.buffer)
  out.set(p.publicKey, 0)
  view.setUint32(32, p.index)
  view.setUint32(36, Math.floor(p.timestamp / 0x1_0000_0000))
  view.setUint32(40, p.timestamp >>> 0)
  return out
}

/** @throws {EgtpError} ERR_HANDSHAKE for a payload of the wrong shape (it authenticated: a buggy or newer peer) */
export function decodeInitiationPayload (bytes: Uint8Array): InitiationPayload {
  if (bytes.byteLength !== INITIATION_PAYLOAD_BYTES) throw new EgtpError('ERR_HANDSHAKE', `initiation payload must be ${INITIATION_PAYLOAD_BYTES} bytes`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const hi = view.getUint32(36)
  if (hi > 0x1f_ffff) throw new EgtpError('ERR_HANDSHAKE', 'initiation timestamp out of range')
  return { publicKey: bytes.slice(0, 32), index: view.getUint32(32), timestamp: hi * 0x1_0000_0000 + view.getUint32(40) }
}

export function encodeResponsePayload (index: number): Uint8Array {
  const out = new Uint8Array(RESPONSE_PAYLOAD_BYTES)
  new DataView(out.buffer).setUint32(0, index)
  return out
}

/** @throws {EgtpError} ERR_HANDSHAKE */
export function decodeResponsePayload (bytes: Uint8Array): number {
  if (bytes.byteLength !== RESPONSE_PAYLOAD_BYTES) throw new EgtpError('ERR_HANDSHAKE', `response payload must be ${RESPONSE_PAYLOAD_BYTES} bytes`)
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0)
}

/** The value a hint signs (canonical msgpack, context HINT_CONTEXT). */
export function hintValue (r: number, n: number | undefined): { r: number, n?: number } {
  return n === undefined ? { r } : { r, n }
}

/** The value a clock-window notice signs (canonical msgpack, context CLOCK_REFUSAL_CONTEXT). */
export function clockRefusalValue (i: Uint8Array, w: number): { i: Uint8Array, w: number } {
  return { i, w }
}

/** Unsigned big-endian comparison of equal-length byte strings. */
export function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const len = Math.min(a.byteLength, b.byteLength)
  for (let i = 0; i < len; i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1
  }
  return a.byteLength - b.byteLength
}

export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  let diff = 0
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

// ---- fast path for transport frames ----
// `hd` is almost every frame, so it is written and read here directly, byte for byte what the codec writes
// (canonical: fixed key order, shortest integers; checked against sessionCodec by test/wire.test.ts). Anything
// that is not exactly such a frame goes to sessionCodec.decode, which validates it and names the error.

/** 0x85 = map of 5, then "t": "hd", "v": 1, "r". */
const HD_HEAD = Uint8Array.of(0x85, 0xa1, 0x74, 0xa2, 0x68, 0x64, 0xa1, 0x76, 0x01, 0xa1, 0x72)
const KEY_N0 = 0xa1
const KEY_N1 = 0x6e
const KEY_C1 = 0x63
/** The codec's bound on a bytes field (f.bytes default max). */
const MAX_C_BYTES = 1024 * 1024
const TAG_BYTES = 16

function uintBytes (v: number): number {
  return v < 0x80 ? 1 : v < 0x100 ? 2 : v < 0x1_0000 ? 3 : v < 0x1_0000_0000 ? 5 : 9
}

function put32 (out: Uint8Array, off: number, v: number): void {
  out[off] = v >>> 24
  out[off + 1] = v >>> 16
  out[off + 2] = v >>> 8
  out[off + 3] = v
}

function get32 (b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0
}

function putUint (out: Uint8Array, off: number, v: number): number {
  if (v < 0x80) { out[off] = v; return off + 1 }
  if (v < 0x100) { out[off] = 0xcc; out[off + 1] = v; return off + 2 }
  if (v < 0x1_0000) { out[off] = 0xcd; out[off + 1] = v >>> 8; out[off + 2] = v; return off + 3 }
  if (v < 0x1_0000_0000) { out[off] = 0xce; put32(out, off + 1, v); return off + 5 }
  out[off] = 0xcf
  put32(out, off + 1, Math.floor(v / 0x1_0000_0000))
  put32(out, off + 5, v >>> 0)
  return off + 9
}

/** Bytes before the ciphertext in an `hd` frame for receiver index `r`, counter `n`, `cLength` bytes of ciphertext. */
function dataHeadBytes (r: number, n: number, cLength: number): number {
  const binHead = cLength < 0x100 ? 2 : cLength < 0x1_0000 ? 3 : 5
  return HD_HEAD.byteLength + uintBytes(r) + 2 + uintBytes(n) + 2 + binHead
}

/** Write an `hd` frame's bytes up to its ciphertext into `frame`; returns where the ciphertext starts. */
function writeDataHead (frame: Uint8Array, r: number, n: number, cLength: number): number {
  frame.set(HD_HEAD)
  let off = putUint(frame, HD_HEAD.byteLength, r)
  frame[off++] = KEY_N0
  frame[off++] = KEY_N1
  off = putUint(frame, off, n)
  frame[off++] = KEY_N0
  frame[off++] = KEY_C1
  if (cLength < 0x100) {
    frame[off++] = 0xc4; frame[off++] = cLength
  } else if (cLength < 0x1_0000) {
    frame[off++] = 0xc5; frame[off++] = cLength >>> 8; frame[off++] = cLength
  } else {
    frame[off] = 0xc6; put32(frame, off + 1, cLength); off += 5
  }
  return off
}

/**
 * An `hd` frame's canonical bytes with `cLength` bytes left for the ciphertext at `cOffset`, for the caller to
 * encrypt into (one allocation, no copy through the codec).
 */
export function dataFrame (r: number, n: number, cLength: number): { frame: Uint8Array, cOffset: number } {
  const frame = uninitializedBytes(dataHeadBytes(r, n, cLength) + cLength) // the caller encrypts into the rest
  return { frame, cOffset: writeDataHead(frame, r, n, cLength) }
}

/** An `hd` frame's bytes before its ciphertext, for a frame sent as pieces (head ‖ ciphertext pieces). */
export function dataFrameHead (r: number, n: number, cLength: number): Uint8Array {
  const head = new Uint8Array(dataHeadBytes(r, n, cLength))
  writeDataHead(head, r, n, cLength)
  return head
}

/** Read position of the fast reader (module state: the reader is synchronous and not reentrant). */
let pos = 0

/** A shortest-form unsigned integer at `pos` (advanced past it), or -1. */
function getUint (b: Uint8Array): number {
  const off = pos
  const h = b[off]
  if (h === undefined) return -1
  if (h < 0x80) { pos = off + 1; return h }
  let v: number
  if (h === 0xcc && off + 2 <= b.byteLength) {
    v = b[off + 1]!
    if (v < 0x80) return -1
    pos = off + 2
  } else if (h === 0xcd && off + 3 <= b.byteLength) {
    v = (b[off + 1]! << 8) | b[off + 2]!
    if (v < 0x100) return -1
    pos = off + 3
  } else if (h === 0xce && off + 5 <= b.byteLength) {
    v = get32(b, off + 1)
    if (v < 0x1_0000) return -1
    pos = off + 5
  } else if (h === 0xcf && off + 9 <= b.byteLength) {
    v = get32(b, off + 1) * 0x1_0000_0000 + get32(b, off + 5)
    if (v < 0x1_0000_0000 || v > Number.MAX_SAFE_INTEGER) return -1
    pos = off + 9
  } else {
    return -1
  }
  return v
}

/**
 * Read a canonical `hd` frame without the generic codec. Returns undefined for anything else (including
 * non-canonical encodings), so the caller falls back to `sessionCodec.decode`; `c` is a view into `bytes`.
 */
export function readDataFrame (bytes: Uint8Array): { t: 'hd', r: number, n: number, c: Uint8Array } | undefined {
  const len = bytes.byteLength
  if (len < HD_HEAD.byteLength + 1 + 2 + 1 + 2 + 2 + TAG_BYTES) return undefined
  for (let i = 0; i < HD_HEAD.byteLength; i++) if (bytes[i] !== HD_HEAD[i]) return undefined
  pos = HD_HEAD.byteLength
  const r = getUint(bytes)
  if (r < 0 || r > 0xffff_ffff) return undefined
  if (bytes[pos] !== KEY_N0 || bytes[pos + 1] !== KEY_N1) return undefined
  pos += 2
  const n = getUint(bytes)
  if (n < 0) return undefined
  let off = pos
  if (bytes[off] !== KEY_N0 || bytes[off + 1] !== KEY_C1) return undefined
  off += 2
  let cLength: number
  const h = bytes[off]
  if (h === 0xc4 && off + 2 <= len) {
    cLength = bytes[off + 1]!; off += 2
  } else if (h === 0xc5 && off + 3 <= len) {
    cLength = (bytes[off + 1]! << 8) | bytes[off + 2]!; off += 3
    if (cLength < 0x100) return undefined
  } else if (h === 0xc6 && off + 5 <= len) {
    cLength = get32(bytes, off + 1); off += 5
    if (cLength < 0x1_0000) return undefined
  } else {
    return undefined
  }
  if (off + cLength !== len || cLength < TAG_BYTES || cLength > MAX_C_BYTES) return undefined
  return { t: 'hd', r, n, c: bytes.subarray(off) }
}
