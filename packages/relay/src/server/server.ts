import { randomBytes } from 'node:crypto'
import { RELAY_EPOCH_BYTES, RELAY_NONCE_BYTES } from '@egtp/codec'
import { EgtpError, SourceWarnings, TypedEventTarget, disabledLogger, systemClock } from '@egtp/interface'
import type {
  AbortOptions, Clock, ComponentLogger, Conn, EgtpErrorCode, Listener, Logger, RelayEndpoint, TcpEndpoint, Transport
} from '@egtp/interface'
import { nodeIdBytesFromPublicKey, nodeIdFromBytes } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import { verifyHello } from '../protocol.ts'
import type { RelayMessage } from '../protocol.ts'
import { Admission } from './admission.ts'
import type { AdmissionRefusal } from './admission.ts'
import { resolveServerConfig } from './config.ts'
import type { RelayServerConfig, RelayServerInit } from './config.ts'
import { ServerConnection } from './connection.ts'
import { Mailbox } from './mailbox.ts'
import type { ClientQueue } from './mailbox.ts'
import { Router } from './router.ts'
import { sourceOf } from './source.ts'
import { LogStore } from './store.ts'
import type { LogDamage } from './store.ts'
import { decodeRelay } from '@egtp/codec/relay'
import type { RelayServerStats } from './metrics.ts'

/** What the relay server needs from its host: a transport to listen on and the relay's own identity. */
export interface RelayServerComponents {
  transport: Transport
  identity: NodeIdentity
  logger?: ComponentLogger
  clock?: Clock
  /** Random bytes for nonces and the store epoch (default node:crypto). */
  random?: (n: number) => Uint8Array
}

export interface RelayServerEvents extends Record<string, unknown> {
  /** A client authenticated and registered (or came back). */
  'client:connect': { nodeId: string }
  /** A registered client's connection closed; its queue stays. */
  'client:disconnect': { nodeId: string }
  /**
   * The persistent log ended in a torn record (a crash mid-append), which was cut off; or it was damaged inside
   * and repaired (`damage`: what was dropped, where the damaged file was kept; the epoch is new).
   */
  'store:repaired': { truncatedBytes: number, damage?: LogDamage }
}

/**
 * A store-and-forward relay. Clients register with a signed challenge; any authenticated node may hand it
 * messages for a registered client; they are pushed at once or queued until the client is back, and leave
 * the queue only when the client acknowledges them. See the package README for the threat model.
 */
