/** An emptied queue keeps an array of up to this many slots for its next items (until {@link Fifo.trim}). */
const SMALL_FIFO_SLOTS = 16
/** The items of every empty queue: shared, never written (frozen). */
const EMPTY: never[] = Object.freeze([]) as unknown as never[]

/**
 * An array-backed first-in first-out queue with O(1) amortised `shift` (a head index instead of `Array#shift`,
 * compacted once the consumed prefix is both large and most of the array).
 */
export class Fifo<T> {
  /** {@link EMPTY} until the first item and again after {@link trim}: an idle queue (one per peer) holds no array. */
  #items: Array<T | undefined> = EMPTY
  #head = 0
  /** Items are `#items[#head..#tail)`; slots past `#tail` are `undefined` (kept: see {@link shift}). */
  #tail = 0

  get length (): number {
    return this.#tail - this.#head
  }

  push (item: T): void {
    if (this.#tail < this.#items.length) this.#items[this.#tail] = item
    else if (this.#items === EMPTY) this.#items = [item]
    else this.#items.push(item)
    this.#tail++
  }

  /** Put an item back at the front. */
  unshift (item: T): void {
    if (this.#head > 0) {
      this.#items[--this.#head] = item
      return
    }
    if (this.#items === EMPTY) this.#items = [item]
    else this.#items.splice(0, 0, item)
    this.#tail++
  }

  /** Put items back at the front, in order (the first of `items` is next). */
  unshiftAll (items: readonly T[]): void {
    this.#items = items.concat(this.#items.slice(this.#head, this.#tail) as T[])
    this.#head = 0
    this.#tail = this.#items.length
  }

  peek (): T | undefined {
    return this.#head < this.#tail ? this.#items[this.#head] : undefined
  }

  shift (): T | undefined {
    if (this.#head >= this.#tail) return undefined
    const item = this.#items[this.#head]
    this.#items[this.#head++] = undefined
    if (this.#head === this.#tail) {
      // Emptied: a small array is kept for the next items (a queue that fills and empties every round trip
      // would otherwise allocate an array and its store each time); a large one is let go.
      if (this.#items.length > SMALL_FIFO_SLOTS) this.#items = EMPTY
      this.#head = 0
      this.#tail = 0
    } else if (this.#head > 1024 && this.#head * 2 > this.#tail) {
      this.#items = this.#items.slice(this.#head, this.#tail)
      this.#tail -= this.#head
      this.#head = 0
    }
    return item
  }

  /** Remove the first occurrence of `item` (O(n)); whether it was queued. */
  remove (item: T): boolean {
    const i = this.#items.indexOf(item, this.#head)
    if (i < 0 || i >= this.#tail) return false
    this.#items.splice(i, 1)
    this.#tail--
    return true
  }

  /** The queued items, first first (a copy). */
  values (): T[] {
    return this.#items.slice(this.#head, this.#tail) as T[]
  }

  /** Let an empty queue drop the array it kept for its next items (its owner went idle). */
  trim (): void {
    if (this.#tail === 0) this.#items = EMPTY
  }

  /** Remove and return everything. */
  drain (): T[] {
    const out = this.#items.slice(this.#head, this.#tail) as T[]
    this.#items = EMPTY
    this.#head = 0
    this.#tail = 0
    return out
  }
}
