import { CodecError } from './errors.ts'
import { MAX_POOLED_BYTES, copyBytes, slabBytes, writeArrayHeader, writeBinHeader, writeU32, writeUint } from './fast/primitives.ts'
import { decodeUtf8, malformed, skipValue, unpackTrusted } from './msgpack.ts'

/**
 * A reusable msgpack writer for compiled schemas. It always writes the shortest form of integers and
 * string/bin/array/map headers, as msgpackr does, so its bytes are canonical.
 */
export class Writer {
  buf = new Uint8Array(1024)
  pos = 0

  reset (): void {
    this.pos = 0
  }

  ensure (n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }

  /**
   * A copy of what was written (the internal buffer is reused). Small results are views into a shared
   * slab, as Node's `Buffer` pool does: one ArrayBuffer allocation per slab instead of one per message.
   */
  finish (): Uint8Array {
    const n = this.pos
    if (n > MAX_POOLED_BYTES) return this.buf.slice(0, n)
    const out = slabBytes(n)
    copyBytes(this.buf, 0, out, 0, n)
    return out
  }

  raw (bytes: Uint8Array): void {
    const n = bytes.length
    this.ensure(n)
    copyBytes(bytes, 0, this.buf, this.pos, n)
    this.pos += n
  }

  uint (v: number): void {
    this.ensure(9)
    this.pos = writeUint(this.buf, this.pos, v)
  }

  bool (v: boolean): void {
    this.ensure(1)
    this.buf[this.pos++] = v ? 0xc3 : 0xc2
  }

  #header (n: number, fix: number, fixMax: number, op8: number, op16: number, op32: number): void {
    this.ensure(5)
    const b = this.buf
    if (n <= fixMax) {
      b[this.pos++] = fix | n
    } else if (op8 !== 0 && n < 0x100) {
      b[this.pos++] = op8
      b[this.pos++] = n
    } else if (n < 0x10000) {
      b[this.pos++] = op16
      b[this.pos++] = n >>> 8
      b[this.pos++] = n
    } else {
      b[this.pos++] = op32
      this.pos = writeU32(b, this.pos, n)
    }
  }

  mapHeader (n: number): void { this.#header(n, 0x80, 15, 0, 0xde, 0xdf) }
  arrayHeader (n: number): void {
    this.ensure(5)
    this.pos = writeArrayHeader(this.buf, this.pos, n)
  }

  bin (v: Uint8Array): void {
    const n = v.length
    this.ensure(5 + n)
    this.pos = writeBinHeader(this.buf, this.pos, n)
    copyBytes(v, 0, this.buf, this.pos, n)
    this.pos += n
  }

  str (s: string): void {
    const len = s.length
    if (len < 32) {
      // ASCII fast path: one byte per character, fixstr header.
      this.ensure(1 + len)
      const b = this.buf
      const start = this.pos
      b[this.pos++] = 0xa0 | len
      let ascii = true
      for (let i = 0; i < len; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) { ascii = false; break }
        b[this.pos++] = c
      }
      if (ascii) return
      this.pos = start
    }
    const bytes = encoder.encode(s)
    this.#header(bytes.length, 0xa0, 31, 0xd9, 0xda, 0xdb)
    this.raw(bytes)
  }
}

const encoder = new TextEncoder()

/** A msgpack reader for compiled schemas, with the depth and item budget of one decode. */
export class Reader {
  readonly bytes: Uint8Array
  pos = 0
  depthLeft: number
  readonly maxItems: number
  readonly state = { items: 0 }

  constructor (bytes: Uint8Array, maxDepth: number, maxItems: number) {
    this.bytes = bytes
    this.depthLeft = maxDepth
    this.maxItems = maxItems
  }

  get end (): number {
    return this.bytes.length
  }

  need (n: number): void {
    if (this.pos + n > this.bytes.length) throw malformed('truncated value')
  }

  peek (): number {
    this.need(1)
    return this.bytes[this.pos]!
  }

