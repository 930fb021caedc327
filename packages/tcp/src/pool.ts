import { encodeFrames } from '@egtp/codec'
import { EgtpError, SourceWarnings, joinOutboundFrame } from '@egtp/interface'
import type { Clock, FrameListener, Logger, OutboundFrame, TcpEndpoint, TypedEventTarget } from '@egtp/interface'
import { isIPv4 } from 'node:net'
import type { Socket } from 'node:net'
import type { TcpConfig } from './config.ts'
import { TcpConn, formatAddress } from './conn.ts'
import { LARGE_FRAME_BYTES } from './constants.ts'
import type { TcpConnInit, TrafficCounters } from './conn.ts'
import { dialSocket } from './dial.ts'
import type { DialRegistry } from './dial.ts'
import type { TcpListener } from './listener.ts'
import { ManagedPath } from './managed-path.ts'
import type { PathHooks } from './managed-path.ts'
import type { TokenBucket } from './token-bucket.ts'
import type { TcpCommstratEvents, TcpConnectionInfo, TcpRejectReason, TcpStats } from './types.ts'

/** The managed path of `conn`, if it is managed (its frames go to it). */
const managedPath = (conn: TcpConn): ManagedPath | undefined => conn.frameSink instanceof ManagedPath ? conn.frameSink : undefined

/** A managed dial in flight: its connection to come, its socket once made, the frame written to it early. */
interface ManagedDial {
  promise: Promise<TcpConn>
  socket: Socket | undefined
  /** Bytes (header included) of the frame written before the socket connected; 0 while none was. */
  earlyBytes: number
}

const connectionInfo = (conn: TcpConn): TcpConnectionInfo => ({ id: conn.id, direction: conn.direction, remoteAddress: conn.remoteAddress })

export interface PoolInit {
  /** The commstrat's direct frame listener, if set (read for every frame: it may change). */
  frameSink: { listener: FrameListener | undefined }
  config: TcpConfig
  clock: Clock
  log: Logger
  events: TypedEventTarget<TcpCommstratEvents>
  inBucket: TokenBucket | undefined
  outBucket: TokenBucket | undefined
}

/**
 * Every open connection of one instance, the caps on them, and the managed ones (the Commstrat side): one
 * outbound connection per endpoint, shared dials, reply expectations, idle sweeps and LRU eviction.
 */
export class ConnectionPool {
  readonly #init: PoolInit
  readonly #counters: TrafficCounters = { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0 }
  readonly conns = new Set<TcpConn>()
  readonly #inboundPerHost = new Map<string, number>()
  /** Connections closing (no longer in `conns`) until their socket closed. */
  readonly #closing = new Set<TcpConn>()
  /** How many of `conns` are managed (each finds its {@link ManagedPath} as its `frameSink`: no second table). */
  #managedCount = 0
  readonly #outbound = new Map<string, TcpConn>()
  readonly #dialing = new Map<string, ManagedDial>()
  /**
   * Managed inbound connections not yet authenticated, oldest first (the first to go when room is needed, and
   * the first whose `authTimeoutMs` runs out: one timer for all of them, not one per connection).
   */
  readonly #unauthenticated = new Set<TcpConn>()
  #authTimer: ReturnType<typeof setTimeout> | undefined
  readonly #warnings: SourceWarnings
  #dialsInFlight = 0
  /** Stopped or not, and the cancellation of each dial in flight (see {@link DialRegistry}). */
  readonly #dials: DialRegistry & { stopped: boolean } = { stopped: false, cancels: new Set() }
  #rejectedInbound = 0
  readonly #rejectedByReason: Record<TcpRejectReason, number> = { maxConnections: 0, maxInboundPerAddress: 0, stopped: 0 }
  #authTimeouts = 0
  #framingViolations = 0
  #rejectedGarbage = 0
  #evictedUnauthenticated = 0
  #idleClosed = 0
  #evicted = 0
  #nextId = 1
  /** Shared by every managed path (no closures per connection). */
  readonly #hooks: PathHooks
  /** Shared by every connection. */
  readonly #connInit: TcpConnInit

