import type { InboundFrame } from '@egtp/interface'

/**
 * A data frame opened in place (its plaintext in the frame's own memory) for handlers that borrow their payload:
 * the frame goes back to its transport (`ReturnPath.recycle`) once the receiver and every borrowing handler of
 * its messages are done with it, unless anything else may keep a view of its bytes (a queued delivery, a
 * non-borrowing handler, a reply's payload, an acknowledgement of a duplicate): then its memory stays theirs.
 */
export class FrameLease {
  readonly frame: Uint8Array
  readonly #path: InboundFrame['path']
  /** The receiver's own hold (released once the frame was dispatched) plus one per borrowing handler running. */
  #holds = 1
  #kept = false

  constructor (frame: Uint8Array, path: InboundFrame['path']) {
    this.frame = frame
    this.#path = path
  }

  /** A borrowing handler starts: the frame's memory waits for its {@link release}. */
  hold (): void {
    this.#holds++
  }

  /** Someone may keep a view of the frame's bytes: its memory is never handed back. */
  keep (): void {
    this.#kept = true
  }

  release (): void {
    if (--this.#holds === 0 && !this.#kept) this.#path.recycle?.(this.frame)
  }
}
