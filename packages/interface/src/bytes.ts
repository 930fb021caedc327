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
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

/** Whether `bytes` begins with `prefix` (not constant-time: for public framing bytes only). */
export function bytesStartWith (bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false
  return true
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Lowercase hex of `bytes`, for IDs shown to applications and logs. */
export function toHex (bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!]!
  return s
}

/** Bytes of one slab that {@link compactCopy} carves small copies from. */
export const COMPACT_SLAB_BYTES = 2048
/** Copies larger than this get their own buffer: only small ones are worth sharing a slab. */
export const COMPACT_COPY_MAX_BYTES = 64

let slab = new Uint8Array(0)
let slabUsed = 0

/**
 * A copy of small PUBLIC bytes (a key, a signature, an epoch) kept for a long time, e.g. per peer: a view of a
 * shared slab instead of a Uint8Array with its own ArrayBuffer (~180 bytes of heap less per copy, as
 * `Buffer.from`'s pool does). A view keeps its whole slab alive, so never for secrets (a slab is never wiped)
 * nor for a short-lived copy; above {@link COMPACT_COPY_MAX_BYTES} a plain copy.
 */
export function compactCopy (bytes: Uint8Array): Uint8Array {
  const n = bytes.length
  if (n > COMPACT_COPY_MAX_BYTES) return new Uint8Array(bytes)
  if (slabUsed + n > slab.length) {
    slab = new Uint8Array(COMPACT_SLAB_BYTES)
    slabUsed = 0
  }
  const out = slab.subarray(slabUsed, slabUsed + n)
  out.set(bytes)
  slabUsed += (n + 7) & ~7 // 8-byte aligned, as views of one buffer may be read as wider words
  return out
}
