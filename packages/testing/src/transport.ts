import { EgtpError, TypedEventTarget } from '@egtp/interface'
import type { DialOptions, ListenOptions, Listener, ListenerEvents, TcpEndpoint, Transport } from '@egtp/interface'
import { setMaxListeners } from 'node:events'
import type { MemoryConn } from './conn.ts'
import type { MemoryNetwork } from './network.ts'

export interface MemoryTransportInit {
  /** Connections this transport may hold, inbound and outbound: a dial past it fails with `ERR_LIMIT`, an inbound one is aborted. */
  maxConnections?: number
  /** How long a dial waits for its round trip when the call gives no `connectTimeoutMs`. */
  connectTimeoutMs?: number
}

/** Counters of one memory transport. */
export interface MemoryTransportStats {
  connections: number
  inbound: number
  outbound: number
  listeners: number
  /** Dials waiting for their round trip. */
  dialing: number
}

/** The checks tcp makes of an endpoint: programmer mistakes are `TypeError`/`RangeError`. */
function checkEndpoint (endpoint: TcpEndpoint, allowPortZero: boolean): { host: string, port: number } {
  if (typeof endpoint !== 'object' || endpoint === null) throw new TypeError('endpoint must be a TcpEndpoint')
  const { host, port } = endpoint
  if (typeof host !== 'string' || host === '') throw new TypeError('endpoint.host must be a non-empty string')
  if (!Number.isInteger(port) || port < (allowPortZero ? 0 : 1) || port > 65_535) {
    throw new RangeError(`endpoint.port must be an integer from ${allowPortZero ? 0 : 1} to 65535, got ${port}`)
  }
  return { host, port }
}

/**
 * A `Transport` on a {@link MemoryNetwork}, with tcp's semantics: `listen` binds a port of the network's host
 * (0 picks a free one; `ERR_ADDRESS_IN_USE` when taken), `dial` fails fast with `ERR_UNREACHABLE` when nobody
 * listens or a partition is in the way, else takes the links' round trip (failing with `ERR_UNREACHABLE` past
 * `connectTimeoutMs`), and an abort rethrows the signal's reason. Connections are {@link MemoryConn}s: frames,
 * graceful close, reset, backpressure. `close()` closes every listener and connection it made; later calls fail
 * with `ERR_CLOSED`.
 */
export class MemoryTransport implements Transport {
  /** This transport's name on its network (link seeds use it). */
  readonly id: string
  readonly network: MemoryNetwork
  readonly #maxConnections: number
  readonly #connectTimeoutMs: number
  readonly #conns = new Set<MemoryConn>()
  readonly #listeners = new Set<MemoryListener>()
  readonly #shutdown = new AbortController()
  #dialing = 0
  #closing: Promise<void> | undefined

