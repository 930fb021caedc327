import { Packr, Unpackr } from 'msgpackr'
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_ITEMS } from './constants.ts'
import { CodecError } from './errors.ts'

/** Bounds on the work a hostile value may cost. */
export interface DecodeLimits {
  /** Deepest nesting of arrays and maps. Default {@link DEFAULT_MAX_DEPTH}. */
  maxDepth?: number
  /** Most array items + map entries in total. Default {@link DEFAULT_MAX_ITEMS}. */
  maxItems?: number
}

// The one configured msgpackr: no records/structures, no extensions, no structured clone; maps become plain
// objects (keys are checked by scanValue first, so `__proto__` never reaches it).
const packr = new Packr({
  useRecords: false,
  moreTypes: false,
  structuredClone: false,
  bundleStrings: false,
  variableMapSize: true,
  encodeUndefinedAsNil: false,
  useFloat32: 0
})
const unpackr = new Unpackr({
  useRecords: false,
  moreTypes: false,
  structuredClone: false,
  bundleStrings: false,
  mapsAsObjects: true,
  int64AsType: 'number'
})

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

function malformed (message: string): CodecError {
  return new CodecError('ERR_MALFORMED', message)
}

/**
 * Walks msgpack bytes without allocating, before msgpackr sees them: exactly one value, no trailing bytes,
 * only nil/bool/int/float/str/bin/array/map, map keys are unique strings other than `__proto__`,
 * `constructor` and `prototype`, integers are safe JavaScript integers, and the depth and item limits hold.
 * Declared lengths are checked against the bytes present, so no length can make the decoder allocate.
 * @throws {CodecError} ERR_MALFORMED
 */
export function scanValue (bytes: Uint8Array, limits: DecodeLimits = {}): void {
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH
  const maxItems = limits.maxItems ?? DEFAULT_MAX_ITEMS
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const end = bytes.byteLength
  let pos = 0
  let items = 0
  // Each open container: values still to read; for maps, whether the next is a key, and the keys seen.
  const remaining: number[] = []
  const keySets: Array<Set<string> | null> = []
  const expectKey: boolean[] = []
  let pendingRoot = 1

  const need = (n: number): void => {
    if (pos + n > end) throw malformed('truncated value')
  }
  const open = (count: number, isMap: boolean): void => {
    if (remaining.length >= maxDepth) throw malformed(`nested deeper than ${maxDepth}`)
    items += count
    if (items > maxItems) throw malformed(`more than ${maxItems} items`)
    // Every entry takes at least one byte (two for a map entry).
    if (count * (isMap ? 2 : 1) > end - pos) throw malformed('container length exceeds the input')
    remaining.push(isMap ? count * 2 : count)
    keySets.push(isMap ? new Set() : null)
    expectKey.push(isMap)
  }

  while (pendingRoot > 0 || remaining.length > 0) {
    // Close finished containers.
    while (remaining.length > 0 && remaining[remaining.length - 1] === 0) {
      remaining.pop()
      keySets.pop()
      expectKey.pop()
    }
    if (remaining.length === 0) {
      if (pendingRoot === 0) break
      pendingRoot--
    } else {
      remaining[remaining.length - 1]!--
    }
    const top = remaining.length - 1
    const isKey = top >= 0 && expectKey[top] === true
    if (top >= 0 && keySets[top] !== null) expectKey[top] = !isKey

    need(1)
    const b = bytes[pos++]!
    if (isKey) {
      let len: number
      if (b >= 0xa0 && b <= 0xbf) len = b & 0x1f
      else if (b === 0xd9) { need(1); len = bytes[pos++]! } else if (b === 0xda) { need(2); len = view.getUint16(pos); pos += 2 } else if (b === 0xdb) { need(4); len = view.getUint32(pos); pos += 4 } else throw malformed('map key is not a string')
      need(len)
      const key = len <= 64 ? String.fromCharCode(...bytes.subarray(pos, pos + len)) : decodeUtf8(bytes.subarray(pos, pos + len))
      pos += len
      if (FORBIDDEN_KEYS.has(key)) throw malformed(`forbidden map key ${JSON.stringify(key)}`)
      const keys = keySets[top]!
      if (keys.has(key)) throw malformed(`duplicate map key ${JSON.stringify(key)}`)
      keys.add(key)
      continue
    }

    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) continue
    if (b >= 0x80 && b <= 0x8f) { open(b & 0x0f, true); continue }
    if (b >= 0x90 && b <= 0x9f) { open(b & 0x0f, false); continue }
    if (b >= 0xa0 && b <= 0xbf) { const len = b & 0x1f; need(len); pos += len; continue }
    switch (b) {
      case 0xc4: case 0xd9: { need(1); const len = bytes[pos]!; pos += 1; need(len); pos += len; break }
      case 0xc5: case 0xda: { need(2); const len = view.getUint16(pos); pos += 2; need(len); pos += len; break }
      case 0xc6: case 0xdb: { need(4); const len = view.getUint32(pos); pos += 4; need(len); pos += len; break }
      case 0xca: need(4); pos += 4; break
      case 0xcb: need(8); pos += 8; break
      case 0xcc: case 0xd0: need(1); pos += 1; break
      case 0xcd: case 0xd1: need(2); pos += 2; break
      case 0xce: case 0xd2: need(4); pos += 4; break
      case 0xcf: {
        need(8)
        if (view.getBigUint64(pos) > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed('integer beyond 2^53')
        pos += 8
        break
      }
      case 0xd3: {
        need(8)
        const v = view.getBigInt64(pos)
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw malformed('integer beyond 2^53')
        pos += 8
        break
      }
      case 0xdc: { need(2); const n = view.getUint16(pos); pos += 2; open(n, false); break }
      case 0xdd: { need(4); const n = view.getUint32(pos); pos += 4; open(n, false); break }
      case 0xde: { need(2); const n = view.getUint16(pos); pos += 2; open(n, true); break }
      case 0xdf: { need(4); const n = view.getUint32(pos); pos += 4; open(n, true); break }
      default:
        throw malformed(`unsupported msgpack type 0x${b.toString(16)}`)
    }
  }
  if (pos !== end) throw malformed(`${end - pos} trailing bytes`)
}

