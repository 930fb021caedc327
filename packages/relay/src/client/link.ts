import { MAX_RELAY_BATCH } from '@egtp/codec'
import { EgtpError, Fifo, isEgtpError, joinOutboundFrame, outboundFrameBytes, toHex } from '@egtp/interface'
import type { Clock, Conn, EgtpErrorCode, Logger, OutboundFrame, RelayEndpoint, Transport } from '@egtp/interface'
import { nodeIdFromBytes, nodeIdToBytes } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import { codeFromWire, relayCodec, relayError, signHello } from '../protocol.ts'
import type { RelayMessage, RelayRole } from '../protocol.ts'
import { decodeRelay, encodeSend, encodeSendOne } from '@egtp/codec/relay'
import { OWN_FRAME_BYTES } from '../constants.ts'
import { solveWork } from '../work.ts'

export interface LinkConfig {
  connectTimeoutMs: number
  sendTimeoutMs: number
  maxPendingSends: number
  maxPendingSendBytes: number
  maxInflightSends: number
  maxTrackedDeliveries: number
  maxTrackedDeliveryBytes: number
  maxBatchBytes: number
  keepaliveMs: number
  reconnectMinMs: number
  reconnectMaxMs: number
}

export interface LinkHooks {
  /** A message arrived from `from` (its authenticated node ID). */
  deliver: (link: RelayLink, from: string, fromBytes: Uint8Array, payload: Uint8Array) => void
  /** The relay reported an accepted message lost (or lost its queue in a restart). */
  undelivered: (link: RelayLink, peerId: string, frame: Uint8Array, code: EgtpErrorCode) => void
  /** Ready, dropped, failed to connect: the client re-evaluates its relays. */
  stateChange: (link: RelayLink) => void
}

interface OutMsg {
  /** Message number on the current connection, once written. */
  m: number
  to: Uint8Array
  /** The frame to pass on: one buffer, or (large ones only) the pieces the node sealed, not copied together. */
  payload: OutboundFrame
  size: number
  deadline: number
  written: boolean
  /** Handed to a working connection before it dropped: waits for a reconnection until its deadline. */
  patient: boolean
  resolve: () => void
  reject: (err: unknown) => void
  cleanup: (() => void) | undefined
}

/** An accepted message kept for its delivered notice (the written message itself: no extra object). */
interface Custody { readonly to: Uint8Array, readonly payload: OutboundFrame, readonly size: number }

/**
 * Values under increasing integer keys (message numbers): added at the end, removed anywhere, taken from the
 * front in key order. A Map without the hashing: the send window is one of these.
 */
export class SeqMap<T> {
  #items: Array<T | undefined> = []
  #head = 0
  /** Key of `#items[#head]`. */
  #first = 0
  #size = 0

