import { MAX_TYPE_CHARS } from '@egtp/codec'
import { generateIdentity, loadOrCreateIdentity, parseNodeId } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import { EgtpError, TypedEventTarget, disabledComponentLogger, systemClock } from '@egtp/interface'
import type { Announcer, Clock, Commstrat, ContactRecord, InboundFrame, Logger } from '@egtp/interface'
import { SessionManager } from '@egtp/session'
import type { AbortOptions } from '@egtp/interface'
import { SendWindow } from './backpressure.ts'
import { Connector } from './connect.ts'
import type { ConnectOptions, DisconnectOptions, PeerConnection } from './connect.ts'
import { OwnContact } from './contact.ts'
import type { NodeContext } from './context.ts'
import { InboundDedup } from './dedup.ts'
import { Dispatcher } from './dispatcher.ts'
import { clockSkewError, errorFromReply } from './errors.ts'
import { MessageContext } from './handler-context.ts'
import type { Answerer } from './handler-context.ts'
import { newEpoch, toHex } from './ids.ts'
import { DedupJournal } from './journal.ts'
import { checkTimeout, resolveLimits } from './limits.ts'
import type { OutEntry, Settlement } from './outbound.ts'
import { PeerTable } from './peers.ts'
import type { Peer } from './peers.ts'
import { PendingQueries } from './queries.ts'
import type { PendingQuery } from './queries.ts'
import { Receiver } from './receiver.ts'
import { Sender } from './sender.ts'
import { sendStream } from './send-stream.ts'
import type { SendStreamOptions } from './send-stream.ts'
import { StatsCollector } from './stats.ts'
import type { NodeStats } from './stats.ts'
import type { Handler, NodeEvents, NodeInit, NodeLimits, QueryOptions, SendOptions } from './types.ts'
import type { OnewayMsg, QueryMsg, ReplyMsg } from '@egtp/codec/node'

type State = 'new' | 'running' | 'stopping' | 'stopped'

