/** Programmer-error check at the public boundary. */
export function checkBytes (label: string, value: unknown, len?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${label} must be a Uint8Array`)
  if (len !== undefined && value.length !== len) throw new RangeError(`${label} must be ${len} bytes, got ${value.length}`)
}

/** A plain Uint8Array over a Buffer's bytes (no copy). Public APIs return Uint8Array, never Buffer. */
export function toU8 (buf: Uint8Array): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length)
}

/** A plain Uint8Array copy. (`Buffer#slice` is a view, not a copy: never use `.slice()` on caller input.) */
export const copyBytes = (b: Uint8Array): Uint8Array => new Uint8Array(b)

/** A byte string as a string of one char per byte (no copy of the bytes): to key a Map by bytes. */
export const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1')
