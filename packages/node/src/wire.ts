import { CodecError, DEFAULT_MAX_DEPTH, PROTOCOL_VERSION, createMessageCodec, nodeMessages, scanValue } from '@egtp/codec'
import type { MessageOf } from '@egtp/codec'
import { uninitializedBytes } from '@egtp/interface'
import { REFERENCED_PAYLOAD_BYTES } from './constants.ts'

/** Most messages in one batch (codec's MAX_BATCH_MESSAGES). */
export const BATCH_MESSAGES_LIMIT = 4096
/** Deepest payload nesting a sender may use: the batch adds two levels (batch → list → message). */
export const MESSAGE_DEPTH_LIMIT = DEFAULT_MAX_DEPTH

type AnyNodeMessage = MessageOf<typeof nodeMessages[number]>
/** A node message inside a batch (never a nested batch). */
export type NodeMessage = Exclude<AnyNodeMessage, { t: 'b' }>
export type QueryMsg = Extract<NodeMessage, { t: 'q' }>
export type ReplyMsg = Extract<NodeMessage, { t: 'a' }>
export type OnewayMsg = Extract<NodeMessage, { t: 'o' }>

// Items are bounded by the frame size (every item costs at least one byte), so the item limit is not the
// binding one here; depth is.
const codec = createMessageCodec(nodeMessages, { maxDepth: MESSAGE_DEPTH_LIMIT, maxItems: 1 << 24 })

/** Encode one node message (canonical bytes). */
export function encodeMessage (message: NodeMessage): Uint8Array {
  return codec.encode(message)
}

/**
 * Encode a message carrying an application payload, checking the payload will decode at the receiver
 * (nesting depth). Scalars and byte strings need no check.
 */
export function encodePayloadMessage (message: NodeMessage, payload: unknown): Uint8Array {
  if ((message.t === 'o' || message.t === 'q') && payload instanceof Uint8Array && message.p === payload) {
    const fast = encodeBytesMessage(message.t, message.m, message.y, payload, message.d)
    if (fast !== undefined) return fast
  }
  const bytes = codec.encode(message)
  if (payload !== null && typeof payload === 'object' && !(payload instanceof Uint8Array)) {
    scanValue(bytes, { maxDepth: MESSAGE_DEPTH_LIMIT, maxItems: 1 << 24 })
  }
  return bytes
}

/**
 * Output slab for small fast-path encodings (one ArrayBuffer for many messages), sized as the codec writer's:
 * a message held for re-sending keeps its whole slab alive, so slabs stay small.
 */
const SLAB_BYTES = 8 * 1024
const MAX_SLAB_MESSAGE = 1024
let slab = new Uint8Array(SLAB_BYTES)
let slabPos = 0

function allocMessage (n: number): Uint8Array {
  if (n > MAX_SLAB_MESSAGE) return uninitializedBytes(n) // the caller writes every byte
  if (slabPos + n > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES)
    slabPos = 0
  }
  const out = slab.subarray(slabPos, slabPos + n)
  slabPos = (slabPos + n + 7) & ~7
  return out
}

const uintBytes = (v: number): number => (v < 0x80 ? 1 : v < 0x100 ? 2 : v < 0x1_0000 ? 3 : v < 0x1_0000_0000 ? 5 : 9)

function writeUint (out: Uint8Array, pos: number, v: number): number {
  if (v < 0x80) {
    out[pos++] = v
  } else if (v < 0x100) {
    out[pos++] = 0xcc
    out[pos++] = v
  } else if (v < 0x1_0000) {
    out[pos++] = 0xcd
    out[pos++] = v >>> 8
    out[pos++] = v
  } else if (v < 0x1_0000_0000) {
    out[pos++] = 0xce
    pos = writeU32(out, pos, v)
  } else {
    out[pos++] = 0xcf
    pos = writeU32(out, pos, Math.floor(v / 0x1_0000_0000))
    pos = writeU32(out, pos, v >>> 0)
  }
  return pos
}

function writeU32 (out: Uint8Array, pos: number, v: number): number {
  out[pos] = v >>> 24
  out[pos + 1] = v >>> 16
  out[pos + 2] = v >>> 8
  out[pos + 3] = v
  return pos + 4
}

