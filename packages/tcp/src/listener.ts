import { EgtpError, TypedEventTarget } from '@egtp/interface'
import type { Listener, ListenerEvents, TcpEndpoint } from '@egtp/interface'
import { createServer } from 'node:net'
import type { Server, Socket } from 'node:net'
import type { TcpConn } from './conn.ts'

/**
 * Bind a server socket. `EADDRINUSE` gives `ERR_ADDRESS_IN_USE`, any other bind failure `ERR_LISTEN`;
 * `signal` aborting rethrows its reason (and unbinds).
 */
export async function bindServer (endpoint: TcpEndpoint, signal: AbortSignal | undefined,
  onSocket: (socket: Socket) => void): Promise<Server> {
  signal?.throwIfAborted()
  const server = createServer({ noDelay: true })
  server.on('connection', onSocket)
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      cleanup()
      const code = err.code === 'EADDRINUSE' ? 'ERR_ADDRESS_IN_USE' : 'ERR_LISTEN'
      reject(new EgtpError(code, `cannot listen on ${endpoint.host}:${endpoint.port}`, { cause: err }))
    }
    const onListening = (): void => {
      cleanup()
      resolve()
    }
    const onAbort = (): void => {
      cleanup()
      server.close()
      reject(signal?.reason)
    }
    const cleanup = (): void => {
      server.off('error', onError)
      server.off('listening', onListening)
      signal?.removeEventListener('abort', onAbort)
    }
    server.once('error', onError)
    server.once('listening', onListening)
    signal?.addEventListener('abort', onAbort, { once: true })
    server.listen({ host: endpoint.host, port: endpoint.port })
  })
  return server
}

/**
 * A bound TCP server socket. `close()` stops accepting, then closes the connections it accepted (bounded by
 * each connection's close timeout); idempotent.
 */
export class TcpListener extends TypedEventTarget<ListenerEvents> implements Listener {
  /** True for the listeners `start()` binds: their connections are managed and give `frame` events. */
  readonly managed: boolean
  readonly #server: Server
  /** Every connection of the pool not yet finished (this listener's are those it accepted: no set of its own). */
  readonly #poolConns: () => Iterable<TcpConn>
  readonly #bound: TcpEndpoint
  readonly #onClose: (listener: TcpListener) => void
  #closing: Promise<void> | undefined

  constructor (server: Server, managed: boolean, onClose: (listener: TcpListener) => void, poolConns: () => Iterable<TcpConn>) {
    super()
    this.#server = server
    this.#poolConns = poolConns
    this.managed = managed
    this.#onClose = onClose
    const address = server.address()
    if (address === null || typeof address === 'string') throw new EgtpError('ERR_LISTEN', 'server is not bound to a TCP address')
    this.#bound = { kind: 'tcp', host: address.address, port: address.port }
    server.on('error', () => { void this.close() })
  }

  get closed (): boolean {
    return this.#closing !== undefined
  }

  /** The bound host and port (the real port when 0 was asked for). */
  address (): TcpEndpoint {
    return { ...this.#bound }
  }

  /** The connections it accepted that are not finished yet (closed with the listener). */
  get conns (): Set<TcpConn> {
    const mine = new Set<TcpConn>()
    for (const conn of this.#poolConns()) if (conn.acceptedBy === this) mine.add(conn)
    return mine
  }

  /** Mark an accepted connection as its own (closed with the listener); unmanaged ones go to `connection` listeners. */
  accept (conn: TcpConn): void {
    conn.acceptedBy = this
    if (!this.managed) this.safeDispatch('connection', conn)
  }

  async close (): Promise<void> {
    if (this.#closing !== undefined) return this.#closing
    this.#closing = (async () => {
      this.#onClose(this)
      const unbound = new Promise<void>(resolve => { this.#server.close(() => { resolve() }) })
      await Promise.all([...this.conns].map(async conn => { await conn.close() }))
      await unbound
      this.safeDispatch('close', { local: true })
    })()
    return this.#closing
  }
}
