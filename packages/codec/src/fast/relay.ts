/*
 * The relay's wire, fast: the two bulk frames, `rs` (send) and `rd` (deliver), and the `rv` notices. They write the
 * exact bytes the schema codec (messages/relay.ts) writes (canonical msgpack: `t`, `v`, then the schema's fields
 * in order) into one buffer of the exact size, copying each payload once; and they read that canonical layout
 * straight into entries whose payloads are views of the frame. Anything else (another type, another field order,
 * a limit crossed) goes through the validating schema decoder, which decides: the fast reader accepts only
 * inputs that decoder also accepts, with the same result.
 */
import type { OutboundFrame } from '@egtp/interface'
import { MAX_FRAME_BYTES_LIMIT } from '../constants.ts'
import { NODE_ID_BYTES } from '../messages/common.ts'
import { MAX_RELAY_BATCH, relayMessages } from '../messages/relay.ts'
import { createMessageCodec } from '../schema.ts'
import type { MessageOf } from '../schema.ts'
import {
  arrayHeaderBytes, arrayLengthAt, binHeaderBytes, binLengthAt, bytesAt, putBytes, uintAt, uintBytes, writeArrayHeader,
  writeBinHeader, writeUint
} from './primitives.ts'

/** Encoder and validating decoder of every relay frame (PROTOCOL.md §Relay). */
export const relayCodec = createMessageCodec(relayMessages)

/** Any relay frame, discriminated by `t`. */
export type RelayMessage = MessageOf<(typeof relayMessages)[number]>

/** One entry of an `rs` frame: message number, recipient node ID (20 bytes), payload. */
export interface SendEntry { m: number, to: Uint8Array, p: Uint8Array }
/** One entry of an `rd` frame: queue position, sender node ID (20 bytes), payload. */
export interface DeliverEntry { i: number, f: Uint8Array, p: Uint8Array }

const ID_BYTES = NODE_ID_BYTES
// {"t": "rs", "v": 1, "e": [...]} and {"t": "rd", ...}: map of 3, the tag, the version, the key "e".
const RS_HEAD = Uint8Array.of(0x83, 0xa1, 0x74, 0xa2, 0x72, 0x73, 0xa1, 0x76, 0x01, 0xa1, 0x65)
const RD_HEAD = Uint8Array.of(0x83, 0xa1, 0x74, 0xa2, 0x72, 0x64, 0xa1, 0x76, 0x01, 0xa1, 0x65)
// {"t": "rv", "v": 1, "m": [...]}: delivered notices, one per message when the sender tracks deliveries.
const RV_HEAD = Uint8Array.of(0x83, 0xa1, 0x74, 0xa2, 0x72, 0x76, 0xa1, 0x76, 0x01, 0xa1, 0x6d)
const HEAD_BYTES = RS_HEAD.length
const F_KEY = Uint8Array.of(0xa1, 0x66) // "f"

/**
 * Encode a batch frame: `rs` entries `{ m, to, p }` from {@link Sendable}s, or `rd` entries `{ i, f, p }`
 * from {@link Deliverable}s. One pass into a buffer sized for the worst case (a few bytes per entry more).
 */
function encodeBatch (send: boolean, entries: ReadonlyArray<Sendable | Deliverable>, start: number, end: number): Uint8Array {
  const n = end - start
  if (n < 1 || n > MAX_RELAY_BATCH) throw new RangeError(`a relay batch holds 1..${MAX_RELAY_BATCH} entries, got ${n}`)
  // Entry: map header, key 1, number (≤ 9), key 2 (≤ 3), bin8 header + ID, key p, bin header (≤ 5), payload.
  const most = 1 + 2 + 9 + 3 + 2 + ID_BYTES + 2 + 5
  let size = HEAD_BYTES + arrayHeaderBytes(n)
  for (let k = start; k < end; k++) size += most + entries[k]!.payload.length
  // Not zero-filled: only the written prefix is returned. A plain Uint8Array (not a Buffer) like other frames.
  const buf = Buffer.allocUnsafe(size)
  const b = new Uint8Array(buf.buffer, buf.byteOffset, size)
  b.set(send ? RS_HEAD : RD_HEAD, 0)
  let pos = writeArrayHeader(b, HEAD_BYTES, n)
  for (let k = start; k < end; k++) {
    let num: number, id: Uint8Array
    const e = entries[k]!
    if (send) { num = (e as Sendable).m; id = (e as Sendable).to } else { num = (e as Deliverable).id; id = (e as Deliverable).from }
    const p = e.payload
    const len = p.length
    if (id.length !== ID_BYTES) throw new TypeError('encode: node ID must be 20 bytes')
    if (len < 1 || len > MAX_FRAME_BYTES_LIMIT) throw new TypeError('encode: payload of 1..16 MiB expected')
    b[pos] = 0x83; b[pos + 1] = 0xa1
    if (send) {
      b[pos + 2] = 0x6d // "m"
      pos = writeUint(b, pos + 3, num)
      b[pos] = 0xa2; b[pos + 1] = 0x74; b[pos + 2] = 0x6f // "to"
      pos += 3
    } else {
      b[pos + 2] = 0x69 // "i"
      pos = writeUint(b, pos + 3, num)
      b[pos] = 0xa1; b[pos + 1] = 0x66 // "f"
      pos += 2
    }
    b[pos] = 0xc4; b[pos + 1] = ID_BYTES
    pos += 2
    for (let i = 0; i < ID_BYTES; i++) b[pos + i] = id[i]!
    pos += ID_BYTES
    b[pos] = 0xa1; b[pos + 1] = 0x70
    pos = writeBinHeader(b, pos + 2, len)
    pos = putBytes(p, b, pos)
  }
  return pos === size ? b : b.subarray(0, pos)
}

