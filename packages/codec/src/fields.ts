// Field constructors of message schemas: every bound explicit, so every decoded value is bounded.
import { DEFAULT_MAX_FIELD_BYTES } from './constants.ts'
import { packValue } from './msgpack.ts'
import { Writer, fieldError, normaliseBytes } from './wire.ts'
import { checkShape, compile, countPresent, expect, isPlainObject, readEntries, readStruct, writeEntries } from './shape.ts'
import type { Field, Infer, Shape, Simplify } from './shape.ts'

/** Field constructors. Every bound is explicit, so every decoded value is bounded. */
export const f = {
  /** Bytes: exactly `len`, or between `min` and `max` (default max 1 MiB). */
  bytes (opts: { len?: number, min?: number, max?: number } = {}): Field<Uint8Array> {
    const min = opts.len ?? opts.min ?? 0
    const max = opts.len ?? opts.max ?? DEFAULT_MAX_FIELD_BYTES
    const sized = (v: Uint8Array, path: string): Uint8Array => {
      if (v.length < min || v.length > max) {
        throw fieldError(path, opts.len !== undefined ? `expected ${opts.len} bytes, got ${v.length}` : `expected ${min}..${max} bytes, got ${v.length}`)
      }
      return v
    }
    return {
      optional: false,
      check: (v, path) => {
        if (!(v instanceof Uint8Array)) throw fieldError(path, 'expected bytes')
        return sized(v.constructor === Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.length), path)
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