  constructor (init: PoolInit) {
    this.#init = init
    this.#warnings = new SourceWarnings(init.log, { now: () => init.clock.monotonic() })
    const { config, clock, log, events } = init
    this.#connInit = {
      maxFrameBytes: config.maxFrameBytes,
      maxQueuedBytes: config.maxQueuedBytesPerConn,
      sendTimeoutMs: config.sendTimeoutMs,
      closeTimeoutMs: config.closeTimeoutMs,
      clock,
      log,
      counters: this.#counters,
      inBucket: init.inBucket,
      outBucket: init.outBucket,
      onClosing: c => { this.#forget(c) },
      onViolation: (c, err) => {
        this.#framingViolations++
        this.#warnings.warn(c.remoteHost, 'framing', 'closed %s from %s: %s', c.id, c.remoteAddress, err.message)
      },
      onClose: (c, detail) => {
        this.#closing.delete(c)
        managedPath(c)?.release()
        if (events.listenerCount('connection:close') === 0) return
        const info = connectionInfo(c)
        events.safeDispatch('connection:close', detail.error !== undefined ? { ...info, error: detail.error } : info)
      }
    }
    this.#hooks = {
      frame: (path, frame) => {
        const listener = init.frameSink.listener
        if (listener !== undefined) listener(frame, path)
        if (init.events.listenerCount('frame') > 0) init.events.safeDispatch('frame', { frame, path })
      },
      authenticated: path => { this.#unauthenticated.delete(path.conn) },
      reject: (path, error) => {
        const conn = path.conn
        this.#rejectedGarbage++
        this.#warnings.warn(conn.remoteHost, 'garbage', 'closed %s from %s: %s', conn.id, conn.remoteAddress, error.message)
        conn.abort(error)
      }
    }
  }

  /** Every connection whose socket has not closed yet: the open ones, then those closing. */
  * unfinished (): IterableIterator<TcpConn> {
    yield * this.conns
    yield * this.#closing
  }

  /** The open managed connection to `key` (`host:port`), if any. */
  outbound (key: string): TcpConn | undefined {
    return this.#outbound.get(key)
  }

  /** Note that a reply is expected on `conn`: it is kept open until one arrives or `expectReplyKeepMs` passes. */
  expectReply (conn: TcpConn): void {
    const m = managedPath(conn)
    if (m === undefined) return
    m.pendingReplies++
    m.expectUntil = this.#init.clock.monotonic() + this.#init.config.expectReplyKeepMs
  }