/** A message as the send encoder reads it. */
export interface Sendable { readonly m: number, readonly to: Uint8Array, readonly payload: Uint8Array }

/** `relayCodec.encode({ t: 'rs', e })` for `msgs[start..end)` as `{ m, to, p: payload }`, byte for byte, in one buffer. */
export function encodeSend (msgs: readonly Sendable[], start = 0, end = msgs.length): Uint8Array {
  return encodeBatch(true, msgs, start, end)
}

/**
 * `encodeSend([{ m, to, payload }])` as pieces: the frame's bytes before the payload, then the payload's own
 * pieces (not copied), for a large message that travels alone. `size` is the payload's length.
 */
export function encodeSendOne (m: number, to: Uint8Array, payload: OutboundFrame, size: number): Uint8Array[] {
  if (to.length !== ID_BYTES) throw new TypeError('encode: node ID must be 20 bytes')
  if (size < 1 || size > MAX_FRAME_BYTES_LIMIT) throw new TypeError('encode: payload of 1..16 MiB expected')
  const head = new Uint8Array(HEAD_BYTES + 1 + 3 + uintBytes(m) + 3 + 2 + ID_BYTES + 2 + binHeaderBytes(size))
  head.set(RS_HEAD, 0)
  let pos = HEAD_BYTES
  head[pos] = 0x91
  head[pos + 1] = 0x83; head[pos + 2] = 0xa1; head[pos + 3] = 0x6d // "m"
  pos = writeUint(head, pos + 4, m)
  head[pos] = 0xa2; head[pos + 1] = 0x74; head[pos + 2] = 0x6f // "to"
  head[pos + 3] = 0xc4; head[pos + 4] = ID_BYTES
  pos = putBytes(to, head, pos + 5)
  head[pos] = 0xa1; head[pos + 1] = 0x70
  pos = writeBinHeader(head, pos + 2, size)
  if (pos !== head.length) throw new Error('encodeSendOne: size mismatch')
  return payload instanceof Uint8Array ? [head, payload] : [head, ...payload]
}

/** A queued message as the deliver encoder reads it. */
export interface Deliverable { readonly id: number, readonly from: Uint8Array, readonly payload: Uint8Array }

/** `relayCodec.encode({ t: 'rd', e })` for `items[start..end)` as `{ i: id, f: from, p: payload }`, byte for byte. */
export function encodeDeliver (items: readonly Deliverable[], start = 0, end = items.length): Uint8Array {
  return encodeBatch(false, items, start, end)
}

/** `encodeDeliver([{ id, from, payload }])`, and the payload's place in it (a view of the frame). */
export function encodeDeliverOne (id: number, from: Uint8Array, payload: Uint8Array): { frame: Uint8Array, payload: Uint8Array } {
  const frame = encodeBatch(false, [{ id, from, payload }], 0, 1)
  return { frame, payload: frame.subarray(frame.length - payload.length) }
}

/**
 * Turn a received one-entry `rs` frame into the `rd` frame that delivers its payload, in place: the `rd`
 * head is written over the `rs` head, just before the payload, which stays where it is (no copy). Only when
 * the payload is (nearly) all of the memory it keeps alive, so a queued message never holds on to a larger
 * socket buffer. `undefined` when that does not hold or the `rd` head does not fit in the bytes of the `rs`
 * head (the caller copies). The `rs` frame's other fields are overwritten: read them first.
 */
export function deliverInPlace (rs: Uint8Array, payload: Uint8Array, id: number, from: Uint8Array): Uint8Array | undefined {
  const n = payload.length
  if (payload.buffer !== rs.buffer || payload.byteOffset + n !== rs.byteOffset + rs.length) return undefined
  if (n < payload.buffer.byteLength * 0.875) return undefined // eslint-disable-line no-restricted-syntax -- an ArrayBuffer's
  const head = HEAD_BYTES + 1 + 3 + uintBytes(id) + F_KEY.length + 2 + ID_BYTES + 2 + binHeaderBytes(n)
  const start = payload.byteOffset - head
  if (start < rs.byteOffset) return undefined
  const b = new Uint8Array(rs.buffer, start, head + n)
  b.set(RD_HEAD, 0)
  let pos = HEAD_BYTES
  b[pos] = 0x91
  b[pos + 1] = 0x83; b[pos + 2] = 0xa1; b[pos + 3] = 0x69
  pos = writeUint(b, pos + 4, id)
  pos = putBytes(F_KEY, b, pos)
  b[pos] = 0xc4; b[pos + 1] = ID_BYTES
  pos = putBytes(from, b, pos + 2)
  b[pos] = 0xa1; b[pos + 1] = 0x70
  pos = writeBinHeader(b, pos + 2, n)
  return pos === head ? b : undefined
}