const defaultRandom = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n))

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
  readonly #commstrats: Commstrat[]
  readonly #announcer: Announcer | undefined
  readonly #shutdown = new AbortController()
  readonly #handlers = new Map<string, Handler>()
  readonly #peers: PeerTable
  readonly #sender: Sender
  readonly #receiver: Receiver
  readonly #dedup: InboundDedup
  readonly #dispatcher: Dispatcher
  readonly #journal: DedupJournal | undefined
  readonly #queries: PendingQueries
  readonly #contact: OwnContact
  readonly #window: SendWindow
  readonly #connector: Connector
  #state: State = 'new'
  #starting: Promise<void> | undefined
  #stopping: Promise<void> | undefined
  #tickTimer: ReturnType<typeof setInterval> | undefined
  #ticks = 0
  readonly #onFrame = (evt: CustomEvent<InboundFrame>): void => { this.#receiver.onFrame(evt.detail) }
  readonly #onEndpoints = (): void => { if (this.#state === 'running') void this.#refreshRecord() }

  /** @internal Use {@link createNode}. */
  constructor (init: NodeInit, identity: NodeIdentity) {
    super()
    this.nodeId = identity.nodeId
    this.publicKey = identity.publicKey
    this.#limits = resolveLimits(init.limits)
    this.#clock = init.clock ?? systemClock
    this.#log = (init.logger ?? disabledComponentLogger).forComponent('node')
    this.#stats = new StatsCollector(this.#limits.maxStatsPeers, this.#limits.maxStatsTypes)
    this.#commstrats = [...(init.commstrats ?? [])]
    this.#announcer = init.announcer
    const random = init.random ?? defaultRandom
    this.#sessions = new SessionManager({
      ...init.sessions,
      identity,
      clock: this.#clock,
      random,
      logger: (init.logger ?? disabledComponentLogger).forComponent('session'),
      ...(init.store !== undefined ? { store: init.store } : {}),
      ...(init.clockWindowMs !== undefined ? { clockWindowMs: init.clockWindowMs } : {})
    })
    const ctx: NodeContext = {
      identity,
      sessions: this.#sessions,
      clock: this.#clock,
      log: this.#log,
      limits: this.#limits,
      stats: this.#stats,
      events: this,
      commstrats: this.#commstrats,
      lookup: init.lookup,
      shutdown: this.#shutdown.signal
    }
    const l = this.#limits
    this.#contact = new OwnContact(identity, this.#clock, l.recordTtlMs, init.services ?? [], this.#log)
    this.#peers = new PeerTable(ctx, newEpoch(random))
    this.#window = new SendWindow(ctx, { totalBytes: () => this.#sender.unackedBytes })
    this.#sender = new Sender(ctx, this.#peers, () => this.#contact.message, peer => { this.#window.released(peer) })
    this.#dedup = new InboundDedup({ maxStreams: l.maxDedupStreams, maxStreamsPerPeer: l.maxStreamsPerPeer, maxReorder: l.maxReorder, retentionMs: l.dedupRetentionMs })
    this.#dispatcher = new Dispatcher(l.maxConcurrentHandlers, l.maxQueuedHandlers)
    this.#journal = init.store !== undefined ? new DedupJournal(init.store, this.#dedup, this.#log.newScope('journal')) : undefined
    this.#queries = new PendingQueries(l.maxLateQueries, l.lateReplyWindowMs)
    this.#receiver = new Receiver(ctx, this.#peers, this.#sender, this.#dedup, this.#dispatcher, this.#journal, {
      accepting: () => this.#state === 'running',
      hasHandler: type => this.#handlers.has(type),
      invoke: (peer, m, receivedAt) => this.#invoke(peer, m, receivedAt),
      onReply: (peer, m) => { this.#onReply(peer, m) }
    })
    this.#connector = new Connector(ctx, this.#peers, this.#sender, {
      failQueries: (peer, error) => {
        for (const q of this.#queries.ofPeer(peer.id)) if (this.#queries.take(peer.id, q.key) !== undefined) this.#failQuery(q, error, true)
      }
    })
    this.#sessions.addEventListener('session:new', ({ detail }) => {
      this.#stats.handshakes++
      this.safeDispatch('session:new', { peerId: detail.peer.nodeId, sessionId: detail.sessionId, role: detail.role })
    })
    this.#sessions.addEventListener('session:clock-skew', ({ detail }) => {
      const peer = this.#peers.get(detail.peer.nodeId)
      if (peer !== undefined) peer.clockSkew = { skewMs: detail.skewMs, at: this.#clock.monotonic() }
      this.safeDispatch('peer:clock-skew', { peerId: detail.peer.nodeId, skewMs: detail.skewMs })
    })
    this.#sessions.addEventListener('session:confirmed', ({ detail }) => {
      const peer = this.#peers.get(detail.peer.nodeId)
      if (peer !== undefined) peer.clockSkew = undefined
    })
    this.#sessions.addEventListener('session:replaced', ({ detail }) => {
      this.#stats.reset(detail.reason)
      const evt: NodeEvents['session:replaced'] = { peerId: detail.peer.nodeId, oldSessionId: detail.oldSessionId, reason: detail.reason }
      if (detail.newSessionId !== undefined) evt.newSessionId = detail.newSessionId
      this.safeDispatch('session:replaced', evt)
      // Frames sent under the old session may be lost (a restarted peer cannot open them): send again.
      const peer = this.#peers.get(detail.peer.nodeId)
      if (peer !== undefined && detail.reason !== 'rekey') this.#sender.resendAll(peer)
    })
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
      for (const c of this.#commstrats) {
        c.addEventListener('frame', this.#onFrame)
        c.addEventListener('endpoints:change', this.#onEndpoints)
      }
      const started = await Promise.allSettled(this.#commstrats.map(async c => { await c.start() }))
      const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected')
      if (failed !== undefined) {
        await Promise.allSettled(this.#commstrats.map(async c => { await c.stop() }))
        this.#detach()
        this.#state = 'stopped'
        throw failed.reason
      }
      this.#state = 'running'
      this.#tickTimer = setInterval(() => { this.#tick() }, this.#limits.tickIntervalMs)
      this.#tickTimer.unref?.()
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
    const deadline = this.#clock.monotonic() + this.#limits.stopTimeoutMs
    for (const q of this.#queries.drain()) this.#failQuery(q, new EgtpError('ERR_CLOSED', 'node stopped'), false)
    this.#dispatcher.clear()
    if (wasRunning) {
      // Let running handlers answer and acknowledgements leave; own messages get their acknowledgements.
      while (this.#clock.monotonic() < deadline && !this.#quiet()) {
        for (const p of this.#peers.values()) if (p.acks.size > 0 || p.control.length > 0) this.#sender.schedule(p)
        await new Promise(resolve => setTimeout(resolve, 5))
      }
    }
    this.#sender.failAll(e => this.#closeError(e))
    clearInterval(this.#tickTimer)
    this.#shutdown.abort(new EgtpError('ERR_CLOSED', 'node stopped'))
    this.#connector.close()
    for (const p of this.#peers.values()) if (p.ackTimer !== undefined) clearTimeout(p.ackTimer)
    await this.#journal?.flush().catch(() => {})
    await this.#sessions.flush().catch((err: unknown) => { this.#log.error('flushing session state failed: %e', err) })
    this.#detach()
    await Promise.allSettled(this.#commstrats.map(async c => { await c.stop() }))
    this.#sessions.close()
    this.#state = 'stopped'
    this.#log('stopped')
  }

  #quiet (): boolean {
    if (this.#dispatcher.running > 0 || this.#sender.unackedMessages > 0) return false
    for (const p of this.#peers.values()) if (p.flushing || p.acks.size > 0 || p.control.length > 0 || p.queue.length > 0) return false
    return true
  }

  #closeError (e: OutEntry): EgtpError {
    return e.kind === 'o' && e.attempts > 0
      ? new EgtpError('ERR_DELIVERY_UNCERTAIN', `node stopped before message ${toHex(e.id)} was acknowledged`)
      : new EgtpError('ERR_CLOSED', 'node stopped')
  }

  #detach (): void {
    for (const c of this.#commstrats) {
      c.removeEventListener('frame', this.#onFrame)
      c.removeEventListener('endpoints:change', this.#onEndpoints)
    }
  }

  /**
   * Register the handler of message type `type` (queries and one-way messages).
   * @throws {TypeError} when `type` already has a handler
   */
  handle (type: string, handler: Handler): void {
    checkType(type)
    if (typeof handler !== 'function') throw new TypeError('handler must be a function')
    if (this.#handlers.has(type)) throw new TypeError(`type ${type} already has a handler`)
    this.#handlers.set(type, handler)
  }

  /** Remove the handler of `type`; later messages of that type are answered ERR_NO_HANDLER. */
  unhandle (type: string): void {
    this.#handlers.delete(type)
  }

  /**
   * Verify a peer's contact record and keep it (as a lookup result would be kept).
   * @throws {EgtpError} ERR_SIGNATURE | ERR_KEY_MISMATCH | ERR_STALE_RECORD | ERR_BAD_NODE_ID | ERR_LIMIT
   */
  addContact (record: ContactRecord): void {
    const peer = this.#peers.getOrCreate(parseNodeId(record.nodeId))
    this.#peers.offerRecord(peer, record)
  }

  /**
   * Send a query and wait for its reply. A `Uint8Array` payload of `REFERENCED_PAYLOAD_BYTES` or more is sealed
   * from the caller's buffer: leave it unchanged until the promise settles.
   * @throws {EgtpError} ERR_TIMEOUT, ERR_UNREACHABLE, ERR_REMOTE ({@link RemoteError}), ERR_NO_HANDLER,
   *   ERR_DELIVERY_UNCERTAIN, ERR_CLOSED, ERR_NOT_STARTED, ERR_TOO_MANY_PENDING, ERR_SELF, ERR_BAD_NODE_ID;
   *   rethrows `signal.reason` on abort
   */
  query<T = unknown> (peerId: string, type: string, payload?: unknown, options: QueryOptions = {}): Promise<T> {
    try {
      options.signal?.throwIfAborted()
      const peer = this.#target(peerId, type)
      const timeoutMs = checkTimeout('timeoutMs', options.timeoutMs ?? this.#limits.defaultTimeoutMs)
      const softMs = options.softTimeoutMs !== undefined ? checkTimeout('softTimeoutMs', options.softTimeoutMs) : undefined
      if (this.#queries.size >= this.#limits.maxPendingQueries) throw new EgtpError('ERR_TOO_MANY_PENDING', `${this.#queries.size} queries pending`)
      return new Promise<T>((resolve, reject) => { this.#startQuery(peer, type, payload, timeoutMs, softMs, options.signal, resolve as (v: unknown) => void, reject) })
    } catch (err) {
      return Promise.reject(err)
    }
  }

  #startQuery (peer: Peer, type: string, payload: unknown, timeoutMs: number, softMs: number | undefined, signal: AbortSignal | undefined,
    resolve: (v: unknown) => void, reject: (e: Error) => void): void {
    let q: PendingQuery | undefined = undefined // set below; the failure callback may run before `pending` exists
    const entry = this.#sender.submit(peer, 'q', type, payload, timeoutMs, r => {
      // The query message itself failed (unreachable, uncertain): the query fails with it.
      if (!r.ok && q !== undefined && this.#queries.take(peer.id, q.key) !== undefined) this.#failQuery(q, r.error, false)
    })
    const key = entry.counter
    let hard: ReturnType<typeof setTimeout> | undefined = undefined
    let soft: ReturnType<typeof setTimeout> | undefined
    let onAbort: (() => void) | undefined
    const pending: PendingQuery = {
      peerId: peer.id,
      key,
      id: entry.id,
      type,
      startedAt: entry.createdAt,
      deadline: entry.deadline,
      resolve,
      reject,
      cleanup: () => {
        clearTimeout(hard)
        clearTimeout(soft)
        if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
      }
    }
    q = pending
    this.#queries.add(pending)
    peer.pendingQueries++
    hard = setTimeout(() => {
      if (this.#queries.take(peer.id, key) === undefined) return
      this.#queries.remember(pending, this.#clock.monotonic())
      const held = peer.out.get(key)
      const fate = held === undefined ? 'it was delivered' : held.attempts > 0 ? 'it may have been delivered' : 'it was never sent'
      this.#failQuery(pending, clockSkewError(peer, `no reply from ${peer.id} to ${type} within ${timeoutMs} ms`) ??
        new EgtpError('ERR_TIMEOUT', `no reply from ${peer.id} to ${type} within ${timeoutMs} ms (${fate})`), true)
    }, timeoutMs)
    if (softMs !== undefined && softMs < timeoutMs) {
      soft = setTimeout(() => {
        this.safeDispatch('query:impatient', { peerId: peer.id, type, messageId: toHex(pending.id), elapsedMs: this.#clock.monotonic() - pending.startedAt })
      }, softMs)
    }
    if (signal !== undefined) {
      onAbort = () => {
        if (this.#queries.take(peer.id, key) === undefined) return
        this.#sender.forget(peer, key)
        peer.pendingQueries--
        reject(signal.reason as Error)
      }
      signal.addEventListener('abort', onAbort, { once: true })
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
      const signal = options?.signal
      if (signal === undefined) {
        // No closure per message: the entry holds the promise's functions, one shared settle calls them.
        const promise = new Promise<void>(capture)
        const resolve = capturedResolve
        const reject = capturedReject
        capturedResolve = capturedReject = undefined
        this.#sender.submit(peer, 'o', type, payload, timeoutMs, settleByEntry, resolve, reject)
        return promise
      }
      return new Promise<void>((resolve, reject) => {
        let onAbort: (() => void) | undefined = undefined
        const entry = this.#sender.submit(peer, 'o', type, payload, timeoutMs, r => {
          if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
          if (r.ok) resolve()
          else reject(r.error)
        })
        onAbort = () => {
          if (this.#sender.forget(peer, entry.key) !== undefined) reject(signal.reason as Error)
        }
        signal.addEventListener('abort', onAbort, { once: true })
      })
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Counters and histograms (bounded tables). */
  stats (): NodeStats {
    const s = this.#stats
    let known = 0
    for (const _ of this.#peers.values()) known++
    return {
      messagesSent: s.messagesSent,
      messagesReceived: s.messagesReceived,
      retransmissions: s.retransmissions,
      duplicates: s.duplicates,
      framesSent: s.framesSent,
      framesReceived: s.framesReceived,
      bytesSent: s.bytesSent,
      bytesReceived: s.bytesReceived,
      handshakes: s.handshakes,
      resets: { ...s.resets },
      dropped: { ...s.dropped },
      protocolViolations: s.protocolViolations,
      failed: { ...s.failed },
      queries: { pending: this.#queries.size, succeeded: s.queriesSucceeded, failed: s.queriesFailed, late: s.queriesLate },
      handlers: { running: this.#dispatcher.running, queued: this.#dispatcher.queued },
      unacked: { messages: this.#sender.unackedMessages, bytes: this.#sender.unackedBytes },
      peers: { known, dedupStreams: this.#dedup.size },
      rtt: s.rtt.snapshot(),
      perPeer: s.peers.snapshot(),
      perType: s.types.snapshot()
    }
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

  #failQuery (q: PendingQuery, error: EgtpError, timedOut: boolean): void {
    const peer = this.#peers.get(q.peerId)
    if (peer !== undefined) {
      peer.pendingQueries--
      if (timedOut || error.code === 'ERR_CLOSED') this.#sender.forget(peer, q.key)
    }
    this.#stats.queriesFailed++
    this.#stats.failure(q.peerId, q.type, error.code)
    if (timedOut || error.code === 'ERR_CLOSED') this.safeDispatch('message:failed', { peerId: q.peerId, type: q.type, messageId: toHex(q.id), error })
    q.reject(error)
  }

  #onReply (peer: Peer, m: ReplyMsg): void {
    const key = peer.out.keyOf(m.m)
    const now = this.#clock.monotonic()
    if (typeof key !== 'number') { // not an answer to anything of ours
      this.#sender.ack(peer, m.m)
      this.#receiver.drop('unknown-reply', peer.id)
      return
    }
    const q = this.#queries.take(peer.id, key)
    if (q !== undefined) {
      this.#sender.forget(peer, key) // the reply implies the query arrived
      this.#sender.ack(peer, m.m)
      this.#stats.roundTrip(peer.id, q.type, now - q.startedAt)
      if (m.e !== undefined) {
        this.#failQuery(q, errorFromReply(peer.id, q.type, m.e), false)
      } else {
        peer.pendingQueries--
        this.#stats.queriesSucceeded++
        q.resolve(m.p ?? null)
      }
      return
    }
    const own = peer.out.own.get(key)
    if (own !== undefined && own.kind === 'o') { // a one-way message's refusal (no handler)
      this.#sender.settle(peer, key, m.e !== undefined ? { ok: false, error: errorFromReply(peer.id, own.type, m.e) } : { ok: true })
      return
    }
    this.#sender.ack(peer, m.m)
    const late = this.#queries.takeLate(peer.id, key, now)
    if (late !== undefined) {
      this.#stats.queriesLate++
      const detail: NodeEvents['query:late'] = { peerId: peer.id, type: late.type, messageId: toHex(late.id), lateByMs: now - late.timedOutAt }
      if (m.e !== undefined) detail.error = errorFromReply(peer.id, late.type, m.e)
      else detail.reply = m.p ?? null
      this.safeDispatch('query:late', detail)
      return
    }
    this.#receiver.drop('unknown-reply', peer.id)
  }

  #invoke (peer: Peer, m: QueryMsg | OnewayMsg, receivedAt: number): Promise<unknown> | undefined {
    const handler = this.#handlers.get(m.y)
    const isQuery = m.t === 'q'
    // Only a query's context uses the time left (its signal): a one-way message skips the clock read.
    const horizonMs = isQuery ? (m.d ?? this.#limits.defaultTimeoutMs) - (this.#clock.monotonic() - receivedAt) : (m.d ?? this.#limits.defaultTimeoutMs)
    const ctx = isQuery
      ? new MessageContext(peer.id, m.y, m.m, this.#answerer, new InvokedQuery(peer, m.m, m.y, horizonMs), this.#shutdown.signal, horizonMs)
      : new MessageContext(peer.id, m.y, m.m, undefined, undefined, this.#shutdown.signal, horizonMs)
    if (handler === undefined) { // unregistered after the message was accepted
      if (isQuery) ctx.fail(new EgtpError('ERR_NO_HANDLER', `no handler for ${m.y}`))
      return undefined
    }
    let result: unknown
    try {
      result = handler(m.p, ctx)
    } catch (err) {
      this.#handlerFailed(ctx, err)
      return undefined
    }
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      return Promise.resolve(result).then(v => { ctx.completed(v) }, (err: unknown) => { this.#handlerFailed(ctx, err) })
    }
    ctx.completed(result)
    return undefined
  }

  #handlerFailed (ctx: MessageContext, err: unknown): void {
    if (!ctx.failed(err)) this.#log.error('%s handler failed for a message from %s: %e', ctx.type, ctx.peerId, err)
  }

  readonly #answerer: Answerer = {
    answer: (query, body) => {
      const q = query as InvokedQuery
      this.#sender.reply(q.peer, q.id, q.type, body, Math.max(1, Math.min(q.horizonMs, this.#limits.dedupRetentionMs)))
    }
  }

  #tick (): void {
    if (this.#state !== 'running') return
    const now = this.#clock.monotonic()
    let frames: Array<{ peer: { nodeId: string, publicKey: Uint8Array }, frame: Uint8Array }> = []
    try {
      frames = this.#sessions.tick()
    } catch (err) {
      this.#log.error('session tick failed: %e', err)
    }
    for (const { peer: key, frame } of frames) {
      // A recovery initiation may go to a peer we never exchanged a message with (its initiation was refused
      // before it reached the node): it needs a peer entry to be routed (found through lookup).
      let peer
      try {
        peer = this.#peers.getOrCreate(key.nodeId)
      } catch (err) {
        this.#log.trace('session frame to %s not sent: %e', key.nodeId, err)
        continue
      }
      peer.publicKey ??= key.publicKey
      this.#sender.sendRaw(peer, frame)
    }
    this.#sender.tick(now)
    this.#window.tick()
    this.#queries.sweep(now)
    if (++this.#ticks % 40 === 0) this.#dedup.sweep(this.#clock.now())
    if (this.#contact.stale()) void this.#refreshRecord()
  }

  async #refreshRecord (): Promise<void> {
    try {
      const record = this.#contact.refresh(this.#commstrats)
      this.safeDispatch('contact:change', record)
      await this.#contact.announce(this.#announcer, AbortSignal.any([this.#shutdown.signal, AbortSignal.timeout(this.#limits.lookupTimeoutMs)]))
    } catch (err) {
      this.#log.error('refreshing the contact record failed: %e', err)
    }
  }
}

let capturedResolve: (() => void) | undefined
let capturedReject: ((error: EgtpError) => void) | undefined
/** A promise executor that hands its functions over (synchronously, through the two variables above). */
function capture (resolve: () => void, reject: (error: EgtpError) => void): void {
  capturedResolve = resolve
  capturedReject = reject
}

/** The `settle` of entries that carry their promise's functions. */
function settleByEntry (this: OutEntry, r: Settlement): void {
  if (r.ok) this.resolve!()
  else this.reject!(r.error)
}

/** A query being handled: what its reply needs. */
class InvokedQuery {
  readonly peer: Peer
  readonly id: Uint8Array
  readonly type: string
  readonly horizonMs: number
  constructor (peer: Peer, id: Uint8Array, type: string, horizonMs: number) {
    this.peer = peer
    this.id = id
    this.type = type
    this.horizonMs = horizonMs
  }
}

function checkType (type: string): void {
  if (typeof type !== 'string' || type.length === 0 || type.length > MAX_TYPE_CHARS) {
    throw new TypeError(`message type must be a string of 1..${MAX_TYPE_CHARS} characters`)
  }
}
