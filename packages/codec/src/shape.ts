// The compiled shapes behind message schemas: one pass from wire to validated value, canonical writes.
import { malformed } from './msgpack.ts'
import { Reader, Writer, fieldError } from './wire.ts'


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
export type RequiredKeys<S extends Shape> = { [K in keyof S]: S[K]['optional'] extends true ? never : K }[keyof S]
export type OptionalKeys<S extends Shape> = Exclude<keyof S, RequiredKeys<S>>
export type Simplify<T> = { [K in keyof T]: T[K] } & {}
/** The TypeScript type a shape describes. */
export type Infer<S extends Shape> = Simplify<
  { -readonly [K in RequiredKeys<S>]: S[K] extends Field<infer T> ? T : never } &
  { -readonly [K in OptionalKeys<S>]?: S[K] extends Field<infer T> ? T : never }
>
export type FieldType<F> = F extends Field<infer T> ? T : never

export function isPlainObject (v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)
}

/** Reads a value with `read`, or names the expected type at `path` when it is of another type. */
export function expect<T> (v: T | undefined, path: string, what: string): T {
  if (v === undefined) throw fieldError(path, `expected ${what}`)
  return v
}

/** Pre-encoded map keys and field list of a shape, for the compiled paths. */
export interface CompiledShape {
  keys: string[]
  fields: Array<Field<unknown>>
  keyBytes: Uint8Array[]
  index: Map<string, number>
  required: number
  /** The field paths (`parent.key`) last built, reused while the parent path stays the same. */
  paths: { parent: string, of: string[] } | undefined
}

export function childPaths (c: CompiledShape, parent: string): string[] {
  if (c.paths?.parent !== parent) c.paths = { parent, of: c.keys.map(k => `${parent}.${k}`) }
  return c.paths.of
}

export function compile (shape: Shape, prefixKeys: string[] = []): CompiledShape {
  const keys = Object.keys(shape)
  const fields = keys.map(k => shape[k]!)
  const keyWriter = new Writer()
  const keyBytes = keys.map(k => { keyWriter.reset(); keyWriter.str(k); return keyWriter.finish() })
  const index = new Map(keys.map((k, i) => [k, i]))
  for (const p of prefixKeys) if (index.has(p)) throw new TypeError(`shape key ${p} is reserved`)
  return { keys, fields, keyBytes, index, required: fields.filter(f => !f.optional).length, paths: undefined }
}

export function checkShape (c: CompiledShape, value: unknown, path: string, skip: readonly string[]): Record<string, unknown> {
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
export function matchKeyBytes (c: CompiledShape, r: Reader, from: number): number {
  const bytes = r.bytes
  const pos = r.pos
  for (let j = from; j < c.keyBytes.length; j++) {
    const key = c.keyBytes[j]!
    const n = key.length
    if (pos + n > bytes.length) continue
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
export function readEntries (c: CompiledShape, r: Reader, entries: number, path: string, out: Record<string, unknown>): void {
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

export function writeEntries (c: CompiledShape, w: Writer, value: Record<string, unknown>): void {
  for (let i = 0; i < c.keys.length; i++) {
    const v = value[c.keys[i]!]
    if (v === undefined) continue
    w.raw(c.keyBytes[i]!)
    c.fields[i]!.write(w, v)
  }
}

export function countPresent (c: CompiledShape, value: Record<string, unknown>): number {
  let n = 0
  for (let i = 0; i < c.keys.length; i++) {
    const v = value[c.keys[i]!]
    if (v !== undefined) n++
    else if (!c.fields[i]!.optional) throw new TypeError(`encode: field ${c.keys[i]!} is required`)
  }
  return n
}

export function readStruct (c: CompiledShape, r: Reader, path: string): Record<string, unknown> {
  const n = r.mapHeader()
  if (n < 0) throw fieldError(path, 'expected a map')
  r.enter()
  const out: Record<string, unknown> = {}
  readEntries(c, r, n, path, out)
  r.leave()
  return out
}
