type BaseListener = Parameters<EventTarget['addEventListener']>[1]
type BaseAddOptions = Parameters<EventTarget['addEventListener']>[2]
type BaseRemoveOptions = Parameters<EventTarget['removeEventListener']>[2]

/**
 * A typed `EventTarget`: `EventMap` maps event names to the `detail` type of their `CustomEvent`.
 * Modelled on libp2p's main-event. Listeners that throw are isolated by {@link TypedEventTarget.safeDispatch}.
 */
export class TypedEventTarget<EventMap extends Record<string, unknown>> extends EventTarget {
  // Created with the first listener: most targets (a node per peer, its session manager) never get one.
  #listenerCounts: Map<string, number> | undefined

  override addEventListener<K extends keyof EventMap & string> (
    type: K, listener: ((evt: CustomEvent<EventMap[K]>) => void) | null, options?: BaseAddOptions): void
  override addEventListener (type: string, listener: BaseListener, options?: BaseAddOptions): void
  override addEventListener (type: string, listener: unknown, options?: BaseAddOptions): void {
    if (listener !== null) {
      const counts = this.#listenerCounts ??= new Map()
      counts.set(type, (counts.get(type) ?? 0) + 1)
    }
    super.addEventListener(type, listener as BaseListener, options)
  }

  override removeEventListener<K extends keyof EventMap & string> (
    type: K, listener: ((evt: CustomEvent<EventMap[K]>) => void) | null, options?: BaseRemoveOptions): void
  override removeEventListener (type: string, listener: BaseListener, options?: BaseRemoveOptions): void
  override removeEventListener (type: string, listener: unknown, options?: BaseRemoveOptions): void {
    const counts = this.#listenerCounts
    const count = counts?.get(type) ?? 0
    if (listener !== null && count > 0) counts?.set(type, count - 1)
    super.removeEventListener(type, listener as BaseListener, options)
  }

  /** How many listeners `type` has (an upper bound: lets hot paths skip building event details). */
  listenerCount (type: keyof EventMap & string): number {
    return this.#listenerCounts?.get(type) ?? 0
  }

  /**
   * Dispatch a `CustomEvent` with `detail`. A throwing listener never breaks the dispatcher's state.
   */
  safeDispatch<K extends keyof EventMap & string> (type: K, detail: EventMap[K]): void {
    if (this.listenerCount(type) === 0) return
    try {
      this.dispatchEvent(new CustomEvent(type, { detail }))
    } catch {
      // Node reports listener exceptions through 'uncaughtException' instead of throwing here, but a
      // polyfilled EventTarget may throw: never let it escape into protocol state.
    }
  }
}

/**
 * The listening side of a {@link TypedEventTarget} as a structural type: what a consumer of events needs. An
 * object with many instances (a connection) may implement it without being an `EventTarget` itself, creating
 * one only when the first listener is added.
 */
export type TypedEventSource<EventMap extends Record<string, unknown>> =
  Pick<TypedEventTarget<EventMap>, 'addEventListener' | 'removeEventListener' | 'dispatchEvent' | 'listenerCount'>
