import { nodeIdFromBytes } from '@egtp/identity'
import { bytesEqual } from '@egtp/interface'

/** One delivered message as `rd` carries it: queue position, sender node ID (20 bytes), payload. */
export interface Delivered { readonly i: number, readonly f: Uint8Array, readonly p: Uint8Array }

/**
 * The receiving side of one relay link: drops redeliveries (positions already handed up), keeps the position to
 * acknowledge, and caches the sender's decoded ID. Positions are tracked for as long as the relay's epoch holds:
 * the relay never reuses one within an epoch (PROTOCOL.md §4.3).
 */
export class Inbox {
  /** Messages handed up: the link's record of service. */
  received = 0
  #lastDelivered = -1
  #ackPending = -1
  #ackSent = -1
  #lastFrom = new Uint8Array(0)
  #lastFromView: Uint8Array | undefined
  #lastFromText = ''

  /** A new connection: acks start over; positions are forgotten only when the relay's queues are new. */
  reset (newEpoch: boolean): void {
    if (newEpoch) this.#lastDelivered = -1
    this.#ackPending = -1
    this.#ackSent = -1
  }

  /**
   * Hand up every entry not handed up before, in order, as a view of the frame (no per-message copy). `deliver`
   * returns false when handing up closed the link: the rest is left alone.
   */
  accept (entries: readonly Delivered[], deliver: (from: string, fromBytes: Uint8Array, payload: Uint8Array) => boolean): void {
    for (const e of entries) {
      if (e.i <= this.#lastDelivered) continue // a redelivery after a lost ack: dispatched already
      this.#lastDelivered = e.i
      this.received++
      // Batches usually come from one sender: decode its ID once. (The decoder hands out one view for a repeated
      // ID: most entries skip the comparison.)
      if (e.f !== this.#lastFromView) {
        this.#lastFromView = e.f
        if (!bytesEqual(e.f, this.#lastFrom)) { this.#lastFrom = e.f.slice(); this.#lastFromText = nodeIdFromBytes(e.f) }
      }
      if (!deliver(this.#lastFromText, this.#lastFrom, e.p)) return
    }
    this.#ackPending = Math.max(this.#ackPending, entries[entries.length - 1]!.i)
  }

  /** The position to acknowledge now (`undefined` when acknowledged already). */
  takeAck (): number | undefined {
    if (this.#ackPending <= this.#ackSent) return undefined
    this.#ackSent = this.#ackPending
    return this.#ackSent
  }
}
