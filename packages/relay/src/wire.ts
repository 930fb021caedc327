import { MAX_FRAME_BYTES_LIMIT, MAX_RELAY_BATCH } from '@egtp/codec'
import { relayCodec } from './protocol.ts'
import type { RelayMessage } from './protocol.ts'

/*
 * Fast paths for the two bulk frames, `rs` (send) and `rd` (deliver). They write the exact bytes the schema
 * codec writes (canonical msgpack: `t`, `v`, then the schema's fields in order) into one buffer of the exact
 * size, copying each payload once; and they read that canonical layout straight into entries whose payloads
 * are views of the frame. Anything else (another type, another field order, a limit crossed) goes through the
 * validating schema decoder, which decides: the fast reader accepts only inputs that decoder also accepts,
 * with the same result.
 */

/** One entry of an `rs` frame: message number, recipient node ID (20 bytes), payload. */
export interface SendEntry { m: number, to: Uint8Array, p: Uint8Array }
/** One entry of an `rd` frame: queue position, sender node ID (20 bytes), payload. */
export interface DeliverEntry { i: number, f: Uint8Array, p: Uint8Array }

const ID_BYTES = 20
// {"t": "rs", "v": 1, "e": [...]} and {"t": "rd", ...}: map of 3, the tag, the version, the key "e".
const RS_HEAD = Uint8Array.of(0x83, 0xa1, 0x74, 0xa2, 0x72, 0x73, 0xa1, 0x76, 0x01, 0xa1, 0x65)
const RD_HEAD = Uint8Array.of(0x83, 0xa1, 0x74, 0xa2, 0x72, 0x64, 0xa1, 0x76, 0x01, 0xa1, 0x65)
const HEAD_BYTES = RS_HEAD.byteLength

const uintBytes = (v: number): number => v < 0x80 ? 1 : v < 0x100 ? 2 : v < 0x10000 ? 3 : v < 0x1_0000_0000 ? 5 : 9
const binHeaderBytes = (n: number): number => n < 0x100 ? 2 : n < 0x10000 ? 3 : 5
const arrayHeaderBytes = (n: number): number => n <= 15 ? 1 : n < 0x10000 ? 3 : 5

function writeUint (b: Uint8Array, pos: number, v: number): number {
  if (v < 0x80) { b[pos] = v; return pos + 1 }
  if (v < 0x100) { b[pos] = 0xcc; b[pos + 1] = v; return pos + 2 }
  if (v < 0x10000) { b[pos] = 0xcd; b[pos + 1] = v >>> 8; b[pos + 2] = v; return pos + 3 }
  if (v < 0x1_0000_0000) {
    b[pos] = 0xce; b[pos + 1] = v >>> 24; b[pos + 2] = v >>> 16; b[pos + 3] = v >>> 8; b[pos + 4] = v
    return pos + 5
  }
  const hi = Math.floor(v / 0x1_0000_0000)
  const lo = v >>> 0
  b[pos] = 0xcf
  b[pos + 1] = hi >>> 24; b[pos + 2] = hi >>> 16; b[pos + 3] = hi >>> 8; b[pos + 4] = hi
  b[pos + 5] = lo >>> 24; b[pos + 6] = lo >>> 16; b[pos + 7] = lo >>> 8; b[pos + 8] = lo
  return pos + 9
}

function writeBinHeader (b: Uint8Array, pos: number, n: number): number {
  if (n < 0x100) { b[pos] = 0xc4; b[pos + 1] = n; return pos + 2 }
  if (n < 0x10000) { b[pos] = 0xc5; b[pos + 1] = n >>> 8; b[pos + 2] = n; return pos + 3 }
  b[pos] = 0xc6; b[pos + 1] = n >>> 24; b[pos + 2] = n >>> 16; b[pos + 3] = n >>> 8; b[pos + 4] = n
  return pos + 5
}

function copy (from: Uint8Array, to: Uint8Array, pos: number): number {
  const n = from.byteLength
  if (n < 64) for (let i = 0; i < n; i++) to[pos + i] = from[i]!
  else to.set(from, pos)
  return pos + n
}

/**
 * Encode a batch frame whose entries are `[number, node ID, payload]` under the keys `k1`, `k2`, `p`.
 * `k2` is the encoded key of the node ID field (`to` or `f`).
 */
