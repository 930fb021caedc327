import { EgtpError, isEgtpError, joinOutboundFrame, outboundFrameBytes, toHex } from '@egtp/interface'
import type { Clock, Conn, EgtpErrorCode, Logger, OutboundFrame, RelayEndpoint, Transport } from '@egtp/interface'
import { nodeIdFromBytes, nodeIdToBytes } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import { codeFromWire, relayCodec, relayError } from '../protocol.ts'
import type { RelayMessage } from '../protocol.ts'
import { decodeRelay } from '@egtp/codec/relay'
import { OWN_FRAME_BYTES } from '../constants.ts'
import { Backoff } from './backoff.ts'
import type { BackoffConfig } from './backoff.ts'
import { handshake } from './handshake.ts'
import type { Welcome } from './handshake.ts'
import { Inbox } from './inbox.ts'
import { Keepalive } from './keepalive.ts'
import { SendWindow } from './send-window.ts'
import type { SendWindowConfig } from './send-window.ts'

export interface LinkConfig extends SendWindowConfig, BackoffConfig {
  connectTimeoutMs: number
  sendTimeoutMs: number
  keepaliveMs: number
}

export interface LinkHooks {
  /** A message arrived from `from` (its authenticated node ID). */
  deliver: (link: RelayLink, from: string, fromBytes: Uint8Array, payload: Uint8Array) => void
  /** The relay reported an accepted message lost (or lost its queue in a restart). */
  undelivered: (link: RelayLink, peerId: string, frame: Uint8Array, code: EgtpErrorCode) => void
  /** Ready, dropped, failed to connect: the client re-evaluates its relays. */
  stateChange: (link: RelayLink) => void
}

/** A failure of this relay as a way to the peer: another endpoint may work now (see EgtpErrorScope). */
const AT_ENDPOINT = { retryable: true, scope: 'endpoint' } as const
/** Too large for this relay: another endpoint may take it, this one never will. */
const TOO_LARGE = { retryable: false, scope: 'endpoint' } as const

/**
 * One relay, one connection at a time: a state machine over its parts, each holding its own state: the
 * handshake, the {@link SendWindow} (numbering, batching, accept acks, custody), the {@link Inbox} (redelivery
 * de-duplication, acks), the {@link Keepalive} and the {@link Backoff}. When the connection closes, every pending
 * send fails at once (the node tries the peer's next endpoint); registered links reconnect.
 */
export class RelayLink {
  readonly key: string
  readonly endpoint: RelayEndpoint
  readonly relayIdBytes: Uint8Array
  /** Registered links receive; the others only send. */
  register: boolean
  state: 'idle' | 'connecting' | 'ready' | 'backoff' | 'closed' = 'idle'
  everReady = false
  lastUsed: number
  maxMessageBytes = Number.MAX_SAFE_INTEGER

  readonly #config: LinkConfig
  readonly #transport: Transport
  readonly #identity: NodeIdentity
  readonly #clock: Clock
  readonly #log: Logger
  readonly #hooks: LinkHooks
  readonly #track: boolean
  readonly #window: SendWindow
  readonly #inbox = new Inbox()
  readonly #keepalive: Keepalive
  readonly #backoff: Backoff
  #conn: Conn | undefined
  #abort = new AbortController()
  #epoch = ''
  #writing = false
  #scheduled = false

  constructor (endpoint: RelayEndpoint, register: boolean, deps: {
    config: LinkConfig, transport: Transport, identity: NodeIdentity, clock: Clock, log: Logger, hooks: LinkHooks, track: boolean
  }) {
    this.endpoint = { kind: 'relay', relay: endpoint.relay, host: endpoint.host, port: endpoint.port }
    this.key = linkKey(endpoint)
    this.relayIdBytes = nodeIdToBytes(endpoint.relay)
    this.register = register
    this.#config = deps.config
    this.#transport = deps.transport
    this.#identity = deps.identity
    this.#clock = deps.clock
    this.#log = deps.log
    this.#hooks = deps.hooks
    this.#track = deps.track
    this.#window = new SendWindow(deps.config, deps.track)
    this.#keepalive = new Keepalive(deps.config.keepaliveMs)
    this.#backoff = new Backoff(deps.config, deps.clock)
    this.lastUsed = deps.clock.monotonic()
  }