/**
 * `{ t, v, m, y, p, d? }` for a query or one-way message whose payload is a byte string, written straight into
 * an exact-size buffer: byte-identical to the codec's encoding (its field order and shortest forms), without
 * the codec's intermediate buffer and copy. `undefined` for what it does not cover (the codec does it).
 */
export function encodeBytesMessage (t: 'o' | 'q', m: Uint8Array, y: string, p: Uint8Array, d: number | undefined): Uint8Array | undefined {
  if (m.byteLength !== 16) return undefined
  return writeBytesMessage(t, m, m, 0, y, p, d)
}

/** Where a message ID sits in {@link encodeBytesMessage}'s output. */
export const BYTES_MESSAGE_ID_OFFSET = 12

/**
 * {@link encodeBytesMessage} of the message `epoch ‖ counter` (the ID is written from its parts, without
 * allocating it: `out.subarray(BYTES_MESSAGE_ID_OFFSET, BYTES_MESSAGE_ID_OFFSET + 16)` is a view of it).
 */
export function encodeOwnBytesMessage (t: 'o' | 'q', epoch: Uint8Array, counter: number, y: string, p: Uint8Array, d: number | undefined): MessageBytes | undefined {
  if (epoch.byteLength !== 8) return undefined
  return writeBytesMessage(t, undefined, epoch, counter, y, p, d, p.byteLength >= REFERENCED_PAYLOAD_BYTES)
}

/** An encoded message whose byte payload is referenced: its bytes are `head ‖ payload ‖ tail`. */
export interface SplitMessage {
  readonly head: Uint8Array
  readonly payload: Uint8Array
  readonly tail: Uint8Array
  readonly byteLength: number
}

/** One encoded message: its bytes, or a {@link SplitMessage}. */
export type MessageBytes = Uint8Array | SplitMessage

function writeBytesMessage (t: 'o' | 'q', m: Uint8Array | undefined, epoch: Uint8Array, counter: number, y: string, p: Uint8Array, d: number | undefined): Uint8Array | undefined
function writeBytesMessage (t: 'o' | 'q', m: Uint8Array | undefined, epoch: Uint8Array, counter: number, y: string, p: Uint8Array, d: number | undefined, reference: boolean): MessageBytes | undefined
function writeBytesMessage (t: 'o' | 'q', m: Uint8Array | undefined, epoch: Uint8Array, counter: number, y: string, p: Uint8Array, d: number | undefined, reference = false): MessageBytes | undefined {
  const ylen = y.length
  if (ylen === 0 || ylen > 31) return undefined
  if (d !== undefined && !(Number.isSafeInteger(d) && d >= 0)) return undefined
  for (let i = 0; i < ylen; i++) if (y.charCodeAt(i) >= 0x80) return undefined
  const plen = p.byteLength
  const size = 1 + 4 + 3 + 4 + 16 + 3 + ylen + 2 + binHeaderBytes(plen) + plen + (d !== undefined ? 2 + uintBytes(d) : 0)
  // A referenced payload leaves out of `out` a hole of its size: head and tail share one small buffer.
  const out = allocMessage(reference ? size - plen : size)
  let pos = 0
  out[pos++] = d !== undefined ? 0x86 : 0x85
  out[pos++] = 0xa1; out[pos++] = 0x74; out[pos++] = 0xa1; out[pos++] = t === 'o' ? 0x6f : 0x71
  out[pos++] = 0xa1; out[pos++] = 0x76; out[pos++] = PROTOCOL_VERSION
  out[pos++] = 0xa1; out[pos++] = 0x6d; out[pos++] = 0xc4; out[pos++] = 16
  if (m !== undefined) {
    for (let i = 0; i < 16; i++) out[pos++] = m[i]!
  } else {
    for (let i = 0; i < 8; i++) out[pos++] = epoch[i]!
    pos = writeU32(out, pos, Math.floor(counter / 0x1_0000_0000))
    pos = writeU32(out, pos, counter >>> 0)
  }
  out[pos++] = 0xa1; out[pos++] = 0x79; out[pos++] = 0xa0 | ylen
  for (let i = 0; i < ylen; i++) out[pos++] = y.charCodeAt(i)
  out[pos++] = 0xa1; out[pos++] = 0x70
  pos = writeBinHeader(out, pos, plen)
  const headEnd = pos
  if (reference) {
    // the payload is not copied
  } else if (plen < 64) {
    for (let i = 0; i < plen; i++) out[pos + i] = p[i]!
    pos += plen
  } else {
    out.set(p, pos)
    pos += plen
  }
  if (d !== undefined) {
    out[pos++] = 0xa1; out[pos++] = 0x64
    pos = writeUint(out, pos, d)
  }
  if (pos !== out.byteLength) throw new Error('encodeBytesMessage: size mismatch')
  if (!reference) return out
  return { head: out.subarray(0, headEnd), payload: p, tail: out.subarray(headEnd), byteLength: size }
}

