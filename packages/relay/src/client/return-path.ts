import { EgtpError, isEgtpError } from '@egtp/interface'
import type { AbortOptions, OutboundFrame, ReturnPath } from '@egtp/interface'
import type { RelayLink } from './link.ts'

/** The way back: through the same relay, to the sender it authenticated. */
export class RelayReturnPath implements ReturnPath {
  readonly kind = 'relay'
  readonly authenticatedSender: string
  readonly #link: RelayLink
  readonly #from: Uint8Array

  constructor (link: RelayLink, from: string, fromBytes: Uint8Array) {
    this.#link = link
    this.authenticatedSender = from
    this.#from = fromBytes
  }

  /** Whether this is the way back to `from` through `link`. */
  leadsTo (link: RelayLink, from: string): boolean {
    return this.#link === link && this.authenticatedSender === from
  }

  get description (): string {
    return `relay ${this.#link.endpoint.relay.slice(0, 8)} from ${this.authenticatedSender.slice(0, 8)}`
  }

  /** The relay and the sender it authenticated: a source a responder under load can make prove itself. */
  get source (): string {
    return `relay:${this.#link.endpoint.relay}:${this.authenticatedSender}`
  }

  /**
   * @throws {EgtpError} ERR_UNREACHABLE when the sender is no longer reachable through this relay (it left:
   *   the relay says ERR_RELAY_UNKNOWN_RECIPIENT), so the node falls back to the sender's contact record;
   *   otherwise as the relay client's `send`
   */
  async reply (frame: OutboundFrame, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    try {
      await this.#link.send(this.#from, frame, options?.signal)
    } catch (err) {
      if (!isEgtpError(err, 'ERR_RELAY_UNKNOWN_RECIPIENT')) throw err
      throw new EgtpError('ERR_UNREACHABLE', `${this.authenticatedSender} is no longer reachable through relay ${this.#link.key}`, { cause: err, retryable: true, scope: 'endpoint' })
    }
  }

  /**
   * The node is done with a frame that came this way: the memory of the relay connection's message that carried
   * it may serve again (its other entries were handed up already, in the same turn).
   */
  recycle (frame: Uint8Array): void {
    this.#link.recycle(frame)
  }

  /**
   * While the link's connection is up. When it is down a reply would wait for the reconnection (or fail at its
   * deadline), while the node could use the sender's contact record at once; the next frame the sender sends
   * through this relay makes a new path.
   */
  usable (): boolean {
    return this.#link.state === 'ready'
  }
}
