// The session manager: a sans-I/O state machine from plaintext to wire frames and back (PROTOCOL.md §Sessions).
// No sockets, no timers, no Date.now(): time comes from the injected clock, the node calls tick(). This file is
// the public surface; the work is done by parts that each hold their own state: the session table
// (peer-table.ts), our initiations (initiator.ts), theirs (responder.ts), hints (hints.ts), the clock window
// (clock-refusal.ts).
import { randomBytesPooled } from '@egtp/identity'
import { EgtpError, TypedEventTarget, disabledLogger, systemClock, wholeMsClock } from '@egtp/interface'
import type { Clock, Logger } from '@egtp/interface'
import { ClockRefusals } from './clock-refusal.ts'
import { SpareEphemeral } from './ephemeral.ts'
import * as C from './constants.ts'
import { CookieJar, CookieResponder } from './cookie.ts'
import { authFailed } from './errors.ts'
import { Hints } from './hints.ts'
import { forgetInitiatorStarts, ikContext, prepareInitiation } from './ik.ts'
import type { IkContext } from './ik.ts'
import { Initiator } from './initiator.ts'
import { setInternalsOf } from './internal.ts'
import { Lifetime } from './lifetime.ts'
import { PublicKeyCache, concatBytes, keyPairFromSecret, wipeSecret } from './noise/primitives.ts'
import { resolveLimits } from './options.ts'
import { SessionTable } from './peer-table.ts'
import type { PeerState } from './peer-table.ts'
import { ReplayState } from './replay-state.ts'
import { Responder } from './responder.ts'
import { countFailure, newCounters } from './stats.ts'
import type { Counters } from './stats.ts'
import type {
  FrameOrigin, OpenOptions, OpenResult, PeerKey, SealPartsResult, SealResult, SessionEventArgs, SessionEventObserver, SessionEvents, SessionManagerInit,
  SessionStats
} from './types.ts'
import { readDataFrame, readHandshakeFrame, sessionCodec } from '@egtp/codec/session'
import type { SessionFrame } from '@egtp/codec/session'

/**
 * Sessions with every peer of one node. `seal` turns plaintext for a peer into one wire frame (starting a Noise
 * IK handshake when needed: the frame then carries the initiation and the data as early data), `open` turns a
 * frame back into plaintext plus the frames to answer with, `tick` expires and retransmits. Synchronous, never
 * does I/O; the node owns sockets, timers and retransmission of application messages.
 *
 * @example
 * ```ts
 * const a = new SessionManager({ identity: alice })
 * const b = new SessionManager({ identity: bob })
 * await a.start(); await b.start()
 * const { frame } = a.seal({ nodeId: bob.nodeId, publicKey: bob.publicKey }, new TextEncoder().encode('hi'))
 * const res = b.open(frame)            // res.plaintext = 'hi' (early data), res.replies = [handshake response]
 * for (const reply of res.replies) a.open(reply)
 * ```
 */
export class SessionManager extends TypedEventTarget<SessionEvents> {
  readonly #clock: Clock
  readonly #log: Logger
  readonly #ctx: IkContext
  readonly #replay: ReplayState
  readonly #lifetime: Lifetime
  readonly #archiveKeepMs: number
  readonly #tickMaxPeers: number
  readonly #table: SessionTable
  readonly #initiator: Initiator
  readonly #responder: Responder
  readonly #hints: Hints
  readonly #clockRefusals: ClockRefusals
  readonly #cookies: CookieResponder
  readonly #cookieJar: CookieJar
  readonly #stats: Counters = newCounters()
  readonly #events: SessionEventArgs[] = []
  readonly #spare: SpareEphemeral
  #observer: SessionEventObserver | undefined
  #started = false
  #closed = false

