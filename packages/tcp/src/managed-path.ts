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
  readonly conn: TcpConn
  readonly #hooks: PathHooks
  pendingReplies = 0
  expectUntil = 0
  /** Inbound connections start unauthenticated (until the consumer calls `authenticated()`). */
  isAuthenticated: boolean
  /** `performance.now()` by which an unauthenticated inbound connection must authenticate (the pool's timer checks). */
  authDeadline = 0

  constructor (conn: TcpConn, hooks: PathHooks, authenticated: boolean) {
    this.conn = conn
    this.#hooks = hooks
    this.isAuthenticated = authenticated
  }

  get kind (): string { return 'tcp' }
  get description (): string { return `tcp ${this.conn.id} ${this.conn.remoteAddress}` }
  get source (): string { return this.conn.remoteHost }

  reply (frame: OutboundFrame, options?: FrameSendOptions): Promise<void> {
    return this.conn.send(frame, options) // conn.send never throws: it rejects
  }

  recycle (frame: Uint8Array): void {
    this.conn.recycle(frame)
  }

  usable (): boolean {
    return !this.conn.closed
  }

  async close (): Promise<void> {
    await this.conn.close()
  }

  authenticated (): void {
    if (this.isAuthenticated) return
    this.isAuthenticated = true
    this.#hooks.authenticated(this)
  }

  reject (error: Error): void {
    if (this.conn.closed) return
    this.#hooks.reject(this, error)
  }

  /** The connection's frame sink: a frame arrived. */
  deliver (frame: Uint8Array): void {
    if (this.pendingReplies > 0) this.pendingReplies--
    this.#hooks.frame(this, frame)
  }
}
