import { EgtpError } from '@egtp/interface'
import type { FrameSendOptions, OutboundFrame, ReturnPath } from '@egtp/interface'
import type { TcpConn } from './conn.ts'

/** What every managed path of one pool calls back into (one object per pool, not closures per connection). */
export interface PathHooks {
  /** A frame arrived on `path`. */
  frame: (path: ManagedPath, frame: Uint8Array) => void
  /** `path` authenticated its sender for the first time. */
  authenticated: (path: ManagedPath) => void
  /** The consumer found garbage on the still open `path`. */
  reject: (path: ManagedPath, error: Error) => void
}

/**
 * A Commstrat connection's return path and its pool bookkeeping in one object: its methods live on the
 * prototype, so an idle connection costs one small object here instead of a path, a record and six closures.
 */
export class ManagedPath implements ReturnPath {
  #conn: TcpConn | undefined
  readonly #hooks: PathHooks
  /** Set by {@link release}: what the path still answers once its connection is gone. */
  #gone: { description: string, source: string, message: string, cause: Error | undefined } | undefined
  pendingReplies = 0
  expectUntil = 0
  /** Inbound connections start unauthenticated (until the consumer calls `authenticated()`). */
  isAuthenticated: boolean
  /** `performance.now()` by which an unauthenticated inbound connection must authenticate (the pool's timer checks). */
  authDeadline = 0

  constructor (conn: TcpConn, hooks: PathHooks, authenticated: boolean) {
    this.#conn = conn
    this.#hooks = hooks
    this.isAuthenticated = authenticated
  }

  /** The connection (the pool's hooks use it while it is open). Throws once released. */
  get conn (): TcpConn {
    if (this.#conn === undefined) throw new EgtpError('ERR_CLOSED', `${this.description} is closed`)
    return this.#conn
  }

  /**
   * The connection closed for good (the pool calls this): let go of it, its socket, decoder and writer. A peer
   * the consumer still remembers holds its last path, and would otherwise keep all of that alive (and copied by
   * every scavenge until promoted) for as long as it remembers the peer.
   */
  release (): void {
    const conn = this.#conn
    if (conn === undefined) return
    // Strings and the cause only: an error made here would hold the connection through its stack's call sites.
    this.#gone = { description: this.description, source: conn.remoteHost, message: conn.closedMessage, cause: conn.closeCause }
    this.#conn = undefined
  }

  get kind (): string { return 'tcp' }
  get description (): string {
    const conn = this.#conn
    return conn === undefined ? this.#gone!.description : `tcp ${conn.id} ${conn.remoteAddress}`
  }

  get source (): string { return this.#conn?.remoteHost ?? this.#gone!.source }

  reply (frame: OutboundFrame, options?: FrameSendOptions): Promise<void> {
    const conn = this.#conn
    if (conn === undefined) {
      const { message, cause } = this.#gone!
      return Promise.reject(new EgtpError('ERR_CLOSED', message, { cause }))
    }
    return conn.send(frame, options) // conn.send never throws: it rejects
  }

  recycle (frame: Uint8Array): void {
    this.#conn?.recycle(frame)
  }

  usable (): boolean {
    return this.#conn !== undefined && !this.#conn.closed
  }

  async close (): Promise<void> {
    await this.#conn?.close()
  }

  authenticated (): void {
    if (this.isAuthenticated) return
    this.isAuthenticated = true
    if (this.#conn !== undefined) this.#hooks.authenticated(this)
  }

  reject (error: Error): void {
    if (this.#conn === undefined || this.#conn.closed) return
    this.#hooks.reject(this, error)
  }

  /** The connection's frame sink: a frame arrived. */
  deliver (frame: Uint8Array): void {
    if (this.pendingReplies > 0) this.pendingReplies--
    this.#hooks.frame(this, frame)
  }
}
