import { PROTOCOL_VERSION } from './constants.ts'
import { CodecError } from './errors.ts'
import { decodeValue, encodeValue } from './msgpack.ts'
import type { DecodeLimits } from './msgpack.ts'

/**
 * A field of a message schema: checks an untrusted decoded value and returns it typed (binary values are
 * normalised to plain `Uint8Array` views), or throws `ERR_FIELD` naming the path.
 */
export interface Field<T> {
  readonly optional: boolean
  check: (value: unknown, path: string) => T
  /** Rebuild a valid value for encoding (nested structs in schema key order). */
  prepare (value: T): unknown
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

function fieldError (path: string, what: string): CodecError {
  return new CodecError('ERR_FIELD', `${path}: ${what}`)
}

const identity = <T>(v: T): unknown => v

function required<T> (check: (value: unknown, path: string) => T, prepare: (v: T) => unknown = identity): Field<T> {
  return { optional: false, check, prepare }
}

function isPlainObject (v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)
}

function checkShape<S extends Shape> (shape: S, keys: readonly string[], value: unknown, path: string, skip: number): Infer<S> {
  if (!isPlainObject(value)) throw fieldError(path, 'expected a map')
  const out: Record<string, unknown> = {}
  let present = skip
  for (const key of keys) {
    const field = shape[key]!
    const v = value[key]
    if (v === undefined || (v === null && field.optional)) {
      if (!field.optional) throw fieldError(`${path}.${key}`, 'missing')
      if (v === null) present++
      continue
    }
    present++
    out[key] = field.check(v, `${path}.${key}`)
  }
  const actual = Object.keys(value).length
  if (actual !== present) {
    const extra = Object.keys(value).find(k => !(k in shape) && !(skip > 0 && (k === 't' || k === 'v')))
    throw fieldError(path, `unexpected key ${JSON.stringify(extra)}`)
  }
  return out as Infer<S>
}

function prepareShape<S extends Shape> (shape: S, keys: readonly string[], value: Infer<S>, out: Record<string, unknown>): Record<string, unknown> {
  for (const key of keys) {
    const v = (value as Record<string, unknown>)[key]
    if (v === undefined) {
      if (!shape[key]!.optional) throw new TypeError(`encode: field ${key} is required`)
      continue
    }
    out[key] = shape[key]!.prepare(v)
  }
  return out
}

/** Field constructors. Every bound is explicit, so every decoded value is bounded. */
export const f = {
  /** Bytes: exactly `len`, or between `min` and `max` (default max 1 MiB). */
  bytes (opts: { len?: number, min?: number, max?: number } = {}): Field<Uint8Array> {
    const min = opts.len ?? opts.min ?? 0
    const max = opts.len ?? opts.max ?? 1024 * 1024
    return required((v, path) => {
      if (!(v instanceof Uint8Array)) throw fieldError(path, 'expected bytes')
      if (v.byteLength < min || v.byteLength > max) {
        throw fieldError(path, opts.len !== undefined ? `expected ${opts.len} bytes, got ${v.byteLength}` : `expected ${min}..${max} bytes, got ${v.byteLength}`)
      }
      return v.constructor === Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
    })
  },
  /** A non-negative safe integer up to `max`. */
  uint (opts: { max?: number } = {}): Field<number> {
    const max = opts.max ?? Number.MAX_SAFE_INTEGER
    return required((v, path) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw fieldError(path, `expected an integer 0..${max}`)
      return v
    })
  },
  /** A UTF-8 string of at most `max` characters, optionally matching `pattern`. */
  str (opts: { max?: number, min?: number, pattern?: RegExp } = {}): Field<string> {
    const max = opts.max ?? 256
    const min = opts.min ?? 0
    return required((v, path) => {
      if (typeof v !== 'string' || v.length > max || v.length < min) throw fieldError(path, `expected a string of ${min}..${max} characters`)
      if (opts.pattern !== undefined && !opts.pattern.test(v)) throw fieldError(path, `string does not match ${opts.pattern}`)
      return v
    })
  },
  bool (): Field<boolean> {
    return required((v, path) => {
      if (typeof v !== 'boolean') throw fieldError(path, 'expected a boolean')
      return v
    })
  },
  /** One of the given strings. */
  literal<const T extends string> (...values: T[]): Field<T> {
    const set = new Set<string>(values)
    return required((v, path) => {
      if (typeof v !== 'string' || !set.has(v)) throw fieldError(path, `expected one of ${values.join(', ')}`)
      return v as T
    })
  },
  /** An array of at most `max` items. */
  array<T> (item: Field<T>, opts: { max: number, min?: number }): Field<T[]> {
    return required((v, path) => {
      if (!Array.isArray(v) || v.length > opts.max || v.length < (opts.min ?? 0)) throw fieldError(path, `expected an array of ${opts.min ?? 0}..${opts.max} items`)
      return v.map((x, i) => item.check(x, `${path}[${i}]`))
    }, (v) => v.map(x => item.prepare(x)))
  },
  /** A nested map with exactly these keys. */
  struct<S extends Shape> (shape: S): Field<Infer<S>> {
    const keys = Object.keys(shape)
    return required((v, path) => checkShape(shape, keys, v, path, 0), (v) => prepareShape(shape, keys, v, {}))
  },
  /** A map discriminated by the string key `tag`, one shape per tag value. */
  union<const K extends string, const M extends Record<string, Shape>> (tag: K, variants: M): Field<{ [V in keyof M]: Simplify<{ [P in K]: V } & Infer<M[V]>> }[keyof M]> {
    const keysOf = new Map(Object.entries(variants).map(([name, shape]) => [name, [tag, ...Object.keys(shape)]]))
    const shapes = new Map(Object.entries(variants).map(([name, shape]) => [name, { [tag]: f.literal(name), ...shape } as Shape]))
    type Out = { [V in keyof M]: Simplify<{ [P in K]: V } & Infer<M[V]>> }[keyof M]
    return required((v, path) => {
      if (!isPlainObject(v)) throw fieldError(path, 'expected a map')
      const name = v[tag]
      const shape = typeof name === 'string' ? shapes.get(name) : undefined
      if (shape === undefined) throw fieldError(`${path}.${tag}`, `expected one of ${[...shapes.keys()].join(', ')}`)
      return checkShape(shape, keysOf.get(name as string)!, v, path, 0) as Out
    }, (v) => {
      const name = (v as Record<string, unknown>)[tag] as string
      return prepareShape(shapes.get(name)!, keysOf.get(name)!, v as never, {})
    })
  },
  /** Any msgpack value (already bounded by the decoder's depth and item limits). */
  value (): Field<unknown> {
    return required((v, path) => {
      if (v === undefined) throw fieldError(path, 'missing')
      return normaliseBytes(v, 0)
    })
  },
  /** Makes a field optional: absent (or nil) on the wire, `undefined` in TypeScript. */
  optional<T> (field: Field<T>): Field<T> & { readonly optional: true } {
    return { ...field, optional: true as const }
  }
} as const

