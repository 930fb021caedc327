/** The items of every empty queue: shared, never written (frozen). */
const EMPTY: never[] = Object.freeze([]) as unknown as never[]

/**
 * An array-backed first-in first-out queue with O(1) amortised `shift` (a head index instead of `Array#shift`,
 * compacted once the consumed prefix is both large and most of the array).
 */
export class Fifo<T> {
  /** {@link EMPTY} while empty: an idle queue (one per peer) holds no array of its own. */
  #items: Array<T | undefined> = EMPTY
  #head = 0

  get length (): number {
    return this.#items.length - this.#head
  }

  push (item: T): void {
    if (this.#items === EMPTY) this.#items = [item]
    else this.#items.push(item)
  }

  /** Put an item back at the front. */
  unshift (item: T): void {
    if (this.#head > 0) this.#items[--this.#head] = item
    else if (this.#items === EMPTY) this.#items = [item]
    else this.#items.unshift(item)
  }

  /** Put items back at the front, in order (the first of `items` is next). */
  unshiftAll (items: readonly T[]): void {
    this.#items = items.concat(this.#items.slice(this.#head) as T[])
    this.#head = 0
  }

  peek (): T | undefined {
    return this.#head < this.#items.length ? this.#items[this.#head] : undefined
  }

  shift (): T | undefined {
    if (this.#head >= this.#items.length) return undefined
    const item = this.#items[this.#head]
    this.#items[this.#head++] = undefined
    if (this.#head === this.#items.length) {
      this.#items = EMPTY
      this.#head = 0
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return item
  }

  /** Remove the first occurrence of `item` (O(n)); whether it was queued. */
  remove (item: T): boolean {
    const i = this.#items.indexOf(item, this.#head)
    if (i < 0) return false
    this.#items.splice(i, 1)
    if (this.#head === this.#items.length) {
      this.#items = EMPTY
      this.#head = 0
    }
    return true
  }

  /** The queued items, first first (a copy). */
  values (): T[] {
    return this.#items.slice(this.#head) as T[]
  }

  /** Remove and return everything. */
  drain (): T[] {
    const out = this.#items.slice(this.#head) as T[]
    this.#items = EMPTY
    this.#head = 0
    return out
  }
}