  constructor (init: SessionManagerInit) {
    super()
    if (init?.identity === undefined) throw new TypeError('SessionManagerInit.identity is required')
    const identity = init.identity
    // Whole milliseconds: the times every session and peer state keeps stay small integers (no heap number each).
    const clock = this.#clock = wholeMsClock(init.clock ?? systemClock)
    const random = init.random ?? randomBytesPooled
    const log = this.#log = init.logger ?? disabledLogger
    const { limits, clockWindowMs } = resolveLimits(init)
    this.#archiveKeepMs = limits.archiveKeepMs
    this.#tickMaxPeers = limits.tickMaxPeers
    const secret = identity.x25519SecretKey()
    try {
      this.#ctx = ikContext(C.NOISE_PROTOCOL, keyPairFromSecret(secret), new PublicKeyCache(C.DEFAULT_PEER_KEY_CACHE_SIZE))
    } finally {
      secret.fill(0)
    }
    const ctx = this.#ctx
    this.#spare = new SpareEphemeral(clock, limits.spareEphemeralMaxAgeMs)
    ctx.freshEphemeral = this.#spare.take
    const replay = this.#replay = new ReplayState({ store: init.store, clock, maxRecords: limits.maxReplayRecords, logger: log })
    const lifetime = this.#lifetime = new Lifetime(limits)
    const stats = this.#stats
    const emit = <K extends keyof SessionEvents>(type: K, detail: SessionEvents[K]): void => { this.#events.push([type, detail] as SessionEventArgs) }
    const table = this.#table = new SessionTable({
      selfId: identity.nodeId, selfIdBytes: identity.nodeIdBytes, clock, random, limits, emit, log,
      onWipe: (s) => { this.#responder.forget(s) },
      initiationExtras: (s, now) => this.#cookieJar.macFor(s, now)
    })
    // Literals, not `{ ...common, more }`: V8 gives a spread plus more keys a fresh hidden class each time (~2 KB
    // per object, and they live as long as the manager).
    const initiator = this.#initiator = new Initiator({ clock, limits, table, stats, emit, selfKey: identity.publicKey, ctx, replay, lifetime, log })
    const clockRefusals = this.#clockRefusals = new ClockRefusals({ clock, limits, table, stats, emit, identity, log, clockWindowMs })
    this.#cookieJar = new CookieJar(table, stats)
    const admission = this.#cookies = new CookieResponder({ clock, limits, stats, log, random, staticKey: ctx.staticKey.publicKey, identityKey: identity.publicKey })
    this.#responder = new Responder({ clock, limits, table, stats, emit, selfId: identity.nodeId, ctx, replay, lifetime, initiator, clockRefusals, admission, log })
    this.#hints = new Hints({ clock, limits, table, stats, emit, identity, log, lifetime, initiator })
  }

  static {
    setInternalsOf(manager => #table in manager
      ? {
          sessions: (peerId) => manager.#table.inspect(peerId),
          setEphemeralSource: (source) => {
            if (source === undefined) delete manager.#ctx.ephemeral
            else manager.#ctx.ephemeral = source
          }
        }
      : undefined)
  }

