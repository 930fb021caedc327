// The session wire (PROTOCOL.md §Sessions): codec frames hi/hr/hd/hu and the fixed binary payloads carried
// inside the Noise messages.
import { EgtpError } from '@egtp/interface'
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
