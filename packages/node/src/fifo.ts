/** An array-backed queue with O(1) amortised shift. */
export class Fifo<T> {
  #items: Array<T | undefined> = []
  #head = 0

  get length (): number {
    return this.#items.length - this.#head
  }

  push (item: T): void {
    this.#items.push(item)
  }

  /** Put an item back at the front. */
  unshift (item: T): void {
    if (this.#head > 0) this.#items[--this.#head] = item
    else this.#items.unshift(item)
  }

  peek (): T | undefined {
    return this.#items[this.#head]
  }

  shift (): T | undefined {
    if (this.#head >= this.#items.length) return undefined
    const item = this.#items[this.#head]
    this.#items[this.#head++] = undefined
    if (this.#head === this.#items.length) {
      this.#items = []
      this.#head = 0
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return item
  }

  /** Remove and return everything. */
  drain (): T[] {
    const out = this.#items.slice(this.#head) as T[]
    this.#items = []
    this.#head = 0
    return out
  }
}
