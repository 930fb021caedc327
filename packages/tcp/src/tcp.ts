import { EgtpError, TypedEventTarget, disabledComponentLogger, outboundFrameBytes, systemClock } from '@egtp/interface'
import type {
  Commstrat, CommstratSendOptions, DialOptions, Endpoint, FrameListener, ListenOptions, Logger, OutboundFrame, TcpEndpoint, Transport
} from '@egtp/interface'
import { checkEndpoint, resolveConfig } from './config.ts'
import type { TcpConfig, TcpInit } from './config.ts'
import { formatAddress } from './conn.ts'
import type { TcpConn } from './conn.ts'
import { TcpListener, bindServer } from './listener.ts'
import { ConnectionPool } from './pool.ts'
import { TokenBucket } from './token-bucket.ts'
import type { TcpCommstratEvents, TcpComponents, TcpStats } from './types.ts'

const isWildcard = (host: string): boolean => host === '0.0.0.0' || host === '::' || host === '[::]'

/**
 * The TCP commstrat and transport. As a {@link Transport}, `dial`/`listen` hand out framed `Conn`s that the
 * caller owns. As a {@link Commstrat}, `start()` binds `init.listen`, and `send` keeps one connection per remote
 * endpoint (concurrent sends share one dial), reuses it both ways, and closes it when idle. Inbound connections
 * are answered through the `ReturnPath` of their frames. Excess outbound connections evict the least recently
 * used idle managed connection, or fail with `ERR_LIMIT` when none is idle.
 */
export class TcpCommstrat extends TypedEventTarget<TcpCommstratEvents> implements Commstrat, Transport {
  readonly kind = 'tcp'
  readonly #config: TcpConfig
  readonly #log: Logger
  readonly #pool: ConnectionPool
  readonly #listeners = new Set<TcpListener>()
  #started = false
  #starting: Promise<void> | undefined
  #stopping: Promise<void> | undefined
  #sweepTimer: ReturnType<typeof setInterval> | undefined
  readonly #frameSink: { listener: FrameListener | undefined } = { listener: undefined }