const KEY_T = [0xa1, 0x74, 0xa1, 0x62] // "t": "b"
const KEY_V = [0xa1, 0x76, PROTOCOL_VERSION]
const KEY_F = [0xa1, 0x66, 0xc4, 0x10]
const KEY_X = [0xa1, 0x78]

/**
 * The plaintext of one session frame: `{ t: 'b', v, f?, x: [bin, …] }` with the already encoded messages
 * spliced in as byte strings. Byte-identical to `codec.encode({ t: 'b', f, x })`.
 */
export function encodeBatch (floor: Uint8Array | undefined, parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length > BATCH_MESSAGES_LIMIT) throw new RangeError(`a batch holds at most ${BATCH_MESSAGES_LIMIT} messages`)
  if (PROTOCOL_VERSION > 127) throw new RangeError('PROTOCOL_VERSION no longer fits a fixint')
  let size = batchHeadBytes(floor, parts.length)
  for (const p of parts) size += binHeaderBytes(p.byteLength) + p.byteLength
  const out = uninitializedBytes(size) // every byte is written below
  let pos = writeBatchHead(out, floor, parts.length)
  for (const p of parts) {
    pos = writeBinHeader(out, pos, p.byteLength)
    out.set(p, pos)
    pos += p.byteLength
  }
  if (pos !== size) throw new Error('encodeBatch: size mismatch') // never send bytes that were not written
  return out
}

/** Bytes of a batch's map header, `t`, `v`, optional `f` and the `x` array header for `n` messages. */
function batchHeadBytes (floor: Uint8Array | undefined, n: number): number {
  return 1 + KEY_T.length + KEY_V.length + (floor !== undefined ? KEY_F.length + 16 : 0) + KEY_X.length + (n < 16 ? 1 : 3)
}

/** Writes what {@link batchHeadBytes} counts at the start of `out`; returns the position after it. */
function writeBatchHead (out: Uint8Array, floor: Uint8Array | undefined, n: number): number {
  let pos = 0
  out[pos++] = floor !== undefined ? 0x84 : 0x83
  out.set(KEY_T, pos); pos += KEY_T.length
  out.set(KEY_V, pos); pos += KEY_V.length
  if (floor !== undefined) {
    out.set(KEY_F, pos); pos += KEY_F.length
    out.set(floor, pos); pos += 16
  }
  out.set(KEY_X, pos); pos += KEY_X.length
  if (n < 16) {
    out[pos++] = 0x90 | n
  } else {
    out[pos++] = 0xdc
    out[pos++] = n >>> 8
    out[pos++] = n & 0xff
  }
  return pos
}

/** Messages at least this large are not copied into the batch: they are sealed from their own bytes. */
export const SPLICE_BYTES = 4096

/**
 * {@link encodeBatch} as pieces whose concatenation is the batch: headers and small messages are packed into
 * one buffer, messages of at least {@link SPLICE_BYTES} are referenced, not copied (the session seals the pieces
 * straight into the frame).
 */