function encodeBatch<E> (
  head: Uint8Array, k1: number, k2: Uint8Array, entries: readonly E[], start: number, end: number,
  num: (e: E) => number, id: (e: E) => Uint8Array, payload: (e: E) => Uint8Array
): Uint8Array {
  const n = end - start
  if (n < 1 || n > MAX_RELAY_BATCH) throw new RangeError(`a relay batch holds 1..${MAX_RELAY_BATCH} entries, got ${n}`)
  let size = HEAD_BYTES + arrayHeaderBytes(n)
  const fixed = 1 + 2 + k2.byteLength + 2 + ID_BYTES + 2 // map header, key 1, key 2, bin8 header + id, key p
  for (let k = start; k < end; k++) {
    const e = entries[k]!
    const p = payload(e).byteLength
    if (id(e).byteLength !== ID_BYTES) throw new TypeError('encode: node ID must be 20 bytes')
    if (p < 1 || p > MAX_FRAME_BYTES_LIMIT) throw new TypeError('encode: payload of 1..16 MiB expected')
    size += fixed + uintBytes(num(e)) + binHeaderBytes(p) + p
  }
  // Not zero-filled: every byte is written below. A plain Uint8Array view (not a Buffer) like other frames.
  const buf = Buffer.allocUnsafe(size)
  const b = new Uint8Array(buf.buffer, buf.byteOffset, size)
  b.set(head, 0)
  let pos = HEAD_BYTES
  if (n <= 15) b[pos++] = 0x90 | n
  else { b[pos] = 0xdc; b[pos + 1] = n >>> 8; b[pos + 2] = n; pos += 3 }
  for (let k = start; k < end; k++) {
    const e = entries[k]!
    b[pos] = 0x83; b[pos + 1] = 0xa1; b[pos + 2] = k1
    pos = writeUint(b, pos + 3, num(e))
    pos = copy(k2, b, pos)
    b[pos] = 0xc4; b[pos + 1] = ID_BYTES
    pos = copy(id(e), b, pos + 2)
    b[pos] = 0xa1; b[pos + 1] = 0x70
    const p = payload(e)
    pos = writeBinHeader(b, pos + 2, p.byteLength)
    pos = copy(p, b, pos)
  }
  return b
}

const TO_KEY = Uint8Array.of(0xa2, 0x74, 0x6f) // "to"
const F_KEY = Uint8Array.of(0xa1, 0x66) // "f"

/** A message as the send encoder reads it. */
export interface Sendable { readonly m: number, readonly to: Uint8Array, readonly payload: Uint8Array }

/** `relayCodec.encode({ t: 'rs', e })` for `msgs[start..end)` as `{ m, to, p: payload }`, byte for byte, in one buffer. */
export function encodeSend (msgs: readonly Sendable[], start = 0, end = msgs.length): Uint8Array {
  return encodeBatch(RS_HEAD, 0x6d, TO_KEY, msgs, start, end, e => e.m, e => e.to, e => e.payload)
}

/** A queued message as the deliver encoder reads it. */
export interface Deliverable { readonly id: number, readonly from: Uint8Array, readonly payload: Uint8Array }

/** `relayCodec.encode({ t: 'rd', e })` for `items[start..end)` as `{ i: id, f: from, p: payload }`, byte for byte. */
export function encodeDeliver (items: readonly Deliverable[], start = 0, end = items.length): Uint8Array {
  return encodeBatch(RD_HEAD, 0x69, F_KEY, items, start, end, e => e.id, e => e.from, e => e.payload)
}

/**
 * Messages of at least this many bytes are stored by the relay as their own one-entry `rd` frame (see
 * {@link encodeDeliverOne}): the copy out of the received frame is also the frame that delivers them.
 */
export const OWN_FRAME_BYTES = 8 * 1024

/** `encodeDeliver([{ id, from, payload }])`, and the payload's place in it (a view of the frame). */
export function encodeDeliverOne (id: number, from: Uint8Array, payload: Uint8Array): { frame: Uint8Array, payload: Uint8Array } {
  const frame = encodeBatch(RD_HEAD, 0x69, F_KEY, [payload], 0, 1, () => id, () => from, p => p)
  return { frame, payload: frame.subarray(frame.byteLength - payload.byteLength) }
}