function normaliseBytes (v: unknown, depth: number): unknown {
  if (v instanceof Uint8Array) return v.constructor === Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
  if (depth > 64 || v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = normaliseBytes(v[i], depth + 1)
    return v
  }
  const o = v as Record<string, unknown>
  for (const k of Object.keys(o)) o[k] = normaliseBytes(o[k], depth + 1)
  return v
}

/** A message type: its tag `t` and its fields. */
export interface MessageSchema<T extends string, S extends Shape> {
  readonly type: T
  readonly shape: S
  readonly keys: readonly string[]
}

/** The typed value of a message schema, tag included (the version `v` is implicit). */
export type MessageOf<M> = M extends MessageSchema<infer T, infer S> ? Simplify<{ t: T } & Infer<S>> : never

/** Declare a message type. Field order is the canonical key order on the wire (after `t` and `v`). */
export function defineMessage<const T extends string, S extends Shape> (type: T, shape: S): MessageSchema<T, S> {
  if ('t' in shape || 'v' in shape) throw new TypeError(`defineMessage(${type}): t and v are reserved`)
  return { type, shape, keys: Object.keys(shape) }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any schema shape
type AnySchema = MessageSchema<string, any>

/** Encoder/decoder for a closed set of message types. */
export interface MessageCodec<U> {
  /** Canonical bytes of a message: keys `t`, `v`, then the schema's fields in order. */
  encode: (message: U) => Uint8Array
  /**
   * Decode and validate untrusted bytes.
   * @throws {CodecError} ERR_MALFORMED, ERR_UNKNOWN_TYPE, ERR_VERSION, ERR_FIELD
   */
  decode: (bytes: Uint8Array) => U
  /** Validate an already decoded value (e.g. a nested message). */
  validate: (value: unknown) => U
  /** The tags this codec knows. */
  readonly types: readonly string[]
}

export interface MessageCodecInit extends DecodeLimits {
  /** Accepted protocol versions. Default: only {@link PROTOCOL_VERSION}. */
  versions?: readonly number[]
}

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
  const byType = new Map<string, AnySchema>()
  for (const s of schemas) {
    if (byType.has(s.type)) throw new TypeError(`createMessageCodec: duplicate message type ${s.type}`)
    byType.set(s.type, s)
  }
  const versions = new Set(init.versions ?? [PROTOCOL_VERSION])
  const limits: DecodeLimits = { ...(init.maxDepth !== undefined ? { maxDepth: init.maxDepth } : {}), ...(init.maxItems !== undefined ? { maxItems: init.maxItems } : {}) }

  const validate = (value: unknown): U => {
    if (!isPlainObject(value)) throw new CodecError('ERR_FIELD', 'message is not a map')
    const t = value.t
    if (typeof t !== 'string') throw new CodecError('ERR_FIELD', 'message has no type tag t')
    const schema = byType.get(t)
    if (schema === undefined) throw new CodecError('ERR_UNKNOWN_TYPE', `unknown message type ${JSON.stringify(t.slice(0, 32))}`)
    if (typeof value.v !== 'number' || !versions.has(value.v)) throw new CodecError('ERR_VERSION', `unsupported protocol version ${String(value.v)} for ${t}`)
    const fields = checkShape(schema.shape, schema.keys, value, t, 2)
    return Object.assign({ t }, fields) as U
  }

  return {
    types: [...byType.keys()],
    validate,
    decode: (bytes) => validate(decodeValue(bytes, limits)),
    encode: (message) => {
      const schema = byType.get(message.t)
      if (schema === undefined) throw new TypeError(`encode: unknown message type ${String(message.t)}`)
      return encodeValue(prepareShape(schema.shape, schema.keys, message as never, { t: message.t, v: PROTOCOL_VERSION }))
    }
  }
}
