/**
 * A small key-value store for state that may persist (keys, replay state). Nothing in EGTP writes to disk
 * unless the application passes one. Values are bytes; keys are short strings.
 */
export interface KeyValueStore {
  get: (key: string) => Promise<Uint8Array | undefined>
  /** Must be durable (fsync or equivalent) when it resolves. */
  put: (key: string, value: Uint8Array) => Promise<void>
  delete: (key: string) => Promise<void>
}

/** The default store: memory only, gone with the process. */
export class MemoryStore implements KeyValueStore {
  readonly #map = new Map<string, Uint8Array>()
  async get (key: string): Promise<Uint8Array | undefined> {
    const v = this.#map.get(key)
    return v === undefined ? undefined : v.slice()
  }

  async put (key: string, value: Uint8Array): Promise<void> {
    this.#map.set(key, value.slice())
  }

  async delete (key: string): Promise<void> {
    this.#map.delete(key)
  }
}