  /** Messages waiting or in flight. */
  get pending (): number { return this.#window.pending }
  /** Consecutive failed connects or drops. */
  get failures (): number { return this.#backoff.failures }
  /** Messages received through this relay, and messages it accepted: its record of service. */
  get received (): number { return this.#inbox.received }
  get accepted (): number { return this.#window.accepted }

  /** Start connecting (no-op unless idle). */
  connect (): void {
    if (this.state === 'idle') void this.#connect()
  }

  /**
   * Queue `frame` for `to`; resolves once the relay has accepted it. A large frame keeps its pieces (written after
   * the `rs` head); a small one is joined, as it is batched with others.
   */
  send (to: Uint8Array, frame: OutboundFrame, signal: AbortSignal | undefined): Promise<void> {
    const size = frame instanceof Uint8Array ? frame.length : outboundFrameBytes(frame)
    if (size < 0) return Promise.reject(new TypeError('frame must be a Uint8Array or an array of them'))
    if (size === 0) return Promise.reject(new TypeError('frame must not be empty'))
    const payload = frame instanceof Uint8Array || size >= OWN_FRAME_BYTES ? frame : joinOutboundFrame(frame)
    if (this.state === 'closed') return Promise.reject(new EgtpError('ERR_CLOSED', 'relay client stopped'))
    if (size > this.maxMessageBytes) return Promise.reject(this.#tooLarge(size))
    // Fail fast while the relay is known to be unreachable (the node then tries the peer's next endpoint);
    // past a short pause, a new send tries the relay again at once.
    if (this.state === 'backoff' && this.#backoff.recentlyFailed()) {
      return Promise.reject(new EgtpError('ERR_UNREACHABLE', `relay ${this.key} is unreachable`, AT_ENDPOINT))
    }
    if (!this.#window.hasRoom(size)) {
      return Promise.reject(new EgtpError('ERR_BACKPRESSURE', `too many messages waiting for relay ${this.key}`, AT_ENDPOINT))
    }
    this.lastUsed = this.#clock.monotonic()
    const sent = this.#window.add(to, payload, size, this.lastUsed + this.#config.sendTimeoutMs, signal)
    if (this.state === 'ready') this.#schedule()
    else if (this.state === 'idle' || this.state === 'backoff') void this.#connect()
    return sent
  }

  /** Register from now on: a send-only link reconnects as a client. */
  upgrade (): void {
    if (this.register) return
    this.register = true
    if (this.state === 'ready') this.#conn?.abort(new EgtpError('ERR_CLOSED', 're-registering as a client'))
    else if (this.state === 'idle') void this.#connect()
  }

  /** Close for good: pending sends fail with `err`. */
  close (err: Error = new EgtpError('ERR_CLOSED', 'relay client stopped')): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.#backoff.cancel()
    this.#abort.abort(err)
    this.#window.failAll(err, err)
    const conn = this.#conn
    this.#conn = undefined
    conn?.close().catch(() => {})
  }

  /** Periodic: deadlines, keepalive, dead-connection detection. */
  tick (now: number): void {
    this.#window.expire(now, written => written
      ? new EgtpError('ERR_DELIVERY_UNCERTAIN', `relay ${this.key} did not confirm a message in time`, AT_ENDPOINT)
      : new EgtpError('ERR_UNREACHABLE', `relay ${this.key} could not take a message in time`, AT_ENDPOINT))
    if (this.state !== 'ready' || this.#conn === undefined) return
    const due = this.#keepalive.check(now)
    if (due === 'dead') this.#conn.abort(new EgtpError('ERR_TIMEOUT', `relay ${this.key} went silent`))
    else if (due === 'ping') this.#writeNow({ t: 'ri', n: now >>> 0, r: false })
  }

  #tooLarge (size: number): EgtpError {
    return new EgtpError('ERR_FRAME_TOO_LARGE', `${size} bytes exceed the relay's ${this.maxMessageBytes}`, TOO_LARGE)
  }

  // ---- connecting ----

  async #connect (): Promise<void> {
    this.state = 'connecting'
    this.#backoff.cancel()
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#config.connectTimeoutMs)])
    let conn: Conn | undefined
    try {
      conn = await this.#transport.dial({ kind: 'tcp', host: this.endpoint.host, port: this.endpoint.port }, {
        signal, connectTimeoutMs: this.#config.connectTimeoutMs
      })
      if (this.#isClosed()) { await conn.close(); return }
      const params = { key: this.key, relayIdBytes: this.relayIdBytes, identity: this.#identity, role: this.register ? 'client' as const : 'sender' as const, track: this.#track }
      await handshake(conn, signal, params, welcome => { this.#ready(conn!, welcome) })
    } catch (err) {
      conn?.abort(err as Error)
      if (this.#isClosed()) return
      this.#backoff.failed()
      this.#log('relay %s: connect failed (%d): %s', this.key, this.#backoff.failures, (err as Error).message)
      // Fail fast: messages sent while the relay was down fail now (the node tries the peer's next endpoint).
      // A refusal keeps its code (ERR_RELAY_FULL, ERR_AUTH, …); anything else means the relay cannot be reached.
      const unreachable = new EgtpError(isEgtpError(err) ? err.code : 'ERR_UNREACHABLE', `relay ${this.key} could not be used`, { cause: err, ...AT_ENDPOINT })
      this.#window.failAll(unreachable, unreachable)
      this.#enterBackoff()
    }
  }

  /** (A method: the state changes across the awaits above, which narrowing cannot see.) */
  #isClosed (): boolean {
    return this.state === 'closed'
  }

  /**
   * Registered links stay connected; send-only links reconnect while they have messages to send, or accepted
   * messages whose fate (a relay restart losing them) they would learn on reconnecting.
   */
  #wantsConnection (): boolean {
    return this.register || this.pending > 0 || this.#window.custody.size > 0
  }

  #enterBackoff (): void {
    this.state = 'backoff'
    this.#hooks.stateChange(this)
    if (this.state !== 'backoff') return // the client replaced or closed the link
    if (!this.#wantsConnection()) { this.state = 'idle'; return }
    this.#backoff.schedule(() => { if (this.state === 'backoff') void this.#connect() })
  }

  #ready (conn: Conn, welcome: Welcome): void {
    const epoch = toHex(welcome.e)
    const newEpoch = this.#epoch !== '' && epoch !== this.#epoch
    // Notices refer to the old connection's numbers: the relay still holds these, but will not report them.
    const held = this.#window.custody.clear()
    if (newEpoch) {
      // The relay lost its queue (a restart without persistence): what it had accepted is gone, unless it
      // was delivered and the notice lost with it.
      for (const c of held) this.#hooks.undelivered(this, nodeIdFromBytes(c.to), joinOutboundFrame(c.payload), 'ERR_DELIVERY_UNCERTAIN')
    }
    this.#inbox.reset(newEpoch)
    this.#epoch = epoch
    this.#conn = conn
    this.maxMessageBytes = welcome.x
    this.#keepalive.reset(this.#clock.monotonic())
    this.state = 'ready'
    this.everReady = true
    this.#backoff.succeeded()
    conn.addEventListener('message', ({ detail }) => { this.#onFrame(conn, detail) })
    conn.addEventListener('close', ({ detail }) => { this.#onClose(conn, detail.error) })
    this.#log('relay %s: ready as %s (%d queued there)', this.key, this.register ? 'client' : 'sender', welcome.q ?? 0)
    this.#hooks.stateChange(this)
    this.#schedule()
  }

  #onClose (conn: Conn, error: Error | undefined): void {
    if (this.#conn !== conn) return
    this.#conn = undefined
    if (this.state === 'closed') return
    this.#backoff.dropped()
    this.#log('relay %s: connection dropped', this.key)
    // The close is known: nothing waits for a reconnection (or its deadline), so the node tries the peer's next
    // endpoint at once. A written message the relay had not confirmed may have been taken: if it is delivered
    // twice, the receiving node's de-duplication drops the copy.
    const cause = error ?? new EgtpError('ERR_CLOSED', `relay ${this.key} closed the connection`)
    this.#window.failAll(
      new EgtpError('ERR_UNREACHABLE', `the connection to relay ${this.key} closed`, { cause, ...AT_ENDPOINT }),
      new EgtpError('ERR_UNREACHABLE', `the connection to relay ${this.key} closed before it confirmed the message (it may have taken it)`, { cause, ...AT_ENDPOINT }))
    this.state = 'backoff'
    if (this.#backoff.failures === 1) {
      // First drop: reconnect at once (the relay replaced our connection, or a blip).
      this.#hooks.stateChange(this)
      if (this.state !== 'backoff') return
      if (!this.#wantsConnection()) { this.state = 'idle'; return }
      void this.#connect()
    } else {
      this.#enterBackoff()
    }
  }

  /** The memory of a message this link received may serve again (see `RelayReturnPath.recycle`). */
  recycle (frame: Uint8Array): void {
    this.#conn?.recycle?.(frame)
  }

  // ---- receiving ----

  #onFrame (conn: Conn, frame: Uint8Array): void {
    if (this.#conn !== conn) return
    this.#keepalive.heard(this.#clock.monotonic())
    let msg: RelayMessage
    try {
      msg = decodeRelay(frame)
    } catch (err) {
      conn.abort(err as Error)
      return
    }
    switch (msg.t) {
      case 'rd':
        this.#inbox.accept(msg.e, (from, fromBytes, payload) => {
          this.#hooks.deliver(this, from, fromBytes, payload)
          return this.state !== 'closed'
        })
        this.#schedule()
        break
      case 'ry':
        this.#window.acceptedUpTo(msg.m)
        this.#schedule()
        break
      case 'rx':
        for (const e of msg.e) this.#window.refused(e.m, relayError(e.c, `relay ${this.key} refused the message`))
        this.#schedule()
        break
      case 'rv':
        for (const m of msg.m) this.#window.custody.take(m)
        break
      case 'rl':
        for (const e of msg.e) {
          const c = this.#window.custody.take(e.m)
          if (c !== undefined) this.#hooks.undelivered(this, nodeIdFromBytes(c.to), joinOutboundFrame(c.payload), codeFromWire(e.c))
        }
        break
      case 'ri':
        if (!msg.r) { this.#keepalive.pinged(msg.n); this.#schedule() }
        break
      case 'rr':
        this.#log('relay %s closes the connection: %s %s', this.key, msg.c, msg.s)
        break
      case 'rq':
        break
      default:
        conn.abort(new EgtpError('ERR_RELAY_REFUSED', `unexpected ${msg.t} from relay ${this.key}`))
    }
  }

  // ---- writing ----

  #writeNow (msg: RelayMessage): void {
    this.#conn?.send(relayCodec.encode(msg)).catch((err: Error) => { this.#conn?.abort(err) })
  }

  #schedule (): void {
    if (this.#writing || this.#scheduled || this.state !== 'ready') return
    this.#scheduled = true
    queueMicrotask(() => {
      this.#scheduled = false
      void this.#run()
    })
  }

  async #run (): Promise<void> {
    this.#writing = true
    const conn = this.#conn
    try {
      while (conn !== undefined && this.#conn === conn && this.state === 'ready') {
        const frames = this.#build()
        if (frames.length === 0) break
        await Promise.all(frames.map(f => conn.send(f)))
      }
    } catch (err) {
      conn?.abort(err as Error)
    } finally {
      this.#writing = false
    }
  }

  /** Everything due now, in one socket write: pongs, the ack, and every batch the window allows. */
  #build (): OutboundFrame[] {
    const out: OutboundFrame[] = []
    for (const n of this.#keepalive.takePongs()) out.push(relayCodec.encode({ t: 'ri', n, r: true }))
    const ack = this.#inbox.takeAck()
    if (ack !== undefined) out.push(relayCodec.encode({ t: 'ra', i: ack }))
    for (;;) {
      const batch = this.#window.nextBatch(this.maxMessageBytes, size => this.#tooLarge(size))
      if (batch === undefined) break
      out.push(batch)
    }
    return out
  }
}

/** Links are keyed by relay ID and address. */
export function linkKey (e: RelayEndpoint): string {
  return `${e.relay}@${e.host}:${e.port}`
}
