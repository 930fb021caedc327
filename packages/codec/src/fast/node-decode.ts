// The node's fast readers: batches, query/one-way messages and compact acknowledgements as node.ts and the node's
// sender write them. Whatever they accept, the schema codec accepts with the same result; anything else goes to it.
// Contact info (`ci`) is the exception: a batch hands it over undecoded (see ContactInfoEntry).
import { PROTOCOL_VERSION } from '../constants.ts'
import { CodecError } from '../errors.ts'
import { MAX_ACK_COUNTERS, MAX_ACKS_PER_MESSAGE, MAX_BATCH_MESSAGES } from '../messages/node.ts'
import { BATCH_KEY_F, BATCH_KEY_T, BATCH_KEY_V, BATCH_KEY_X, nodeCodec } from './node.ts'
import type { AckMsg, BatchEntry, ContactInfoEntry, ContactInfoMsg, OnewayMsg, QueryMsg, ReplyMsg } from './node-types.ts'
import { arrayHeaderBytes, arrayLengthAt, binHeaderBytes, binLengthAt, plainBytes, readU32, uintAt, uintBytes } from './primitives.ts'

export interface DecodedBatch {
  floor: Uint8Array | undefined
  /**
   * Each entry is a validated message or the error that rejected it (one bad message spoils only itself); a
   * contact-info entry is not decoded (a {@link ContactInfoEntry}).
   */
  messages: Array<BatchEntry | CodecError>
}

/**
 * Decode untrusted plaintext: a batch whose entries are validated one by one.
 * @throws {CodecError} when the plaintext is not a batch at all
 */
export function decodeBatch (plaintext: Uint8Array): DecodedBatch {
  const fast = decodeCanonicalBatch(plaintext)
  if (fast !== undefined) return fast
  const batch = nodeCodec.decode(plaintext)
  if (batch.t !== 'b') throw new CodecError('ERR_UNKNOWN_TYPE', `expected a batch, got ${batch.t}`)
  const messages: Array<BatchEntry | CodecError> = []
  for (const bytes of batch.x) messages.push(decodeEntry(bytes))
  return { floor: batch.f, messages }
}

/** One entry of a batch: validated message, or the error that rejected it. */
function decodeEntry (bytes: Uint8Array): BatchEntry | CodecError {
  const fast = decodeCanonicalMessage(bytes, 0, bytes.length)
  if (fast !== undefined) return fast
  try {
    const m = nodeCodec.decode(bytes)
    if (m.t === 'b') throw new CodecError('ERR_FIELD', 'nested batch')
    if (m.t === 'ci') return { t: 'ci', bytes }
    return m
  } catch (err) {
    return err instanceof CodecError ? err : new CodecError('ERR_FIELD', 'invalid message', { cause: err })
  }
}

/**
 * The fast reader of a batch as node.ts writes it (canonical field order and header forms). Anything else,
 * valid or not, gives `undefined` and goes to the schema codec.
 */
function decodeCanonicalBatch (plaintext: Uint8Array): DecodedBatch | undefined {
  const b = plainBytes(plaintext)
  const end = b.length
  const h = b[0]
  if ((h !== 0x83 && h !== 0x84) || end < 11) return undefined
  if (b[1] !== BATCH_KEY_T[0] || b[2] !== BATCH_KEY_T[1] || b[3] !== BATCH_KEY_T[2] || b[4] !== BATCH_KEY_T[3]) return undefined
  if (b[5] !== BATCH_KEY_V[0] || b[6] !== BATCH_KEY_V[1] || b[7] !== BATCH_KEY_V[2]) return undefined
  let pos = 8
  let floor: Uint8Array | undefined
  if (h === 0x84) {
    if (pos + 20 > end || b[pos] !== BATCH_KEY_F[0] || b[pos + 1] !== BATCH_KEY_F[1] || b[pos + 2] !== BATCH_KEY_F[2] || b[pos + 3] !== BATCH_KEY_F[3]) return undefined
    floor = b.subarray(pos + 4, pos + 20)
    pos += 20
  }
  if (pos + 3 > end || b[pos] !== BATCH_KEY_X[0] || b[pos + 1] !== BATCH_KEY_X[1]) return undefined
  pos += 2
  const n = arrayLengthAt(b, pos, end)
  if (n < 0) return undefined
  pos += arrayHeaderBytes(n)
  if (n > MAX_BATCH_MESSAGES || n > end - pos) return undefined
  const messages: Array<BatchEntry | CodecError> = []
  for (let i = 0; i < n; i++) {
    if (pos + 2 > end) return undefined
    const len = binLengthAt(b, pos, end)
    if (len < 0) return undefined
    pos += binHeaderBytes(len)
    if (len < 1 || pos + len > end) return undefined
    messages.push(decodeCanonicalEntry(b, pos, pos + len) ?? decodeEntry(b.subarray(pos, pos + len)))
    pos += len
  }
  if (pos !== end) return undefined
  return { floor, messages }
}

