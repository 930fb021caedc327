/*
 * The canonical encoding of a contact record's signed fields (what its signature covers), written directly:
 * byte for byte what `encodeCanonical` writes for the same value (keys sorted, shortest integers below 2^32,
 * float64 above, as msgpackr does; proven by test/fast-record.test.ts), without sorting copies of the value and
 * without msgpackr. Every new peer's record is checked once: this is most of what that check costs besides the
 * signature. Anything it does not expect (a non-ASCII string, a key it does not know, a non-integer) gives
 * undefined, and the caller encodes with `encodeCanonical`.
 */
import { binHeaderBytes, uintBytes, writeBinHeader, writeUint } from './primitives.ts'

/** The signed fields of a contact record (the `cr` message without `t` and `g`), as identity builds them. */
export interface RecordSignedFields {
  readonly id: Uint8Array
  readonly k: Uint8Array
  readonly q: number
  readonly x: number
  readonly e: ReadonlyArray<{ readonly kind: string, readonly host: string, readonly port: number, readonly relay?: string }>
  readonly s: readonly string[]
}

/** Bytes of a number as msgpackr writes it: a shortest unsigned integer below 2^32, else a float64; -1: not ours. */
function numberBytes (v: number): number {
  if (!Number.isInteger(v) || v < 0) return -1
  return v < 0x1_0000_0000 ? uintBytes(v) : 9
}

/** Bytes of an ASCII string as fixstr / str8 / str16; -1 for anything else (the generic encoder decides). */
function strBytes (s: unknown): number {
  if (typeof s !== 'string' || s.length >= 0x1_0000) return -1
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return -1
  return s.length + (s.length < 32 ? 1 : s.length < 0x100 ? 2 : 3)
}

function writeNumber (out: Uint8Array, view: DataView, pos: number, v: number): number {
  if (v < 0x1_0000_0000) return writeUint(out, pos, v)
  out[pos] = 0xcb
  view.setFloat64(pos + 1, v)
  return pos + 9
}

function writeStr (out: Uint8Array, pos: number, s: string): number {
  const n = s.length
  if (n < 32) {
    out[pos++] = 0xa0 | n
  } else if (n < 0x100) {
    out[pos++] = 0xd9
    out[pos++] = n
  } else {
    out[pos++] = 0xda
    out[pos++] = n >>> 8
    out[pos++] = n
  }
  for (let i = 0; i < n; i++) out[pos + i] = s.charCodeAt(i)
  return pos + n
}

function writeBin (out: Uint8Array, pos: number, b: Uint8Array): number {
  pos = writeBinHeader(out, pos, b.length)
  out.set(b, pos)
  return pos + b.length
}

// Keys as fixstr, in sorted order: the record's e, id, k, q, s, x; an endpoint's host, kind, port (, relay).
const K_E = Uint8Array.of(0xa1, 0x65)
const K_ID = Uint8Array.of(0xa2, 0x69, 0x64)
const K_K = Uint8Array.of(0xa1, 0x6b)
const K_Q = Uint8Array.of(0xa1, 0x71)
const K_S = Uint8Array.of(0xa1, 0x73)
const K_X = Uint8Array.of(0xa1, 0x78)
const K_HOST = Uint8Array.of(0xa4, 0x68, 0x6f, 0x73, 0x74)
const K_KIND = Uint8Array.of(0xa4, 0x6b, 0x69, 0x6e, 0x64)
const K_PORT = Uint8Array.of(0xa4, 0x70, 0x6f, 0x72, 0x74)
const K_RELAY = Uint8Array.of(0xa5, 0x72, 0x65, 0x6c, 0x61, 0x79)

function put (out: Uint8Array, pos: number, key: Uint8Array): number {
  for (let i = 0; i < key.length; i++) out[pos + i] = key[i]!
  return pos + key.length
}

/** Bytes of one endpoint's sorted map, or -1 when it is not exactly a tcp or relay endpoint of ASCII strings. */
function endpointBytes (ep: RecordSignedFields['e'][number]): number {
  const keys = Object.keys(ep).length
  const relay = ep.kind === 'relay'
  if ((!relay && ep.kind !== 'tcp') || keys !== (relay ? 4 : 3)) return -1
  const host = strBytes(ep.host)
  const port = numberBytes(ep.port)
  const relayName = relay ? strBytes(ep.relay) : 0
  if (host < 0 || port < 0 || relayName < 0) return -1
  return 1 + K_HOST.length + host + K_KIND.length + strBytes(ep.kind) + K_PORT.length + port +
    (relay ? K_RELAY.length + relayName : 0)
}

/**
 * `head` followed by the canonical encoding of a record's signed fields (`encodeCanonical(fields)`, the same
 * bytes), or undefined when `fields` has anything this writer does not expect (then use `encodeCanonical`).
 */
export function canonicalRecordFields (head: Uint8Array, fields: RecordSignedFields): Uint8Array | undefined {
  const { id, k, q, x, e, s } = fields
  if (Object.keys(fields).length !== 6 || !(id instanceof Uint8Array) || !(k instanceof Uint8Array) ||
    !Array.isArray(e) || e.length >= 16 || !Array.isArray(s) || s.length >= 16) return undefined
  const qBytes = numberBytes(q)
  const xBytes = numberBytes(x)
  if (qBytes < 0 || xBytes < 0) return undefined
  let size = head.length + 1 + K_E.length + 1 + K_ID.length + binHeaderBytes(id.length) + id.length +
    K_K.length + binHeaderBytes(k.length) + k.length + K_Q.length + qBytes + K_S.length + 1 + K_X.length + xBytes
  for (const ep of e) {
    const n = endpointBytes(ep)
    if (n < 0) return undefined
    size += n
  }
  for (const service of s) {
    const n = strBytes(service)
    if (n < 0) return undefined
    size += n
  }
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  out.set(head)
  let pos = head.length
  out[pos++] = 0x86
  pos = put(out, pos, K_E)
  out[pos++] = 0x90 | e.length
  for (const ep of e) {
    const relay = ep.kind === 'relay'
    out[pos++] = relay ? 0x84 : 0x83
    pos = writeStr(out, put(out, pos, K_HOST), ep.host)
    pos = writeStr(out, put(out, pos, K_KIND), ep.kind)
    pos = writeNumber(out, view, put(out, pos, K_PORT), ep.port)
    if (relay) pos = writeStr(out, put(out, pos, K_RELAY), ep.relay!)
  }
  pos = writeBin(out, put(out, pos, K_ID), id)
  pos = writeBin(out, put(out, pos, K_K), k)
  pos = writeNumber(out, view, put(out, pos, K_Q), q)
  pos = put(out, pos, K_S)
  out[pos++] = 0x90 | s.length
  for (const service of s) pos = writeStr(out, pos, service)
  pos = writeNumber(out, view, put(out, pos, K_X), x)
  return pos === size ? out : undefined
}
