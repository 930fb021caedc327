import { EgtpError, TypedEventTarget } from '@egtp/interface'
import type { Commstrat, CommstratEvents, CommstratSendOptions, Endpoint, OutboundFrame, ReturnPath, TcpEndpoint } from '@egtp/interface'
import type { MemoryConn } from './conn.ts'
import type { MemoryNetwork } from './network.ts'

export interface MemoryCommstratInit {
  /** Connections this commstrat may hold; a dial past it fails with `ERR_LIMIT`, an inbound one is aborted. */
  maxConnections?: number
}

/** Counters of one memory commstrat. */
export interface MemoryCommstratStats {
  connections: number
  inbound: number
  outbound: number
  framesIn: number
  rejectedInbound: number
}

/**
 * A `Commstrat` on a {@link MemoryNetwork}, shaped like tcp's: one connection per remote endpoint reused both
 * ways, replies on the connection a frame came on, `ERR_UNREACHABLE` at once when nobody listens, `ERR_CLOSED`
 * after `stop()` (which closes every connection gracefully and may be followed by `start()`; the port stays).
 * Its endpoint is `{ kind: 'tcp', host: network.host, port }` (see `MEMORY_HOST_SUFFIX` for why `tcp`).
 */
export class MemoryCommstrat extends TypedEventTarget<CommstratEvents> implements Commstrat {
  readonly kind = 'memory'
  /** This commstrat's port on its network, fixed for its lifetime. */
  readonly port: number
  readonly network: MemoryNetwork
  readonly #maxConnections: number
  readonly #conns = new Set<MemoryConn>()
  readonly #outbound = new Map<number, MemoryConn>()
  #started = false
  #stopping: Promise<void> | undefined
  #framesIn = 0
  #rejectedInbound = 0

  constructor (network: MemoryNetwork, port: number, init: Required<MemoryCommstratInit>) {
    super()
    this.network = network
    this.port = port
    this.#maxConnections = init.maxConnections
  }

  /** The endpoint others reach this commstrat on (also while stopped). */
  get endpoint (): TcpEndpoint {
    return { kind: 'tcp', host: this.network.host, port: this.port }
  }

  /** Listen on this commstrat's port. Idempotent; may follow `stop()`. */
  async start (): Promise<void> {
    if (this.#started) return
    if (this.#stopping !== undefined) await this.#stopping
    this.#stopping = undefined
    this.#started = true
    this.network.bind(this)
    this.safeDispatch('endpoints:change', this.localEndpoints())
  }

  /** Stop listening and close every connection gracefully (each bounded by the network's `closeTimeoutMs`). Idempotent. */
  stop (): Promise<void> {
    if (this.#stopping !== undefined) return this.#stopping
    this.#stopping = (async () => {
      const wasStarted = this.#started
      this.#started = false
      this.network.unbind(this, this.port)
      await Promise.all([...this.#conns].map(async c => { await c.close() }))
      if (wasStarted) this.safeDispatch('endpoints:change', [])
    })()
    return this.#stopping
  }

  canSend (endpoint: Endpoint): endpoint is TcpEndpoint {
    return typeof endpoint === 'object' && endpoint !== null && endpoint.kind === 'tcp' && endpoint.host === this.network.host &&
      typeof endpoint.port === 'number' && Number.isInteger(endpoint.port) && endpoint.port > 0 && endpoint.port < 65_536
  }

  /**
   * Send `frame` on the connection to `endpoint`, opening it if needed.
   * @throws {EgtpError} ERR_UNREACHABLE, ERR_LIMIT, ERR_FRAME_TOO_LARGE, ERR_BACKPRESSURE, ERR_CLOSED, ERR_NOT_STARTED;
   *   `TypeError` for an endpoint this commstrat cannot use; rethrows `signal.reason` on abort
   */
  async send (_peerId: string, endpoint: Endpoint, frame: OutboundFrame, options?: CommstratSendOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    if (!this.canSend(endpoint)) throw new TypeError(`endpoint must be a memory endpoint { kind: 'tcp', host: '${this.network.host}', port }`)
    if (!this.#started) throw new EgtpError(this.#stopping !== undefined ? 'ERR_CLOSED' : 'ERR_NOT_STARTED', `memory commstrat ${this.port} is not started`)
    let conn = this.#outbound.get(endpoint.port)
    if (conn === undefined || conn.closed) {
      if (this.#conns.size >= this.#maxConnections) throw new EgtpError('ERR_LIMIT', `memory commstrat ${this.port} holds ${this.#conns.size} connections (maxConnections)`)
      conn = this.network.connect(this, endpoint.port)
      this.#outbound.set(endpoint.port, conn)
      this.#attach(conn)
    }
    await conn.send(frame, options)
  }

  localEndpoints (): Endpoint[] {
    return this.#started ? [this.endpoint] : []
  }

  stats (): MemoryCommstratStats {
    let inbound = 0
    for (const c of this.#conns) if (c.direction === 'inbound') inbound++
    return { connections: this.#conns.size, inbound, outbound: this.#conns.size - inbound, framesIn: this.#framesIn, rejectedInbound: this.#rejectedInbound }
  }

  /**
   * The inbound end of a new connection (called by the network).
   * @internal
   */
  accept (conn: MemoryConn): void {
    if (!this.#started || this.#conns.size >= this.#maxConnections) {
      this.#rejectedInbound++
      conn.abort(new EgtpError(this.#started ? 'ERR_LIMIT' : 'ERR_CLOSED', `memory commstrat ${this.port} refused a connection`))
      return
    }
    this.#attach(conn)
  }

  #attach (conn: MemoryConn): void {
    this.#conns.add(conn)
    const path: ReturnPath = {
      kind: this.kind,
      description: `memory ${conn.direction} ${conn.remoteAddress}`,
      reply: async (frame, options) => { await conn.send(frame, options) },
      usable: () => !conn.closed,
      reject: (error) => { conn.abort(error) }
    }
    conn.addEventListener('message', ({ detail }) => {
      this.#framesIn++
      this.safeDispatch('frame', { frame: detail, path })
    })
    conn.addEventListener('close', () => {
      this.#conns.delete(conn)
      for (const [port, c] of this.#outbound) if (c === conn) this.#outbound.delete(port)
    }, { once: true })
  }
}
