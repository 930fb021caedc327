import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_FIELD_BYTES, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_ITEMS, FRAME_HEADER_BYTES, PROTOCOL_VERSION } from './constants.ts'
import { CodecError } from './errors.ts'
import { malformed, packValue } from './msgpack.ts'
import type { DecodeLimits } from './msgpack.ts'
import { Reader, Writer, fieldError, normaliseBytes } from './wire.ts'

/**
 * A field of a message schema. Schemas are compiled: `read` decodes and validates straight from the wire
 * in one pass, `write` encodes canonically, and `check` validates an already decoded value. Binary values
 * are plain `Uint8Array` views.
 */
export interface Field<T> {
  readonly optional: boolean
  check: (value: unknown, path: string) => T
  read: (reader: Reader, path: string) => T
  write (writer: Writer, value: T): void
}

export type Shape = Record<string, Field<unknown>>
type RequiredKeys<S extends Shape> = { [K in keyof S]: S[K]['optional'] extends true ? never : K }[keyof S]
type OptionalKeys<S extends Shape> = Exclude<keyof S, RequiredKeys<S>>
type Simplify<T> = { [K in keyof T]: T[K] } & {}
/** The TypeScript type a shape describes. */
export type Infer<S extends Shape> = Simplify<
  { -readonly [K in RequiredKeys<S>]: S[K] extends Field<infer T> ? T : never } &
  { -readonly [K in OptionalKeys<S>]?: S[K] extends Field<infer T> ? T : never }
>
export type FieldType<F> = F extends Field<infer T> ? T : never

function isPlainObject (v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)
}

/** Reads a value with `read`, or names the expected type at `path` when it is of another type. */
function expect<T> (v: T | undefined, path: string, what: string): T {
  if (v === undefined) throw fieldError(path, `expected ${what}`)
  return v
}

/** Pre-encoded map keys and field list of a shape, for the compiled paths. */
interface CompiledShape {
  keys: string[]
  fields: Array<Field<unknown>>
  keyBytes: Uint8Array[]
  index: Map<string, number>
  required: number
  /** The field paths (`parent.key`) last built, reused while the parent path stays the same. */
  paths: { parent: string, of: string[] } | undefined
}

function childPaths (c: CompiledShape, parent: string): string[] {
  if (c.paths?.parent !== parent) c.paths = { parent, of: c.keys.map(k => `${parent}.${k}`) }
  return c.paths.of
}

function compile (shape: Shape, prefixKeys: string[] = []): CompiledShape {
  const keys = Object.keys(shape)
  const fields = keys.map(k => shape[k]!)
  const keyWriter = new Writer()
  const keyBytes = keys.map(k => { keyWriter.reset(); keyWriter.str(k); return keyWriter.finish() })
  const index = new Map(keys.map((k, i) => [k, i]))
  for (const p of prefixKeys) if (index.has(p)) throw new TypeError(`shape key ${p} is reserved`)
  return { keys, fields, keyBytes, index, required: fields.filter(f => !f.optional).length, paths: undefined }
}

function checkShape (c: CompiledShape, value: unknown, path: string, skip: readonly string[]): Record<string, unknown> {
  if (!isPlainObject(value)) throw fieldError(path, 'expected a map')
  const out: Record<string, unknown> = {}
  let present = skip.length
  for (let i = 0; i < c.keys.length; i++) {
    const key = c.keys[i]!
    const field = c.fields[i]!
    const v = value[key]
    if (v === undefined || (v === null && field.optional)) {
      if (!field.optional) throw fieldError(`${path}.${key}`, 'missing')
      if (v === null) present++
      continue
    }
    present++
    out[key] = field.check(v, `${path}.${key}`)
  }
  if (Object.keys(value).length !== present) {
    const extra = Object.keys(value).find(k => !c.index.has(k) && !skip.includes(k))
    throw fieldError(path, `unexpected key ${JSON.stringify(extra)}`)
  }
  return out
}

/** The index of the first key at or after `from` whose encoded bytes come next (consumed), or -1. */
function matchKeyBytes (c: CompiledShape, r: Reader, from: number): number {
  const bytes = r.bytes
  const pos = r.pos
  for (let j = from; j < c.keyBytes.length; j++) {
    const key = c.keyBytes[j]!
    const n = key.byteLength
    if (pos + n > bytes.byteLength) continue
    let k = 0
    while (k < n && bytes[pos + k] === key[k]) k++
    if (k === n) {
      r.pos = pos + n
      return j
    }
  }
  return -1
}

