/*
 * The node's wire (PROTOCOL.md §Node messages), fast: query and one-way messages with a byte payload, and the
 * batch that is the plaintext of every session frame, written straight into exact-size buffers and read back
 * without the generic decoder. Every byte is what the schema codec (messages/node.ts) writes, field order and
 * shortest forms included (test/fast-node.test.ts and the wire corpus prove it); anything the fast readers do not
 * recognise goes to the schema codec, which has the last word.
 */
import { uninitializedBytes } from '@egtp/interface'
import { PROTOCOL_VERSION } from '../constants.ts'
import { MAX_ACKS_PER_MESSAGE, MAX_BATCH_MESSAGES, nodeMessages } from '../messages/node.ts'
import { scanValue } from '../msgpack.ts'
import { createMessageCodec } from '../schema.ts'
import { MESSAGE_DEPTH_LIMIT, MESSAGE_ITEMS_LIMIT } from './node-types.ts'
import type { MessageBytes, NodeMessage } from './node-types.ts'
import {
  MAX_POOLED_BYTES, arrayHeaderBytes, binHeaderBytes, slabBytes, uintBytes, writeArrayHeader, writeBinHeader,
  writeU32, writeUint
} from './primitives.ts'

/** The codec of node messages with the node's limits (payload depth {@link MESSAGE_DEPTH_LIMIT}). */
export const nodeCodec = createMessageCodec(nodeMessages, { maxDepth: MESSAGE_DEPTH_LIMIT, maxItems: MESSAGE_ITEMS_LIMIT })

/** Encode one node message (canonical bytes). */
export function encodeMessage (message: NodeMessage): Uint8Array {
  if (message.t === 'k' && message.e === undefined && message.c === undefined && message.m !== undefined) {
    const fast = encodeIdAck(message.m)
    if (fast !== undefined) return fast
  }
  return nodeCodec.encode(message)
}

/** Where an encoded message's type character sits (`{ t: <1 char>, v, … }` as every node message starts). */
const TYPE_CHAR_OFFSET = 4

/**
 * `{ t: 'k', v, m: [id, …] }` (acknowledgement by full IDs, as replies are acknowledged) written straight into
 * an exact-size buffer; `undefined` for what the codec must check (a count out of range, an ID not 16 bytes).
 */
function encodeIdAck (ids: readonly Uint8Array[]): Uint8Array | undefined {
  const n = ids.length
  if (n < 1 || n > MAX_ACKS_PER_MESSAGE) return undefined
  for (const id of ids) if (id.length !== 16) return undefined
  const out = allocMessage(10 + arrayHeaderBytes(n) + 18 * n)
  out[0] = 0x83
  out[1] = 0xa1; out[2] = 0x74; out[3] = 0xa1; out[TYPE_CHAR_OFFSET] = 0x6b
  out[5] = 0xa1; out[6] = 0x76; out[7] = PROTOCOL_VERSION
  out[8] = 0xa1; out[9] = 0x6d
  let pos = writeArrayHeader(out, 10, n)
  for (const id of ids) {
    out[pos++] = 0xc4; out[pos++] = 16
    for (let i = 0; i < 16; i++) out[pos++] = id[i]!
  }
  if (pos !== out.length) throw new Error('encodeIdAck: size mismatch')
  return out
}

/**
 * `{ t: 'a', v, m, p }` for a reply whose payload is a byte string, written straight into an exact-size buffer
 * (byte-identical to the codec's encoding); `undefined` when the ID is not 16 bytes.
 */
function encodeBytesReply (m: Uint8Array, p: Uint8Array): Uint8Array | undefined {
  if (m.length !== 16) return undefined
  const plen = p.length
  const out = allocMessage(28 + 2 + binHeaderBytes(plen) + plen)
  out[0] = 0x84
  out[1] = 0xa1; out[2] = 0x74; out[3] = 0xa1; out[TYPE_CHAR_OFFSET] = 0x61
  out[5] = 0xa1; out[6] = 0x76; out[7] = PROTOCOL_VERSION
  out[8] = 0xa1; out[9] = 0x6d; out[10] = 0xc4; out[11] = 16
  for (let i = 0; i < 16; i++) out[12 + i] = m[i]!
  out[28] = 0xa1; out[29] = 0x70
  let pos = writeBinHeader(out, 30, plen)
  if (plen < 64) {
    for (let i = 0; i < plen; i++) out[pos + i] = p[i]!
  } else {
    out.set(p, pos)
  }
  pos += plen
  if (pos !== out.length) throw new Error('encodeBytesReply: size mismatch')
  return out
}

/**
 * Encode a message carrying an application payload, checking the payload will decode at the receiver
 * (nesting depth). Scalars and byte strings need no check.
 */
