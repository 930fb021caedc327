// Message schemas and their codecs: a tag, a version and fields in canonical order, decoded in one bounded pass.
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_ITEMS, FRAME_HEADER_BYTES, PROTOCOL_VERSION } from './constants.ts'
import { CodecError } from './errors.ts'
import { malformed } from './msgpack.ts'
import type { DecodeLimits } from './msgpack.ts'
import { Reader, Writer } from './wire.ts'
export { f } from './fields.ts'
export type { Field, Shape, Infer, FieldType } from './shape.ts'
import { checkShape, compile, countPresent, isPlainObject, readEntries, writeEntries } from './shape.ts'
import type { CompiledShape, Infer, Shape, Simplify } from './shape.ts'

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
      if (r.pos !== bytes.length) throw malformed(`${bytes.length - r.pos} trailing bytes`)
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
