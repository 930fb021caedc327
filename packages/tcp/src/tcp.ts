import { EgtpError, TypedEventTarget, disabledComponentLogger, systemClock } from '@egtp/interface'
import type {
  Clock, Commstrat, CommstratEvents, CommstratSendOptions, ComponentLogger, DialOptions, Endpoint, ListenOptions,
  Logger, ReturnPath, TcpEndpoint, Transport
} from '@egtp/interface'
import type { Socket } from 'node:net'
import { checkEndpoint, resolveConfig } from './config.ts'
import type { TcpConfig, TcpInit } from './config.ts'
import { TcpConn, formatAddress } from './conn.ts'
import type { TrafficCounters } from './conn.ts'
import { dialSocket } from './dial.ts'
import { TcpListener, bindServer } from './listener.ts'
import { TokenBucket } from './token-bucket.ts'

/** Injected dependencies of {@link tcp}. */
export interface TcpComponents {
  logger?: ComponentLogger
  /** Drives idle timeouts, reply expectations and the throttle's token buckets. Default: the system clock. */
  clock?: Clock
}

/** A connection as the observer events describe it. */
export interface TcpConnectionInfo {
  id: string
  direction: 'inbound' | 'outbound'
  remoteAddress: string
}

/** Events of {@link TcpCommstrat}: the Commstrat events plus connection observers. */
export interface TcpCommstratEvents extends CommstratEvents {
  'connection:open': TcpConnectionInfo
  /** `error` is the coded reason when the connection ended by failure (e.g. `ERR_FRAME_TOO_LARGE`). */
  'connection:close': TcpConnectionInfo & { error?: Error }
  /** An inbound connection was closed at once because of `maxConnections` or `maxInboundPerAddress`. */
  'connection:reject': { remoteAddress: string, reason: 'maxConnections' | 'maxInboundPerAddress' | 'stopped' }
}

/** Counters readable with {@link TcpCommstrat.stats}. */
export interface TcpStats extends TrafficCounters {
  connections: number
  inbound: number
  outbound: number
  /** Connections owned by the Commstrat side (dialed by `send`, or accepted by `start()`'s listeners). */
  managed: number
  dialing: number
  /** Bytes waiting to be written, over all connections. */
  queuedBytes: number
  rejectedInbound: number
  idleClosed: number
  evicted: number
}

interface Managed {
  path: ReturnPath
  pendingReplies: number
  expectUntil: number
}

const isWildcard = (host: string): boolean => host === '0.0.0.0' || host === '::' || host === '[::]'

/**
 * The TCP commstrat and transport. As a {@link Transport}, `dial`/`listen` hand out framed {@link Conn}s
 * that the caller owns. As a {@link Commstrat}, `start()` binds `init.listen`, and `send` keeps one connection
 * per remote endpoint (concurrent sends share one dial), reuses it both ways, and closes it when idle. Inbound
 * connections are answered through the `ReturnPath` of their frames. Excess outbound connections evict the least
 * recently used idle managed connection, or fail with `ERR_LIMIT` when none is idle.
 */
export class TcpCommstrat extends TypedEventTarget<TcpCommstratEvents> implements Commstrat, Transport {
  readonly kind = 'tcp'
  readonly #config: TcpConfig
  readonly #log: Logger
  readonly #clock: Clock
  readonly #counters: TrafficCounters = { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0 }
  readonly #inBucket: TokenBucket | undefined
  readonly #outBucket: TokenBucket | undefined
  readonly #conns = new Set<TcpConn>()
  readonly #inboundPerHost = new Map<string, number>()
  readonly #managed = new Map<TcpConn, Managed>()
  readonly #outbound = new Map<string, TcpConn>()
  readonly #dialing = new Map<string, Promise<TcpConn>>()
  readonly #listeners = new Set<TcpListener>()
  #dialsInFlight = 0
  #rejectedInbound = 0
  #idleClosed = 0
  #evicted = 0
  #nextId = 1
  #shutdown = new AbortController()
  #started = false
  #starting: Promise<void> | undefined
  #stopping: Promise<void> | undefined
  #sweepTimer: ReturnType<typeof setInterval> | undefined