export function encodePayloadMessage (message: NodeMessage, payload: unknown): Uint8Array {
  if ((message.t === 'o' || message.t === 'q') && payload instanceof Uint8Array && message.p === payload) {
    const fast = encodeBytesMessage(message.t, message.m, message.y, payload, message.d)
    if (fast !== undefined) return fast
  } else if ((message.t === 'o' || message.t === 'q') && Array.isArray(payload) && message.p === payload && message.m.length === 16 && isByteList(payload)) {
    // Many small payloads batched into one message by the application: an array of byte strings.
    const fast = writeBytesMessage(message.t, message.m, message.m, 0, message.y, payload, message.d)
    if (fast !== undefined) return fast
  } else if (message.t === 'a' && payload instanceof Uint8Array && message.p === payload && message.e === undefined) {
    const fast = encodeBytesReply(message.m, payload)
    if (fast !== undefined) return fast
  }
  const bytes = nodeCodec.encode(message)
  if (payload !== null && typeof payload === 'object' && !(payload instanceof Uint8Array)) {
    scanValue(bytes, { maxDepth: MESSAGE_DEPTH_LIMIT, maxItems: MESSAGE_ITEMS_LIMIT })
  }
  return bytes
}

/** Bytes for one fast-path message: a slab view when small (many messages share one ArrayBuffer). */
function allocMessage (n: number): Uint8Array {
  return n > MAX_POOLED_BYTES ? uninitializedBytes(n) : slabBytes(n) // the caller writes every byte
}

/**
 * `{ t, v, m, y, p, d? }` for a query or one-way message whose payload is a byte string, written straight into
 * an exact-size buffer: byte-identical to the codec's encoding (its field order and shortest forms), without
 * the codec's intermediate buffer and copy. `undefined` for what it does not cover (the codec does it).
 */
export function encodeBytesMessage (t: 'o' | 'q', m: Uint8Array, y: string, p: Uint8Array, d: number | undefined): Uint8Array | undefined {
  if (m.length !== 16) return undefined
  return writeBytesMessage(t, m, m, 0, y, p, d)
}

/** Where a message ID sits in {@link encodeBytesMessage}'s output. */
export const BYTES_MESSAGE_ID_OFFSET = 12

/**
 * {@link encodeBytesMessage} of the message `epoch ‖ counter` (the ID is written from its parts, without
 * allocating it: `out.subarray(BYTES_MESSAGE_ID_OFFSET, BYTES_MESSAGE_ID_OFFSET + 16)` is a view of it). A
 * payload of `referenceFromBytes` or more is referenced, not copied: the result is then a {@link SplitMessage}.
 */
export function encodeOwnBytesMessage (t: 'o' | 'q', epoch: Uint8Array, counter: number, y: string, p: Uint8Array, d: number | undefined, referenceFromBytes = Infinity): MessageBytes | undefined {
  if (epoch.length !== 8) return undefined
  return writeBytesMessage(t, undefined, epoch, counter, y, p, d, p.length >= referenceFromBytes)
}

/** An array of byte strings only, within the payload limits (the receiver's item count). */
function isByteList (payload: readonly unknown[]): payload is readonly Uint8Array[] {
  if (payload.length > MESSAGE_ITEMS_LIMIT) return false
  for (let i = 0; i < payload.length; i++) if (!(payload[i] instanceof Uint8Array)) return false
  return true
}

/** The bytes of a payload `p` as the codec writes it: a byte string, or an array of them. */
function payloadBytes (p: Uint8Array | readonly Uint8Array[]): number {
  if (p instanceof Uint8Array) return binHeaderBytes(p.length) + p.length
  let n = arrayHeaderBytes(p.length)
  for (let i = 0; i < p.length; i++) n += binHeaderBytes(p[i]!.length) + p[i]!.length
  return n
}

function writeBytes (out: Uint8Array, pos: number, p: Uint8Array): number {
  const plen = p.length
  if (plen < 64) {
    for (let i = 0; i < plen; i++) out[pos + i] = p[i]!
  } else {
    out.set(p, pos)
  }
  return pos + plen
}

function writeBytesMessage (t: 'o' | 'q', m: Uint8Array | undefined, epoch: Uint8Array, counter: number, y: string, p: Uint8Array | readonly Uint8Array[], d: number | undefined): Uint8Array | undefined
function writeBytesMessage (t: 'o' | 'q', m: Uint8Array | undefined, epoch: Uint8Array, counter: number, y: string, p: Uint8Array, d: number | undefined, reference: boolean): MessageBytes | undefined
function writeBytesMessage (t: 'o' | 'q', m: Uint8Array | undefined, epoch: Uint8Array, counter: number, y: string, p: Uint8Array | readonly Uint8Array[], d: number | undefined, reference = false): MessageBytes | undefined {
  const ylen = y.length
  if (ylen === 0 || ylen > 31) return undefined
  if (d !== undefined && !(Number.isSafeInteger(d) && d >= 0)) return undefined
  for (let i = 0; i < ylen; i++) if (y.charCodeAt(i) >= 0x80) return undefined
  const plen = reference ? (p as Uint8Array).length : 0
  const size = 1 + 4 + 3 + 4 + 16 + 3 + ylen + 2 + payloadBytes(p) + (d !== undefined ? 2 + uintBytes(d) : 0)
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
  let headEnd = pos
  if (p instanceof Uint8Array) {
    pos = writeBinHeader(out, pos, p.length)
    headEnd = pos
    if (!reference) pos = writeBytes(out, pos, p) // else the payload is not copied
  } else {
    pos = writeArrayHeader(out, pos, p.length)
    for (let i = 0; i < p.length; i++) pos = writeBytes(out, writeBinHeader(out, pos, p[i]!.length), p[i]!)
  }
  if (d !== undefined) {
    out[pos++] = 0xa1; out[pos++] = 0x64
    pos = writeUint(out, pos, d)
  }
  if (pos !== out.length) throw new Error('encodeBytesMessage: size mismatch')
  if (!reference) return out
  return { head: out.subarray(0, headEnd), payload: p as Uint8Array, tail: out.subarray(headEnd), length: size }
}

