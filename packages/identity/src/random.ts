import { randomFillSync } from 'node:crypto'
import { RANDOM_POOL_BYTES } from './constants.ts'

/** Random bytes drawn ahead; those already handed out are zeroed, the rest are not yet anyone's. */
const pool = new Uint8Array(RANDOM_POOL_BYTES)
let used = RANDOM_POOL_BYTES

/**
 * `n` bytes from the OS CSPRNG (node:crypto), drawn {@link RANDOM_POOL_BYTES} at a time: a handshake's random
 * needs (an ephemeral key, a receiver index) then cost a copy, not a ~10 µs call each. Each call returns bytes
 * no other call got; they are zeroed in the pool as they are handed out.
 * @throws {RangeError} when `n` is not a non-negative integer
 */
export function randomBytesPooled (n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError('randomBytesPooled: n must be a non-negative integer')
  if (n > RANDOM_POOL_BYTES >> 2) return randomFillSync(new Uint8Array(n))
  if (used + n > RANDOM_POOL_BYTES) {
    randomFillSync(pool)
    used = 0
  }
  const out = pool.slice(used, used + n)
  pool.fill(0, used, used + n)
  used += n
  return out
}
