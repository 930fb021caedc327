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