  constructor (init: TcpInit = {}, components: TcpComponents = {}) {
    super()
    const config = this.#config = resolveConfig(init)
    this.#log = (components.logger ?? disabledComponentLogger).forComponent('tcp')
    const clock = components.clock ?? systemClock
    const t = config.throttle
    this.#pool = new ConnectionPool({
      frameSink: this.#frameSink,
      config,
      clock,
      log: this.#log,
      events: this,
      inBucket: t?.inBytesPerSec !== undefined ? new TokenBucket(t.inBytesPerSec, t.burstBytes ?? t.inBytesPerSec, clock) : undefined,
      outBucket: t?.outBytesPerSec !== undefined ? new TokenBucket(t.outBytesPerSec, t.burstBytes ?? t.outBytesPerSec, clock) : undefined
    })
  }

  // ---- Commstrat ----

  /** Hand every inbound frame of managed connections to `listener` by a direct call (besides `frame` events). */
  setFrameListener (listener: FrameListener | undefined): void {
    this.#frameSink.listener = listener
  }

  /** Bind `init.listen` and start closing idle connections. Idempotent; may follow `stop()`. */
  async start (): Promise<void> {
    if (this.#started) return
    if (this.#starting !== undefined) return this.#starting
    this.#starting = (async () => {
      if (this.#stopping !== undefined) await this.#stopping
      this.#stopping = undefined
      this.#pool.restartDials()
      try {
        for (const endpoint of this.#config.listen) await this.#listen(endpoint, true, undefined)
      } catch (err) {
        await Promise.all([...this.#listeners].map(async l => { await l.close() }))
        throw err
      }
      const sweepMs = Math.max(10, Math.min(10_000, Math.floor(this.#config.idleTimeoutMs / 4)))
      this.#sweepTimer = setInterval(() => { this.#pool.sweep() }, sweepMs)
      this.#sweepTimer.unref()
      this.#started = true
      this.#log('started, listening on %o', this.localEndpoints())
      this.safeDispatch('endpoints:change', this.localEndpoints())
    })()
    try {
      await this.#starting
    } finally {
      this.#starting = undefined
    }
  }

  /**
   * Close every listener and connection, managed or not (graceful, each bounded by `closeTimeoutMs`); pending
   * dials fail with `ERR_CLOSED`. Idempotent.
   */
  async stop (): Promise<void> {
    if (this.#stopping !== undefined) return this.#stopping
    this.#stopping = (async () => {
      if (this.#starting !== undefined) await this.#starting.catch(() => {})
      const wasStarted = this.#started
      this.#started = false
      clearInterval(this.#sweepTimer)
      this.#sweepTimer = undefined
      this.#pool.stopDials()
      await Promise.all([
        ...[...this.#listeners].map(async l => { await l.close() }),
        ...[...this.#pool.conns].map(async c => { await c.close() })
      ])
      this.#log('stopped')
      if (wasStarted) this.safeDispatch('endpoints:change', [])
    })()
    return this.#stopping
  }

  canSend (endpoint: Endpoint): endpoint is TcpEndpoint {
    return typeof endpoint === 'object' && endpoint !== null && endpoint.kind === 'tcp' &&
      typeof endpoint.host === 'string' && endpoint.host !== '' &&
      typeof endpoint.port === 'number' && Number.isInteger(endpoint.port) && endpoint.port > 0 && endpoint.port < 65_536
  }

  /**
   * Send `frame` to `endpoint` on its managed connection, dialing it if needed.
   * @throws {EgtpError} ERR_UNREACHABLE (no connection could be opened), ERR_LIMIT (maxConnections, none idle),
   *   ERR_FRAME_TOO_LARGE, ERR_BACKPRESSURE, ERR_CLOSED, ERR_NOT_STARTED
   */
  send (_peerId: string, endpoint: Endpoint, frame: OutboundFrame, options?: CommstratSendOptions): Promise<void> {
    const signal = options?.signal
    if (signal?.aborted === true) return Promise.reject(signal.reason)
    if (!this.canSend(endpoint)) return Promise.reject(new TypeError('endpoint must be a tcp endpoint with a host and a port from 1 to 65535'))
    if (!this.#started) return Promise.reject(new EgtpError(this.#stopping !== undefined ? 'ERR_CLOSED' : 'ERR_NOT_STARTED', 'tcp is not started'))
    const bytes = frame instanceof Uint8Array ? frame.length : outboundFrameBytes(frame)
    if (bytes < 0) return Promise.reject(new TypeError('frame must be a Uint8Array or an array of them'))
    if (bytes > this.#config.maxFrameBytes) {
      return Promise.reject(new EgtpError('ERR_FRAME_TOO_LARGE', `frame of ${bytes} bytes exceeds ${this.#config.maxFrameBytes}`))
    }
    const key = formatAddress(endpoint.host, endpoint.port)
    const open = this.#pool.outbound(key)
    if (open !== undefined) return this.#sendOn(open, frame, options) // the hot path: no extra promise
    const connecting = this.#pool.connect(key, endpoint, signal)
    // A fresh connection's first frame goes to the socket now, and out as it connects (see writeEarly).
    if (this.#pool.writeEarly(key, frame, bytes)) {
      return connecting.then(conn => { if (options?.expectReply === true) this.#pool.expectReply(conn) })
    }
    return connecting.then(conn => this.#sendOn(conn, frame, options))
  }

  /**
   * Start dialing `endpoint`'s managed connection unless it is open or being dialed: the `send` that follows
   * joins the dial. Never throws (a failed dial fails that send).
   */
  prepare (_peerId: string, endpoint: Endpoint): void {
    if (!this.#started || !this.canSend(endpoint)) return
    const key = formatAddress(endpoint.host, endpoint.port)
    if (this.#pool.outbound(key) !== undefined) return
    this.#pool.connect(key, endpoint, undefined).catch(() => {})
  }

  #sendOn (conn: TcpConn, frame: OutboundFrame, options: CommstratSendOptions | undefined): Promise<void> {
    if (options?.expectReply === true) this.#pool.expectReply(conn)
    return conn.send(frame, options)
  }

  /** Close the managed outbound connection to `endpoint` (gracefully), if one is open. */
  async disconnect (_peerId: string, endpoint: Endpoint): Promise<void> {
    if (!this.canSend(endpoint)) return
    await this.#pool.outbound(formatAddress(endpoint.host, endpoint.port))?.close()
  }

  /** The endpoints to advertise: `init.announce`, else the bound non-wildcard listeners of `start()`. */
  localEndpoints (): Endpoint[] {
    if (this.#config.announce !== undefined) return this.#config.announce.map(e => ({ ...e }))
    if (!this.#started && this.#starting === undefined) return []
    return [...this.#listeners].filter(l => l.managed && !l.closed).map(l => l.address()).filter(e => !isWildcard(e.host))
  }

  // ---- Transport ----

  /**
   * Open an unmanaged framed connection (the caller closes it; `stop()` closes it too).
   * @throws {EgtpError} ERR_UNREACHABLE, ERR_LIMIT, ERR_CLOSED; rethrows `signal.reason` on abort
   */
  async dial (endpoint: TcpEndpoint, options?: DialOptions): Promise<TcpConn> {
    options?.signal?.throwIfAborted()
    const target = checkEndpoint('endpoint', endpoint, false)
    const timeoutMs = options?.connectTimeoutMs ?? this.#config.connectTimeoutMs
    return this.#pool.dial(target, timeoutMs, options?.signal)
  }

  /**
   * Bind an unmanaged listener whose connections are handed out as `connection` events.
   * @throws {EgtpError} ERR_ADDRESS_IN_USE, ERR_LISTEN, ERR_CLOSED; rethrows `signal.reason` on abort
   */
  async listen (endpoint: TcpEndpoint, options?: ListenOptions): Promise<TcpListener> {
    return this.#listen(checkEndpoint('endpoint', endpoint, true), false, options?.signal)
  }

  /** Connection and traffic counters. */
  stats (): TcpStats {
    return this.#pool.stats()
  }

  async #listen (endpoint: TcpEndpoint, managed: boolean, signal: AbortSignal | undefined): Promise<TcpListener> {
    signal?.throwIfAborted()
    if (this.#pool.stopped) throw new EgtpError('ERR_CLOSED', 'tcp stopped')
    const bound: { listener?: TcpListener } = {} // set before any connection can be accepted
    const server = await bindServer(endpoint, signal, socket => {
      if (bound.listener === undefined) socket.destroy()
      else this.#pool.onInbound(socket, bound.listener, this.#pool.stopped)
    })
    const listener = new TcpListener(server, managed, l => { this.#listeners.delete(l) }, () => this.#pool.unfinished())
    bound.listener = listener
    this.#listeners.add(listener)
    if (this.#pool.stopped) {
      await listener.close()
      throw new EgtpError('ERR_CLOSED', 'tcp stopped')
    }
    const { host, port } = listener.address()
    this.#log('listening on %s%s', formatAddress(host, port), managed ? '' : ' (transport)')
    return listener
  }
}

/**
 * The TCP commstrat factory: `tcp(init)(components)`. Validates `init` at once (`RangeError`/`TypeError`).
 * @example
 * ```ts
 * const strat = tcp({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }] })({ logger })
 * await strat.start()
 * strat.addEventListener('frame', ({ detail }) => { void detail.path.reply(detail.frame) })
 * ```
 */
export function tcp (init: TcpInit = {}): (components?: TcpComponents) => TcpCommstrat {
  const config = resolveConfig(init)
  return (components = {}) => new TcpCommstrat(config, components)
}