export class RelayServer extends TypedEventTarget<RelayServerEvents> {
  readonly #config: RelayServerConfig
  readonly #transport: Transport
  readonly #identity: NodeIdentity
  readonly #relayIdBytes: Uint8Array
  readonly #log: Logger
  readonly #clock: Clock
  readonly #random: (n: number) => Uint8Array
  readonly #mailbox: Mailbox
  readonly #conns = new Map<number, ServerConnection>()
  readonly #router: Router
  readonly #admission: Admission
  readonly #warnings: SourceWarnings
  #listener: Listener | undefined
  #bound: TcpEndpoint | undefined
  #store: LogStore | undefined
  #epoch: Uint8Array
  #sweepTimer: ReturnType<typeof setInterval> | undefined
  #lastCompactCheck = 0
  #nextNum = 1
  #state: 'stopped' | 'starting' | 'started' | 'stopping' = 'stopped'
  readonly #counters = {
    accepted: 0, delivered: 0, pushed: 0, expired: 0, authFailures: 0, storeRepairs: 0,
    malformedFrames: 0, protocolViolations: 0, authTimeouts: 0, sourceRefusals: 0, workChallenges: 0, workFailures: 0,
    evictedRegistrations: 0
  }
  readonly #refused: Partial<Record<EgtpErrorCode, number>> = {}

  constructor (init: RelayServerInit, components: RelayServerComponents) {
    super()
    this.#config = resolveServerConfig(init)
    this.#transport = components.transport
    this.#identity = components.identity
    this.#relayIdBytes = components.identity.nodeIdBytes
    this.#log = (components.logger ?? { forComponent: () => disabledLogger }).forComponent('egtp:relay:server')
    this.#clock = components.clock ?? systemClock
    this.#random = components.random ?? ((n) => new Uint8Array(randomBytes(n)))
    this.#mailbox = new Mailbox(this.#config)
    this.#admission = new Admission(this.#config, this.#mailbox, this.#clock)
    this.#warnings = new SourceWarnings(this.#log, { now: () => this.#clock.monotonic() })
    this.#epoch = this.#random(RELAY_EPOCH_BYTES)
    this.#router = new Router({
      config: this.#config,
      mailbox: this.#mailbox,
      clock: this.#clock,
      counters: this.#counters,
      conns: this.#conns,
      store: () => this.#store,
      refuse: code => { this.#refuse(code) },
      violation: (sc, what) => { this.#violation(sc, what) }
    })
  }

  /**
   * Open the store (replaying it) and start listening.
   * @throws {EgtpError} ERR_RELAY_STORE (corrupt log, left untouched), ERR_ADDRESS_IN_USE, ERR_LISTEN
   */
  async start (options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    if (this.#state !== 'stopped') throw new EgtpError('ERR_RELAY_REFUSED', `relay server is ${this.#state}`)
    this.#state = 'starting'
    try {
      if (this.#config.dataDir !== undefined) {
        const opened = await LogStore.open({
          dataDir: this.#config.dataDir,
          fsync: this.#config.fsync,
          compactMinBytes: this.#config.compactMinBytes,
          logger: this.#log,
          random: this.#random,
          now: () => this.#clock.now(),
          repair: this.#config.repairCorruptStore
        }, this.#mailbox, nodeIdFromBytes)
        this.#store = opened.store
        this.#epoch = opened.epoch
        if (opened.truncatedBytes > 0 || opened.damage !== undefined) {
          this.#counters.storeRepairs++
          this.safeDispatch('store:repaired', opened.damage !== undefined
            ? { truncatedBytes: opened.truncatedBytes, damage: opened.damage }
            : { truncatedBytes: opened.truncatedBytes })
        }
        this.#forgetIdle()
        this.#log('replayed %d queued messages for %d clients', this.#mailbox.totalMessages, this.#mailbox.clients.size)
      }
      options?.signal?.throwIfAborted()
      const listener = await this.#transport.listen(this.#config.listen, options)
      listener.addEventListener('connection', ({ detail }) => { this.#onConnection(detail) })
      this.#listener = listener
      this.#bound = listener.address()
      this.#sweepTimer = setInterval(() => { this.#sweep() }, this.#config.sweepIntervalMs)
      this.#sweepTimer.unref()
      this.#state = 'started'
      this.#log('relay %k listening on %s:%d', this.#identity, this.address().host, this.address().port)
    } catch (err) {
      this.#state = 'stopped'
      await this.#store?.close().catch(() => {})
      this.#store = undefined
      throw err
    }
  }

  /** Close every connection and the listener, flush and close the store. Idempotent. */
  async stop (): Promise<void> {
    if (this.#state !== 'started') return
    this.#state = 'stopping'
    clearInterval(this.#sweepTimer)
    for (const sc of this.#conns.values()) sc.closeWith('ERR_CLOSED', 'relay stopping')
    await Promise.all([...this.#conns.values()].map(async sc => { await sc.conn.close().catch(() => {}) }))
    await this.#listener?.close()
    this.#listener = undefined
    try {
      await this.#store?.close()
    } finally {
      this.#store = undefined
      this.#state = 'stopped'
    }
  }

  /** The bound listener address (the last one, after `stop()`). @throws {EgtpError} ERR_NOT_STARTED before the first start */
  address (): TcpEndpoint {
    if (this.#bound === undefined) throw new EgtpError('ERR_NOT_STARTED', 'relay server was never started')
    return { ...this.#bound }
  }

  /** The endpoint clients advertise: "reach me through this relay". */
  endpoint (): RelayEndpoint {
    const at = this.#config.announce ?? this.address()
    return { kind: 'relay', relay: this.#identity.nodeId, host: at.host, port: at.port }
  }

  stats (): RelayServerStats {
    let authenticated = 0
    for (const sc of this.#conns.values()) if (sc.state === 'ready') authenticated++
    return {
      connections: this.#conns.size,
      authenticated,
      clients: this.#mailbox.clients.size,
      connectedClients: this.#router.receivers.size,
      queuedMessages: this.#mailbox.totalMessages,
      queuedBytes: this.#mailbox.totalBytes,
      ...this.#counters,
      refused: { ...this.#refused },
      persistent: this.#config.dataDir !== undefined,
      storeBytes: this.#store?.fileBytes ?? 0,
      compactions: this.#store?.compactions ?? 0
    }
  }

  // ---- connections ----

  #onConnection (conn: Conn): void {
    const now = this.#clock.monotonic()
    const limits = this.#config
    const sc = new ServerConnection(this.#nextNum++, conn, this.#random(RELAY_NONCE_BYTES), now, limits, this.#counters)
    if (this.#state !== 'started') {
      // Stopping: not a full relay (a client would read that as a refusal to wait out, not a relay going away).
      sc.closeWith('ERR_CLOSED', 'relay stopping')
      return
    }
    if (this.#conns.size >= this.#config.maxConnections) {
      this.#refuse('ERR_RELAY_FULL')
      sc.closeWith('ERR_RELAY_FULL', 'too many connections')
      return
    }
    this.#conns.set(sc.num, sc)
    conn.addEventListener('message', ({ detail }) => { this.#onFrame(sc, detail) })
    conn.addEventListener('close', ({ detail }) => {
      // A transport that broke the connection for its framing (an oversized length, an end inside a frame)
      // saw a malformed frame the server never got to decode: count it like one.
      const code = (detail.error as { code?: unknown } | undefined)?.code
      if (sc.state !== 'closed' && (code === 'ERR_FRAME_TOO_LARGE' || code === 'ERR_MALFORMED')) {
        this.#counters.malformedFrames++
        this.#warn(sc, 'malformed', detail.error!.message)
      }
      this.#onClose(sc)
    })
    sc.workBits = this.#admission.workBitsNow()
    if (sc.workBits > 0) this.#counters.workChallenges++
    sc.send({ t: 'rc', n: sc.nonce, id: this.#relayIdBytes, ...(sc.workBits > 0 ? { w: sc.workBits } : {}) })
  }

  #onClose (sc: ServerConnection): void {
    if (!this.#conns.delete(sc.num)) return
    sc.state = 'closed'
    const away = this.#router.detach(sc)
    if (away !== undefined) this.safeDispatch('client:disconnect', { nodeId: away.id })
  }

  #violation (sc: ServerConnection, what: string): void {
    this.#counters.protocolViolations++
    this.#warn(sc, 'violation', what)
    sc.closeWith('ERR_RELAY_REFUSED', what)
  }

  /** A rate-limited warn line about `sc`'s source (the first of each kind per source). */
  #warn (sc: ServerConnection, kind: string, what: string): void {
    this.#warnings.warn(sourceOf(sc.conn.remoteAddress), kind, 'closing %s: %s', sc.conn.remoteAddress, what)
  }

  #onFrame (sc: ServerConnection, frame: Uint8Array): void {
    if (sc.state === 'closed') return
    sc.lastActivity = this.#clock.monotonic()
    let msg: RelayMessage
    try {
      msg = decodeRelay(frame)
    } catch (err) {
      this.#counters.malformedFrames++
      this.#warn(sc, 'malformed', `malformed frame (${(err as Error).message})`)
      sc.closeWith('ERR_RELAY_REFUSED', 'malformed frame')
      return
    }
    if (sc.state === 'auth') {
      if (msg.t === 'rh') this.#onHello(sc, msg)
      else this.#violation(sc, 'expected hello')
      return
    }
    switch (msg.t) {
      case 'rs': this.#router.send(sc, msg.e, frame); break
      case 'ra': this.#router.ack(sc, msg.i); break
      case 'rp':
        if (sc.queue === undefined) { this.#violation(sc, 'poll without registration'); return }
        sc.pollBudget = Math.min(sc.pollBudget + msg.n, this.#config.maxQueuedMessagesPerClient)
        sc.pollReply = true
        sc.schedule()
        break
      case 'ri':
        if (!msg.r) { sc.pongs.push(msg.n); if (sc.checkBacklog()) sc.schedule() }
        break
      default:
        this.#violation(sc, `unexpected ${msg.t}`)
    }
  }

  #onHello (sc: ServerConnection, msg: Extract<RelayMessage, { t: 'rh' }>): void {
    if (!verifyHello(msg.k, msg.g, sc.nonce, this.#relayIdBytes, msg.r)) {
      this.#counters.authFailures++
      this.#warn(sc, 'auth', 'authentication failed')
      sc.closeWith('ERR_AUTH', 'authentication failed')
      return
    }
    // The node ID is derived from the proven key: nobody can claim another node's ID.
    sc.peerBytes = nodeIdBytesFromPublicKey(msg.k)
    sc.peer = nodeIdFromBytes(sc.peerBytes)
    const source = sourceOf(sc.conn.remoteAddress)
    if (msg.r === 'client') {
      const refusal = this.#admission.admit(
        { idBytes: sc.peerBytes, publicKey: msg.k, nonce: sc.nonce, askedBits: sc.workBits, solution: msg.p, source },
        queue => { this.#evict(queue) })
      if (refusal !== undefined) {
        this.#refuseHello(sc, refusal)
        return
      }
    }
    sc.role = msg.r
    sc.push = msg.w ?? true
    sc.notices = msg.d ?? false
    // Every authenticated node can receive on its connection: that is the return path for replies and
    // handshakes. A client registration also keeps the queue while the node is away.
    // When the relay is full, a sender may still send (it just cannot receive here).
    const registered = this.#mailbox.register(sc.peer, sc.peerBytes, this.#clock.now())
    if (registered === undefined && msg.r === 'client') {
      this.#refuse('ERR_RELAY_FULL')
      sc.closeWith('ERR_RELAY_FULL', 'no room for another client')
      return
    }
    const queue = registered?.queue
    this.#router.attach(sc, queue)
    if (registered !== undefined && queue !== undefined) {
      if (msg.r === 'client') this.#mailbox.retainFor(queue, source)
      if (registered.created || msg.r === 'client') this.#store?.register(queue)
    }
    sc.state = 'ready'
    sc.send({
      t: 'rw',
      id: sc.peerBytes,
      e: this.#epoch,
      p: this.#store !== undefined,
      x: this.#config.maxMessageBytes,
      ...(queue !== undefined ? { q: queue.length } : {})
    })
    this.safeDispatch('client:connect', { nodeId: sc.peer })
    sc.schedule()
  }

  #refuseHello (sc: ServerConnection, refusal: AdmissionRefusal): void {
    if (refusal === 'work') {
      this.#counters.workFailures++
      this.#refuse('ERR_RATE_LIMITED')
      this.#warn(sc, 'work', 'registration without the proof of work asked for')
      sc.closeWith('ERR_RATE_LIMITED', 'the relay is under load: a registration needs the proof of work of the challenge')
    } else {
      this.#counters.sourceRefusals++
      this.#refuse('ERR_RELAY_FULL')
      this.#warn(sc, 'source', `more than ${this.#config.maxClientsPerSource} registrations from one source`)
      sc.closeWith('ERR_RELAY_FULL', 'too many clients registered from this address')
    }
  }

  /** Give up an away, empty registration to make room for a new one. */
  #evict (queue: ClientQueue): void {
    this.#counters.evictedRegistrations++
    this.#mailbox.unregister(queue)
    this.#store?.unregister(queue)
  }

  #refuse (code: EgtpErrorCode): void {
    this.#refused[code] = (this.#refused[code] ?? 0) + 1
  }

  // ---- housekeeping ----

  #forgetIdle (): void {
    for (const queue of this.#mailbox.idle(this.#clock.now(), this.#config.registrationTtlMs)) {
      this.#mailbox.unregister(queue)
      this.#store?.unregister(queue)
    }
  }

  #sweep (): void {
    const mono = this.#clock.monotonic()
    for (const sc of this.#conns.values()) {
      if (sc.state === 'auth' && mono - sc.opened > this.#config.authTimeoutMs) {
        this.#counters.authTimeouts++
        this.#warn(sc, 'auth-timeout', 'authentication timed out')
        sc.closeWith('ERR_AUTH', 'authentication timed out')
      }
      else if (mono - sc.lastActivity > this.#config.idleTimeoutMs) sc.closeWith('ERR_TIMEOUT', 'idle')
    }
    this.#router.expire()
    this.#forgetIdle()
    if (this.#store !== undefined && mono - this.#lastCompactCheck >= this.#config.compactIntervalMs) {
      this.#lastCompactCheck = mono
      this.#store.maybeCompact(this.#mailbox)
    }
  }
}

/**
 * Create a relay server: `relayServer(init)(components)`.
 * @example
 * ```ts
 * const server = relayServer({ listen: { kind: 'tcp', host: '0.0.0.0', port: 4100 } })({ transport: tcp()(), identity })
 * await server.start()
 * ```
 */
export function relayServer (init: RelayServerInit = {}): (components: RelayServerComponents) => RelayServer {
  return (components) => new RelayServer(init, components)
}
