import { generateIdentity, loadOrCreateIdentity, parseNodeId, randomBytesPooled } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import { EgtpError, TypedEventTarget, disabledComponentLogger, systemClock } from '@egtp/interface'
import type { AbortOptions, Announcer, Clock, ContactRecord, Logger } from '@egtp/interface'
import { SessionManager } from '@egtp/session'
import type { SessionManagerInit } from '@egtp/session'
import { SendWindow } from './backpressure.ts'
import { Connector } from './connect.ts'
import type { ConnectOptions, DisconnectOptions, PeerConnection } from './connect.ts'
import { OwnContact } from './contact.ts'
import type { NodeContext } from './context.ts'
import { InboundDedup } from './dedup.ts'
import { Dispatcher } from './dispatcher.ts'
import { reportDrop } from './drops.ts'
import { Handlers, checkType } from './handlers.ts'
import { newEpoch } from './ids.ts'
import { DedupJournal } from './journal.ts'
import { DEDUP_SWEEP_TICKS } from './constants.ts'
import { checkTimeout, resolveLimits } from './limits.ts'
import { PeerTable } from './peers.ts'
import type { Peer } from './peers.ts'
import { QueryBook } from './query-book.ts'
import { joinTicks } from './ticker.ts'
import { Receiver } from './receiver.ts'
import { Router } from './router.ts'
import { Transports } from './transports.ts'
import { followSessions } from './session-events.ts'
import { Sender } from './sender.ts'
import { submitOneway } from './oneway.ts'
import { sendStream } from './send-stream.ts'
import type { SendStreamOptions } from './send-stream.ts'
import { StatsCollector } from './stats.ts'
import type { NodeStats } from './stats.ts'
import type { Handler, HandleOptions, NodeEvents, NodeInit, NodeLimits, QueryOptions, SendOptions } from './types.ts'

type State = 'new' | 'running' | 'stopping' | 'stopped'

/**
 * Create a node: loads (or creates and saves) its identity from `init.keystore` when given. The node does
 * nothing until {@link EgtpNode.start}.
 * @example
 * ```ts
 * const node = await createNode({ commstrats: [tcp({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }] })()], lookup: directory, announcer: directory })
 * node.handle('echo', (payload) => payload)
 * await node.start()
 * ```
 */
export async function createNode (init: NodeInit = {}): Promise<EgtpNode> {
  if (init.identity !== undefined && init.keystore !== undefined) throw new TypeError('give identity or keystore, not both')
  const identity = init.identity ?? (init.keystore !== undefined ? await loadOrCreateIdentity(init.keystore) : generateIdentity())
  return new EgtpNode(init, identity)
}

/** The settle functions of the promise {@link captureSettlers} last saw (taken at once by its caller). */
let capturedResolve: ((value: unknown) => void) | undefined
let capturedReject: ((error: Error) => void) | undefined
function captureSettlers (resolve: (value: never) => void, reject: (error: Error) => void): void {
  capturedResolve = resolve as (value: unknown) => void
  capturedReject = reject
}

/** An EGTP node: handlers, queries and one-way messages to other nodes by node ID. Create with {@link createNode}. */
export class EgtpNode extends TypedEventTarget<NodeEvents> {
  /** This node's ID (text form). */
  readonly nodeId: string
  readonly publicKey: Uint8Array
  readonly #limits: NodeLimits
  readonly #clock: Clock
  readonly #log: Logger
  readonly #stats: StatsCollector
  readonly #sessions: SessionManager
  readonly #transports: Transports
  readonly #announcer: Announcer | undefined
  readonly #shutdown = new AbortController()
  readonly #handlers: Handlers
  readonly #peers: PeerTable
  readonly #sender: Sender
  readonly #receiver: Receiver
  readonly #dedup: InboundDedup
  readonly #dispatcher: Dispatcher
  readonly #journal: DedupJournal | undefined
  readonly #queries: QueryBook
  readonly #contact: OwnContact
  readonly #window: SendWindow
  readonly #connector: Connector
  readonly #router: Router
  #state: State = 'new'
  #starting: Promise<void> | undefined
  #stopping: Promise<void> | undefined
  /** Leaves the process's tick group (see ticker.ts). */
  #leaveTicks: (() => void) | undefined
  /** When the last full tick ran, and the dedup sweep (monotonic ms). */
  #fullTickAt = -Infinity
  #dedupSweptAt = 0