const utf8 = new TextDecoder('utf-8', { fatal: true })
function decodeUtf8 (bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes)
  } catch (err) {
    throw new CodecError('ERR_MALFORMED', 'invalid UTF-8 in a map key', { cause: err })
  }
}

/**
 * Encode a value with the configured msgpackr. Map keys keep their insertion order; use
 * {@link encodeCanonical} when the bytes must not depend on it.
 */
export function encodeValue (value: unknown): Uint8Array {
  const out = packr.pack(value)
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
}

/**
 * Decode untrusted msgpack: {@link scanValue} first, then msgpackr. Binary values come back as views into
 * `bytes` (no copy): copy them if the input buffer will be reused.
 * @throws {CodecError} ERR_MALFORMED
 */
export function decodeValue (bytes: Uint8Array, limits?: DecodeLimits): unknown {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('decodeValue: bytes must be a Uint8Array')
  if (bytes.byteLength === 0) throw malformed('empty input')
  scanValue(bytes, limits)
  try {
    // A fresh view: msgpackr caches a DataView on the object it reads, which must not leak onto the caller's.
    return unpackr.unpack(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) as Buffer)
  } catch (err) {
    throw new CodecError('ERR_MALFORMED', 'msgpack decoding failed', { cause: err })
  }
}

/** Recursively rebuilds `value` with map keys sorted by their UTF-16 code units (which match byte order for ASCII). */
function sortKeys (value: unknown, depth: number): unknown {
  if (depth > DEFAULT_MAX_DEPTH * 4) throw new RangeError('encodeCanonical: value nested too deeply')
  if (Array.isArray(value)) return value.map(v => sortKeys(v, depth + 1))
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key]
    if (v !== undefined) out[key] = sortKeys(v, depth + 1)
  }
  return out
}

/**
 * The canonical encoding: msgpack with every map's keys sorted, `undefined` entries omitted, integers in
 * their shortest form, non-integers as float64, binary as `bin`. The same logical value always gives the
 * same bytes, so the result can be hashed or signed.
 */
export function encodeCanonical (value: unknown): Uint8Array {
  return encodeValue(sortKeys(value, 0))
}