/** The fast reader for the entry's type (read where every node message has it); `undefined`: the codec decodes it. */
function decodeCanonicalEntry (v: Uint8Array, start: number, end: number): BatchEntry | undefined {
  if (end - start < 10) return undefined
  switch (v[start + 4]) {
    case 0x71: case 0x6f: return decodeCanonicalMessage(v, start, end)
    case 0x6b: return v[start] === 0x84 ? decodeCanonicalAck(v, start, end) : decodeCanonicalIdAck(v, start, end)
    case 0x61: return decodeCanonicalReply(v, start, end)
    case 0x63: return isCanonicalContactInfo(v, start, end) ? { t: 'ci', bytes: v.subarray(start, end) } : undefined
    default: return undefined
  }
}

/** Where a canonical `ci` message's record starts: `{ t: 'ci', v, r: {` (a 7-entry map). */
const CI_HEAD = [0x83, 0xa1, 0x74, 0xa2, 0x63, 0x69, 0xa1, 0x76, PROTOCOL_VERSION, 0xa1, 0x72, 0x87]
/** `id: <bin 20>` opens the record; `k: <bin 32>`, then `q`, follow. */
const CI_ID_KEY = [0xa2, 0x69, 0x64, 0xc4, 20]
const CI_ID_AT = CI_HEAD.length + CI_ID_KEY.length
const CI_K_KEY = [0xa1, 0x6b, 0xc4, 32]
const CI_K_AT = CI_ID_AT + 20 + CI_K_KEY.length
const CI_Q_KEY = [0xa1, 0x71]
const CI_Q_AT = CI_K_AT + 32 + CI_Q_KEY.length

const matchesAt = (v: Uint8Array, pos: number, expected: readonly number[]): boolean => {
  for (let i = 0; i < expected.length; i++) if (v[pos + i] !== expected[i]) return false
  return true
}

/** Whether `v[start, end)` begins as a canonical `ci` message up to its record's `q` (nothing after is read). */
function isCanonicalContactInfo (v: Uint8Array, start: number, end: number): boolean {
  return end - start > CI_Q_AT && matchesAt(v, start, CI_HEAD) && matchesAt(v, start + CI_HEAD.length, CI_ID_KEY) &&
    matchesAt(v, start + CI_ID_AT + 20, CI_K_KEY) && matchesAt(v, start + CI_K_AT + 32, CI_Q_KEY)
}

/**
 * Who a contact-info entry's record is of (its raw node ID, a view) and its `seq`, read from the first bytes of
 * a canonical entry without decoding the rest: enough to tell a record the receiver holds already (no newer
 * `seq`) and skip it. NOT a validation: a record worth keeping goes through {@link decodeContactInfo} (then the
 * signature check). `undefined` when the entry is not canonical (decode it to know).
 */
export function peekContactInfo (entry: ContactInfoEntry): { id: Uint8Array, seq: number } | undefined {
  const v = entry.bytes
  if (!isCanonicalContactInfo(v, 0, v.length)) return undefined
  const seq = uintAt(v, CI_Q_AT, v.length)
  return seq < 0 ? undefined : { id: v.subarray(CI_ID_AT, CI_ID_AT + 20), seq }
}

/** After `q`: `x`, then empty `e` and `s`, then `g: <bin 64>` ending the entry. */
const CI_X_KEY = [0xa1, 0x78]
const CI_BARE_TAIL = [0xa1, 0x65, 0x90, 0xa1, 0x73, 0x90, 0xa1, 0x67, 0xc4, 64]

/**
 * A canonical `ci` entry whose record has no endpoints and no services (a node without listeners: most of the
 * records a server is sent), read without the schema decoder: the same fields it would give (views of `v`).
 * `undefined` for anything else, which the schema decoder then reads or refuses.
 */
function readBareContactInfo (v: Uint8Array): ContactInfoMsg['r'] | undefined {
  const end = v.length
  if (!isCanonicalContactInfo(v, 0, end)) return undefined
  const q = uintAt(v, CI_Q_AT, end)
  if (q < 0) return undefined
  let pos = CI_Q_AT + uintBytes(q)
  if (!matchesAt(v, pos, CI_X_KEY)) return undefined
  const x = uintAt(v, pos + CI_X_KEY.length, end)
  if (x < 0) return undefined
  pos += CI_X_KEY.length + uintBytes(x)
  if (!matchesAt(v, pos, CI_BARE_TAIL) || pos + CI_BARE_TAIL.length + 64 !== end) return undefined
  return { id: v.subarray(CI_ID_AT, CI_ID_AT + 20), k: v.subarray(CI_K_AT, CI_K_AT + 32), q, x, e: [], s: [], g: v.subarray(end - 64, end) }
}