/**
 * Turn a received one-entry `rs` frame into the `rd` frame that delivers its payload, in place: the `rd`
 * head is written over the `rs` head, just before the payload, which stays where it is (no copy). Only when
 * the payload is (nearly) all of the memory it keeps alive, so a queued message never holds on to a larger
 * socket buffer. `undefined` when that does not hold or the `rd` head does not fit in the bytes of the `rs`
 * head (the caller copies). The `rs` frame's other fields are overwritten: read them first.
 */
export function deliverInPlace (rs: Uint8Array, payload: Uint8Array, id: number, from: Uint8Array): Uint8Array | undefined {
  const n = payload.byteLength
  if (payload.buffer !== rs.buffer || payload.byteOffset + n !== rs.byteOffset + rs.byteLength) return undefined
  if (n < payload.buffer.byteLength * 0.875) return undefined
  const head = HEAD_BYTES + 1 + 3 + uintBytes(id) + F_KEY.byteLength + 2 + ID_BYTES + 2 + binHeaderBytes(n)
  const start = payload.byteOffset - head
  if (start < rs.byteOffset) return undefined
  const b = new Uint8Array(rs.buffer, start, head + n)
  b.set(RD_HEAD, 0)
  let pos = HEAD_BYTES
  b[pos] = 0x91
  b[pos + 1] = 0x83; b[pos + 2] = 0xa1; b[pos + 3] = 0x69
  pos = writeUint(b, pos + 4, id)
  pos = copy(F_KEY, b, pos)
  b[pos] = 0xc4; b[pos + 1] = ID_BYTES
  pos = copy(from, b, pos + 2)
  b[pos] = 0xa1; b[pos + 1] = 0x70
  pos = writeBinHeader(b, pos + 2, n)
  return pos === head ? b : undefined
}

/** Reads the canonical layout; returns -1 (fall back to the schema decoder) at anything else. */
class FastReader {
  b: Uint8Array
  pos = 0
  constructor (b: Uint8Array) { this.b = b }

  uint (): number {
    const b = this.b
    const pos = this.pos
    if (pos >= b.byteLength) return -1
    const t = b[pos]!
    if (t < 0x80) { this.pos = pos + 1; return t }
    if (t === 0xcc && pos + 2 <= b.byteLength) { this.pos = pos + 2; return b[pos + 1]! }
    if (t === 0xcd && pos + 3 <= b.byteLength) { this.pos = pos + 3; return (b[pos + 1]! << 8) | b[pos + 2]! }
    if (t === 0xce && pos + 5 <= b.byteLength) {
      this.pos = pos + 5
      return ((b[pos + 1]! << 24) >>> 0) + ((b[pos + 2]! << 16) | (b[pos + 3]! << 8) | b[pos + 4]!)
    }
    return -1
  }

  /** A bin of 1..MAX_FRAME_BYTES_LIMIT bytes as a view; undefined otherwise. */
  bin (): Uint8Array | undefined {
    const b = this.b
    let pos = this.pos
    if (pos >= b.byteLength) return undefined
    const t = b[pos]!
    let n: number
    if (t === 0xc4 && pos + 2 <= b.byteLength) { n = b[pos + 1]!; pos += 2 } else if (t === 0xc5 && pos + 3 <= b.byteLength) { n = (b[pos + 1]! << 8) | b[pos + 2]!; pos += 3 } else if (t === 0xc6 && pos + 5 <= b.byteLength) {
      n = ((b[pos + 1]! << 24) >>> 0) + ((b[pos + 2]! << 16) | (b[pos + 3]! << 8) | b[pos + 4]!)
      pos += 5
    } else return undefined
    if (n < 1 || n > MAX_FRAME_BYTES_LIMIT || pos + n > b.byteLength) return undefined
    this.pos = pos + n
    return b.subarray(pos, pos + n)
  }

  #lastId: Uint8Array | undefined
  #lastIdPos = 0

