/**
 * Values under increasing integer keys (message numbers): added at the end, removed anywhere, taken from the
 * front in key order. A Map without the hashing: the send window is one of these.
 */
export class SeqMap<T> {
  #items: Array<T | undefined> = []
  #head = 0
  /** Key of `#items[#head]`. */
  #first = 0
  #size = 0

  get size (): number { return this.#size }

  /** Add `value` under `key`, larger than every key added since the map was last empty. */
  set (key: number, value: T): void {
    if (this.#size === 0) { this.#items = []; this.#head = 0; this.#first = key }
    const at = this.#head + (key - this.#first)
    if (!Number.isSafeInteger(key) || at < this.#items.length) throw new RangeError(`key ${key} does not follow the last one`)
    while (this.#items.length < at) this.#items.push(undefined)
    this.#items.push(value)
    this.#size++
  }

  get (key: number): T | undefined {
    const at = this.#head + (key - this.#first)
    return at >= this.#head && at < this.#items.length ? this.#items[at] : undefined
  }

  delete (key: number): boolean {
    const at = this.#head + (key - this.#first)
    if (at < this.#head || at >= this.#items.length || this.#items[at] === undefined) return false
    this.#items[at] = undefined
    this.#size--
    this.#skip()
    return true
  }

  /** The smallest key present (`undefined` when empty). */
  firstKey (): number | undefined {
    return this.#size === 0 ? undefined : this.#first
  }

  /** Remove and return the value of the smallest key. */
  shift (): T | undefined {
    if (this.#size === 0) return undefined
    const value = this.#items[this.#head]
    this.#items[this.#head] = undefined
    this.#size--
    this.#skip()
    return value
  }

  values (): T[] {
    const out: T[] = []
    for (let i = this.#head; i < this.#items.length; i++) {
      const v = this.#items[i]
      if (v !== undefined) out.push(v)
    }
    return out
  }

  clear (): void {
    this.#items = []
    this.#head = 0
    this.#size = 0
  }

  /** Move the front past removed slots; compact once the dead prefix dominates. */
  #skip (): void {
    if (this.#size === 0) { this.clear(); return }
    const items = this.#items
    let head = this.#head
    while (items[head] === undefined) head++
    this.#first += head - this.#head
    this.#head = head
    if (head > 1024 && head * 2 > items.length) {
      this.#items = items.slice(head)
      this.#head = 0
    }
  }
}