/** Reads the remaining `entries` of a map into `out` following the compiled shape. */
function readEntries (c: CompiledShape, r: Reader, entries: number, path: string, out: Record<string, unknown>): void {
  let seen = 0
  let required = 0
  let next = 0
  for (let e = 0; e < entries; e++) {
    // Canonical encoders write fields in schema order: match the encoded key bytes there first.
    let i = matchKeyBytes(c, r, next)
    if (i < 0) {
      const key = r.str()
      if (key === undefined) throw malformed('map key is not a string')
      const found = c.index.get(key)
      if (found === undefined) throw fieldError(path, `unexpected key ${JSON.stringify(key.slice(0, 32))}`)
      i = found
    }
    next = i + 1
    const key = c.keys[i]!
    const bit = 2 ** i
    if ((seen & bit) !== 0) throw malformed(`duplicate map key ${JSON.stringify(key)}`)
    seen |= bit
    const field = c.fields[i]!
    if (field.optional && r.nil()) continue
    if (!field.optional) required++
    out[key] = field.read(r, childPaths(c, path)[i]!)
  }
  if (required !== c.required) {
    const missing = c.keys.find((k, i) => !c.fields[i]!.optional && (seen & 2 ** i) === 0)
    throw fieldError(`${path}.${missing ?? '?'}`, 'missing')
  }
}

function writeEntries (c: CompiledShape, w: Writer, value: Record<string, unknown>): void {
  for (let i = 0; i < c.keys.length; i++) {
    const v = value[c.keys[i]!]
    if (v === undefined) continue
    w.raw(c.keyBytes[i]!)
    c.fields[i]!.write(w, v)
  }
}

function countPresent (c: CompiledShape, value: Record<string, unknown>): number {
  let n = 0
  for (let i = 0; i < c.keys.length; i++) {
    const v = value[c.keys[i]!]
    if (v !== undefined) n++
    else if (!c.fields[i]!.optional) throw new TypeError(`encode: field ${c.keys[i]!} is required`)
  }
  return n
}

function readStruct (c: CompiledShape, r: Reader, path: string): Record<string, unknown> {
  const n = r.mapHeader()
  if (n < 0) throw fieldError(path, 'expected a map')
  r.enter()
  const out: Record<string, unknown> = {}
  readEntries(c, r, n, path, out)
  r.leave()
  return out
}