export function encodeBatchParts (floor: Uint8Array | undefined, parts: readonly MessageBytes[]): Uint8Array[] {
  let large = 0
  for (const p of parts) if (p.byteLength >= SPLICE_BYTES) large++
  if (large === 0) return [encodeBatch(floor, parts as readonly Uint8Array[])]
  if (parts.length > BATCH_MESSAGES_LIMIT) throw new RangeError(`a batch holds at most ${BATCH_MESSAGES_LIMIT} messages`)
  let size = batchHeadBytes(floor, parts.length)
  for (const p of parts) {
    size += binHeaderBytes(p.byteLength)
    if (!(p instanceof Uint8Array)) size += p.head.byteLength + p.tail.byteLength
    else if (p.byteLength < SPLICE_BYTES) size += p.byteLength
  }
  const out = uninitializedBytes(size) // every byte is written below
  const pieces: Uint8Array[] = []
  let pos = writeBatchHead(out, floor, parts.length)
  let runStart = 0
  for (const p of parts) {
    pos = writeBinHeader(out, pos, p.byteLength)
    if (!(p instanceof Uint8Array)) {
      out.set(p.head, pos)
      pos += p.head.byteLength
      pieces.push(out.subarray(runStart, pos), p.payload)
      runStart = pos
      out.set(p.tail, pos)
      pos += p.tail.byteLength
    } else if (p.byteLength >= SPLICE_BYTES) {
      pieces.push(out.subarray(runStart, pos), p)
      runStart = pos
    } else {
      out.set(p, pos)
      pos += p.byteLength
    }
  }
  if (pos !== size) throw new Error('encodeBatchParts: size mismatch') // never send bytes that were not written
  if (pos > runStart) pieces.push(out.subarray(runStart, pos))
  return pieces
}

function writeBinHeader (out: Uint8Array, pos: number, len: number): number {
  if (len < 256) {
    out[pos++] = 0xc4
    out[pos++] = len
  } else if (len < 65_536) {
    out[pos++] = 0xc5
    out[pos++] = len >>> 8
    out[pos++] = len & 0xff
  } else {
    out[pos++] = 0xc6
    out[pos++] = len >>> 24
    out[pos++] = (len >>> 16) & 0xff
    out[pos++] = (len >>> 8) & 0xff
    out[pos++] = len & 0xff
  }
  return pos
}

const binHeaderBytes = (len: number): number => (len < 256 ? 2 : len < 65_536 ? 3 : 5)

/**
 * The length in a shortest-form bin header at `pos` (whole before `end`), or -1 for anything else (the caller
 * then leaves the input to the schema codec). The header is `binHeaderBytes(length)` long.
 */
function binLengthAt (b: Uint8Array, pos: number, end: number): number {
  const h = b[pos]
  if (h === 0xc4 && pos + 2 <= end) return b[pos + 1]!
  if (h === 0xc5 && pos + 3 <= end) {
    const len = (b[pos + 1]! << 8) | b[pos + 2]!
    return len >= 256 ? len : -1
  }
  if (h === 0xc6 && pos + 5 <= end) {
    const len = ((b[pos + 1]! << 24) >>> 0) + (b[pos + 2]! << 16) + (b[pos + 3]! << 8) + b[pos + 4]!
    return len >= 65_536 ? len : -1
  }
  return -1
}

/**
 * The length in a shortest-form array header at `pos` (whole before `end`), or -1 for anything else (the caller
 * then leaves the input to the schema codec). The header is `arrayHeaderBytes(length)` long.
 */
function arrayLengthAt (b: Uint8Array, pos: number, end: number): number {
  const h = b[pos]
  if (h !== undefined && h >= 0x90 && h <= 0x9f && pos < end) return h & 0x0f
  if (h === 0xdc && pos + 3 <= end) {
    const n = (b[pos + 1]! << 8) | b[pos + 2]!
    return n >= 16 ? n : -1
  }
  return -1
}

const arrayHeaderBytes = (n: number): number => n < 16 ? 1 : 3

export interface DecodedBatch {
  floor: Uint8Array | undefined
  /** Each entry is a validated message or the error that rejected it (one bad message spoils only itself). */
  messages: Array<NodeMessage | CodecError>
}

/**
 * Decode untrusted plaintext: a batch whose entries are validated one by one.
 * @throws {CodecError} when the plaintext is not a batch at all
 */
export function decodeBatch (plaintext: Uint8Array): DecodedBatch {
  const fast = decodeCanonicalBatch(plaintext)
  if (fast !== undefined) return fast
  const batch = codec.decode(plaintext)
  if (batch.t !== 'b') throw new CodecError('ERR_UNKNOWN_TYPE', `expected a batch, got ${batch.t}`)
  const messages: Array<NodeMessage | CodecError> = []
  for (const bytes of batch.x) messages.push(decodeEntry(bytes))
  return { floor: batch.f, messages }
}

