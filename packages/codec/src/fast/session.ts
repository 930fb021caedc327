/*
 * The session wire (PROTOCOL.md §Sessions): the codec of frames hi/hr/hd/hu/hc, the fixed binary payloads carried
 * inside the Noise messages, the values hints and clock notices sign, and a fast path for `hd`, almost every
 * frame: written and read here directly, byte for byte what the schema codec writes (canonical: fixed key order,
 * shortest integers; proven by test/fast-session.test.ts and the wire corpus). Anything that is not exactly such
 * a frame goes to `sessionCodec.decode`, which validates it and names the error.
 */
import { EgtpError } from '@egtp/interface'
import { DEFAULT_MAX_FIELD_BYTES } from '../constants.ts'
import { sessionMessages } from '../messages/session.ts'
import { createMessageCodec } from '../schema.ts'
import type { MessageOf } from '../schema.ts'
import { binHeaderBytes, binLengthAt, prefixedBytes, uintAt, uintBytes, writeBinHeader, writeUint } from './primitives.ts'

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
  if (bytes.length !== INITIATION_PAYLOAD_BYTES) throw new EgtpError('ERR_HANDSHAKE', `initiation payload must be ${INITIATION_PAYLOAD_BYTES} bytes`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
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
  if (bytes.length !== RESPONSE_PAYLOAD_BYTES) throw new EgtpError('ERR_HANDSHAKE', `response payload must be ${RESPONSE_PAYLOAD_BYTES} bytes`)
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(0)
}

/** The value a hint signs (canonical msgpack, context HINT_CONTEXT). */
export function hintValue (r: number, n: number | undefined): { r: number, n?: number } {
  return n === undefined ? { r } : { r, n }
}

/** The value a clock-window notice signs (canonical msgpack, context CLOCK_REFUSAL_CONTEXT). */
export function clockRefusalValue (i: Uint8Array, w: number): { i: Uint8Array, w: number } {
  return { i, w }
}

/** 0x85 = map of 5, then "t": "hd", "v": 1, "r". */
const HD_HEAD = Uint8Array.of(0x85, 0xa1, 0x74, 0xa2, 0x68, 0x64, 0xa1, 0x76, 0x01, 0xa1, 0x72)
const KEY_N0 = 0xa1
const KEY_N1 = 0x6e
const KEY_C1 = 0x63
const TAG_BYTES = 16

/** Bytes before the ciphertext in an `hd` frame for receiver index `r`, counter `n`, `cLength` bytes of ciphertext. */
function dataHeadBytes (r: number, n: number, cLength: number): number {
  return HD_HEAD.length + uintBytes(r) + 2 + uintBytes(n) + 2 + binHeaderBytes(cLength)
}

/** Write an `hd` frame's bytes up to its ciphertext into `frame`; returns where the ciphertext starts. */
function writeDataHead (frame: Uint8Array, r: number, n: number, cLength: number): number {
  frame.set(HD_HEAD)
  let off = writeUint(frame, HD_HEAD.length, r)
  frame[off++] = KEY_N0
  frame[off++] = KEY_N1
  off = writeUint(frame, off, n)
  frame[off++] = KEY_N0
  frame[off++] = KEY_C1
  return writeBinHeader(frame, off, cLength)
}

/**
 * An `hd` frame's canonical bytes with `cLength` bytes left for the ciphertext at `cOffset`, for the caller to
 * encrypt into (one allocation, no copy through the codec).
 */
export function dataFrame (r: number, n: number, cLength: number): { frame: Uint8Array, cOffset: number } {
  const size = dataHeadBytes(r, n, cLength) + cLength
  // The caller encrypts into the rest. A small frame is a slab view: one ArrayBuffer per slab, not per frame.
  // Its length prefix is written in front of it, so a stream transport frames it without a copy.
  const frame = prefixedBytes(size)
  return { frame, cOffset: writeDataHead(frame, r, n, cLength) }
}

/** An `hd` frame's bytes before its ciphertext, for a frame sent as pieces (head ‖ ciphertext pieces). */
export function dataFrameHead (r: number, n: number, cLength: number): Uint8Array {
  const head = new Uint8Array(dataHeadBytes(r, n, cLength))
  writeDataHead(head, r, n, cLength)
  return head
}

/**
 * Whether `bytes` starts as a transport data frame (`hd`) does: a cheap test, not a validation (the frame may
 * still be malformed).
 */
export function isDataFrame (bytes: Uint8Array): boolean {
  if (bytes.length < HD_HEAD.length) return false
  for (let i = 0; i < HD_HEAD.length; i++) if (bytes[i] !== HD_HEAD[i]) return false
  return true
}

/**
 * Read a canonical `hd` frame without the generic codec. Returns undefined for anything else (including
 * non-canonical encodings), so the caller falls back to `sessionCodec.decode`; `c` is a view into `bytes`.
 */
export function readDataFrame (bytes: Uint8Array): { t: 'hd', r: number, n: number, c: Uint8Array } | undefined {
  const len = bytes.length
  if (len < HD_HEAD.length + 1 + 2 + 1 + 2 + 2 + TAG_BYTES) return undefined
  for (let i = 0; i < HD_HEAD.length; i++) if (bytes[i] !== HD_HEAD[i]) return undefined
  let pos = HD_HEAD.length
  const r = uintAt(bytes, pos, len)
  if (r < 0 || r > 0xffff_ffff) return undefined
  pos += uintBytes(r)
  if (bytes[pos] !== KEY_N0 || bytes[pos + 1] !== KEY_N1) return undefined
  pos += 2
  const n = uintAt(bytes, pos, len)
  if (n < 0) return undefined
  pos += uintBytes(n)
  if (bytes[pos] !== KEY_N0 || bytes[pos + 1] !== KEY_C1) return undefined
  pos += 2
  const cLength = binLengthAt(bytes, pos, len)
  if (cLength < 0) return undefined
  pos += binHeaderBytes(cLength)
  if (pos + cLength !== len || cLength < TAG_BYTES || cLength > DEFAULT_MAX_FIELD_BYTES) return undefined
  return { t: 'hd', r, n, c: bytes.subarray(pos) }
}