export const BATCH_KEY_T = [0xa1, 0x74, 0xa1, 0x62] // "t": "b"
export const BATCH_KEY_V = [0xa1, 0x76, PROTOCOL_VERSION]
export const BATCH_KEY_F = [0xa1, 0x66, 0xc4, 0x10]
export const BATCH_KEY_X = [0xa1, 0x78]

/**
 * The plaintext of one session frame: `{ t: 'b', v, f?, x: [bin, …] }` with the already encoded messages
 * spliced in as byte strings. Byte-identical to `codec.encode({ t: 'b', f, x })`.
 */
export function encodeBatch (floor: Uint8Array | undefined, parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length > MAX_BATCH_MESSAGES) throw new RangeError(`a batch holds at most ${MAX_BATCH_MESSAGES} messages`)
  if (PROTOCOL_VERSION > 127) throw new RangeError('PROTOCOL_VERSION no longer fits a fixint')
  let size = batchHeadBytes(floor, parts.length)
  for (const p of parts) size += binHeaderBytes(p.length) + p.length
  const out = allocMessage(size) // every byte is written below (a small batch, sealed at once, shares a slab)
  let pos = writeBatchHead(out, floor, parts.length)
  for (const p of parts) {
    pos = writeBinHeader(out, pos, p.length)
    out.set(p, pos)
    pos += p.length
  }
  if (pos !== size) throw new Error('encodeBatch: size mismatch') // never send bytes that were not written
  return out
}

/** Bytes of a batch's map header, `t`, `v`, optional `f` and the `x` array header for `n` messages. */
function batchHeadBytes (floor: Uint8Array | undefined, n: number): number {
  return 1 + BATCH_KEY_T.length + BATCH_KEY_V.length + (floor !== undefined ? BATCH_KEY_F.length + 16 : 0) + BATCH_KEY_X.length + arrayHeaderBytes(n)
}

/** Writes what {@link batchHeadBytes} counts at the start of `out`; returns the position after it. */
function writeBatchHead (out: Uint8Array, floor: Uint8Array | undefined, n: number): number {
  let pos = 0
  out[pos++] = floor !== undefined ? 0x84 : 0x83
  out.set(BATCH_KEY_T, pos); pos += BATCH_KEY_T.length
  out.set(BATCH_KEY_V, pos); pos += BATCH_KEY_V.length
  if (floor !== undefined) {
    out.set(BATCH_KEY_F, pos); pos += BATCH_KEY_F.length
    out.set(floor, pos); pos += 16
  }
  out.set(BATCH_KEY_X, pos); pos += BATCH_KEY_X.length
  return writeArrayHeader(out, pos, n)
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
  for (const p of parts) if (p.length >= SPLICE_BYTES) large++
  if (large === 0) return [encodeBatch(floor, parts as readonly Uint8Array[])]
  if (parts.length > MAX_BATCH_MESSAGES) throw new RangeError(`a batch holds at most ${MAX_BATCH_MESSAGES} messages`)
  let size = batchHeadBytes(floor, parts.length)
  for (const p of parts) {
    size += binHeaderBytes(p.length)
    if (!(p instanceof Uint8Array)) size += p.head.length + p.tail.length
    else if (p.length < SPLICE_BYTES) size += p.length
  }
  const out = uninitializedBytes(size) // every byte is written below
  const pieces: Uint8Array[] = []
  let pos = writeBatchHead(out, floor, parts.length)
  let runStart = 0
  for (const p of parts) {
    pos = writeBinHeader(out, pos, p.length)
    if (!(p instanceof Uint8Array)) {
      out.set(p.head, pos)
      pos += p.head.length
      pieces.push(out.subarray(runStart, pos), p.payload)
      runStart = pos
      out.set(p.tail, pos)
      pos += p.tail.length
    } else if (p.length >= SPLICE_BYTES) {
      pieces.push(out.subarray(runStart, pos), p)
      runStart = pos
    } else {
      out.set(p, pos)
      pos += p.length
    }
  }
  if (pos !== size) throw new Error('encodeBatchParts: size mismatch') // never send bytes that were not written
  if (pos > runStart) pieces.push(out.subarray(runStart, pos))
  return pieces
}