/** One entry of a batch: validated message, or the error that rejected it. */
function decodeEntry (bytes: Uint8Array): NodeMessage | CodecError {
  const fast = decodeCanonicalMessage(bytes, 0, bytes.byteLength)
  if (fast !== undefined) return fast
  try {
    const m = codec.decode(bytes)
    if (m.t === 'b') throw new CodecError('ERR_FIELD', 'nested batch')
    return m
  } catch (err) {
    return err instanceof CodecError ? err : new CodecError('ERR_FIELD', 'invalid message', { cause: err })
  }
}

/**
 * The fast reader of a batch as this module writes it (canonical field order and header forms). Anything else,
 * valid or not, gives `undefined` and goes to the schema codec, which has the last word: whatever this accepts,
 * the codec accepts with the same result.
 */
function decodeCanonicalBatch (plaintext: Uint8Array): DecodedBatch | undefined {
  // Views handed out are plain Uint8Arrays, as the codec's are (a Buffer's subarray would be a Buffer).
  const b = plaintext.constructor === Uint8Array ? plaintext : new Uint8Array(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength)
  const end = b.byteLength
  const h = b[0]
  if ((h !== 0x83 && h !== 0x84) || end < 11) return undefined
  if (b[1] !== KEY_T[0] || b[2] !== KEY_T[1] || b[3] !== KEY_T[2] || b[4] !== KEY_T[3]) return undefined
  if (b[5] !== KEY_V[0] || b[6] !== KEY_V[1] || b[7] !== KEY_V[2]) return undefined
  let pos = 8
  let floor: Uint8Array | undefined
  if (h === 0x84) {
    if (pos + 20 > end || b[pos] !== KEY_F[0] || b[pos + 1] !== KEY_F[1] || b[pos + 2] !== KEY_F[2] || b[pos + 3] !== KEY_F[3]) return undefined
    floor = b.subarray(pos + 4, pos + 20)
    pos += 20
  }
  if (pos + 3 > end || b[pos] !== KEY_X[0] || b[pos + 1] !== KEY_X[1]) return undefined
  pos += 2
  const n = arrayLengthAt(b, pos, end)
  if (n < 0) return undefined
  pos += arrayHeaderBytes(n)
  if (n > BATCH_MESSAGES_LIMIT || n > end - pos) return undefined
  const messages: Array<NodeMessage | CodecError> = []
  for (let i = 0; i < n; i++) {
    if (pos + 2 > end) return undefined
    const len = binLengthAt(b, pos, end)
    if (len < 0) return undefined
    pos += binHeaderBytes(len)
    if (len < 1 || pos + len > end) return undefined
    messages.push(decodeCanonicalMessage(b, pos, pos + len) ?? decodeCanonicalAck(b, pos, pos + len) ?? decodeEntry(b.subarray(pos, pos + len)))
    pos += len
  }
  if (pos !== end) return undefined
  return { floor, messages }
}

/**
 * The fast reader of a query or one-way message as {@link encodeBytesMessage} writes it (payload a byte string,
 * a small integer or nil; ASCII type). Anything else gives `undefined` (the schema codec decodes it).
 */
