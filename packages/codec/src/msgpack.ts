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

export function malformed (message: string): CodecError {
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
  const state = { items: 0 }
  const end = skipValue(bytes, 0, limits.maxDepth ?? DEFAULT_MAX_DEPTH, limits.maxItems ?? DEFAULT_MAX_ITEMS, state)
  if (end !== bytes.length) throw malformed(`${bytes.length - end} trailing bytes`)
}

/** Reads a map key (a msgpack string) at `pos`; returns the key and the position after it. */
function readKeyAt (bytes: Uint8Array, pos: number, end: number): [string, number] {
  const b = bytes[pos++]!
  let len: number
  if (b >= 0xa0 && b <= 0xbf) len = b & 0x1f
  else if (b === 0xd9 && pos < end) len = bytes[pos++]!
  else if (b === 0xda && pos + 2 <= end) { len = (bytes[pos]! << 8) | bytes[pos + 1]!; pos += 2 } else if (b === 0xdb && pos + 4 <= end) { len = ((bytes[pos]! << 24) >>> 0) + (bytes[pos + 1]! << 16) + (bytes[pos + 2]! << 8) + bytes[pos + 3]!; pos += 4 } else throw malformed('map key is not a string')
  if (pos + len > end) throw malformed('truncated value')
  let key = ''
  let ascii = len <= 32
  if (ascii) {
    for (let i = 0; i < len; i++) {
      const c = bytes[pos + i]!
      if (c >= 0x80) { ascii = false; break }
      key += String.fromCharCode(c)
    }
  }
  if (!ascii) key = decodeUtf8(bytes.subarray(pos, pos + len))
  return [key, pos + len]
}

/**
 * Skips one msgpack value starting at `start`, checking it as {@link scanValue} does, and returns the
 * position after it. `depthLeft` containers may still be opened; `state.items` accumulates entries.
 * @throws {CodecError} ERR_MALFORMED
 */
export function skipValue (bytes: Uint8Array, start: number, depthLeft: number, maxItems: number, state: { items: number }): number {
  const end = bytes.length
  let pos = start
  // Open containers: values still to read (map entries count twice), and for maps the keys seen so far.
  const remaining: number[] = []
  const keys: Array<string[] | null> = []
  let pendingRoot = 1
  const open = (count: number, isMap: boolean): void => {
    if (remaining.length >= depthLeft) throw malformed('nested deeper than the depth limit')
    state.items += count
    if (state.items > maxItems) throw malformed(`more than ${maxItems} items`)
    // Every entry takes at least one byte (two for a map entry).
    if (count * (isMap ? 2 : 1) > end - pos) throw malformed('container length exceeds the input')
    remaining.push(isMap ? count * 2 : count)
    keys.push(isMap ? [] : null)
  }

  for (;;) {
    while (remaining.length > 0 && remaining[remaining.length - 1] === 0) {
      remaining.pop()
      keys.pop()
    }
    if (remaining.length === 0) {
      if (pendingRoot === 0) return pos
      pendingRoot = 0
    }
    const top = remaining.length - 1
    if (pos >= end) throw malformed('truncated value')
    if (top >= 0) {
      const left = remaining[top]!
      remaining[top] = left - 1
      const seen = keys[top]
      if (seen !== null && seen !== undefined && left % 2 === 0) {
        const [key, next] = readKeyAt(bytes, pos, end)
        pos = next
        if (FORBIDDEN_KEYS.has(key)) throw malformed(`forbidden map key ${JSON.stringify(key)}`)
        if (seen.includes(key)) throw malformed(`duplicate map key ${JSON.stringify(key)}`)
        seen.push(key)
        continue
      }
    }
    const b = bytes[pos++]!
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) continue
    if (b >= 0x80 && b <= 0x8f) { open(b & 0x0f, true); continue }
    if (b >= 0x90 && b <= 0x9f) { open(b & 0x0f, false); continue }
    let len = -1
    switch (b) {
      case 0xa0: case 0xa1: case 0xa2: case 0xa3: case 0xa4: case 0xa5: case 0xa6: case 0xa7:
      case 0xa8: case 0xa9: case 0xaa: case 0xab: case 0xac: case 0xad: case 0xae: case 0xaf:
      case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
      case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
        len = b & 0x1f; break
      case 0xc4: case 0xd9: if (pos + 1 > end) throw malformed('truncated value'); len = bytes[pos]!; pos += 1; break
      case 0xc5: case 0xda: if (pos + 2 > end) throw malformed('truncated value'); len = (bytes[pos]! << 8) | bytes[pos + 1]!; pos += 2; break
      case 0xc6: case 0xdb: if (pos + 4 > end) throw malformed('truncated value'); len = u32At(bytes, pos); pos += 4; break
      case 0xca: len = 4; break
      case 0xcb: len = 8; break
      case 0xcc: case 0xd0: len = 1; break
      case 0xcd: case 0xd1: len = 2; break
      case 0xce: case 0xd2: len = 4; break
      case 0xcf: case 0xd3: {
        if (pos + 8 > end) throw malformed('truncated value')
        const hi = u32At(bytes, pos)
        const unsafe = b === 0xcf ? hi > 0x1f_ffff : (hi & 0x8000_0000) !== 0 ? hi < 0xffe0_0000 : hi > 0x1f_ffff
        if (unsafe) throw malformed('integer beyond 2^53')
        len = 8
        break
      }
      case 0xdc: case 0xde: {
        if (pos + 2 > end) throw malformed('truncated value')
        const n = (bytes[pos]! << 8) | bytes[pos + 1]!
        pos += 2
        open(n, b === 0xde)
        continue
      }
      case 0xdd: case 0xdf: {
        if (pos + 4 > end) throw malformed('truncated value')
        const n = u32At(bytes, pos)
        pos += 4
        open(n, b === 0xdf)
        continue
      }
      default:
        throw malformed(`unsupported msgpack type 0x${b.toString(16)}`)
    }
    if (pos + len > end) throw malformed('truncated value')
    pos += len
  }
}

