import { TypedEventTarget } from '@egtp/interface'
import type { TypedEventSource } from '@egtp/interface'

type BaseListener = Parameters<EventTarget['addEventListener']>[1]
type BaseAddOptions = Parameters<EventTarget['addEventListener']>[2]
type BaseRemoveOptions = Parameters<EventTarget['removeEventListener']>[2]

/**
 * Events for objects there are thousands of (connections): the `EventTarget` (three maps, ~700 bytes) is
 * created when the first listener is added; until then dispatching costs nothing. Listeners receive the
 * same `CustomEvent`s as from a {@link TypedEventTarget}.
 */
export class LazyEventTarget<EventMap extends Record<string, unknown>> implements TypedEventSource<EventMap> {
  #target: TypedEventTarget<EventMap> | undefined

  addEventListener<K extends keyof EventMap & string> (
    type: K, listener: ((evt: CustomEvent<EventMap[K]>) => void) | null, options?: BaseAddOptions): void
  addEventListener (type: string, listener: BaseListener, options?: BaseAddOptions): void
  addEventListener (type: string, listener: unknown, options?: BaseAddOptions): void {
    (this.#target ??= new TypedEventTarget<EventMap>()).addEventListener(type, listener as BaseListener, options)
  }

  removeEventListener<K extends keyof EventMap & string> (
    type: K, listener: ((evt: CustomEvent<EventMap[K]>) => void) | null, options?: BaseRemoveOptions): void
  removeEventListener (type: string, listener: BaseListener, options?: BaseRemoveOptions): void
  removeEventListener (type: string, listener: unknown, options?: BaseRemoveOptions): void {
    this.#target?.removeEventListener(type, listener as BaseListener, options)
  }

  dispatchEvent (event: Event): boolean {
    return this.#target?.dispatchEvent(event) ?? true
  }

  /** How many listeners `type` has (an upper bound). */
  listenerCount (type: keyof EventMap & string): number {
    return this.#target?.listenerCount(type) ?? 0
  }

  /** Dispatch a `CustomEvent` with `detail` to the listeners, if any (a throwing listener is isolated). */
  safeDispatch<K extends keyof EventMap & string> (type: K, detail: EventMap[K]): void {
    this.#target?.safeDispatch(type, detail)
  }
}