  get size (): number { return this.#size }

  /** Add `value` under `key`, larger than every key added since the map was last empty. */
  set (key: number, value: T): void {
    if (this.#size === 0) { this.#items = []; this.#head = 0; this.#first = key }
    const at = this.#head + (key - this.#first)
    if (!Number.isSafeInteger(key) || at < this.#items.length) throw new RangeError(`key ${key} does not follow the last one`)
    while (this.#items.length < at) this.#items.push(undefined)
    this.#items.push(value)
    this.#size++
  }

  get (key: number): T | undefined {
    const at = this.#head + (key - this.#first)
    return at >= this.#head && at < this.#items.length ? this.#items[at] : undefined
  }

  delete (key: number): boolean {
    const at = this.#head + (key - this.#first)
    if (at < this.#head || at >= this.#items.length || this.#items[at] === undefined) return false
    this.#items[at] = undefined
    this.#size--
    this.#skip()
    return true
  }

  /** The smallest key present (`undefined` when empty). */
  firstKey (): number | undefined {
    return this.#size === 0 ? undefined : this.#first
  }

  /** Remove and return the value of the smallest key. */
  shift (): T | undefined {
    if (this.#size === 0) return undefined
    const value = this.#items[this.#head]
    this.#items[this.#head] = undefined
    this.#size--
    this.#skip()
    return value
  }

  values (): T[] {
    const out: T[] = []
    for (let i = this.#head; i < this.#items.length; i++) {
      const v = this.#items[i]
      if (v !== undefined) out.push(v)
    }
    return out
  }

  clear (): void {
    this.#items = []
    this.#head = 0
    this.#size = 0
  }

  /** Move the front past removed slots; compact once the dead prefix dominates. */
  #skip (): void {
    if (this.#size === 0) { this.clear(); return }
    const items = this.#items
    let head = this.#head
    while (items[head] === undefined) head++
    this.#first += head - this.#head
    this.#head = head
    if (head > 1024 && head * 2 > items.length) {
      this.#items = items.slice(head)
      this.#head = 0
    }
  }
}

const noop = (): void => {}

/**
 * One relay, one connection at a time: authentication, the send window and accept acks, pushed deliveries
 * with duplicate suppression, keepalive, and reconnection with jittered backoff. Sends survive a dropped
 * connection: they are written again on the next one (the relay may then see a duplicate; sessions drop it).
 */
export class RelayLink {
  readonly key: string
  readonly endpoint: RelayEndpoint
  readonly relayIdBytes: Uint8Array
  /** Registered links receive; the others only send. */
  register: boolean
  state: 'idle' | 'connecting' | 'ready' | 'backoff' | 'closed' = 'idle'
  /** Consecutive failed connects or drops. */
  failures = 0
  everReady = false
  /** Messages received through this relay, and messages it accepted: its record of service. */
  received = 0
  accepted = 0
  lastUsed: number
  maxMessageBytes = Number.MAX_SAFE_INTEGER

  readonly #config: LinkConfig
  readonly #transport: Transport
  readonly #identity: NodeIdentity
  readonly #clock: Clock
  readonly #log: Logger
  readonly #hooks: LinkHooks
  readonly #track: boolean
  #conn: Conn | undefined
  #abort = new AbortController()
  #epoch = ''
  #lastDelivered = -1
  readonly #queue = new Fifo<OutMsg>()
  #queueBytes = 0
  readonly #inflight = new SeqMap<OutMsg>()
  readonly #custody = new Map<number, Custody>()
  /** Messages waiting on each caller's abort signal (one listener per signal, see #watch). */
  readonly #aborters = new Map<AbortSignal, { msgs: Set<OutMsg>, onAbort: () => void }>()
  #custodyBytes = 0
  /**
   * Message numbers start at 2^16: always encoded in 5 bytes (up to 2^32), at least as long as any queue
   * position the relay writes in their place when it delivers a large message from the frame it came in.
   */
  #nextM = 0x10000
  #ackPending = -1
  #ackSent = -1
  #pongs: number[] = []
  #lastRx = 0
  #lastFrom = new Uint8Array(0)
  #lastFromView: Uint8Array | undefined
  #lastFromText = ''
  #lastFailureAt = -Infinity
  #pingSent = false
  #retryTimer: ReturnType<typeof setTimeout> | undefined
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
    this.lastUsed = deps.clock.monotonic()
  }

  /** Messages waiting or in flight. */
  get pending (): number {
    return this.#queue.length + this.#inflight.size
  }

  /** Start connecting (no-op unless idle). */
  connect (): void {
    if (this.state !== 'idle') return
    void this.#connect()
  }

  /**
   * Queue `frame` for `to`; resolves once the relay has accepted it. A large frame keeps its pieces (written after
   * the `rs` head); a small one is joined, as it is batched with others.
   */
  send (to: Uint8Array, frame: OutboundFrame, signal: AbortSignal | undefined): Promise<void> {
    const size = frame instanceof Uint8Array ? frame.byteLength : outboundFrameBytes(frame)
    if (size < 0) return Promise.reject(new TypeError('frame must be a Uint8Array or an array of them'))
    if (size === 0) return Promise.reject(new TypeError('frame must not be empty'))
    const payload = frame instanceof Uint8Array || size >= OWN_FRAME_BYTES ? frame : joinOutboundFrame(frame)
    if (this.state === 'closed') return Promise.reject(new EgtpError('ERR_CLOSED', 'relay client stopped'))
    if (size > this.maxMessageBytes) {
      return Promise.reject(new EgtpError('ERR_FRAME_TOO_LARGE', `${size} bytes exceed the relay's ${this.maxMessageBytes}`))
    }
    // Fail fast while the relay is known to be unreachable (the node then tries the peer's next endpoint);
    // past a short pause, a new send tries the relay again at once.
    const now = this.#clock.monotonic()
    if (this.state === 'backoff' && now - this.#lastFailureAt < this.#config.reconnectMinMs) {
      return Promise.reject(new EgtpError('ERR_UNREACHABLE', `relay ${this.key} is unreachable`))
    }
    if (this.pending >= this.#config.maxPendingSends || this.#queueBytes + size > this.#config.maxPendingSendBytes) {
      return Promise.reject(new EgtpError('ERR_BACKPRESSURE', `too many messages waiting for relay ${this.key}`))
    }
    this.lastUsed = now
    return new Promise<void>((resolve, reject) => {
      const msg: OutMsg = {
        m: -1, to, payload, size, deadline: this.lastUsed + this.#config.sendTimeoutMs, written: false, patient: false, resolve, reject, cleanup: undefined
      }
      if (signal !== undefined) this.#watch(signal, msg)
      this.#queue.push(msg)
      this.#queueBytes += size
      if (this.state === 'ready') this.#schedule()
      else if (this.state === 'idle' || this.state === 'backoff') void this.#connect()
    })
  }

  /**
   * Fail `msg` when `signal` aborts. Callers usually pass one long-lived signal for every send (the node's
   * shutdown signal), so each signal gets a single listener, shared by its waiting messages: one listener
   * per message would pile up thousands on that signal (and trip Node's MaxListeners warning past 10).
   */
  #watch (signal: AbortSignal, msg: OutMsg): void {
    let waiting = this.#aborters.get(signal)
    if (waiting === undefined) {
      const msgs = new Set<OutMsg>()
      const onAbort = (): void => {
        for (const m of [...msgs]) { this.#drop(m); m.reject(signal.reason) }
      }
      waiting = { msgs, onAbort }
      this.#aborters.set(signal, waiting)
      signal.addEventListener('abort', onAbort, { once: true })
    }
    const w = waiting
    w.msgs.add(msg)
    msg.cleanup = () => {
      w.msgs.delete(msg)
      if (w.msgs.size === 0 && this.#aborters.get(signal) === w) {
        signal.removeEventListener('abort', w.onAbort)
        this.#aborters.delete(signal)
      }
    }
  }

  /** Register from now on: a send-only link reconnects as a client (its pending sends are written again). */
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
    clearTimeout(this.#retryTimer)
    this.#abort.abort(err)
    this.#failAll(err, err)
    const conn = this.#conn
    this.#conn = undefined
    conn?.close().catch(() => {})
  }

  /** Periodic: deadlines, keepalive, dead-connection detection. */
  tick (now: number): void {
    for (const msg of [...this.#queue.values(), ...this.#inflight.values()]) {
      if (msg.deadline > now) continue
      this.#drop(msg)
      msg.reject(msg.written
        ? new EgtpError('ERR_DELIVERY_UNCERTAIN', `relay ${this.key} did not confirm a message in time`)
        : new EgtpError('ERR_UNREACHABLE', `relay ${this.key} could not take a message in time`))
    }
    if (this.state !== 'ready' || this.#conn === undefined) return
    const silent = now - this.#lastRx
    if (silent > 2 * this.#config.keepaliveMs) {
      this.#conn.abort(new EgtpError('ERR_TIMEOUT', `relay ${this.key} went silent`))
    } else if (silent > this.#config.keepaliveMs && !this.#pingSent) {
      this.#pingSent = true
      this.#writeNow({ t: 'ri', n: now >>> 0, r: false })
    }
  }

  // ---- connecting ----

  async #connect (): Promise<void> {
    this.state = 'connecting'
    clearTimeout(this.#retryTimer)
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#config.connectTimeoutMs)])
    let conn: Conn | undefined
    try {
      conn = await this.#transport.dial({ kind: 'tcp', host: this.endpoint.host, port: this.endpoint.port }, {
        signal, connectTimeoutMs: this.#config.connectTimeoutMs
      })
      if (this.#isClosed()) { await conn.close(); return }
      await this.#handshake(conn, signal)
    } catch (err) {
      conn?.abort(err as Error)
      if (this.#isClosed()) return
      this.failures++
      this.#lastFailureAt = this.#clock.monotonic()
      this.#log('relay %s: connect failed (%d): %s', this.key, this.failures, (err as Error).message)
      // Fail fast: messages sent while the relay was down fail now. Those it had been given before the
      // connection dropped wait for a reconnection until their deadline.
      const unreachable = isEgtpError(err) ? err : new EgtpError('ERR_UNREACHABLE', `relay ${this.key} is unreachable`, { cause: err })
      this.#failImpatient(unreachable)
      this.#backoff()
    }
  }

  /**
   * Registered links stay connected; send-only links reconnect while they have messages to send, or accepted
   * messages whose fate (a relay restart losing them) they would learn on reconnecting.
   */
  #wantsConnection (): boolean {
    return this.register || this.pending > 0 || this.#custody.size > 0
  }

  #isClosed (): boolean {
    return this.state === 'closed'
  }

  #backoff (): void {
    this.state = 'backoff'
    this.#hooks.stateChange(this)
    if (this.state !== 'backoff') return // the client replaced or closed the link
    if (!this.#wantsConnection()) { this.state = 'idle'; return }
    const base = Math.min(this.#config.reconnectMaxMs, this.#config.reconnectMinMs * 2 ** Math.min(20, this.failures - 1))
    const delay = this.failures <= 0 ? 0 : Math.round(base * (0.5 + Math.random()))
    this.#retryTimer = setTimeout(() => { if (this.state === 'backoff') void this.#connect() }, delay)
    this.#retryTimer.unref?.()
  }

  #handshake (conn: Conn, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let stage: 'challenge' | 'welcome' = 'challenge'
      const solving = new AbortController() // stops a proof of work in progress once the handshake is over
      const cleanup = (): void => {
        solving.abort()
        conn.removeEventListener('message', onMessage)
        conn.removeEventListener('close', onClose)
        signal.removeEventListener('abort', onAbort)
      }
      const fail = (err: unknown): void => { cleanup(); reject(err) }
      const onMessage = ({ detail }: CustomEvent<Uint8Array>): void => {
        try {
          const msg = relayCodec.decode(detail)
          if (msg.t === 'rr') throw relayError(msg.c, `relay ${this.key} refused: ${msg.s}`)
          if (stage === 'challenge' && msg.t === 'rc') {
            if (!equal(msg.id, this.relayIdBytes)) throw new EgtpError('ERR_AUTH', `${this.key} is not the relay it was advertised as`)
            const role: RelayRole = this.register ? 'client' : 'sender'
            const hello = {
              t: 'rh' as const, k: this.#identity.publicKey, g: signHello(this.#identity, msg.n, msg.id, role), r: role, d: this.#track
            }
            stage = 'welcome'
            // Under load the relay asks a new registration for a proof of work (bounded by the codec's maximum).
            const work = msg.w !== undefined && msg.w > 0 && role === 'client'
              ? solveWork(msg.n, this.#identity.publicKey, msg.w, AbortSignal.any([signal, solving.signal]))
              : Promise.resolve(undefined)
            work.then(p => conn.send(relayCodec.encode(p !== undefined ? { ...hello, p } : hello))).catch(fail)
          } else if (stage === 'welcome' && msg.t === 'rw') {
            cleanup()
            // Synchronously: frames following the welcome in the same read must find the ready handlers.
            this.#ready(conn, msg)
            resolve()
          } else {
            throw new EgtpError('ERR_RELAY_REFUSED', `unexpected ${msg.t} from relay ${this.key}`)
          }
        } catch (err) {
          fail(err)
        }
      }
      const onClose = (): void => { fail(new EgtpError('ERR_UNREACHABLE', `relay ${this.key} closed the connection`)) }
      const onAbort = (): void => { fail(signal.reason) }
      conn.addEventListener('message', onMessage)
      conn.addEventListener('close', onClose)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  #ready (conn: Conn, welcome: Extract<RelayMessage, { t: 'rw' }>): void {
    const epoch = toHex(welcome.e)
    if (this.#epoch !== '' && epoch !== this.#epoch) {
      // The relay lost its queue (a restart without persistence): what it had accepted is gone, unless it
      // was delivered and the notice lost with it.
      for (const [, c] of this.#custody) this.#hooks.undelivered(this, nodeIdFromBytes(c.to), joinOutboundFrame(c.payload), 'ERR_DELIVERY_UNCERTAIN')
      this.#lastDelivered = -1
    }
    // Notices refer to the old connection's numbers: the relay still holds these, but will not report them.
    this.#custody.clear()
    this.#custodyBytes = 0
    this.#epoch = epoch
    this.#conn = conn
    this.maxMessageBytes = welcome.x
    this.#ackPending = -1
    this.#ackSent = -1
    this.#pongs = []
    this.#lastRx = this.#clock.monotonic()
    this.#pingSent = false
    this.state = 'ready'
    this.everReady = true
    this.failures = 0
    // In-flight messages of the dropped connection go first, in their original order.
    const again = [...this.#inflight.values()]
    this.#inflight.clear()
    for (const m of again) this.#queueBytes += m.size
    this.#queue.unshiftAll(again)
    conn.addEventListener('message', ({ detail }) => { this.#onFrame(conn, detail) })
    conn.addEventListener('close', () => { this.#onClose(conn) })
    this.#log('relay %s: ready as %s (%d queued there)', this.key, this.register ? 'client' : 'sender', welcome.q ?? 0)
    this.#hooks.stateChange(this)
    this.#schedule()
  }

  #onClose (conn: Conn): void {
    if (this.#conn !== conn) return
    this.#conn = undefined
    if (this.state === 'closed') return
    this.failures++
    this.#log('relay %s: connection dropped', this.key)
    for (const m of this.#inflight.values()) m.patient = true
    for (const m of this.#queue.values()) m.patient = true
    // Unacknowledged messages stay in #inflight and are written again first on the next connection.
    this.state = 'backoff'
    if (this.failures === 1) {
      // First drop: reconnect at once (the relay replaced our connection, or a blip).
      this.#hooks.stateChange(this)
      if (this.state !== 'backoff') return
      if (!this.#wantsConnection()) { this.state = 'idle'; return }
      void this.#connect()
    } else {
      this.#backoff()
    }
  }

  // ---- receiving ----

  #onFrame (conn: Conn, frame: Uint8Array): void {
    if (this.#conn !== conn) return
    this.#lastRx = this.#clock.monotonic()
    this.#pingSent = false
    let msg: RelayMessage
    try {
      msg = decodeRelay(frame)
    } catch (err) {
      conn.abort(err as Error)
      return
    }
    switch (msg.t) {
      case 'rd': {
        for (const e of msg.e) {
          if (e.i <= this.#lastDelivered) continue // a redelivery after a lost ack: dispatched already
          this.#lastDelivered = e.i
          this.received++
          // Batches usually come from one sender: encode its ID once.
          // (The decoder hands out one view for a repeated ID: most entries skip the comparison.)
          if (e.f !== this.#lastFromView) {
            this.#lastFromView = e.f
            if (!equal(e.f, this.#lastFrom)) { this.#lastFrom = e.f.slice(); this.#lastFromText = nodeIdFromBytes(e.f) }
          }
          // A view of the frame, as a transport hands up its frames (no per-message copy).
          this.#hooks.deliver(this, this.#lastFromText, this.#lastFrom, e.p)
          if (this.state === 'closed') return
        }
        this.#ackPending = Math.max(this.#ackPending, msg.e[msg.e.length - 1]!.i)
        this.#schedule()
        break
      }
      case 'ry': this.#onAccepted(msg.m); break
      case 'rx':
        for (const e of msg.e) {
          const out = this.#inflight.get(e.m)
          if (out === undefined) continue
          this.#inflight.delete(e.m)
          out.cleanup?.()
          out.reject(relayError(e.c, `relay ${this.key} refused the message`))
        }
        this.#schedule()
        break
      case 'rv':
        for (const m of msg.m) this.#untrack(m)
        break
      case 'rl':
        for (const e of msg.e) {
          const c = this.#untrack(e.m)
          if (c === undefined) continue
          this.#hooks.undelivered(this, nodeIdFromBytes(c.to), joinOutboundFrame(c.payload), codeFromWire(e.c))
        }
        break
      case 'ri':
        if (!msg.r) { this.#pongs.push(msg.n); this.#schedule() }
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

  #onAccepted (upTo: number): void {
    const inflight = this.#inflight
    for (let m = inflight.firstKey(); m !== undefined && m <= upTo; m = inflight.firstKey()) {
      const out = inflight.shift()!
      out.cleanup?.()
      this.accepted++
      if (this.#track) {
        // Bounded: the oldest entries are forgotten (their loss could then not be reported).
        while (this.#custody.size > 0 && (this.#custody.size >= this.#config.maxTrackedDeliveries ||
          this.#custodyBytes + out.size > this.#config.maxTrackedDeliveryBytes)) this.#untrack(this.#custody.keys().next().value!)
        this.#custody.set(m, out)
        this.#custodyBytes += out.size
      }
      const resolve = out.resolve
      // Kept as custody: let go of the settled promise's functions.
      out.resolve = noop
      out.reject = noop
      out.cleanup = undefined
      resolve()
    }
    this.#schedule()
  }

  #untrack (m: number): Custody | undefined {
    const c = this.#custody.get(m)
    if (c === undefined) return undefined
    this.#custody.delete(m)
    this.#custodyBytes -= c.size
    return c
  }

  // ---- writing ----

  #drop (msg: OutMsg): void {
    msg.cleanup?.()
    if (this.#queue.remove(msg)) {
      this.#queueBytes -= msg.size
      return
    }
    if (msg.m >= 0 && this.#inflight.get(msg.m) === msg) this.#inflight.delete(msg.m)
  }

  #failImpatient (err: Error): void {
    for (const msg of this.#queue.values()) {
      if (msg.patient) continue
      this.#drop(msg)
      msg.reject(err)
    }
  }

  #failAll (unwritten: Error, written: Error): void {
    const all = [...this.#inflight.values(), ...this.#queue.drain()]
    this.#inflight.clear()
    this.#queueBytes = 0
    for (const m of all) {
      m.cleanup?.()
      m.reject(m.written ? written : unwritten)
    }
  }

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

  #build (): OutboundFrame[] {
    const out: OutboundFrame[] = []
    for (const n of this.#pongs) out.push(relayCodec.encode({ t: 'ri', n, r: true }))
    this.#pongs = []
    if (this.#ackPending > this.#ackSent) {
      this.#ackSent = this.#ackPending
      out.push(relayCodec.encode({ t: 'ra', i: this.#ackPending }))
    }
    // Every batch the window allows now (they go out in one socket write).
    for (;;) {
      const batch = this.#sendBatch()
      if (batch === undefined) break
      out.push(batch)
    }
    return out
  }

  /**
   * The next `rs` frame: waiting messages, as many as the window, the batch and the frame allow. A large message
   * alone is sent as head + payload, without copying the payload into the frame.
   */
  #sendBatch (): OutboundFrame | undefined {
    const entries: OutMsg[] = []
    let bytes = 0
    while (this.#queue.length > 0 && entries.length < MAX_RELAY_BATCH && this.#inflight.size < this.#config.maxInflightSends) {
      const msg = this.#queue.peek()!
      const size = msg.size
      // A large message travels alone: the relay then delivers it from the frame it arrived in (no copy).
      if (entries.length > 0 && (bytes + size > this.#config.maxBatchBytes || size >= OWN_FRAME_BYTES)) break
      this.#queue.shift()
      this.#queueBytes -= size
      if (size > this.maxMessageBytes) {
        msg.cleanup?.()
        msg.reject(new EgtpError('ERR_FRAME_TOO_LARGE', `${size} bytes exceed the relay's ${this.maxMessageBytes}`))
        continue
      }
      const m = msg.m = this.#nextM++
      msg.written = true
      this.#inflight.set(m, msg)
      entries.push(msg)
      bytes += size
      if (size >= OWN_FRAME_BYTES) break
    }
    if (entries.length === 1 && bytes >= OWN_FRAME_BYTES) return encodeSendOne(entries[0]!.m, entries[0]!.to, entries[0]!.payload, bytes)
    // Batched messages are small, and small ones are one buffer (see send).
    return entries.length > 0 ? encodeSend(entries as Array<OutMsg & { payload: Uint8Array }>) : undefined
  }
}

/** Links are keyed by relay ID and address. */
export function linkKey (e: RelayEndpoint): string {
  return `${e.relay}@${e.host}:${e.port}`
}

function equal (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}