  /** A node ID; the same view as the previous one when the bytes repeat (batches usually name one peer). */
  id (): Uint8Array | undefined {
    const b = this.b
    const pos = this.pos
    if (pos + 2 + ID_BYTES > b.byteLength || b[pos] !== 0xc4 || b[pos + 1] !== ID_BYTES) return undefined
    this.pos = pos + 2 + ID_BYTES
    const last = this.#lastId
    if (last !== undefined) {
      const at = this.#lastIdPos
      let i = 0
      while (i < ID_BYTES && b[at + i] === b[pos + 2 + i]) i++
      if (i === ID_BYTES) return last
    }
    this.#lastIdPos = pos + 2
    return (this.#lastId = b.subarray(pos + 2, pos + 2 + ID_BYTES))
  }

  bytes (expected: Uint8Array): boolean {
    const b = this.b
    const pos = this.pos
    const n = expected.byteLength
    if (pos + n > b.byteLength) return false
    for (let i = 0; i < n; i++) if (b[pos + i] !== expected[i]) return false
    this.pos = pos + n
    return true
  }

  /** The array header of a batch: 1..MAX_RELAY_BATCH entries, or -1. */
  batchLength (): number {
    const b = this.b
    const pos = this.pos
    if (pos >= b.byteLength) return -1
    const t = b[pos]!
    let n = -1
    if (t >= 0x91 && t <= 0x9f) { n = t & 0x0f; this.pos = pos + 1 } else if (t === 0xdc && pos + 3 <= b.byteLength) { n = (b[pos + 1]! << 8) | b[pos + 2]!; this.pos = pos + 3 }
    return n >= 1 && n <= MAX_RELAY_BATCH ? n : -1
  }
}

const M_KEY = Uint8Array.of(0x83, 0xa1, 0x6d) // entry map of 3, key "m"
const I_KEY = Uint8Array.of(0x83, 0xa1, 0x69) // entry map of 3, key "i"
const P_KEY = Uint8Array.of(0xa1, 0x70) // "p"

function readBatch<E> (bytes: Uint8Array, head: Uint8Array, first: Uint8Array, second: Uint8Array,
  make: (num: number, id: Uint8Array, p: Uint8Array) => E): E[] | undefined {
  const r = new FastReader(bytes)
  if (!r.bytes(head)) return undefined
  const n = r.batchLength()
  if (n < 0) return undefined
  const out: E[] = new Array<E>(n)
  for (let k = 0; k < n; k++) {
    if (!r.bytes(first)) return undefined
    const num = r.uint()
    if (num < 0 || !r.bytes(second)) return undefined
    const id = r.id()
    if (id === undefined || !r.bytes(P_KEY)) return undefined
    const p = r.bin()
    if (p === undefined) return undefined
    out[k] = make(num, id, p)
  }
  return r.pos === bytes.byteLength ? out : undefined
}

const makeSend = (m: number, to: Uint8Array, p: Uint8Array): SendEntry => ({ m, to, p })
const makeDeliver = (i: number, f: Uint8Array, p: Uint8Array): DeliverEntry => ({ i, f, p })

// {"t": "rv", "v": 1, "m": [...]}: delivered notices, one per message when the sender tracks deliveries.
const RV_HEAD = Uint8Array.of(0x83, 0xa1, 0x74, 0xa2, 0x72, 0x76, 0xa1, 0x76, 0x01, 0xa1, 0x6d)

function readNumbers (bytes: Uint8Array): number[] | undefined {
  const r = new FastReader(bytes)
  if (!r.bytes(RV_HEAD)) return undefined
  const n = r.batchLength()
  if (n < 0) return undefined
  const out: number[] = new Array<number>(n)
  for (let k = 0; k < n; k++) {
    const m = r.uint()
    if (m < 0) return undefined
    out[k] = m
  }
  return r.pos === bytes.byteLength ? out : undefined
}

/**
 * `relayCodec.decode(bytes)`, with a fast path for canonical `rs`, `rd` and `rv` frames (payloads and IDs are views
 * of `bytes`). @throws {CodecError} as `relayCodec.decode`
 */
export function decodeRelay (bytes: Uint8Array): RelayMessage {
  if (bytes.byteLength > HEAD_BYTES && bytes[0] === 0x83 && bytes[3] === 0xa2 && bytes[4] === 0x72) {
    if (bytes[5] === 0x73) {
      const e = readBatch(bytes, RS_HEAD, M_KEY, TO_KEY, makeSend)
      if (e !== undefined) return { t: 'rs', e }
    } else if (bytes[5] === 0x64) {
      const e = readBatch(bytes, RD_HEAD, I_KEY, F_KEY, makeDeliver)
      if (e !== undefined) return { t: 'rd', e }
    } else if (bytes[5] === 0x76) {
      const m = readNumbers(bytes)
      if (m !== undefined) return { t: 'rv', m }
    }
  }
  return relayCodec.decode(bytes)
}