  /** @internal Use {@link createNode}. */
  constructor (init: NodeInit, identity: NodeIdentity) {
    super()
    this.nodeId = identity.nodeId
    this.publicKey = identity.publicKey
    this.#limits = resolveLimits(init.limits)
    this.#clock = init.clock ?? systemClock
    this.#log = (init.logger ?? disabledComponentLogger).forComponent('node')
    this.#stats = new StatsCollector(this.#limits.maxStatsPeers, this.#limits.maxStatsTypes)
    this.#transports = new Transports([...(init.commstrats ?? [])], (frame, path) => { this.#receiver.onFrame(frame, path) }, () => {
      if (this.#state === 'running') void this.#refreshRecord()
    })
    this.#announcer = init.announcer
    const random = init.random ?? randomBytesPooled
    // Assigned, not spread: `{ ...init.sessions, identity }` gets a fresh hidden class (old space) per node.
    const sessionInit: SessionManagerInit = Object.assign({}, init.sessions, { identity, clock: this.#clock, random, logger: (init.logger ?? disabledComponentLogger).forComponent('session') })
    if (init.store !== undefined) sessionInit.store = init.store
    if (init.clockWindowMs !== undefined) sessionInit.clockWindowMs = init.clockWindowMs
    this.#sessions = new SessionManager(sessionInit)
    const ctx: NodeContext = {
      identity,
      sessions: this.#sessions,
      clock: this.#clock,
      log: this.#log,
      limits: this.#limits,
      stats: this.#stats,
      events: this,
      commstrats: this.#transports.list,
      lookup: init.lookup,
      shutdown: this.#shutdown.signal
    }
    const l = this.#limits
    this.#contact = new OwnContact(identity, this.#clock, l.recordTtlMs, init.services ?? [], this.#log)
    // One direction: receiver → (handlers, queries) → sender → router → peer table; the node only composes.
    this.#peers = new PeerTable(ctx, newEpoch(random), peer => this.#queries.hasPending(peer))
    const router = this.#router = new Router(ctx, this.#peers)
    this.#window = new SendWindow(ctx, { totalBytes: () => this.#sender.unackedBytes })
    this.#sender = new Sender(ctx, this.#peers, router, this.#contact, peer => { this.#window.released(peer) })
    this.#queries = new QueryBook(this.#sender, l, this.#clock, this.#stats, this, peerId => { reportDrop(ctx, 'unknown-reply', peerId) })
    this.#connector = new Connector(ctx, this.#peers, this.#sender, router, this.#queries)
    this.#handlers = new Handlers(this.#sender, l, this.#clock, this.#log, this.#shutdown.signal)
    this.#dedup = new InboundDedup({ maxStreams: l.maxDedupStreams, maxStreamsPerPeer: l.maxStreamsPerPeer, maxReorder: l.maxReorder, retentionMs: l.dedupRetentionMs })
    this.#dispatcher = new Dispatcher(l.maxConcurrentHandlers, l.maxQueuedHandlers)
    this.#journal = init.store !== undefined ? new DedupJournal(init.store, this.#dedup, this.#log.newScope('journal')) : undefined
    this.#receiver = new Receiver(ctx, {
      peers: this.#peers,
      acks: this.#sender,
      handlers: this.#handlers,
      replies: this.#queries,
      dedup: this.#dedup,
      dispatcher: this.#dispatcher,
      journal: this.#journal
    })
    followSessions(ctx, this.#peers, this.#sender, this.#connector)
  }

  /** The node's current signed contact record (after start). */
  contactRecord (): ContactRecord | undefined {
    return this.#contact.record
  }