/** Field constructors. Every bound is explicit, so every decoded value is bounded. */
export const f = {
  /** Bytes: exactly `len`, or between `min` and `max` (default max 1 MiB). */
  bytes (opts: { len?: number, min?: number, max?: number } = {}): Field<Uint8Array> {
    const min = opts.len ?? opts.min ?? 0
    const max = opts.len ?? opts.max ?? DEFAULT_MAX_FIELD_BYTES
    const sized = (v: Uint8Array, path: string): Uint8Array => {
      if (v.byteLength < min || v.byteLength > max) {
        throw fieldError(path, opts.len !== undefined ? `expected ${opts.len} bytes, got ${v.byteLength}` : `expected ${min}..${max} bytes, got ${v.byteLength}`)
      }
      return v
    }
    return {
      optional: false,
      check: (v, path) => {
        if (!(v instanceof Uint8Array)) throw fieldError(path, 'expected bytes')
        return sized(v.constructor === Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength), path)
      },
      read: (r, path) => sized(expect(r.bin(), path, 'bytes'), path),
      write: (w, v) => { w.bin(v) }
    }
  },
  /** A non-negative safe integer up to `max`. */
  uint (opts: { max?: number } = {}): Field<number> {
    const max = opts.max ?? Number.MAX_SAFE_INTEGER
    const bounded = (v: number | undefined, path: string): number => {
      if (v === undefined || v > max) throw fieldError(path, `expected an integer 0..${max}`)
      return v
    }
    return {
      optional: false,
      check: (v, path) => bounded(typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined, path),
      read: (r, path) => bounded(r.uint(), path),
      write: (w, v) => { w.uint(v) }
    }
  },
  /** A UTF-8 string of `min`..`max` characters, optionally matching `pattern`. */
  str (opts: { max?: number, min?: number, pattern?: RegExp } = {}): Field<string> {
    const max = opts.max ?? 256
    const min = opts.min ?? 0
    const valid = (v: unknown, path: string): string => {
      if (typeof v !== 'string' || v.length > max || v.length < min) throw fieldError(path, `expected a string of ${min}..${max} characters`)
      if (opts.pattern !== undefined && !opts.pattern.test(v)) throw fieldError(path, `string does not match ${opts.pattern}`)
      return v
    }
    return { optional: false, check: valid, read: (r, path) => valid(r.str(), path), write: (w, v) => { w.str(v) } }
  },
  bool (): Field<boolean> {
    return {
      optional: false,
      check: (v, path) => { if (typeof v !== 'boolean') throw fieldError(path, 'expected a boolean'); return v },
      read: (r, path) => expect(r.bool(), path, 'a boolean'),
      write: (w, v) => { w.bool(v) }
    }
  },
  /** One of the given strings. */
  literal<const T extends string> (...values: T[]): Field<T> {
    const set = new Set<string>(values)
    const valid = (v: unknown, path: string): T => {
      if (typeof v !== 'string' || !set.has(v)) throw fieldError(path, `expected one of ${values.join(', ')}`)
      return v as T
    }
    return { optional: false, check: valid, read: (r, path) => valid(r.str(), path), write: (w, v) => { w.str(v) } }
  },
  /** An array of `min`..`max` items. */
  array<T> (item: Field<T>, opts: { max: number, min?: number }): Field<T[]> {
    const min = opts.min ?? 0
    const what = `an array of ${min}..${opts.max} items`
    return {
      optional: false,
      check: (v, path) => {
        if (!Array.isArray(v) || v.length > opts.max || v.length < min) throw fieldError(path, `expected ${what}`)
        return v.map((x, i) => item.check(x, `${path}[${i}]`))
      },
      read: (r, path) => {
        const n = r.arrayHeader()
        if (n < 0 || n > opts.max || n < min) throw fieldError(path, `expected ${what}`)
        r.enter()
        const out = new Array<T>(n)
        for (let i = 0; i < n; i++) out[i] = item.read(r, `${path}[${i}]`)
        r.leave()
        return out
      },
      write: (w, v) => {
        w.arrayHeader(v.length)
        for (const x of v) item.write(w, x)
      }
    }
  },
  /** A nested map with exactly these keys (at most 31). */
  struct<S extends Shape> (shape: S): Field<Infer<S>> {
    const c = compile(shape)
    if (c.keys.length > 31) throw new TypeError('struct: at most 31 keys')
    return {
      optional: false,
      check: (v, path) => checkShape(c, v, path, []) as Infer<S>,
      read: (r, path) => readStruct(c, r, path) as Infer<S>,
      write: (w, v) => {
        const o = v as Record<string, unknown>
        w.mapHeader(countPresent(c, o))
        writeEntries(c, w, o)
      }
    }
  },
  /** A map discriminated by the string key `tag` (its first key on the wire), one shape per tag value. */
  union<const K extends string, const M extends Record<string, Shape>> (tag: K, variants: M): Field<{ [V in keyof M]: Simplify<{ [P in K]: V } & Infer<M[V]>> }[keyof M]> {
    type Out = { [V in keyof M]: Simplify<{ [P in K]: V } & Infer<M[V]>> }[keyof M]
    const compiled = new Map(Object.entries(variants).map(([name, shape]) => [name, compile(shape, [tag])]))
    const names = [...compiled.keys()].join(', ')
    const tagWriter = new Writer()
    tagWriter.str(tag)
    const tagBytes = tagWriter.finish()
    return {
      optional: false,
      check: (v, path) => {
        if (!isPlainObject(v)) throw fieldError(path, 'expected a map')
        const name = v[tag]
        const c = typeof name === 'string' ? compiled.get(name) : undefined
        if (c === undefined) throw fieldError(`${path}.${tag}`, `expected one of ${names}`)
        return { [tag]: name, ...checkShape(c, v, path, [tag]) } as Out
      },
      read: (r, path) => {
        const n = r.mapHeader()
        if (n < 1) throw fieldError(path, 'expected a map')
        r.enter()
        if (r.str() !== tag) throw fieldError(path, `expected ${tag} as the first key`)
        const name = r.str()
        const c = name === undefined ? undefined : compiled.get(name)
        if (c === undefined) throw fieldError(`${path}.${tag}`, `expected one of ${names}`)
        const out: Record<string, unknown> = { [tag]: name }
        readEntries(c, r, n - 1, path, out)
        r.leave()
        return out as Out
      },
      write: (w, v) => {
        const o = v as Record<string, unknown>
        const c = compiled.get(o[tag] as string)
        if (c === undefined) throw new TypeError(`encode: unknown ${tag} ${String(o[tag])}`)
        w.mapHeader(1 + countPresent(c, o))
        w.raw(tagBytes)
        w.str(o[tag] as string)
        writeEntries(c, w, o)
      }
    }
  },
  /** Any msgpack value (bounded by the decoder's depth and item limits); encoded with msgpackr. */
  value (): Field<unknown> {
    return {
      optional: false,
      check: (v, path) => {
        if (v === undefined) throw fieldError(path, 'missing')
        return normaliseBytes(v, 0)
      },
      read: (r) => r.value(),
      write: (w, v) => {
        if (typeof v === 'string') w.str(v)
        else if (v instanceof Uint8Array) w.bin(v)
        else if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= Number.MAX_SAFE_INTEGER) w.uint(v)
        else w.raw(packValue(v))
      }
    }
  },
  /** Makes a field optional: absent (or nil) on the wire, `undefined` in TypeScript. */
  optional<T> (field: Field<T>): Field<T> & { readonly optional: true } {
    return { ...field, optional: true as const }
  }
} as const

