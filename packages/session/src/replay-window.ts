// Sliding anti-replay window over 64-bit counters, RFC 6479 style: a ring of 32-bit blocks, one spare block so
// sliding forward clears whole blocks. Counters here are bounded to 2^53 (JS integers; the codec checks).
// While counters arrive without gaps (0, 1, 2, … — any in-order transport) "seen" is simply "≤ top", so the
// ring is allocated only at the first gap; until then a window costs no bitmap at all.
import { REPLAY_WINDOW } from './constants.ts'

const BLOCK_BITS = 32
const BLOCKS = REPLAY_WINDOW / BLOCK_BITS + 1

/**
 * Tracks which counters were accepted. `check` is cheap and has no side effect (so a frame that then fails
 * authentication leaves no trace); call `update` only after the frame decrypted.
 */
export class ReplayWindow {
  #top = -1
  /** Undefined while every counter from 0 to top was accepted (no gap yet). */
  #bits: Uint32Array | undefined

  /** Highest counter accepted so far (-1 before the first). */
  get top (): number {
    return this.#top
  }

  /** True when `n` is new: above the top, or inside the window and not yet seen. */
  check (n: number): boolean {
    if (n > this.#top) return true
    const bits = this.#bits
    if (bits === undefined) return false // no gap: everything up to top was seen
    if (n + REPLAY_WINDOW <= this.#top) return false
    const block = Math.floor(n / BLOCK_BITS) % BLOCKS
    return (bits[block]! & (1 << (n % BLOCK_BITS))) === 0
  }

  /** Mark `n` as seen (after a successful `check` and decryption). */
  update (n: number): void {
    let bits = this.#bits
    if (bits === undefined) {
      if (n === this.#top + 1) {
        this.#top = n
        return
      }
      if (n <= this.#top) return // already seen (check said so)
      bits = this.#materialize()
    }
    if (n > this.#top) {
      const topBlock = this.#top < 0 ? -1 : Math.floor(this.#top / BLOCK_BITS)
      const newBlock = Math.floor(n / BLOCK_BITS)
      const clear = Math.min(newBlock - topBlock, BLOCKS)
      for (let i = 1; i <= clear; i++) bits[(topBlock + i) % BLOCKS] = 0
      this.#top = n
    }
    const block = Math.floor(n / BLOCK_BITS) % BLOCKS
    bits[block]! |= 1 << (n % BLOCK_BITS)
  }

  /** The first gap: build the bitmap of "every counter up to top was seen". */
  #materialize (): Uint32Array {
    const bits = new Uint32Array(BLOCKS)
    const top = this.#top
    if (top >= 0) {
      const topBlock = Math.floor(top / BLOCK_BITS)
      // Every block below top's block is full (the ring's spare block stands for counters already outside the
      // window, which check refuses by distance, and is cleared before reuse).
      bits.fill(0xffff_ffff)
      const used = top % BLOCK_BITS + 1
      bits[topBlock % BLOCKS] = used === 32 ? 0xffff_ffff : (2 ** used - 1)
    }
    this.#bits = bits
    return bits
  }
}