  /**
   * Load persisted replay state (with a store) and take a new timestamp lease. Required before use when a store
   * is given.
   * @throws {EgtpError} ERR_KEYSTORE_CORRUPT for unreadable persisted state; the store's own errors
   */
  async start (): Promise<void> {
    this.#checkOpen()
    if (this.#started) return
    await this.#replay.load()
    this.#started = true
    // The first handshake's ephemeral, made now rather than on the first send.
    this.#spare.fill(this.#clock.monotonic())
  }

  /**
   * Seal `plaintext` for `peer` into one wire frame. Starts a handshake when there is no usable session (the
   * frame then carries the initiation and the plaintext as early data), rekeys when the session is old.
   * @param plaintext 1 byte to MAX_PLAINTEXT_BYTES (empty frames are reserved for confirmations)
   * @throws {EgtpError} ERR_SELF, ERR_KEY_MISMATCH / ERR_BAD_NODE_ID (a key that does not hash to the ID),
   *   ERR_RATE_LIMITED (too many handshakes with this peer), ERR_CLOCK_SKEW, ERR_CLOSED, ERR_NOT_STARTED
   */
  seal (peer: PeerKey, plaintext: Uint8Array): SealResult {
    this.#checkUsable()
    if (!(plaintext instanceof Uint8Array)) throw new TypeError('seal: plaintext must be a Uint8Array')
    if (plaintext.length === 0 || plaintext.length > C.MAX_PLAINTEXT_BYTES) {
      throw new RangeError(`seal: plaintext must be 1..${C.MAX_PLAINTEXT_BYTES} bytes`)
    }
    try {
      const ps = this.#table.peerFor(peer)
      const now = this.#clock.monotonic()
      const s = this.#initiator.sendSession(ps, now)
      const frame = this.#table.frame(s, plaintext, now)
      this.#stats.framesSealed++
      return { frame, sessionId: s.id }
    } finally {
      this.#flushEvents()
    }
  }

  /**
   * {@link seal} the concatenation of `parts`, returning the frame as pieces to be written back to back (a
   * transport's `OutboundFrame`): on an established session each part is encrypted on its own and
   * nothing is copied together, neither the plaintext nor the ciphertext. Before that, one piece.
   * @throws as {@link seal}
   */
  sealParts (peer: PeerKey, parts: readonly Uint8Array[]): SealPartsResult {
    this.#checkUsable()
    let total = 0
    for (const p of parts) {
      if (!(p instanceof Uint8Array)) throw new TypeError('seal: plaintext must be a Uint8Array')
      total += p.length
    }
    if (total === 0 || total > C.MAX_PLAINTEXT_BYTES) {
      throw new RangeError(`seal: plaintext must be 1..${C.MAX_PLAINTEXT_BYTES} bytes`)
    }
    try {
      const ps = this.#table.peerFor(peer)
      const now = this.#clock.monotonic()
      const s = this.#initiator.sendSession(ps, now)
      let pieces: Uint8Array[]
      if (parts.length > 1 && (s.role === 'initiator' ? s.established : s.confirmed)) {
        s.lastSendAt = now
        this.#table.touch(s)
        pieces = s.sealDataFramePieces(parts, total)
      } else {
        pieces = [this.#table.frame(s, parts.length === 1 ? parts[0]! : concatBytes(parts, total), now)]
      }
      this.#stats.framesSealed++
      return { pieces, sessionId: s.id }
    } finally {
      this.#flushEvents()
    }
  }

  /**
   * Open one wire frame.
   * @param from what the transport knows about the frame's origin: a relay names the sender it authenticated
   *   (`authenticatedSender`, and its key when known), which lets an unknown-session frame be answered with a
   *   fresh initiation; `source` labels the transport source, which a responder under load makes an initiator
   *   prove (a cookie reply, `hk`) and limits handshakes by.
   * @returns the authenticated peer and plaintext (when the frame carried data) and frames to send back
   * @throws {EgtpError} ERR_AUTH, ERR_REPLAY, ERR_SELF, ERR_CLOCK_WINDOW, ERR_RATE_LIMITED, codec errors
   *   (ERR_MALFORMED, ERR_FIELD, ERR_UNKNOWN_TYPE, ERR_VERSION), ERR_CLOSED, ERR_NOT_STARTED; a refusal may
   *   carry frames to send back ({@link refusalReplies})
   */
  open (frame: Uint8Array, from?: FrameOrigin, options?: OpenOptions): OpenResult {
    this.#checkUsable()
    try {
      // Transport frames, then handshake frames, read directly; anything else (or any non-canonical encoding)
      // by the schema codec, which validates it and names the error.
      const msg: SessionFrame = readDataFrame(frame) ?? readHandshakeFrame(frame) ?? sessionCodec.decode(frame)
      const now = this.#clock.monotonic()
      const res = this.#open(msg, now, from, options?.inPlace === true)
      this.#stats.framesOpened++
      return res
    } catch (err) {
      if (err instanceof EgtpError) countFailure(this.#stats, err.code)
      throw err
    } finally {
      this.#flushEvents()
    }
  }

  #open (msg: SessionFrame, now: number, from: FrameOrigin | undefined, inPlace: boolean): OpenResult {
    switch (msg.t) {
      case 'hd': {
        const s = this.#table.byIndex(msg.r)
        if (s === undefined) return this.#hints.unknown(msg.r, msg.n, now, from)
        if (!s.established) throw authFailed()
        return this.#table.deliver(s, s.open('transport', msg.n, msg.c, inPlace), now, [], true)
      }
      case 'hi':
        return this.#responder.open(msg, now, from?.source)
      case 'hr': {
        const s = this.#table.byIndex(msg.r)
        if (s === undefined) return this.#hints.unknown(msg.r, msg.n, now, from)
        return this.#initiator.openResponse(msg, s, now)
      }
      case 'hu':
        return this.#hints.open(msg, now)
      case 'hc':
        return this.#clockRefusals.open(msg)
      case 'hk':
        return this.#cookieJar.open(msg, now)
    }
  }

  /**
   * Expire idle and over-age sessions, wipe archived keys past archiveKeepMs, retransmit unanswered handshakes
   * and start the fresh initiations owed to peers whose initiation we refused. Call it about once a second. A
   * table of more than `tickMaxPeers` peers has its expiry checked a slice of that many peers per call.
   * @returns frames to send to each peer (over any path that reaches it)
   */
  tick (): Array<{ peer: PeerKey, frame: Uint8Array }> {
    if (this.#closed) return []
    const now = this.#clock.monotonic()
    const out: Array<{ peer: PeerKey, frame: Uint8Array }> = []
    const table = this.#table
    try {
      // A big table: unanswered handshakes every tick, the expiry of the others a slice of the peers per tick.
      const slice = table.peerCount <= this.#tickMaxPeers ? undefined : table.nextSlice(this.#tickMaxPeers)
      if (slice === undefined) {
        for (const ps of [...table.peers()]) this.#tickPeer(ps, now, out, true)
      } else {
        for (const ps of table.unsettledPeers()) this.#tickPeer(ps, now, out, true)
        for (const ps of slice) this.#tickPeer(ps, now, out, false)
      }
      out.push(...this.#responder.owedInitiations(now))
      this.#spare.age(now)
      this.#responder.expireVerdicts(now)
      // Pruned last: a peer owed an initiation keeps its state (with no session) until the line above.
      if (slice === undefined) {
        table.prune()
        table.unsettledPeers() // keeps the set to the unfinished
      } else {
        for (const ps of slice) table.pruneOne(ps)
      }
    } finally {
      this.#flushEvents()
    }
    return out
  }

  /**
   * Whether {@link tick} has handshake work to do: a handshake of ours (or a response awaiting its confirmation)
   * may need retransmitting, or a fresh initiation is owed to a peer whose initiation we refused. When false,
   * what `tick` does is expiry and housekeeping, which needs no finer grain than about a second: a caller that
   * ticks more often may skip ticks meanwhile.
   */
  get handshakesPending (): boolean {
    return this.#table.unsettledCount > 0 || this.#responder.owesInitiations
  }

  /** One peer's part of {@link tick}: expire its current session or retransmit its handshake, expire archived keys. */
  #tickPeer (ps: PeerState, now: number, out: Array<{ peer: PeerKey, frame: Uint8Array }>, retransmit: boolean): void {
    const cur = ps.current
    if (cur !== undefined) {
      if (this.#lifetime.over(cur, now)) {
        this.#table.demote(ps, 'expired', undefined, now)
      } else if (retransmit) {
        const frame = this.#initiator.retransmission(ps, now)
        if (frame !== undefined) out.push({ peer: ps.key, frame })
      }
    }
    this.#table.expireArchived(ps, now, this.#archiveKeepMs)
  }

  /**
   * Get ready for a first handshake with `peer`, so that the first {@link seal} to it does less: check its key
   * against its node ID and compute what every initiation to it starts from (its X25519 key, ~50 µs; the
   * handshake hash after its static key; the static-static DH, as WireGuard keeps per peer). A node calls it
   * when it learns a peer's contact record. Kept in the bounded caches a first send fills
   * (DEFAULT_PEER_KEY_CACHE_SIZE peers; zeroed by `close()`); makes no session and no peer state; the
   * handshake's bytes are the same either way. Idempotent.
   * @throws {EgtpError} ERR_SELF, ERR_KEY_MISMATCH / ERR_BAD_NODE_ID (a key that does not hash to the ID), ERR_CLOSED
   */
  preparePeer (peer: PeerKey): void {
    this.#checkOpen()
    prepareInitiation(this.#ctx, this.#table.checkedIdentity(peer).x25519)
  }

  /** True when a usable current session with the peer exists (a seal would not start a handshake). */
  hasSession (peerId: string): boolean {
    const cur = this.#table.peer(peerId)?.current
    return cur !== undefined && this.#lifetime.verdict(cur, this.#clock.monotonic()) === 'ok'
  }

  /**
   * True when the current session with the peer is usable and its handshake is complete on our side (we
   * initiated and the peer answered, or it initiated and confirmed): a seal sends a plain data frame, with
   * no handshake message riding along.
   */
  isEstablished (peerId: string): boolean {
    const cur = this.#table.peer(peerId)?.current
    if (cur === undefined || this.#lifetime.verdict(cur, this.#clock.monotonic()) !== 'ok') return false
    return cur.role === 'initiator' ? cur.established : cur.confirmed
  }

  /** Forget a peer: wipe all its sessions. Its replay record stays (replay protection outlives sessions). */
  drop (peerId: string): void {
    this.#table.drop(peerId)
    this.#responder.forgetPeer(peerId)
  }

  /** Resolves when all replay state written so far is durable; rejects with the first store failure. */
  async flush (): Promise<void> {
    await this.#replay.flush()
  }

  /** Wipe every key and refuse further use (ERR_CLOSED). Idempotent. */
  close (): void {
    if (this.#closed) return
    this.#closed = true
    this.#table.clear()
    this.#responder.clear()
    this.#cookies.clear()
    this.#ctx.keyCache.clear()
    forgetInitiatorStarts(this.#ctx)
    this.#spare.close()
    wipeSecret(this.#ctx.staticKey)
    this.#events.length = 0
  }

  stats (): SessionStats {
    let current = 0
    for (const ps of this.#table.peers()) if (ps.current !== undefined) current++
    const sessions = this.#table.sessionCount
    return {
      ...this.#stats,
      peers: this.#table.peerCount,
      sessions,
      currentSessions: current,
      archivedSessions: sessions - current,
      cachedInitiations: this.#responder.cachedInitiations,
      replayRecords: this.#replay.size
    }
  }

  /**
   * Set (or, with `undefined`, remove) the one direct observer of every event: it is called before the
   * listeners, without a `CustomEvent` per event (a node observes its manager this way; a handshake emits two).
   */
  setEventObserver (observer: SessionEventObserver | undefined): void {
    this.#observer = observer
  }

  /** Events go out after the state change is complete, so listeners may call seal() or open() again. */
  #flushEvents (): void {
    while (this.#events.length > 0) {
      const event = this.#events.shift()!
      if (this.#observer !== undefined) {
        try {
          this.#observer(...event)
        } catch (err) {
          // Isolated as a listener's exception is: it must not break the manager's state.
          this.#log.error('session event observer failed: %e', err)
        }
      }
      this.safeDispatch(event[0], event[1] as never)
    }
  }

  #checkOpen (): void {
    if (this.#closed) throw new EgtpError('ERR_CLOSED', 'session manager is closed')
  }

  #checkUsable (): void {
    this.#checkOpen()
    if (!this.#started && this.#replay.persistent) throw new EgtpError('ERR_NOT_STARTED', 'call start() first: the replay state is not loaded')
  }
}
