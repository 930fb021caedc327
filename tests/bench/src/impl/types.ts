// What every implementation under test provides: a server (run in a forked child process) and the client
// side (in the bench process). Addresses cross the IPC channel as JSON.

/** `echo`: every message comes back to its sender; `sink`: messages are counted (in payload bytes). */
export type ServerMode = 'echo' | 'sink'

export interface ServeOptions {
  mode: ServerMode
  /** Connections/peers the server must accept (limits are lifted by name to this). */
  maxPeers: number
  /** EGTP only: serve relay-only, registered with this relay endpoint (JSON of a RelayEndpoint). */
  relay?: unknown
}

export interface ServerHandle {
  /** JSON-safe: what a client needs to reach the server. */
  address: unknown
  /** Payload bytes received so far (sink mode). */
  receivedBytes: () => number
  stop: () => Promise<void>
}

/** One established client connection (or EGTP node with a session to the server). */
export interface ClientConn {
  /**
   * Send `payload`, resolve (with anything) when its echo came back: the implementation's own promise where it
   * has one, no wrapper of ours. Several may be in flight.
   */
  request: (payload: Uint8Array) => Promise<unknown>
  /** Hand `n` one-way messages to the transport, the fastest way the implementation documents. */
  sendMany: (payload: Uint8Array, n: number) => Promise<void>
  /** How `sendMany` sends (printed beside the figures). */
  readonly sendNote: string
  close: () => Promise<void>
}

/** A fresh peer, prepared (identity, node object) outside the timing; `run()` is connect + handshake + first reply. */
export interface FreshPeer {
  run: (payload: Uint8Array) => Promise<void>
  dispose: () => Promise<void>
}

export interface Impl {
  readonly name: string
  serve: (opts: ServeOptions) => Promise<ServerHandle>
  connect: (address: unknown) => Promise<ClientConn>
  fresh: (address: unknown) => Promise<FreshPeer>
}

/** Resolves once `emitter` fires `event` (a one-shot listener, removed after). */
export function onceEvent (target: { once: (event: string, fn: () => void) => unknown }, event: string): Promise<void> {
  return new Promise(resolve => { target.once(event, resolve) })
}

/** FIFO of waiting requests on an ordered stream: each reply completes the oldest. */
export class ReplyQueue {
  #waiting: Array<() => void> = []
  #head = 0
  push (resolve: () => void): void { this.#waiting.push(resolve) }
  /** `n` replies arrived. */
  complete (n: number): void {
    for (let i = 0; i < n; i++) {
      const resolve = this.#waiting[this.#head]
      if (resolve === undefined) throw new Error('a reply arrived that nobody asked for')
      this.#waiting[this.#head++] = noop
      resolve()
    }
    if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#head)
      this.#head = 0
    }
  }
}
const noop = (): void => {}