  constructor (network: MemoryNetwork, id: string, init: Required<MemoryTransportInit>) {
    for (const key of ['maxConnections', 'connectTimeoutMs'] as const) {
      if (!(Number.isSafeInteger(init[key]) && init[key] > 0)) throw new RangeError(`memoryTransport: ${key} must be a positive integer`)
    }
    this.network = network
    this.id = id
    this.#maxConnections = init.maxConnections
    this.#connectTimeoutMs = init.connectTimeoutMs
    setMaxListeners(0, this.#shutdown.signal) // every dial in flight listens on it
  }

  /**
   * Open a connection to whoever listens on `endpoint` (a port of this network's host).
   * @throws {EgtpError} ERR_UNREACHABLE (nobody listens, a partition, another host, no answer within
   *   `connectTimeoutMs`), ERR_LIMIT, ERR_CLOSED; rethrows `signal.reason` on abort
   */
  async dial (endpoint: TcpEndpoint, options: DialOptions = {}): Promise<MemoryConn> {
    const { signal } = options
    signal?.throwIfAborted()
    const { host, port } = checkEndpoint(endpoint, false)
    if (this.#shutdown.signal.aborted) throw new EgtpError('ERR_CLOSED', `cannot dial ${host}:${port}: transport closed`)
    if (!this.network.names(host)) throw new EgtpError('ERR_UNREACHABLE', `no host ${host} on memory network ${this.network.host}`)
    if (this.#conns.size + this.#dialing >= this.#maxConnections) {
      throw new EgtpError('ERR_LIMIT', `memory transport ${this.id} holds ${this.#conns.size} connections (maxConnections)`)
    }
    this.#dialing++
    try {
      const rttMs = this.network.dialDelayMs(this, port)
      await this.#roundTrip(rttMs, options.connectTimeoutMs ?? this.#connectTimeoutMs, `${host}:${port}`, signal)
      const conn = this.network.connect(this, port) // checked again: the listener may have gone, a partition come
      this.#adopt(conn)
      return conn
    } finally {
      this.#dialing--
    }
  }

  /** The connect's round trip: at least the next turn of the event loop, as a socket connect would. */
  #roundTrip (rttMs: number, timeoutMs: number, address: string, signal: AbortSignal | undefined): Promise<void> {
    const shutdown = this.#shutdown.signal
    return new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer)
        clearImmediate(immediate)
        signal?.removeEventListener('abort', onAbort)
        shutdown.removeEventListener('abort', onShutdown)
      }
      const fail = (err: unknown): void => { cleanup(); reject(err) }
      const done = (): void => { cleanup(); resolve() }
      const onAbort = (): void => { fail(signal?.reason) }
      const onShutdown = (): void => { fail(new EgtpError('ERR_CLOSED', `dial to ${address} cancelled: transport closed`)) }
      let timer: ReturnType<typeof setTimeout> | undefined
      let immediate: ReturnType<typeof setImmediate> | undefined
      if (rttMs > timeoutMs) {
        timer = setTimeout(() => { fail(new EgtpError('ERR_UNREACHABLE', `cannot connect to ${address}: no answer within ${timeoutMs} ms`)) }, timeoutMs)
      } else if (rttMs > 0) {
        timer = setTimeout(done, rttMs)
      } else {
        immediate = setImmediate(done)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      shutdown.addEventListener('abort', onShutdown, { once: true })
    })
  }

  /**
   * Bind a listener on `endpoint`'s port; its host must name this network's host (`network.host`, or a loopback
   * or wildcard name such as `127.0.0.1`). `address()` reports `network.host` and the bound port.
   * @throws {EgtpError} ERR_ADDRESS_IN_USE, ERR_LISTEN (a host this network does not have), ERR_LIMIT (no free
   *   port), ERR_CLOSED; rethrows `signal.reason` on abort
   */
  async listen (endpoint: TcpEndpoint, options?: ListenOptions): Promise<MemoryListener> {
    options?.signal?.throwIfAborted()
    const { host, port } = checkEndpoint(endpoint, true)
    if (this.#shutdown.signal.aborted) throw new EgtpError('ERR_CLOSED', `cannot listen on ${host}:${port}: transport closed`)
    if (!this.network.names(host)) throw new EgtpError('ERR_LISTEN', `cannot listen on ${host}:${port}: not a name of memory host ${this.network.host}`)
    const bound: { listener?: MemoryListener } = {} // set before any connection can arrive
    const actual = this.network.bindPort(this, port, conn => { this.#accept(bound.listener, conn) })
    const listener = bound.listener = new MemoryListener(this.network.host, actual, l => {
      this.network.unbind(this, actual)
      this.#listeners.delete(l)
    })
    this.#listeners.add(listener)
    return listener
  }

  #accept (listener: MemoryListener | undefined, conn: MemoryConn): void {
    if (listener === undefined || listener.closed || this.#conns.size >= this.#maxConnections) {
      conn.abort(new EgtpError(listener === undefined || listener.closed ? 'ERR_CLOSED' : 'ERR_LIMIT', `memory transport ${this.id} refused a connection`))
      return
    }
    this.#adopt(conn)
    listener.accept(conn)
  }

  #adopt (conn: MemoryConn): void {
    this.#conns.add(conn)
    conn.addEventListener('close', () => { this.#conns.delete(conn) }, { once: true })
  }

  /** Close every listener and connection (gracefully, each bounded by the network's `closeTimeoutMs`); pending dials fail with `ERR_CLOSED`. Idempotent. */
  close (): Promise<void> {
    this.#closing ??= (async () => {
      this.#shutdown.abort(new EgtpError('ERR_CLOSED', 'memory transport closed'))
      await Promise.all([
        ...[...this.#listeners].map(async l => { await l.close() }),
        ...[...this.#conns].map(async c => { await c.close() })
      ])
    })()
    return this.#closing
  }

  stats (): MemoryTransportStats {
    let inbound = 0
    for (const c of this.#conns) if (c.direction === 'inbound') inbound++
    return { connections: this.#conns.size, inbound, outbound: this.#conns.size - inbound, listeners: this.#listeners.size, dialing: this.#dialing }
  }
}

/**
 * A bound port of a {@link MemoryTransport}. `close()` unbinds it, closes the connections it accepted (each
 * bounded by the network's `closeTimeoutMs`), then dispatches `close`; idempotent.
 */
export class MemoryListener extends TypedEventTarget<ListenerEvents> implements Listener {
  readonly #address: TcpEndpoint
  readonly #onClose: (listener: MemoryListener) => void
  readonly #conns = new Set<MemoryConn>()
  #closing: Promise<void> | undefined

  constructor (host: string, port: number, onClose: (listener: MemoryListener) => void) {
    super()
    this.#address = { kind: 'tcp', host, port }
    this.#onClose = onClose
  }

  get closed (): boolean {
    return this.#closing !== undefined
  }

  /** The network's host and the bound port (the real one when 0 was asked for). */
  address (): TcpEndpoint {
    return { ...this.#address }
  }

  /** @internal */
  accept (conn: MemoryConn): void {
    this.#conns.add(conn)
    conn.addEventListener('close', () => { this.#conns.delete(conn) }, { once: true })
    this.safeDispatch('connection', conn)
  }

  close (): Promise<void> {
    this.#closing ??= (async () => {
      this.#onClose(this)
      await Promise.all([...this.#conns].map(async conn => { await conn.close() }))
      this.safeDispatch('close', { local: true })
    })()
    return this.#closing
  }
}