function decodeCanonicalMessage (v: Uint8Array, start: number, end: number): QueryMsg | OnewayMsg | undefined {
  const o = start
  const h = v[o]
  if ((h !== 0x85 && h !== 0x86) || end - o < 34) return undefined
  if (v[o + 1] !== 0xa1 || v[o + 2] !== 0x74 || v[o + 3] !== 0xa1) return undefined
  const tc = v[o + 4]
  if (tc !== 0x6f && tc !== 0x71) return undefined
  if (v[o + 5] !== 0xa1 || v[o + 6] !== 0x76 || v[o + 7] !== PROTOCOL_VERSION) return undefined
  if (v[o + 8] !== 0xa1 || v[o + 9] !== 0x6d || v[o + 10] !== 0xc4 || v[o + 11] !== 16) return undefined
  if (v[o + 28] !== 0xa1 || v[o + 29] !== 0x79) return undefined
  const sh = v[o + 30]!
  if (sh < 0xa1 || sh > 0xbf) return undefined
  const ylen = sh & 0x1f
  let pos = o + 31
  if (pos + ylen + 3 > end) return undefined
  let y = ''
  for (let i = pos; i < pos + ylen; i++) {
    const c = v[i]!
    if (c >= 0x80) return undefined
    y += String.fromCharCode(c)
  }
  pos += ylen
  if (v[pos] !== 0xa1 || v[pos + 1] !== 0x70) return undefined
  pos += 2
  const ph = v[pos]!
  let p: unknown
  if (ph <= 0x7f) {
    p = ph
    pos += 1
  } else if (ph === 0xc0) {
    p = null
    pos += 1
  } else {
    const len = binLengthAt(v, pos, end)
    if (len < 0) return undefined
    pos += binHeaderBytes(len)
    if (pos + len > end) return undefined
    p = v.subarray(pos, pos + len)
    pos += len
  }
  let d: number | undefined
  if (h === 0x86) {
    if (pos + 3 > end || v[pos] !== 0xa1 || v[pos + 1] !== 0x64) return undefined
    pos += 2
    const dh = v[pos]!
    if (dh <= 0x7f) {
      d = dh
      pos += 1
    } else if (dh === 0xcc && pos + 2 <= end) {
      d = v[pos + 1]!
      pos += 2
    } else if (dh === 0xcd && pos + 3 <= end) {
      d = (v[pos + 1]! << 8) | v[pos + 2]!
      pos += 3
    } else if (dh === 0xce && pos + 5 <= end) {
      d = ((v[pos + 1]! << 24) >>> 0) + (v[pos + 2]! << 16) + (v[pos + 3]! << 8) + v[pos + 4]!
      pos += 5
    } else {
      return undefined
    }
  }
  if (pos !== end) return undefined
  const m = v.subarray(o + 12, o + 28)
  const t = tc === 0x6f ? 'o' : 'q'
  return (d === undefined ? { t, m, y, p } : { t, m, y, p, d }) as QueryMsg | OnewayMsg
}

type AckMsg = Extract<NodeMessage, { t: 'k' }>
/** Most counters in one compact acknowledgement (codec's MAX_ACK_COUNTERS). */
const MAX_ACK_COUNTERS = 8192

/**
 * The fast reader of a compact acknowledgement as the sender writes it (`{ t: 'k', v, e, c }`, counters up to
 * 2^32 - 1); anything else gives `undefined` (the schema codec decodes it).
 */
function decodeCanonicalAck (v: Uint8Array, start: number, end: number): AckMsg | undefined {
  const o = start
  if (end - o < 22 || v[o] !== 0x84) return undefined
  if (v[o + 1] !== 0xa1 || v[o + 2] !== 0x74 || v[o + 3] !== 0xa1 || v[o + 4] !== 0x6b) return undefined
  if (v[o + 5] !== 0xa1 || v[o + 6] !== 0x76 || v[o + 7] !== PROTOCOL_VERSION) return undefined
  if (v[o + 8] !== 0xa1 || v[o + 9] !== 0x65 || v[o + 10] !== 0xc4 || v[o + 11] !== 8) return undefined
  if (v[o + 20] !== 0xa1 || v[o + 21] !== 0x63) return undefined
  let pos = o + 22
  const n = arrayLengthAt(v, pos, end)
  if (n < 0) return undefined
  pos += arrayHeaderBytes(n)
  if (n < 1 || n > MAX_ACK_COUNTERS || n > end - pos) return undefined
  const c = new Array<number>(n)
  for (let i = 0; i < n; i++) {
    if (pos >= end) return undefined
    const h = v[pos]!
    if (h <= 0x7f) {
      c[i] = h
      pos += 1
    } else if (h === 0xcc && pos + 2 <= end) {
      c[i] = v[pos + 1]!
      pos += 2
    } else if (h === 0xcd && pos + 3 <= end) {
      c[i] = (v[pos + 1]! << 8) | v[pos + 2]!
      pos += 3
    } else if (h === 0xce && pos + 5 <= end) {
      c[i] = ((v[pos + 1]! << 24) >>> 0) + (v[pos + 2]! << 16) + (v[pos + 3]! << 8) + v[pos + 4]!
      pos += 5
    } else {
      return undefined
    }
  }
  if (pos !== end) return undefined
  return { t: 'k', e: v.subarray(o + 12, o + 20), c }
}
