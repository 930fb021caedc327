/**
 * Most ring slots a {@link CounterRing} grows to (128 KiB of slots on 64-bit). Entries older than the newest
 * counter by more than this (a straggler waiting for its re-send while thousands after it were acknowledged) move
 * to a small map on the side, so one stuck message never makes the ring grow with the traffic behind it.
 */
export const COUNTER_RING_MAX_SLOTS = 16 * 1024
/** A ring this large that empties is dropped (an idle peer keeps no burst-sized array). */
const SHRINK_FROM_SLOTS = 1024
const NO_SLOTS: never[] = []

/**
 * Values keyed by counters that are added in increasing order (a sender's message counters): a ring indexed by
 * `counter & mask`, so adding, finding and removing cost an array access, where a `Map` costs a hash lookup
 * each and leaves garbage behind as thousands of entries come and go (its table is rebuilt as it fills with
 * deleted entries). Iterates in counter order; `first()` is the lowest counter held.
 */
export class CounterRing<T> {
  #slots: Array<T | undefined> = NO_SLOTS
  /** Counters below `#base` are not in the ring (gone, or moved to `#overflow`). */
  #base = 0
  /** One past the highest counter added. */
  #end = 0
  #inRing = 0
  /** Stragglers: counters below `#base`, in increasing order (moved in that order); a map only while there are any. */
  #overflow: Map<number, T> | undefined

  get size (): number {
    return this.#inRing + (this.#overflow?.size ?? 0)
  }

  /** The lowest counter {@link set} accepts: one past the highest added. */
  get next (): number {
    return this.#end
  }

  get (counter: number): T | undefined {
    if (counter >= this.#base && counter < this.#end) return this.#slots[counter & (this.#slots.length - 1)]
    return this.#overflow?.get(counter)
  }

  has (counter: number): boolean {
    return this.get(counter) !== undefined
  }

  /**
   * Add `value` under `counter`, which must be higher than every counter added before.
   * @throws {RangeError} when it is not (a programming error: counters only grow)
   */
  set (counter: number, value: T): void {
    if (!Number.isSafeInteger(counter) || counter < this.#end) throw new RangeError(`counter ${counter} is not above ${this.#end - 1}`)
    if (this.#inRing > 0) this.#evictBelow(counter - COUNTER_RING_MAX_SLOTS + 1)
    if (this.#inRing === 0) this.#base = counter // empty: the ring starts over at this counter
    const span = counter - this.#base + 1
    if (span > this.#slots.length) this.#grow(span)
    this.#slots[counter & (this.#slots.length - 1)] = value
    this.#end = counter + 1
    this.#inRing++
  }

  /** Remove `counter`'s value; false when it was not there. */
  delete (counter: number): boolean {
    if (counter < this.#base || counter >= this.#end) {
      const overflow = this.#overflow
      if (overflow === undefined || !overflow.delete(counter)) return false
      if (overflow.size === 0) this.#overflow = undefined
      return true
    }
    const slots = this.#slots
    const mask = slots.length - 1
    if (slots[counter & mask] === undefined) return false
    slots[counter & mask] = undefined
    if (--this.#inRing === 0) {
      this.#base = this.#end
      if (slots.length >= SHRINK_FROM_SLOTS) this.#slots = NO_SLOTS
    } else if (counter === this.#base) {
      let b = counter + 1
      while (slots[b & mask] === undefined) b++ // stops: the ring holds a value at or above b
      this.#base = b
    }
    return true
  }

  /** The value of the lowest counter held. */
  first (): T | undefined {
    if (this.#overflow !== undefined) return this.#overflow.values().next().value
    return this.#inRing > 0 ? this.#slots[this.#base & (this.#slots.length - 1)] : undefined
  }

  /** Empty: give back the slot array too (an idle peer keeps nothing). */
  compact (): void {
    if (this.size === 0) this.#slots = NO_SLOTS
  }

  /** Values in counter order (do not add or remove while iterating). */
  * values (): IterableIterator<T> {
    if (this.#overflow !== undefined) yield * this.#overflow.values()
    const slots = this.#slots
    const mask = slots.length - 1
    for (let c = this.#base; c < this.#end; c++) {
      const v = slots[c & mask]
      if (v !== undefined) yield v
    }
  }

  /** Move what is below `floor` to the overflow map (in counter order). */
  #evictBelow (floor: number): void {
    if (this.#base >= floor) return
    const slots = this.#slots
    const mask = slots.length - 1
    let b = this.#base
    while (b < floor && this.#inRing > 0) {
      const v = slots[b & mask]
      if (v !== undefined) {
        (this.#overflow ??= new Map()).set(b, v)
        slots[b & mask] = undefined
        this.#inRing--
      }
      b++
    }
    while (this.#inRing > 0 && slots[b & mask] === undefined) b++
    this.#base = this.#inRing > 0 ? b : this.#end
  }

  #grow (span: number): void {
    let size = Math.max(16, this.#slots.length)
    while (size < span) size *= 2
    const old = this.#slots
    const oldMask = old.length - 1
    const slots = new Array<T | undefined>(size).fill(undefined)
    const mask = size - 1
    for (let c = this.#base; c < this.#end; c++) {
      const v = old[c & oldMask]
      if (v !== undefined) slots[c & mask] = v
    }
    this.#slots = slots
  }
}