/**
 * Decode and validate a contact-info entry of a batch: its record's wire fields (views of `entry.bytes`).
 * @throws {CodecError} as decoding a `ci` message does, ERR_UNKNOWN_TYPE for another message
 */
export function decodeContactInfo (entry: ContactInfoEntry): ContactInfoMsg['r'] {
  const bare = readBareContactInfo(entry.bytes)
  if (bare !== undefined) return bare
  const m = nodeCodec.decode(entry.bytes)
  if (m.t !== 'ci') throw new CodecError('ERR_UNKNOWN_TYPE', `expected contact info, got ${m.t}`)
  return m.r
}

/**
 * The fast reader of a reply with a byte-string payload as `encodePayloadMessage` writes it (`{ t: 'a', v, m, p }`);
 * anything else gives `undefined` (the schema codec decodes it).
 */
function decodeCanonicalReply (v: Uint8Array, start: number, end: number): ReplyMsg | undefined {
  const o = start
  if (end - o < 32 || v[o] !== 0x84) return undefined
  if (v[o + 1] !== 0xa1 || v[o + 2] !== 0x74 || v[o + 3] !== 0xa1 || v[o + 4] !== 0x61) return undefined
  if (v[o + 5] !== 0xa1 || v[o + 6] !== 0x76 || v[o + 7] !== PROTOCOL_VERSION) return undefined
  if (v[o + 8] !== 0xa1 || v[o + 9] !== 0x6d || v[o + 10] !== 0xc4 || v[o + 11] !== 16) return undefined
  if (v[o + 28] !== 0xa1 || v[o + 29] !== 0x70) return undefined
  let pos = o + 30
  const len = binLengthAt(v, pos, end)
  if (len < 0) return undefined
  pos += binHeaderBytes(len)
  if (pos + len !== end) return undefined
  return { t: 'a', m: v.subarray(o + 12, o + 28), p: v.subarray(pos, end) }
}

/**
 * The fast reader of an acknowledgement by full IDs as `encodeMessage` writes it (`{ t: 'k', v, m: [id, …] }`);
 * anything else gives `undefined` (the schema codec decodes it).
 */
function decodeCanonicalIdAck (v: Uint8Array, start: number, end: number): AckMsg | undefined {
  const o = start
  if (end - o < 29 || v[o] !== 0x83) return undefined
  if (v[o + 1] !== 0xa1 || v[o + 2] !== 0x74 || v[o + 3] !== 0xa1 || v[o + 4] !== 0x6b) return undefined
  if (v[o + 5] !== 0xa1 || v[o + 6] !== 0x76 || v[o + 7] !== PROTOCOL_VERSION) return undefined
  if (v[o + 8] !== 0xa1 || v[o + 9] !== 0x6d) return undefined
  let pos = o + 10
  const n = arrayLengthAt(v, pos, end)
  if (n < 1 || n > MAX_ACKS_PER_MESSAGE) return undefined
  pos += arrayHeaderBytes(n)
  if (pos + 18 * n !== end) return undefined
  const m = new Array<Uint8Array>(n)
  for (let i = 0; i < n; i++) {
    if (v[pos] !== 0xc4 || v[pos + 1] !== 16) return undefined
    m[i] = v.subarray(pos + 2, pos + 18)
    pos += 18
  }
  return { t: 'k', m }
}

/**
 * The fast reader of a query or one-way message as `encodeBytesMessage` writes it (payload a byte string,
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
    d = uintAt(v, pos, end)
    if (d < 0) return undefined
    pos += uintBytes(d)
  }
  if (pos !== end) return undefined
  const m = v.subarray(o + 12, o + 28)
  const t = tc === 0x6f ? 'o' : 'q'
  return (d === undefined ? { t, m, y, p } : { t, m, y, p, d }) as QueryMsg | OnewayMsg
}

/**
 * The fast reader of a compact acknowledgement as the sender writes it (`{ t: 'k', v, e, c }`); anything else
 * gives `undefined` (the schema codec decodes it).
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
  // The counters are read inline, not through uintAt: this loop runs for every acknowledged message, and a call per
  // counter cost a third of its speed (paired bench). It reads any unsigned form up to u32 to the value the schema
  // codec reads; a u64 goes to the schema codec.
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
      c[i] = readU32(v, pos + 1)
      pos += 5
    } else {
      return undefined
    }
  }
  if (pos !== end) return undefined
  return { t: 'k', e: v.subarray(o + 12, o + 20), c }
}