  /**
   * Start the session manager (loading persisted state), the dedup journal, and every commstrat; sign and
   * announce the contact record. Idempotent.
   * @throws {EgtpError} ERR_CLOSED after stop; a commstrat's start error (the others are stopped again)
   */
  async start (): Promise<void> {
    if (this.#state === 'running') return
    if (this.#starting !== undefined) return await this.#starting
    if (this.#state !== 'new') throw new EgtpError('ERR_CLOSED', 'node was stopped')
    this.#starting = (async () => {
      await this.#sessions.start()
      await this.#journal?.load(this.#clock.now())
      try {
        await this.#transports.start()
      } catch (err) {
        this.#state = 'stopped'
        throw err
      }
      this.#state = 'running'
      this.#handlers.open()
      this.#dedupSweptAt = this.#clock.monotonic()
      this.#leaveTicks = joinTicks(this.#limits.tickIntervalMs, () => {
        try {
          this.#tick()
        } catch (err) {
          this.#log.error('tick failed: %e', err)
        }
      })
      await this.#refreshRecord()
      this.#log('started %s', this.nodeId)
    })()
    try {
      await this.#starting
    } finally {
      this.#starting = undefined
    }
  }

  /**
   * Stop gracefully within `limits.stopTimeoutMs`: pending queries are rejected with ERR_CLOSED, no new
   * message is delivered, running handlers finish and their replies and acknowledgements go out, one-way
   * messages get their acknowledgements; what is still unacknowledged is then reported (ERR_CLOSED if never
   * sent, ERR_DELIVERY_UNCERTAIN if sent). Then transports stop and session keys are wiped. Idempotent.
   */
  async stop (): Promise<void> {
    if (this.#stopping !== undefined) return await this.#stopping
    this.#stopping = this.#doStop()
    return await this.#stopping
  }

  async #doStop (): Promise<void> {
    if (this.#starting !== undefined) await this.#starting.catch(() => {})
    if (this.#state === 'stopped') return
    const wasRunning = this.#state === 'running'
    this.#state = 'stopping'
    this.#window.close() // before anything is settled: a waiting writer must not take the room stop makes
    this.#handlers.close()
    // One error for the pending queries and the shutdown signal's reason (each costs a stack trace).
    const stopped = new EgtpError('ERR_CLOSED', 'node stopped')
    this.#queries.failAll(id => this.#peers.get(id), stopped)
    this.#dispatcher.clear()
    // Let running handlers answer and acknowledgements leave; own messages get their acknowledgements.
    if (wasRunning) await this.#settleInFlight()
    this.#sender.failAll()
    this.#leaveTicks?.()
    this.#leaveTicks = undefined
    this.#shutdown.abort(stopped)
    this.#connector.close()
    this.#sender.clearTimers()
    await this.#journal?.flush().catch(() => {})
    await this.#sessions.flush().catch((err: unknown) => { this.#log.error('flushing session state failed: %e', err) })
    await this.#transports.stop()
    this.#sessions.close()
    this.#state = 'stopped'
    this.#log('stopped')
  }

  /** Wait (at most `stopTimeoutMs`) for running handlers to finish and everything sent to be acknowledged. */
  async #settleInFlight (): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const bound = new Promise<void>(resolve => { timer = setTimeout(resolve, this.#limits.stopTimeoutMs) })
    await Promise.race([this.#dispatcher.idle().then(async () => { await this.#sender.drained() }), bound])
    clearTimeout(timer)
  }


  /**
   * Register the handler of message type `type` (queries and one-way messages). With `{ borrowPayload: true }`
   * the payload is valid only while the handler runs (see {@link HandleOptions.borrowPayload}).
   * @throws {TypeError} when `type` already has a handler
   */
  handle (type: string, handler: Handler, options?: HandleOptions): void {
    this.#handlers.add(type, handler, options?.borrowPayload === true)
  }

  /** Remove the handler of `type`; later messages of that type are answered ERR_NO_HANDLER. */
  unhandle (type: string): void {
    this.#handlers.remove(type)
  }

  /**
   * Verify a peer's contact record and keep it (as a lookup result would be kept), and get the first handshake
   * with it ready (its keys checked, the static-static DH computed ahead): the first query to it does less.
   * @throws {EgtpError} ERR_SIGNATURE | ERR_KEY_MISMATCH | ERR_STALE_RECORD | ERR_BAD_NODE_ID | ERR_LIMIT
   */
  addContact (record: ContactRecord): void {
    const peer = this.#peers.getOrCreate(parseNodeId(record.nodeId))
    this.#peers.offerRecord(peer, record)
    // Ready the first handshake with it now, as WireGuard does for a configured peer (its X25519 key and the
    // static-static DH, ~50 µs, kept in a bounded cache): a contact is added to be talked to.
    const publicKey = peer.contact.publicKey
    if (publicKey !== undefined && peer.id !== this.nodeId && (this.#state === 'new' || this.#state === 'running')) {
      this.#sessions.preparePeer({ nodeId: peer.id, publicKey })
    }
  }

  /**
   * Send a query and wait for its reply. A `Uint8Array` payload of `REFERENCED_PAYLOAD_BYTES` or more is sealed
   * from the caller's buffer: leave it unchanged until the promise settles.
   * @throws {EgtpError} ERR_TIMEOUT, ERR_UNREACHABLE, ERR_REMOTE ({@link RemoteError}), ERR_NO_HANDLER,
   *   ERR_DELIVERY_UNCERTAIN, ERR_CLOSED, ERR_NOT_STARTED, ERR_TOO_MANY_PENDING, ERR_SELF, ERR_BAD_NODE_ID;
   *   rethrows `signal.reason` on abort
   */
  query<T = unknown> (peerId: string, type: string, payload?: unknown, options?: QueryOptions): Promise<T> {
    try {
      const signal = options?.signal
      signal?.throwIfAborted()
      const peer = this.#target(peerId, type)
      const timeoutMs = checkTimeout('timeoutMs', options?.timeoutMs ?? this.#limits.defaultTimeoutMs)
      const softMs = options?.softTimeoutMs !== undefined ? checkTimeout('softTimeoutMs', options.softTimeoutMs) : undefined
      this.#queries.checkRoom()
      const promise = new Promise<T>(captureSettlers) // (one shared executor: no closure per query)
      const resolve = capturedResolve!
      const reject = capturedReject!
      capturedResolve = capturedReject = undefined // (not kept past this query)
      this.#queries.start(peer, type, payload, timeoutMs, softMs, signal, resolve, reject)
      return promise
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * Send a one-way message. Resolves once the peer's handler has it (acknowledged end to end). A `Uint8Array`
   * payload of `REFERENCED_PAYLOAD_BYTES` or more is sealed from the caller's buffer: leave it unchanged until
   * the promise settles.
   * @throws {EgtpError} ERR_UNREACHABLE, ERR_TIMEOUT (never acknowledged, never sent), ERR_DELIVERY_UNCERTAIN
   *   (sent, not acknowledged in time), ERR_NO_HANDLER, ERR_CLOSED, ERR_NOT_STARTED, ERR_TOO_MANY_PENDING,
   *   ERR_SELF, ERR_BAD_NODE_ID; rethrows `signal.reason` on abort
   */
  send (peerId: string, type: string, payload?: unknown, options?: SendOptions): Promise<void> {
    try {
      options?.signal?.throwIfAborted()
      const peer = this.#target(peerId, type)
      const timeoutMs = options?.timeoutMs === undefined ? this.#limits.defaultTimeoutMs : checkTimeout('timeoutMs', options.timeoutMs)
      return submitOneway(this.#sender, peer, type, payload, timeoutMs, options?.signal)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Counters and histograms (bounded tables). */
  stats (): NodeStats {
    const s = this.#stats
    return s.snapshot({
      queries: { pending: this.#queries.size, succeeded: s.queriesSucceeded, failed: s.queriesFailed, late: s.queriesLate },
      handlers: { running: this.#dispatcher.running, queued: this.#dispatcher.queued },
      unacked: { messages: this.#sender.unackedMessages, bytes: this.#sender.unackedBytes },
      peers: { known: this.#peers.size, dedupStreams: this.#dedup.size }
    })
  }

  /**
   * Establish a session with `peerId` ahead of the first message: look it up, open a transport connection,
   * complete the handshake. A message sent after it resolves goes as a data frame (no handshake on its path).
   * Concurrent calls for one peer share the work. Resolves at once when a session is up and a connection open.
   * @throws {EgtpError} ERR_UNREACHABLE (no record, no endpoint answered), ERR_TIMEOUT (`timeoutMs`, default
   *   `limits.connectTimeoutMs`), ERR_CLOCK_SKEW (a paranoid peer refused our clock), ERR_RATE_LIMITED,
   *   ERR_DISCONNECTED (`disconnect` was called meanwhile), ERR_CLOSED, ERR_NOT_STARTED, ERR_SELF, ERR_BAD_NODE_ID;
   *   rethrows `signal.reason` on abort
   */
  async connect (peerId: string, options: ConnectOptions = {}): Promise<PeerConnection> {
    options.signal?.throwIfAborted()
    const peer = this.#peer(peerId)
    const timeoutMs = checkTimeout('timeoutMs', options.timeoutMs ?? this.#limits.connectTimeoutMs)
    return await this.#connector.connect(peer, timeoutMs, options.signal)
  }

  /**
   * Close the sessions and transport connections with `peerId`. Its unacknowledged messages are reported
   * failed (ERR_DISCONNECTED when never sent, ERR_DELIVERY_UNCERTAIN when sent), its pending queries fail with
   * ERR_DISCONNECTED, a `connect` in flight rejects with ERR_DISCONNECTED; acknowledgements owed to it go out
   * first (within `limits.disconnectTimeoutMs`; an abort of `signal` only shortens that wait). A later
   * message or `connect` sets up a new session. Dispatches `peer:disconnect`.
   * @returns how many messages and queries were reported failed
   * @throws {EgtpError} ERR_CLOSED, ERR_NOT_STARTED, ERR_SELF, ERR_BAD_NODE_ID
   */
  async disconnect (peerId: string, options: DisconnectOptions = {}): Promise<number> {
    const peer = this.#peer(peerId, false)
    if (peer === undefined) {
      this.#sessions.drop(peerId) // nothing pending; a session may exist (the peer reached us, then was evicted)
      return 0
    }
    return await this.#connector.disconnect(peer, options.signal)
  }

  /**
   * Whether one more `send` or `query` to `peerId` fits the send window (its unacknowledged messages and bytes
   * under `limits.sendHighWaterMessages` / `sendHighWaterBytes`). When false, `peer:drain` is dispatched and
   * {@link ready} resolves as soon as acknowledgements make room. False when the node is not running.
   */
  writable (peerId: string): boolean {
    if (this.#state !== 'running') return false
    return this.#window.writable(this.#peer(peerId))
  }

  /**
   * Resolves once `peerId`'s send window has room (at once when it has).
   * @throws {EgtpError} ERR_CLOSED when the node stops first, ERR_NOT_STARTED; rethrows `signal.reason` on abort
   */
  async ready (peerId: string, options: AbortOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    await this.#window.ready(this.#peer(peerId), options)
  }

  /**
   * A `WritableStream` of one-way messages of `type` to `peerId` whose backpressure is the send window:
   * `await writer.write(payload)` resolves when the message is accepted; `close()` when all were acknowledged.
   * The first failed message errors the stream.
   */
  sendStream (peerId: string, type: string, options: SendStreamOptions = {}): WritableStream<unknown> {
    checkType(type)
    this.#peer(peerId)
    return sendStream(this, peerId, type, options)
  }

  #target (peerId: string, type: string): Peer {
    checkType(type)
    return this.#peer(peerId)
  }

  #peer (peerId: string): Peer
  #peer (peerId: string, create: false): Peer | undefined
  #peer (peerId: string, create = true): Peer | undefined {
    if (this.#state !== 'running') throw new EgtpError(this.#state === 'new' ? 'ERR_NOT_STARTED' : 'ERR_CLOSED', `node is ${this.#state}`)
    const known = this.#peers.get(peerId) // IDs in the table are already validated and normalised
    if (known !== undefined) return known
    const id = parseNodeId(peerId)
    if (id === this.nodeId) throw new EgtpError('ERR_SELF', 'a node cannot send to itself')
    return create ? this.#peers.getOrCreate(id) : this.#peers.get(id)
  }

  #tick (): void {
    if (this.#state !== 'running') return
    const now = this.#clock.monotonic()
    // A quiet node (no handshake waiting for an answer, nothing unacknowledged, nobody waiting for the send
    // window) has only expiry and housekeeping to do, which needs no finer grain than `quietTickIntervalMs`: its
    // other ticks end here (~5 µs each otherwise, four times a second, for every idle node of the process).
    if (now - this.#fullTickAt < this.#limits.quietTickIntervalMs && this.#quiet()) return
    this.#fullTickAt = now
    let frames: Array<{ peer: { nodeId: string, publicKey: Uint8Array }, frame: Uint8Array }> = []
    try {
      frames = this.#sessions.tick()
    } catch (err) {
      this.#log.error('session tick failed: %e', err)
    }
    this.#router.sendSessionFrames(frames)
    this.#sender.tick(now)
    this.#window.tick()
    this.#queries.sweep(now)
    if (now - this.#dedupSweptAt >= DEDUP_SWEEP_TICKS * this.#limits.tickIntervalMs) {
      this.#dedupSweptAt = now
      this.#dedup.sweep(this.#clock.now())
    }
    if (this.#contact.stale()) void this.#refreshRecord()
  }

  /** Nothing that a tick must attend to promptly: handshakes, unacknowledged messages, writers waiting for room. */
  #quiet (): boolean {
    return !this.#sessions.handshakesPending && this.#sender.quiet && !this.#window.waiting
  }

  async #refreshRecord (): Promise<void> {
    try {
      const record = this.#contact.refresh(this.#transports.list)
      this.safeDispatch('contact:change', record)
      // No announcer, no signal: AbortSignal.timeout keeps a timer (and the signals) alive for lookupTimeoutMs.
      if (this.#announcer !== undefined) await this.#contact.announce(this.#announcer, AbortSignal.any([this.#shutdown.signal, AbortSignal.timeout(this.#limits.lookupTimeoutMs)]))
    } catch (err) {
      this.#log.error('refreshing the contact record failed: %e', err)
    }
  }
}
