import { latin1 } from './util.ts'

/**
 * A bounded LRU keyed by strings: a Map keeps insertion order, so re-inserting on a hit moves the entry to the
 * back and the first entry is the least recently used.
 */
export class LruCache<V> {
  readonly #entries = new Map<string, V>()
  #capacity: number

  constructor (capacity: number) {
    this.#capacity = capacity
  }

  get capacity (): number { return this.#capacity }
  get size (): number { return this.#entries.size }

  /** `setter`, `max`: what a refusal names. @throws {RangeError} outside 0..max */
  resize (entries: number, setter: string, max: number): void {
    if (!Number.isInteger(entries) || entries < 0 || entries > max) {
      throw new RangeError(`${setter}: entries must be an integer 0..${max}`)
    }
    this.#capacity = entries
    while (this.#entries.size > entries) this.#entries.delete(this.#entries.keys().next().value!)
  }

  get (key: string): V | undefined {
    const value = this.#entries.get(key)
    if (value !== undefined) {
      this.#entries.delete(key)
      this.#entries.set(key, value)
    }
    return value
  }

  /**
   * The value remembered for `bytes` (keyed by their latin1 spelling), else `derive(bytes)`, remembered. `derive`
   * takes the bytes so that a caller passes a stable function, not a closure per call.
   */
  derived (bytes: Uint8Array, derive: (bytes: Uint8Array) => V): V {
    const key = latin1(bytes)
    let value = this.get(key)
    if (value === undefined) {
      value = derive(bytes)
      this.set(key, value)
    }
    return value
  }

  set (key: string, value: V): void {
    if (this.#capacity === 0) return
    this.#entries.delete(key)
    if (this.#entries.size >= this.#capacity) this.#entries.delete(this.#entries.keys().next().value!)
    this.#entries.set(key, value)
  }
}
