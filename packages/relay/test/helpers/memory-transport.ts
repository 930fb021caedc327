import { EgtpError, TypedEventTarget, joinOutboundFrame } from '@egtp/interface'
import type { Conn, ConnEvents, Listener, ListenerEvents, OutboundFrame, TcpEndpoint, Transport } from '@egtp/interface'

/**
 * An in-process Transport for unit tests: framed connection pairs with no sockets. Frames written in one tick
 * arrive together in one later macrotask (like a socket read holding several frames).
 */
export class MemoryConn extends TypedEventTarget<ConnEvents> implements Conn {
  readonly id: string
  readonly direction: 'inbound' | 'outbound'
  readonly remoteAddress: string
  peer!: MemoryConn
  closed = false
  #finished = false
  #outbox: Uint8Array[] = []
  #flushScheduled = false
  /** Frames this side sent, for tests that inspect the wire. */
  readonly sent: Uint8Array[] = []
  record = false

  constructor (id: string, direction: 'inbound' | 'outbound', remoteAddress: string) {
    super()
    this.id = id
    this.direction = direction
    this.remoteAddress = remoteAddress
  }

  async send (frame: OutboundFrame): Promise<void> {
    if (this.closed) throw new EgtpError('ERR_CLOSED', `${this.id} is closed`)
    const copy = joinOutboundFrame(frame).slice()
    if (this.record) this.sent.push(copy.slice()) // its own copy: the receiver may rewrite a frame in place
    this.#outbox.push(copy)
    if (!this.#flushScheduled) {
      this.#flushScheduled = true
      setImmediate(() => { this.#flush() })
    }
  }

  #flush (): void {
    this.#flushScheduled = false
    const frames = this.#outbox
    this.#outbox = []
    for (const f of frames) {
      if (this.peer.#finished) return
      this.peer.safeDispatch('message', f)
    }
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    setImmediate(() => {
      this.#flush()
      this.#finish(undefined, true)
      this.peer.closed = true
      this.peer.#finish(undefined, false)
    })
  }

  abort (err: Error): void {
    if (this.#finished) return
    this.closed = true
    this.#outbox = []
    this.#finish(err, true)
    this.peer.closed = true
    this.peer.#outbox = []
    setImmediate(() => { this.peer.#finish(new EgtpError('ERR_CLOSED', 'connection reset'), false) })
  }

  #finish (error: Error | undefined, local: boolean): void {
    if (this.#finished) return
    this.#finished = true
    this.closed = true
    this.safeDispatch('close', error === undefined ? { local } : { error, local })
  }
}

class MemoryListener extends TypedEventTarget<ListenerEvents> implements Listener {
  readonly #endpoint: TcpEndpoint
  readonly #onClose: () => void
  readonly conns = new Set<MemoryConn>()
  closed = false

  constructor (endpoint: TcpEndpoint, onClose: () => void) {
    super()
    this.#endpoint = endpoint
    this.#onClose = onClose
  }

  address (): TcpEndpoint {
    return { ...this.#endpoint }
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.#onClose()
    await Promise.all([...this.conns].map(async c => { await c.close() }))
  }
}

/** A network of listeners on fake ports. */
export class MemoryNetwork {
  readonly #listeners = new Map<number, MemoryListener>()
  #nextPort = 40_000
  #nextConn = 1
  /** Every connection ever made, for tests that cut them. */
  readonly conns: MemoryConn[] = []

  /** A transport whose connections arrive at listeners from `sourceHost` (per-source limits see that address). */
  transport (sourceHost = '127.0.0.1'): Transport {
    return {
      listen: async (endpoint) => {
        const port = endpoint.port === 0 ? this.#nextPort++ : endpoint.port
        if (this.#listeners.has(port)) throw new EgtpError('ERR_ADDRESS_IN_USE', `port ${port} is taken`)
        const listener = new MemoryListener({ kind: 'tcp', host: endpoint.host, port }, () => { this.#listeners.delete(port) })
        this.#listeners.set(port, listener)
        return listener
      },
      dial: async (endpoint, options) => {
        options?.signal?.throwIfAborted()
        await new Promise(resolve => setImmediate(resolve))
        const listener = this.#listeners.get(endpoint.port)
        if (listener === undefined || listener.closed) throw new EgtpError('ERR_UNREACHABLE', `nothing listens on ${endpoint.port}`)
        const n = this.#nextConn++
        const client = new MemoryConn(`c${n}`, 'outbound', `${endpoint.host}:${endpoint.port}`)
        const server = new MemoryConn(`s${n}`, 'inbound', `${sourceHost.includes(':') ? `[${sourceHost}]` : sourceHost}:${50_000 + n}`)
        client.peer = server
        server.peer = client
        listener.conns.add(server)
        server.addEventListener('close', () => { listener.conns.delete(server) })
        this.conns.push(client, server)
        listener.safeDispatch('connection', server)
        return client
      }
    }
  }
}

/** Abort every open connection (both ends) whose id matches, as a crash or a cut cable would. */
export function cut (net: MemoryNetwork, match: (conn: MemoryConn) => boolean): number {
  let n = 0
  for (const c of net.conns) {
    if (!c.closed && match(c)) { c.abort(new EgtpError('ERR_CLOSED', 'cut by the test')); n++ }
  }
  return n
}