/** A message type: its tag `t` and its fields. */
export interface MessageSchema<T extends string, S extends Shape> {
  readonly type: T
  readonly shape: S
  readonly keys: readonly string[]
}

/** The typed value of a message schema, tag included (the version `v` is implicit). */
export type MessageOf<M> = M extends MessageSchema<infer T, infer S> ? Simplify<{ t: T } & Infer<S>> : never

/** Declare a message type (at most 29 fields). Field order is the canonical key order on the wire, after `t` and `v`. */
export function defineMessage<const T extends string, S extends Shape> (type: T, shape: S): MessageSchema<T, S> {
  if ('t' in shape || 'v' in shape) throw new TypeError(`defineMessage(${type}): t and v are reserved`)
  if (Object.keys(shape).length > 29) throw new TypeError(`defineMessage(${type}): at most 29 fields`)
  return { type, shape, keys: Object.keys(shape) }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any schema shape
type AnySchema = MessageSchema<string, any>

/** Encoder/decoder for a closed set of message types. */
export interface MessageCodec<U> {
  /** Canonical bytes of a message: a map whose keys are `t`, `v`, then the schema's fields in order. */
  encode: (message: U) => Uint8Array
  /**
   * Decode and validate untrusted bytes in one pass.
   * @throws {CodecError} ERR_MALFORMED, ERR_UNKNOWN_TYPE, ERR_VERSION, ERR_FIELD
   */
  decode: (bytes: Uint8Array) => U
  /**
   * The message as a length-prefixed frame (`encodeFrame(encode(m))` without the extra copy).
   * @throws {CodecError} ERR_FRAME_TOO_LARGE when the body exceeds `maxFrameBytes`
   */
  encodeFrame: (message: U, maxFrameBytes?: number) => Uint8Array
  /** Validate an already decoded value (e.g. from `decodeValue`). */
  validate: (value: unknown) => U
  /** The tags this codec knows. */
  readonly types: readonly string[]
}

export interface MessageCodecInit extends DecodeLimits {
  /** Accepted protocol versions. Default: only {@link PROTOCOL_VERSION}. */
  versions?: readonly number[]
}

const sharedWriter = new Writer()
const T_KEY = Uint8Array.of(0xa1, 0x74) // "t"
const V_KEY = Uint8Array.of(0xa1, 0x76) // "v"

/**
 * Build a codec for a set of message schemas.
 * @example
 * ```ts
 * const Ping = defineMessage('ping', { n: f.uint() })
 * const codec = createMessageCodec([Ping])
 * codec.decode(codec.encode({ t: 'ping', n: 1 })) // { t: 'ping', n: 1 }
 * ```
 */
export function createMessageCodec<const L extends readonly AnySchema[]> (schemas: L, init: MessageCodecInit = {}): MessageCodec<MessageOf<L[number]>> {
  type U = MessageOf<L[number]>
  const byType = new Map<string, { type: string, c: CompiledShape, tagBytes: Uint8Array }>()
  for (const s of schemas) {
    if (byType.has(s.type)) throw new TypeError(`createMessageCodec: duplicate message type ${s.type}`)
    const w = new Writer()
    w.str(s.type)
    byType.set(s.type, { type: s.type, c: compile(s.shape as Shape, ['t', 'v']), tagBytes: w.finish() })
  }
  const versions = new Set(init.versions ?? [PROTOCOL_VERSION])
  const maxDepth = init.maxDepth ?? DEFAULT_MAX_DEPTH
  const maxItems = init.maxItems ?? DEFAULT_MAX_ITEMS

  const schemaFor = (t: unknown): { type: string, c: CompiledShape, tagBytes: Uint8Array } => {
    const schema = typeof t === 'string' ? byType.get(t) : undefined
    if (schema === undefined) throw new CodecError('ERR_UNKNOWN_TYPE', `unknown message type ${JSON.stringify(String(t).slice(0, 32))}`)
    return schema
  }

  return {
    types: [...byType.keys()],
    validate: (value) => {
      if (!isPlainObject(value)) throw new CodecError('ERR_FIELD', 'message is not a map')
      if (typeof value.t !== 'string') throw new CodecError('ERR_FIELD', 'message has no type tag t')
      const schema = schemaFor(value.t)
      if (typeof value.v !== 'number' || !versions.has(value.v)) throw new CodecError('ERR_VERSION', `unsupported protocol version ${String(value.v)} for ${value.t}`)
      return { t: value.t, ...checkShape(schema.c, value, value.t, ['t', 'v']) } as U
    },
    decode: (bytes) => {
      if (!(bytes instanceof Uint8Array)) throw new TypeError('decode: bytes must be a Uint8Array')
      const r = new Reader(bytes, maxDepth, maxItems)
      const n = r.mapHeader()
      if (n < 0) throw new CodecError('ERR_FIELD', 'message is not a map')
      if (n < 2 || !r.fixKey(0x74)) throw new CodecError('ERR_FIELD', 'a message begins with its type tag t')
      const t = r.str()
      if (t === undefined) throw new CodecError('ERR_FIELD', 'message type tag t is not a string')
      const schema = schemaFor(t)
      if (!r.fixKey(0x76)) throw new CodecError('ERR_FIELD', `${t}: the version v follows the type tag`)
      const v = r.uint()
      if (v === undefined || !versions.has(v)) throw new CodecError('ERR_VERSION', `unsupported protocol version ${String(v)} for ${t}`)
      r.enter()
      const out: Record<string, unknown> = { t }
      readEntries(schema.c, r, n - 2, t, out)
      if (r.pos !== bytes.byteLength) throw malformed(`${bytes.byteLength - r.pos} trailing bytes`)
      return out as U
    },
    encode: (message) => {
      sharedWriter.reset()
      writeMessage(message)
      return sharedWriter.finish()
    },
    encodeFrame: (message, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) => {
      const w = sharedWriter
      w.reset()
      w.pos = FRAME_HEADER_BYTES
      writeMessage(message)
      const length = w.pos - FRAME_HEADER_BYTES
      if (length > maxFrameBytes) throw new CodecError('ERR_FRAME_TOO_LARGE', `frame of ${length} bytes exceeds ${maxFrameBytes}`)
      const b = w.buf
      b[0] = length >>> 24
      b[1] = (length >>> 16) & 0xff
      b[2] = (length >>> 8) & 0xff
      b[3] = length & 0xff
      return w.finish()
    }
  }

  function writeMessage (message: U): void {
    const schema = byType.get(message.t)
    if (schema === undefined) throw new TypeError(`encode: unknown message type ${String(message.t)}`)
    const w = sharedWriter
    const o = message as Record<string, unknown>
    w.mapHeader(2 + countPresent(schema.c, o))
    w.raw(T_KEY)
    w.raw(schema.tagBytes)
    w.raw(V_KEY)
    w.uint(PROTOCOL_VERSION)
    writeEntries(schema.c, w, o)
  }
}