  constructor (init: TcpInit = {}, components: TcpComponents = {}) {
    super()
    this.#config = resolveConfig(init)
    this.#log = (components.logger ?? disabledComponentLogger).forComponent('tcp')
    this.#clock = components.clock ?? systemClock
    const t = this.#config.throttle
    if (t?.inBytesPerSec !== undefined) this.#inBucket = new TokenBucket(t.inBytesPerSec, t.burstBytes ?? t.inBytesPerSec, this.#clock)
    if (t?.outBytesPerSec !== undefined) this.#outBucket = new TokenBucket(t.outBytesPerSec, t.burstBytes ?? t.outBytesPerSec, this.#clock)
  }

  // ---- Commstrat ----

  /** Bind `init.listen` and start closing idle connections. Idempotent. */
  async start (): Promise<void> {
    if (this.#started) return
    if (this.#starting !== undefined) return this.#starting
    this.#starting = (async () => {
      if (this.#stopping !== undefined) await this.#stopping
      this.#stopping = undefined
      if (this.#shutdown.signal.aborted) this.#shutdown = new AbortController()
      try {
        for (const endpoint of this.#config.listen) await this.#listen(endpoint, true, undefined)
      } catch (err) {
        await Promise.all([...this.#listeners].map(async l => { await l.close() }))
        throw err
      }
      const sweepMs = Math.max(10, Math.min(10_000, Math.floor(this.#config.idleTimeoutMs / 4)))
      this.#sweepTimer = setInterval(() => { this.#sweep() }, sweepMs)
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
   * Close every listener and connection (graceful, each bounded by `closeTimeoutMs`); pending dials fail with
   * `ERR_CLOSED`. Idempotent.
   */
  async stop (): Promise<void> {
    if (this.#stopping !== undefined) return this.#stopping
    this.#stopping = (async () => {
      if (this.#starting !== undefined) await this.#starting.catch(() => {})
      const wasStarted = this.#started
      this.#started = false
      clearInterval(this.#sweepTimer)
      this.#sweepTimer = undefined
      this.#shutdown.abort(new EgtpError('ERR_CLOSED', 'tcp stopped'))
      await Promise.all([
        ...[...this.#listeners].map(async l => { await l.close() }),
        ...[...this.#conns].map(async c => { await c.close() })
      ])
      this.#log('stopped')
      if (wasStarted) this.safeDispatch('endpoints:change', [])
    })()
    return this.#stopping
  }

  canSend (endpoint: Endpoint): boolean {
    return typeof endpoint === 'object' && endpoint !== null && endpoint.kind === 'tcp' && typeof endpoint.host === 'string' && endpoint.host !== '' &&
      Number.isInteger(endpoint.port) && endpoint.port > 0 && endpoint.port < 65_536
  }

  /**
   * Send `frame` to `endpoint` on its managed connection, dialing it if needed.
   * @throws {EgtpError} ERR_UNREACHABLE (no connection could be opened), ERR_LIMIT (maxConnections, none idle),
   *   ERR_FRAME_TOO_LARGE, ERR_BACKPRESSURE, ERR_CLOSED, ERR_NOT_STARTED
   */
  send (_peerId: string, endpoint: Endpoint, frame: Uint8Array, options?: CommstratSendOptions): Promise<void> {
    const signal = options?.signal
    if (signal?.aborted === true) return Promise.reject(signal.reason)
    if (!this.canSend(endpoint)) return Promise.reject(new TypeError('endpoint must be a tcp endpoint with a host and a port from 1 to 65535'))
    if (!this.#started) return Promise.reject(new EgtpError(this.#stopping !== undefined ? 'ERR_CLOSED' : 'ERR_NOT_STARTED', 'tcp is not started'))
    if (!(frame instanceof Uint8Array)) return Promise.reject(new TypeError('frame must be a Uint8Array'))
    if (frame.byteLength > this.#config.maxFrameBytes) {
      return Promise.reject(new EgtpError('ERR_FRAME_TOO_LARGE', `frame of ${frame.byteLength} bytes exceeds ${this.#config.maxFrameBytes}`))
    }
    const key = formatAddress(endpoint.host, endpoint.port)
    const open = this.#outbound.get(key)
    if (open !== undefined) return this.#sendOn(open, frame, options) // the hot path: no extra promise
    return this.#connect(key, endpoint as TcpEndpoint, signal).then(conn => this.#sendOn(conn, frame, options))
  }

  #sendOn (conn: TcpConn, frame: Uint8Array, options: CommstratSendOptions | undefined): Promise<void> {
    if (options?.expectReply === true) {
      const m = this.#managed.get(conn)
      if (m !== undefined) {
        m.pendingReplies++
        m.expectUntil = this.#clock.monotonic() + this.#config.expectReplyKeepMs
      }
    }
    return conn.send(frame, options)
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
    this.#reserveSlot(formatAddress(target.host, target.port))
    this.#dialsInFlight++
    let socket: Socket
    try {
      const timeoutMs = options?.connectTimeoutMs ?? this.#config.connectTimeoutMs
      socket = await dialSocket(target, timeoutMs, options?.signal, this.#shutdown.signal)
    } finally {
      this.#dialsInFlight--
    }
    return this.#adopt(socket, 'outbound')
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
    let inbound = 0
    let queuedBytes = 0
    for (const c of this.#conns) {
      if (c.direction === 'inbound') inbound++
      queuedBytes += c.queuedBytes
    }
    return {
      ...this.#counters,
      connections: this.#conns.size,
      inbound,
      outbound: this.#conns.size - inbound,
      managed: this.#managed.size,
      dialing: this.#dialsInFlight,
      queuedBytes,
      rejectedInbound: this.#rejectedInbound,
      idleClosed: this.#idleClosed,
      evicted: this.#evicted
    }
  }

  // ---- internals ----

  async #listen (endpoint: TcpEndpoint, managed: boolean, signal: AbortSignal | undefined): Promise<TcpListener> {
    signal?.throwIfAborted()
    if (this.#shutdown.signal.aborted) throw new EgtpError('ERR_CLOSED', 'tcp stopped')
    let listener: TcpListener | undefined
    const server = await bindServer(endpoint, signal, socket => {
      if (listener === undefined) socket.destroy()
      else this.#onInbound(socket, listener)
    })
    listener = new TcpListener(server, managed, l => { this.#listeners.delete(l) })
    this.#listeners.add(listener)
    if (this.#shutdown.signal.aborted) {
      await listener.close()
      throw new EgtpError('ERR_CLOSED', 'tcp stopped')
    }
    this.#log('listening on %s%s', formatAddress(listener.address().host, listener.address().port), managed ? '' : ' (transport)')
    return listener
  }

  #onInbound (socket: Socket, listener: TcpListener): void {
    const host = socket.remoteAddress
    const remote = formatAddress(host ?? 'unknown', socket.remotePort ?? 0)
    let reason: 'maxConnections' | 'maxInboundPerAddress' | 'stopped' | undefined
    if (listener.closed || this.#shutdown.signal.aborted) reason = 'stopped'
    else if (host === undefined) reason = 'stopped' // already gone
    else if (this.#conns.size + this.#dialsInFlight >= this.#config.maxConnections) reason = 'maxConnections'
    else if ((this.#inboundPerHost.get(host) ?? 0) >= this.#config.maxInboundPerAddress) reason = 'maxInboundPerAddress'
    if (reason !== undefined || host === undefined) {
      socket.destroy()
      this.#rejectedInbound++
      this.#log('rejected inbound connection from %s: %s', remote, reason)
      this.safeDispatch('connection:reject', { remoteAddress: remote, reason: reason ?? 'stopped' })
      return
    }
    this.#inboundPerHost.set(host, (this.#inboundPerHost.get(host) ?? 0) + 1)
    const conn = this.#adopt(socket, 'inbound')
    if (listener.managed) this.#manage(conn)
    listener.accept(conn)
  }

  #adopt (socket: Socket, direction: 'inbound' | 'outbound'): TcpConn {
    const config = this.#config
    const conn = new TcpConn({
      socket,
      id: `tcp-${this.#nextId++}`,
      direction,
      maxFrameBytes: config.maxFrameBytes,
      maxQueuedBytes: config.maxQueuedBytesPerConn,
      sendTimeoutMs: config.sendTimeoutMs,
      closeTimeoutMs: config.closeTimeoutMs,
      clock: this.#clock,
      log: this.#log,
      counters: this.#counters,
      inBucket: this.#inBucket,
      outBucket: this.#outBucket,
      onClosing: c => { this.#forget(c) }
    })
    this.#conns.add(conn)
    const info: TcpConnectionInfo = { id: conn.id, direction, remoteAddress: conn.remoteAddress }
    this.#log.trace('%s %s %s', conn.id, direction, conn.remoteAddress)
    this.safeDispatch('connection:open', info)
    conn.addEventListener('close', ({ detail }) => {
      this.safeDispatch('connection:close', detail.error !== undefined ? { ...info, error: detail.error } : info)
    })
    return conn
  }

  /** Make `conn` a Commstrat connection: its frames become `frame` events with a path answering on it. */
  #manage (conn: TcpConn): Managed {
    const path: ReturnPath = {
      kind: 'tcp',
      description: `tcp ${conn.id} ${conn.remoteAddress}`,
      reply: async (frame, options) => { await conn.send(frame, options) },
      usable: () => !conn.closed
    }
    const m: Managed = { path, pendingReplies: 0, expectUntil: 0 }
    this.#managed.set(conn, m)
    conn.frameSink = frame => {
      if (m.pendingReplies > 0) m.pendingReplies--
      this.safeDispatch('frame', { frame, path })
    }
    return m
  }

  #forget (conn: TcpConn): void {
    this.#conns.delete(conn)
    this.#managed.delete(conn)
    if (conn.direction === 'inbound') {
      const n = (this.#inboundPerHost.get(conn.remoteHost) ?? 1) - 1
      if (n > 0) this.#inboundPerHost.set(conn.remoteHost, n)
      else this.#inboundPerHost.delete(conn.remoteHost)
    }
    for (const [key, c] of this.#outbound) {
      if (c === conn) { this.#outbound.delete(key); break }
    }
  }

  /** One dial per endpoint: concurrent sends share it; each caller may still give up on its own signal. */
  async #connect (key: string, endpoint: TcpEndpoint, signal: AbortSignal | undefined): Promise<TcpConn> {
    let dialing = this.#dialing.get(key)
    if (dialing === undefined) {
      dialing = this.#dialManaged(key, endpoint).finally(() => { this.#dialing.delete(key) })
      this.#dialing.set(key, dialing)
    }
    if (signal === undefined) return dialing
    return new Promise<TcpConn>((resolve, reject) => {
      const onAbort = (): void => { reject(signal.reason) }
      signal.addEventListener('abort', onAbort, { once: true })
      dialing.then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
    })
  }

  async #dialManaged (key: string, endpoint: TcpEndpoint): Promise<TcpConn> {
    this.#reserveSlot(key)
    this.#dialsInFlight++
    let socket: Socket
    try {
      socket = await dialSocket(endpoint, this.#config.connectTimeoutMs, undefined, this.#shutdown.signal)
    } finally {
      this.#dialsInFlight--
    }
    const conn = this.#adopt(socket, 'outbound')
    this.#manage(conn)
    this.#outbound.set(key, conn)
    return conn
  }

  /** Make room for one more connection: evict the least recently used idle managed one, or fail `ERR_LIMIT`. */
  #reserveSlot (target: string): void {
    if (this.#conns.size + this.#dialsInFlight < this.#config.maxConnections) return
    const now = this.#clock.monotonic()
    let victim: TcpConn | undefined
    for (const [conn, m] of this.#managed) {
      if (!this.#isIdle(conn, m, now)) continue
      if (victim === undefined || conn.lastActivity < victim.lastActivity) victim = conn
    }
    if (victim === undefined) {
      throw new EgtpError('ERR_LIMIT', `cannot connect to ${target}: ${this.#config.maxConnections} connections open, none idle`)
    }
    this.#evicted++
    this.#log('evicting idle %s %s to connect to %s', victim.id, victim.remoteAddress, target)
    void victim.close()
  }

  /** Nothing queued and no reply expected (or the expectation lapsed). */
  #isIdle (conn: TcpConn, m: Managed, now: number): boolean {
    if (m.pendingReplies > 0 && now < m.expectUntil) return false
    return conn.queuedBytes === 0 && conn.waitingSends === 0
  }

  #sweep (): void {
    const now = this.#clock.monotonic()
    for (const [conn, m] of this.#managed) {
      if (now - conn.lastActivity < this.#config.idleTimeoutMs || !this.#isIdle(conn, m, now)) continue
      this.#idleClosed++
      this.#log.trace('closing idle %s %s', conn.id, conn.remoteAddress)
      void conn.close()
    }
  }
}

/**
 * The TCP commstrat factory: `tcp(init)(components)`.
 * @example
 * ```ts
 * const strat = tcp({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }] })({ logger })
 * await strat.start()
 * strat.addEventListener('frame', ({ detail }) => { void detail.path.reply(detail.frame) })
 * ```
 */
export function tcp (init: TcpInit = {}): (components?: TcpComponents) => TcpCommstrat {
  const config = resolveConfig(init) // fail early on a bad config
  return (components = {}) => new TcpCommstrat(config, components)
}
