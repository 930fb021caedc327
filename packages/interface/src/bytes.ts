/** Below this size a zero-filled `new Uint8Array` is as cheap as anything else. */
const UNINITIALIZED_MIN_BYTES = 4096

const NodeBuffer = (globalThis as { Buffer?: { allocUnsafeSlow: (n: number) => Uint8Array } }).Buffer

/**
 * A plain `Uint8Array` of `n` bytes for a caller that overwrites every byte at once: on Node a large one is not
 * zero-filled first (zeroing and faulting in fresh pages cost more than the copy that fills it). Never hand out
 * such a buffer before it is filled.
 */
export function uninitializedBytes (n: number): Uint8Array {
  if (NodeBuffer === undefined || n < UNINITIALIZED_MIN_BYTES) return new Uint8Array(n)
  const b = NodeBuffer.allocUnsafeSlow(n)
  return new Uint8Array(b.buffer, b.byteOffset, n)
}

/**
 * Whether `a` and `b` hold the same bytes, in time that depends only on their lengths (never on where they
 * differ): safe for secrets, keys and MACs.
 */
export function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  let diff = 0
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

/** Whether `bytes` begins with `prefix` (not constant-time: for public framing bytes only). */
export function bytesStartWith (bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.byteLength < prefix.byteLength) return false
  for (let i = 0; i < prefix.byteLength; i++) if (bytes[i] !== prefix[i]) return false
  return true
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Lowercase hex of `bytes`, for IDs shown to applications and logs. */
export function toHex (bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.byteLength; i++) s += HEX[bytes[i]!]!
  return s
}