  #uintN (n: number): number {
    this.need(n)
    const b = this.bytes
    let v = 0
    for (let i = 0; i < n; i++) v = v * 256 + b[this.pos + i]!
    this.pos += n
    return v
  }

  /** A map header; returns its entry count, or -1 (nothing consumed) when the next value is not a map. */
  mapHeader (): number {
    const b = this.peek()
    let n: number
    if (b >= 0x80 && b <= 0x8f) { this.pos++; n = b & 0x0f } else if (b === 0xde) { this.pos++; n = this.#uintN(2) } else if (b === 0xdf) { this.pos++; n = this.#uintN(4) } else return -1
    this.#count(n, 2)
    return n
  }

  arrayHeader (): number {
    const b = this.peek()
    let n: number
    if (b >= 0x90 && b <= 0x9f) { this.pos++; n = b & 0x0f } else if (b === 0xdc) { this.pos++; n = this.#uintN(2) } else if (b === 0xdd) { this.pos++; n = this.#uintN(4) } else return -1
    this.#count(n, 1)
    return n
  }

  #count (n: number, minBytesEach: number): void {
    this.state.items += n
    if (this.state.items > this.maxItems) throw malformed(`more than ${this.maxItems} items`)
    if (n * minBytesEach > this.end - this.pos) throw malformed('container length exceeds the input')
  }

  enter (): void {
    if (--this.depthLeft < 0) throw malformed('nested deeper than the depth limit')
  }

  leave (): void {
    this.depthLeft++
  }

  /** True (and consumed) when the next value is the one-character string `char` (a fixstr key). */
  fixKey (char: number): boolean {
    if (this.pos + 2 > this.bytes.length || this.bytes[this.pos] !== 0xa1 || this.bytes[this.pos + 1] !== char) return false
    this.pos += 2
    return true
  }

  /** A string, or undefined (nothing consumed) when the next value is not a string. */
  str (): string | undefined {
    const b = this.peek()
    let len: number
    if (b >= 0xa0 && b <= 0xbf) { this.pos++; len = b & 0x1f } else if (b === 0xd9) { this.pos++; len = this.#uintN(1) } else if (b === 0xda) { this.pos++; len = this.#uintN(2) } else if (b === 0xdb) { this.pos++; len = this.#uintN(4) } else return undefined
    this.need(len)
    const bytes = this.bytes
    const start = this.pos
    this.pos += len
    if (len <= 32) {
      let s = ''
      for (let i = start; i < start + len; i++) {
        const c = bytes[i]!
        if (c >= 0x80) return decodeUtf8(bytes.subarray(start, start + len))
        s += String.fromCharCode(c)
      }
      return s
    }
    return decodeUtf8(bytes.subarray(start, start + len))
  }

  /** A non-negative integer (any msgpack integer encoding, or an integral float), or undefined. */
  uint (): number | undefined {
    const b = this.peek()
    if (b <= 0x7f) { this.pos++; return b }
    switch (b) {
      case 0xcc: this.pos++; return this.#uintN(1)
      case 0xcd: this.pos++; return this.#uintN(2)
      case 0xce: this.pos++; return this.#uintN(4)
      case 0xcf: {
        this.pos++
        const v = this.#uintN(8)
        if (!Number.isSafeInteger(v)) throw malformed('integer beyond 2^53')
        return v
      }
      case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
        // Signed encodings of non-negative values are accepted (other encoders use them).
        const n = b === 0xd0 ? 1 : b === 0xd1 ? 2 : b === 0xd2 ? 4 : 8
        this.need(1 + n)
        if ((this.bytes[this.pos + 1]! & 0x80) !== 0) return undefined
        this.pos++
        const v = this.#uintN(n)
        if (!Number.isSafeInteger(v)) throw malformed('integer beyond 2^53')
        return v
      }
      case 0xcb: {
        this.need(9)
        const v = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos + 1, 8).getFloat64(0)
        if (!Number.isSafeInteger(v) || v < 0) return undefined
        this.pos += 9
        return v
      }
      default: return undefined
    }
  }

  bool (): boolean | undefined {
    const b = this.peek()
    if (b === 0xc2 || b === 0xc3) { this.pos++; return b === 0xc3 }
    return undefined
  }

  /** True (and consumed) when the next value is nil. */
  nil (): boolean {
    if (this.peek() !== 0xc0) return false
    this.pos++
    return true
  }

  /** A binary value as a plain Uint8Array view into the input, or undefined. */
  bin (): Uint8Array | undefined {
    const b = this.peek()
    let len: number
    if (b === 0xc4) { this.pos++; len = this.#uintN(1) } else if (b === 0xc5) { this.pos++; len = this.#uintN(2) } else if (b === 0xc6) { this.pos++; len = this.#uintN(4) } else return undefined
    this.need(len)
    const out = new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + this.pos, len)
    this.pos += len
    return out
  }

  /** Any value, checked by the scanner and decoded by msgpackr (small scalars inline). */
  value (): unknown {
    const b = this.peek()
    if (b <= 0x7f) { this.pos++; return b }
    if (b === 0xc0) { this.pos++; return null }
    if (b === 0xc2 || b === 0xc3) { this.pos++; return b === 0xc3 }
    if ((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb)) return this.str()
    if (b >= 0xc4 && b <= 0xc6) return this.bin()
    const start = this.pos
    this.pos = skipValue(this.bytes, start, this.depthLeft, this.maxItems, this.state)
    return normaliseBytes(unpackTrusted(this.bytes.subarray(start, this.pos)), 0)
  }

  /** Skip one value of any type (checked). */
  skip (): void {
    this.pos = skipValue(this.bytes, this.pos, this.depthLeft, this.maxItems, this.state)
  }
}

/** msgpackr returns Buffers for bin; the public API promises plain Uint8Array. */
export function normaliseBytes (v: unknown, depth: number): unknown {
  if (v instanceof Uint8Array) return v.constructor === Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.length)
  if (depth > 64 || v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = normaliseBytes(v[i], depth + 1)
    return v
  }
  const o = v as Record<string, unknown>
  for (const k of Object.keys(o)) o[k] = normaliseBytes(o[k], depth + 1)
  return v
}

export function fieldError (path: string, what: string): CodecError {
  return new CodecError('ERR_FIELD', `${path}: ${what}`)
}