/** The array header of a batch at `pos`: 1..MAX_RELAY_BATCH entries, or -1. */
function batchLengthAt (b: Uint8Array, pos: number, end: number): number {
  const n = arrayLengthAt(b, pos, end)
  return n >= 1 && n <= MAX_RELAY_BATCH ? n : -1
}

/**
 * The entries of a canonical `rs` (send) or `rd` frame whose head (11 bytes) was checked; `undefined` at
 * anything else. One pass with the position in a local; IDs repeated from the previous entry share its view.
 */
function readBatch (b: Uint8Array, send: boolean): SendEntry[] | DeliverEntry[] | undefined {
  const end = b.length
  let pos = HEAD_BYTES
  const n = batchLengthAt(b, pos, end)
  if (n < 0) return undefined
  pos += arrayHeaderBytes(n)
  const out: Array<SendEntry | DeliverEntry> = new Array<SendEntry | DeliverEntry>(n)
  const k1 = send ? 0x6d : 0x69
  let lastId: Uint8Array | undefined
  let lastIdPos = 0
  for (let k = 0; k < n; k++) {
    // {k1: uint, ("to" | "f"): bin8(20), "p": bin}
    if (pos + 4 > end || b[pos] !== 0x83 || b[pos + 1] !== 0xa1 || b[pos + 2] !== k1) return undefined
    pos += 3
    const num = uintAt(b, pos, end)
    if (num < 0) return undefined
    pos += uintBytes(num)
    if (send) {
      if (pos + 3 > end || b[pos] !== 0xa2 || b[pos + 1] !== 0x74 || b[pos + 2] !== 0x6f) return undefined
      pos += 3
    } else {
      if (pos + 2 > end || b[pos] !== 0xa1 || b[pos + 1] !== 0x66) return undefined
      pos += 2
    }
    if (pos + 2 + ID_BYTES + 2 > end || b[pos] !== 0xc4 || b[pos + 1] !== ID_BYTES) return undefined
    pos += 2
    let id: Uint8Array | undefined
    if (lastId !== undefined) {
      let i = 0
      while (i < ID_BYTES && b[lastIdPos + i] === b[pos + i]) i++
      if (i === ID_BYTES) id = lastId
    }
    if (id === undefined) { id = lastId = b.subarray(pos, pos + ID_BYTES); lastIdPos = pos }
    pos += ID_BYTES
    if (b[pos] !== 0xa1 || b[pos + 1] !== 0x70) return undefined
    pos += 2
    const len = binLengthAt(b, pos, end)
    if (len < 0) return undefined
    pos += binHeaderBytes(len)
    if (len < 1 || len > MAX_FRAME_BYTES_LIMIT || pos + len > end) return undefined
    const p = b.subarray(pos, pos + len)
    pos += len
    out[k] = send ? { m: num, to: id, p } : { i: num, f: id, p }
  }
  return pos === end ? out as SendEntry[] | DeliverEntry[] : undefined
}

/** The numbers of a canonical `rv` frame, or `undefined`. */
function readNumbers (b: Uint8Array): number[] | undefined {
  const end = b.length
  if (!bytesAt(b, 0, end, RV_HEAD)) return undefined
  let pos = HEAD_BYTES
  const n = batchLengthAt(b, pos, end)
  if (n < 0) return undefined
  pos += arrayHeaderBytes(n)
  const out: number[] = new Array<number>(n)
  for (let k = 0; k < n; k++) {
    const m = uintAt(b, pos, end)
    if (m < 0) return undefined
    out[k] = m
    pos += uintBytes(m)
  }
  return pos === end ? out : undefined
}

/**
 * `relayCodec.decode(bytes)`, with a fast path for canonical `rs`, `rd` and `rv` frames (payloads and IDs are views
 * of `bytes`). @throws {CodecError} as `relayCodec.decode`
 */
export function decodeRelay (bytes: Uint8Array): RelayMessage {
  const end = bytes.length
  if (end > HEAD_BYTES && bytes[0] === 0x83 && bytes[3] === 0xa2 && bytes[4] === 0x72) {
    if (bytes[5] === 0x73) {
      const e = bytesAt(bytes, 0, end, RS_HEAD) ? readBatch(bytes, true) as SendEntry[] | undefined : undefined
      if (e !== undefined) return { t: 'rs', e }
    } else if (bytes[5] === 0x64) {
      const e = bytesAt(bytes, 0, end, RD_HEAD) ? readBatch(bytes, false) as DeliverEntry[] | undefined : undefined
      if (e !== undefined) return { t: 'rd', e }
    } else if (bytes[5] === 0x76) {
      const m = readNumbers(bytes)
      if (m !== undefined) return { t: 'rv', m }
    }
  }
  return relayCodec.decode(bytes)
}
