import { createHash } from 'node:crypto'
import { MAX_RELAY_WORK_BITS } from '@egtp/codec'

/** Domain separation of the registration proof of work. */
export const WORK_CONTEXT = 'egtp/relay/work/v1'
/** Bytes of the solutions this client produces (a counter). */
export const WORK_SOLUTION_BYTES = 8
/** Hashes tried between two yields to the event loop while solving. */
const WORK_CHUNK = 4096

const context = new TextEncoder().encode(WORK_CONTEXT)

function digest (nonce: Uint8Array, publicKey: Uint8Array, solution: Uint8Array): Uint8Array {
  return createHash('sha256').update(context).update(nonce).update(publicKey).update(solution).digest()
}

/** Leading zero bits of `hash`. */
export function leadingZeroBits (hash: Uint8Array): number {
  let bits = 0
  for (const byte of hash) {
    if (byte === 0) { bits += 8; continue }
    return bits + Math.clz32(byte) - 24
  }
  return bits
}

/**
 * Whether `solution` proves `bits` of work for this challenge `nonce` and the hello's `publicKey`: SHA-256 of
 * (context, nonce, key, solution) has at least `bits` leading zero bits. One hash: cheap for the relay. Bound to
 * the connection's nonce and the registering key, so a solution is good for one registration only.
 */
export function checkWork (nonce: Uint8Array, publicKey: Uint8Array, solution: Uint8Array | undefined, bits: number): boolean {
  if (bits <= 0) return true
  if (solution === undefined) return false
  return leadingZeroBits(digest(nonce, publicKey, solution)) >= bits
}

/**
 * Find a solution for {@link checkWork}: about 2^bits hashes (16 bits: ~65k, ~0.1 s here), yielding to the event
 * loop every few thousand. Rethrows `signal.reason` on abort.
 * @throws {RangeError} when `bits` is above MAX_RELAY_WORK_BITS
 */
export async function solveWork (nonce: Uint8Array, publicKey: Uint8Array, bits: number, signal?: AbortSignal): Promise<Uint8Array> {
  if (!Number.isInteger(bits) || bits < 0 || bits > MAX_RELAY_WORK_BITS) throw new RangeError(`work bits must be 0..${MAX_RELAY_WORK_BITS}, got ${bits}`)
  signal?.throwIfAborted()
  const solution = new Uint8Array(WORK_SOLUTION_BYTES)
  const view = new DataView(solution.buffer)
  const prefix = createHash('sha256').update(context).update(nonce).update(publicKey) // hashed once, copied per try
  for (let counter = 0; ; counter++) {
    if (counter % WORK_CHUNK === 0 && counter > 0) {
      await new Promise(resolve => setImmediate(resolve))
      signal?.throwIfAborted()
    }
    view.setUint32(0, Math.floor(counter / 2 ** 32))
    view.setUint32(4, counter >>> 0)
    if (leadingZeroBits(prefix.copy().update(solution).digest()) >= bits) return solution
  }
}
