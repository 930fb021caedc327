// Sliding anti-replay window over 64-bit counters, RFC 6479 style: a ring of 32-bit blocks, one spare block so
// sliding forward clears whole blocks. Counters here are bounded to 2^53 (JS integers; the codec checks).
import { REPLAY_WINDOW } from './constants.ts'

const BLOCK_BITS = 32
const BLOCKS = REPLAY_WINDOW / BLOCK_BITS + 1

/**
 * Tracks which counters were accepted. `check` is cheap and has no side effect (so a frame that then fails
 * authentication leaves no trace); call `update` only after the frame decrypted.
 */
export class ReplayWindow {
  #top = -1
  #bits = new Uint32Array(BLOCKS)

  /** Highest counter accepted so far (-1 before the first). */
  get top (): number {
    return this.#top
  }

  /** True when `n` is new: above the top, or inside the window and not yet seen. */
  check (n: number): boolean {
    if (n > this.#top) return true
    if (n + REPLAY_WINDOW <= this.#top) return false
    const block = Math.floor(n / BLOCK_BITS) % BLOCKS
    return (this.#bits[block]! & (1 << (n % BLOCK_BITS))) === 0
  }

  /** Mark `n` as seen (after a successful `check` and decryption). */
  update (n: number): void {
    if (n > this.#top) {
      const topBlock = this.#top < 0 ? -1 : Math.floor(this.#top / BLOCK_BITS)
      const newBlock = Math.floor(n / BLOCK_BITS)
      const clear = Math.min(newBlock - topBlock, BLOCKS)
      for (let i = 1; i <= clear; i++) this.#bits[(topBlock + i) % BLOCKS] = 0
      this.#top = n
    }
    const block = Math.floor(n / BLOCK_BITS) % BLOCKS
    this.#bits[block]! |= 1 << (n % BLOCK_BITS)
  }
}