  /** Accept or refuse an inbound socket of `listener`. */
  onInbound (socket: Socket, listener: TcpListener, stopped: boolean): void {
    const { config, log, events } = this.#init
    const host = socket.remoteAddress
    let reason: TcpRejectReason | undefined
    if (stopped || listener.closed || host === undefined) reason = 'stopped'
    else if ((this.#inboundPerHost.get(host) ?? 0) >= config.maxInboundPerAddress && !this.#evictUnauthenticated(host)) reason = 'maxInboundPerAddress'
    else if (this.conns.size + this.#dialsInFlight >= config.maxConnections && !this.#evictUnauthenticated(undefined)) reason = 'maxConnections'
    if (reason !== undefined || host === undefined) {
      const remote = formatAddress(host ?? 'unknown', socket.remotePort ?? 0)
      socket.destroy()
      this.#rejectedInbound++
      this.#rejectedByReason[reason ?? 'stopped']++
      if (reason === 'stopped') log('rejected inbound connection from %s: %s', remote, reason)
      else this.#warnings.warn(host ?? 'unknown', reason ?? 'stopped', 'refused an inbound connection from %s: %s reached', remote, reason)
      events.safeDispatch('connection:reject', { remoteAddress: remote, reason: reason ?? 'stopped' })
      return
    }
    this.#inboundPerHost.set(host, (this.#inboundPerHost.get(host) ?? 0) + 1)
    const conn = this.#adopt(socket, 'inbound')
    if (listener.managed) this.#manage(conn)
    listener.accept(conn)
  }

  /** True between {@link stopDials} and {@link restartDials}: dials fail with `ERR_CLOSED`. */
  get stopped (): boolean {
    return this.#dials.stopped
  }

  /** The instance stops: dials in flight fail with `ERR_CLOSED`, and so do new ones until {@link restartDials}. */
  stopDials (): void {
    const dials = this.#dials
    dials.stopped = true
    for (const cancel of [...dials.cancels]) cancel()
  }

  /** The instance starts again. */
  restartDials (): void {
    this.#dials.stopped = false
  }

  /** An unmanaged outbound connection (Transport.dial). */
  async dial (endpoint: TcpEndpoint, timeoutMs: number, signal: AbortSignal | undefined,
    opened?: (socket: Socket) => void): Promise<TcpConn> {
    this.#reserveSlot(endpoint)
    this.#dialsInFlight++
    let socket: Socket
    try {
      socket = await dialSocket(endpoint, timeoutMs, signal, this.#dials, opened)
    } finally {
      this.#dialsInFlight--
    }
    // An IPv4 literal is what the socket would report as its peer (a name or an IPv6 form might not be).
    return this.#adopt(socket, 'outbound', isIPv4(endpoint.host) ? endpoint : undefined)
  }

  /** The managed connection to `key`, dialing it once however many sends wait; each may give up on its signal. */
  async connect (key: string, endpoint: TcpEndpoint, signal: AbortSignal | undefined): Promise<TcpConn> {
    let dial = this.#dialing.get(key)
    if (dial === undefined) {
      const d: ManagedDial = dial = { promise: undefined as unknown as Promise<TcpConn>, socket: undefined, earlyBytes: 0 }
      this.#dialing.set(key, d) // before the dial starts: its socket is noted on it at once
      d.promise = this.#dialManaged(key, endpoint, d).finally(() => {
        if (this.#dialing.get(key) === d) this.#dialing.delete(key)
      })
    }
    const dialing = dial.promise
    if (signal === undefined) return dialing
    return new Promise<TcpConn>((resolve, reject) => {
      const onAbort = (): void => { reject(signal.reason) }
      signal.addEventListener('abort', onAbort, { once: true })
      dialing.then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
    })
  }

  /**
   * Write `frame` (`bytes` long, checked against the frame limit) to the socket of the managed dial to `key`
   * before it connects, when it is the dial's first frame: Node holds the bytes and writes them as the socket
   * connects, so the peer has them before this side sets the connection up (the set-up leaves the critical
   * path of a fresh peer's first message). False, writing nothing, when no such dial is in flight, a frame went
   * early already, the frame is large, or an outbound throttle applies: the frame then waits for the connection.
   * A dial that fails destroys the socket and the frame with it (the send fails as the dial does).
   */
  writeEarly (key: string, frame: OutboundFrame, bytes: number): boolean {
    const dial = this.#dialing.get(key)
    const socket = dial?.socket
    if (dial === undefined || socket === undefined || dial.earlyBytes !== 0 || !socket.connecting || socket.destroyed ||
      bytes >= LARGE_FRAME_BYTES || this.#init.outBucket !== undefined) return false
    const body = frame instanceof Uint8Array ? frame : joinOutboundFrame(frame)
    const buf = encodeFrames([body], this.#init.config.maxFrameBytes)
    dial.earlyBytes = buf.length
    socket.write(buf)
    return true
  }

  async #dialManaged (key: string, endpoint: TcpEndpoint, dial: ManagedDial): Promise<TcpConn> {
    const conn = await this.dial(endpoint, this.#init.config.connectTimeoutMs, undefined, socket => { dial.socket = socket })
    dial.socket = undefined
    if (dial.earlyBytes > 0) conn.noteEarlyFrame(dial.earlyBytes)
    this.#manage(conn)
    this.#outbound.set(key, conn)
    return conn
  }

  #adopt (socket: Socket, direction: 'inbound' | 'outbound', dialed?: TcpEndpoint): TcpConn {
    const { log, events } = this.#init
    const conn = new TcpConn(socket, this.#nextId++, direction, this.#connInit, dialed)
    this.conns.add(conn)
    log.trace('%s %s %s', conn.id, direction, conn.remoteAddress)
    if (events.listenerCount('connection:open') > 0) events.safeDispatch('connection:open', connectionInfo(conn))
    return conn
  }

  /** Make `conn` a Commstrat connection: its frames become `frame` events with a path answering on it. */
  #manage (conn: TcpConn): void {
    const { config } = this.#init
    const guarded = conn.direction === 'inbound' && config.authTimeoutMs > 0
    const m = new ManagedPath(conn, this.#hooks, !guarded)
    this.#managedCount++
    conn.frameSink = m
    if (guarded) {
      m.authDeadline = performance.now() + config.authTimeoutMs
      this.#unauthenticated.add(conn)
      if (this.#authTimer === undefined) this.#armAuthTimer(config.authTimeoutMs)
    }
  }

  #armAuthTimer (ms: number): void {
    this.#authTimer = setTimeout(() => {
      this.#authTimer = undefined
      this.#closeUnauthenticated()
    }, ms)
    this.#authTimer.unref?.()
  }

  /** Close the connections whose `authTimeoutMs` ran out (the oldest first); wait again for the next one. */
  #closeUnauthenticated (): void {
    const { authTimeoutMs } = this.#init.config
    const now = performance.now()
    for (const conn of this.#unauthenticated) {
      const waitMs = managedPath(conn)!.authDeadline - now
      if (waitMs >= 1) {
        this.#armAuthTimer(Math.ceil(waitMs))
        return
      }
      this.#unauthenticated.delete(conn)
      this.#authTimeouts++
      this.#warnings.warn(conn.remoteHost, 'auth-timeout', 'closed %s from %s: not authenticated within %d ms', conn.id, conn.remoteAddress, authTimeoutMs)
      conn.abort(new EgtpError('ERR_TIMEOUT', `${conn.remoteAddress} did not authenticate within ${authTimeoutMs} ms`))
    }
  }

  /**
   * Close the oldest unauthenticated inbound connection (from `host`, or from anywhere) to make room for a new
   * one. False when there is none.
   */
  #evictUnauthenticated (host: string | undefined): boolean {
    for (const conn of this.#unauthenticated) {
      if (host !== undefined && conn.remoteHost !== host) continue
      this.#evictedUnauthenticated++
      this.#warnings.warn(conn.remoteHost, 'evicted', 'closed unauthenticated %s from %s to make room', conn.id, conn.remoteAddress)
      conn.abort(new EgtpError('ERR_LIMIT', `${conn.remoteAddress} replaced by a newer connection before it authenticated`))
      return true
    }
    return false
  }

  #forget (conn: TcpConn): void {
    if (!this.conns.delete(conn)) return
    this.#closing.add(conn)
    if (conn.frameSink instanceof ManagedPath) this.#managedCount--
    if (conn.direction === 'inbound') {
      this.#unauthenticated.delete(conn)
      const n = (this.#inboundPerHost.get(conn.remoteHost) ?? 1) - 1
      if (n > 0) this.#inboundPerHost.set(conn.remoteHost, n)
      else this.#inboundPerHost.delete(conn.remoteHost)
      return // never in #outbound
    }
    for (const [key, c] of this.#outbound) {
      if (c === conn) { this.#outbound.delete(key); break }
    }
  }

  /** Make room for one more connection: evict the least recently used idle managed one, or fail `ERR_LIMIT`. */
  #reserveSlot (endpoint: TcpEndpoint): void {
    const { config, clock, log } = this.#init
    if (this.conns.size + this.#dialsInFlight < config.maxConnections) return
    const target = formatAddress(endpoint.host, endpoint.port)
    const now = clock.monotonic()
    let victim: TcpConn | undefined
    for (const conn of this.conns) {
      const m = managedPath(conn)
      if (m === undefined || !this.#isIdle(conn, m, now)) continue
      if (victim === undefined || conn.lastActivity < victim.lastActivity) victim = conn
    }
    if (victim === undefined) {
      throw new EgtpError('ERR_LIMIT', `cannot connect to ${target}: ${config.maxConnections} connections open, none idle`)
    }
    this.#evicted++
    log('evicting idle %s %s to connect to %s', victim.id, victim.remoteAddress, target)
    void victim.close()
  }

  /** Nothing queued and no reply expected (or the expectation lapsed). */
  #isIdle (conn: TcpConn, m: ManagedPath, now: number): boolean {
    if (m.pendingReplies > 0 && now < m.expectUntil) return false
    return conn.queuedBytes === 0 && conn.waitingSends === 0
  }

  /** Close managed connections unused for `idleTimeoutMs`. */
  sweep (): void {
    const { config, clock, log } = this.#init
    const now = clock.monotonic()
    for (const conn of this.conns) {
      conn.trimSpare()
      const m = managedPath(conn)
      if (m === undefined || now - conn.lastActivity < config.idleTimeoutMs || !this.#isIdle(conn, m, now)) continue
      this.#idleClosed++
      log.trace('closing idle %s %s', conn.id, conn.remoteAddress)
      void conn.close()
    }
  }

  stats (): TcpStats {
    let inbound = 0
    let queuedBytes = 0
    for (const c of this.conns) {
      if (c.direction === 'inbound') inbound++
      queuedBytes += c.queuedBytes
    }
    return {
      ...this.#counters,
      connections: this.conns.size,
      inbound,
      outbound: this.conns.size - inbound,
      managed: this.#managedCount,
      dialing: this.#dialsInFlight,
      queuedBytes,
      rejectedInbound: this.#rejectedInbound,
      rejectedByReason: { ...this.#rejectedByReason },
      idleClosed: this.#idleClosed,
      evicted: this.#evicted,
      authTimeouts: this.#authTimeouts,
      framingViolations: this.#framingViolations,
      rejectedGarbage: this.#rejectedGarbage,
      evictedUnauthenticated: this.#evictedUnauthenticated
    }
  }
}