function u32At (bytes: Uint8Array, pos: number): number {
  return ((bytes[pos]! << 24) >>> 0) + (bytes[pos + 1]! << 16) + (bytes[pos + 2]! << 8) + bytes[pos + 3]!
}

const utf8 = new TextDecoder('utf-8', { fatal: true })
export function decodeUtf8 (bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes)
  } catch (err) {
    throw new CodecError('ERR_MALFORMED', 'invalid UTF-8', { cause: err })
  }
}

/**
 * Encode a value with the configured msgpackr. Map keys keep their insertion order; use
 * {@link encodeCanonical} when the bytes must not depend on it.
 */
export function encodeValue (value: unknown): Uint8Array {
  const out = packr.pack(value)
  return new Uint8Array(out.buffer, out.byteOffset, out.length)
}

/** Decode bytes that {@link skipValue} already checked. */
export function unpackTrusted (bytes: Uint8Array): unknown {
  try {
    // A fresh view: msgpackr caches a DataView on the object it reads, which must not leak onto the caller's.
    return unpackr.unpack(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) as Buffer)
  } catch (err) {
    throw new CodecError('ERR_MALFORMED', 'msgpack decoding failed', { cause: err })
  }
}

/** Encode with msgpackr, returning msgpackr's buffer view (valid until the next pack fills its buffer). */
export function packValue (value: unknown): Uint8Array {
  return packr.pack(value)
}

/**
 * Decode untrusted msgpack: {@link scanValue} first, then msgpackr. Binary values come back as views into
 * `bytes` (no copy): copy them if the input buffer will be reused.
 * @throws {CodecError} ERR_MALFORMED
 */
export function decodeValue (bytes: Uint8Array, limits?: DecodeLimits): unknown {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('decodeValue: bytes must be a Uint8Array')
  if (bytes.length === 0) throw malformed('empty input')
  scanValue(bytes, limits)
  return unpackTrusted(bytes)
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
