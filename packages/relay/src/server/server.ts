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
import { Mailbox, idKey } from './mailbox.ts'
import type { ClientQueue, QueuedMessage } from './mailbox.ts'
import { SenderBucket } from './rate.ts'
import { sourceOf } from './source.ts'
import { LogStore } from './store.ts'
import type { LogDamage } from './store.ts'
import { decodeRelay, deliverInPlace, encodeDeliverOne } from '@egtp/codec/relay'
import { OWN_FRAME_BYTES } from '../constants.ts'
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
  /** The connection each registered client currently receives on. */
  readonly #receivers = new Map<string, ServerConnection>()
  readonly #buckets = new Map<string, SenderBucket>()
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
      connectedClients: this.#receivers.size,
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
    if (this.#state !== 'started' || this.#conns.size >= this.#config.maxConnections) {
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
    if (sc.queue !== undefined && this.#receivers.get(sc.queue.key) === sc) {
      this.#receivers.delete(sc.queue.key)
      sc.queue.attached = false
      sc.queue.lastSeen = this.#clock.now()
      this.safeDispatch('client:disconnect', { nodeId: sc.queue.id })
    }
    const bucket = this.#buckets.get(sc.peer)
    if (bucket !== undefined && --bucket.refs <= 0) this.#buckets.delete(sc.peer)
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
      case 'rs': this.#onSend(sc, msg.e, frame); break
      case 'ra': this.#onAck(sc, msg.i); break
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
    if (registered !== undefined && queue !== undefined) {
      const previous = this.#receivers.get(queue.key)
      // The newest connection wins: the old one is usually a dead socket of a restarted client.
      if (previous !== undefined) previous.closeWith('ERR_RELAY_REFUSED', 'replaced by a newer connection of the same node')
      this.#receivers.set(queue.key, sc)
      queue.attached = true
      if (msg.r === 'client') this.#mailbox.retainFor(queue, source)
      sc.queue = queue
      sc.nextPush = queue.firstId
      if (registered.created || msg.r === 'client') this.#store?.register(queue)
    }
    let bucket = this.#buckets.get(sc.peer)
    if (bucket === undefined) {
      bucket = new SenderBucket(this.#config.senderMessagesPerSecond, this.#config.senderBytesPerSecond, this.#clock.monotonic())
      this.#buckets.set(sc.peer, bucket)
    }
    bucket.refs++
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

  #onSend (sc: ServerConnection, entries: Array<{ m: number, to: Uint8Array, p: Uint8Array }>, frame: Uint8Array): void {
    const now = this.#clock.now()
    const mono = this.#clock.monotonic()
    const bucket = this.#buckets.get(sc.peer)
    const store = this.#store
    let lastAccepted = -1
    let durable: Promise<void> | undefined
    const pending: number[] = []
    let lastTo: Uint8Array | undefined
    let queue: ClientQueue | undefined
    let receiver: ServerConnection | undefined
    for (const e of entries) {
      if (e.m <= sc.lastM) { this.#violation(sc, 'message numbers must increase'); return }
      sc.lastM = e.m
      const size = e.p.byteLength
      let code: EgtpErrorCode | undefined
      if (size > this.#config.maxMessageBytes) code = 'ERR_FRAME_TOO_LARGE'
      else if (bucket !== undefined && !bucket.take(size, mono)) code = 'ERR_RATE_LIMITED'
      else if (store?.failed !== undefined) code = 'ERR_RELAY_STORE'
      // Batches usually go to one recipient: look it up once per run of the same recipient.
      if (lastTo === undefined || !sameId(e.to, lastTo)) {
        lastTo = e.to
        const key = idKey(e.to)
        queue = this.#mailbox.clients.get(key)
        receiver = this.#receivers.get(key)
      }
      code ??= this.#mailbox.refusal(queue, size)
      if (code !== undefined || queue === undefined) {
        this.#refuse(code ??= 'ERR_RELAY_UNKNOWN_RECIPIENT')
        sc.refusals.push({ m: e.m, c: code })
        continue
      }
      // Copy: the frame may be a view into a larger socket buffer that must not stay alive with the queue. A
      // large message is copied into its own delivery frame, which is then pushed without another copy.
      // A large message alone in its frame (as clients send them) becomes its delivery frame in place.
      let item: QueuedMessage
      if (size >= OWN_FRAME_BYTES) {
        const inPlace = entries.length === 1 ? deliverInPlace(frame, e.p, queue.nextId, sc.peerBytes) : undefined
        const own = inPlace !== undefined ? { frame: inPlace, payload: e.p } : encodeDeliverOne(queue.nextId, sc.peerBytes, e.p)
        item = this.#mailbox.append(queue, sc.peerBytes, own.payload, own.frame, now, sc.num, e.m)
      } else {
        item = this.#mailbox.append(queue, sc.peerBytes, e.p.slice(), undefined, now, sc.num, e.m)
      }
      this.#counters.accepted++
      if (store !== undefined) {
        durable = store.enqueue(queue, item)
        pending.push(e.m)
      }
      lastAccepted = e.m
      if (receiver !== undefined && receiver.push) receiver.schedule()
    }
    if (durable === undefined) {
      if (lastAccepted >= 0) sc.acceptedUpTo = lastAccepted
      if (sc.checkBacklog()) sc.schedule()
      return
    }
    if (sc.checkBacklog()) sc.schedule()
    // Accept only once durable: the sender's ack means the relay has taken responsibility.
    durable.then(() => {
      sc.acceptedUpTo = Math.max(sc.acceptedUpTo, lastAccepted)
      sc.schedule()
    }, () => {
      for (const m of pending) { this.#refuse('ERR_RELAY_STORE'); sc.refusals.push({ m, c: 'ERR_RELAY_STORE' }) }
      sc.schedule()
    })
  }

  #onAck (sc: ServerConnection, upTo: number): void {
    const queue = sc.queue
    if (queue === undefined) { this.#violation(sc, 'ack without registration'); return }
    if (upTo >= sc.nextPush) { this.#violation(sc, 'ack of a message not delivered'); return }
    const removed = this.#mailbox.remove(queue, upTo)
    if (removed.length === 0) return
    this.#store?.remove(queue, upTo)
    this.#counters.delivered += removed.length
    let senders: Set<ServerConnection> | undefined
    for (const item of removed) {
      sc.inflightBytes -= item.payload.byteLength
      if (item.conn === 0) continue
      const sender = this.#conns.get(item.conn)
      if (sender === undefined || !sender.notices) continue
      sender.delivered.push(item.m)
      ;(senders ??= new Set()).add(sender)
    }
    if (sc.inflightBytes < 0) sc.inflightBytes = 0
    if (senders !== undefined) for (const s of senders) if (s.checkBacklog()) s.schedule()
    sc.schedule()
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
    const now = this.#clock.now()
    for (const sc of this.#conns.values()) {
      if (sc.state === 'auth' && mono - sc.opened > this.#config.authTimeoutMs) {
        this.#counters.authTimeouts++
        this.#warn(sc, 'auth-timeout', 'authentication timed out')
        sc.closeWith('ERR_AUTH', 'authentication timed out')
      }
      else if (mono - sc.lastActivity > this.#config.idleTimeoutMs) sc.closeWith('ERR_TIMEOUT', 'idle')
    }
    const expired = this.#mailbox.expire(now, this.#config.messageTtlMs, q => this.#receivers.get(q.key)?.nextPush ?? 0)
    for (const { queue, upTo } of expired) {
      const removed = this.#mailbox.remove(queue, upTo)
      this.#store?.remove(queue, upTo)
      this.#counters.expired += removed.length
      for (const item of removed) {
        const sender = item.conn === 0 ? undefined : this.#conns.get(item.conn)
        if (sender === undefined) continue
        sender.lost.push({ m: item.m, c: 'ERR_TIMEOUT' })
        if (sender.checkBacklog()) sender.schedule()
      }
    }
    this.#forgetIdle()
    if (this.#store !== undefined && mono - this.#lastCompactCheck >= this.#config.compactIntervalMs) {
      this.#lastCompactCheck = mono
      const mailbox = this.#mailbox
      const live = mailbox.totalBytes + mailbox.totalMessages * 64 + mailbox.clients.size * 48
      this.#store.maybeCompact(live, () => [...mailbox.clients.values()].map(q => ({
        // The registration names the first live id; the E records that follow continue from it.
        idBytes: q.idBytes, lastSeen: q.lastSeen, nextId: q.firstId, retain: q.retain, items: q.items.slice(q.head)
      })))
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

function sameId (a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}
