// The session manager: a sans-I/O state machine from plaintext to wire frames and back (PROTOCOL.md §Sessions).
// No sockets, no timers, no Date.now(): time comes from the injected clock, the node calls tick().
import { randomBytes } from 'node:crypto'
import { EgtpError, TokenBucket, TypedEventTarget, bytesEqual, disabledLogger, systemClock, warnOf } from '@egtp/interface'
import type { Clock, Logger } from '@egtp/interface'
import { checkPeerKey, nodeIdFromPublicKey, nodeIdToBytes, signCanonical, verifyCanonical, x25519PublicKeyFromEd25519 } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import * as C from './constants.ts'
import { ikContext, initiationDigest, messageId, readInitiation, readResponse, writeInitiation, writeResponse } from './ik.ts'
import type { IkContext } from './ik.ts'
import { internals, mutations } from './internal.ts'
import type { SessionInfo } from './internal.ts'
import { PublicKeyCache, concatBytes, keyPairFromSecret } from './noise/primitives.ts'
import { ReplayState } from './replay-state.ts'
import { Session, compareRank } from './session.ts'
import type { SessionRank } from './session.ts'
import type {
  OpenResult, PeerKey, ReplaceReason, SealPartsResult, SealResult, SessionEvents, SessionManagerInit, SessionStats
} from './types.ts'
import { clockRefusalValue, hintValue, readDataFrame, sessionCodec } from '@egtp/codec/session'
import type { SessionFrame } from '@egtp/codec/session'

/** No archived sessions: shared by every peer until its first session is archived (most never have one). */
const NO_SESSIONS = Object.freeze([]) as unknown as Session[]

/** Per peer: its key, sessions, and (as a subclass: one object per peer) its handshake token bucket. */
class PeerState extends TokenBucket {
  readonly key: PeerKey
  current: Session | undefined = undefined
  /** Replaced sessions (and initiations that lost on arrival), oldest first: receive only. */
  archived: Session[] = NO_SESSIONS
  /**
   * Until then (monotonic ms) we start no initiation to this peer: it refused our last one as outside its clock
   * window and is starting a session of its own, which ours would outrank on our side (the livelock of issue 10).
   */
  yieldUntil = -1
  /** When a clock-window refusal by or of this peer was last logged (monotonic ms; -1: never). */
  clockRefusalLoggedAt = -1

  constructor (key: PeerKey, handshakesPerSecond: number, now: number) {
    super(handshakesPerSecond, handshakesPerSecond, now)
    this.key = key
  }
}

/** A cached verdict on an initiation that was refused, so a replayed burst costs one DH set per period. */
interface Rejection {
  readonly code: 'ERR_REPLAY' | 'ERR_CLOCK_WINDOW' | 'ERR_SELF'
  readonly peerId: string | undefined
  readonly until: number
  /** ERR_CLOCK_WINDOW: the signed notice sent back, repeated (paced) for repeats of the initiation. */
  readonly notice?: Uint8Array
  noticeAt?: number
}

/**
 * An initiation refused by this manager: the error carries the frames to send back to its sender (the signed
 * clock-window notice), since a refusal has no OpenResult. See {@link refusalReplies}.
 */
export interface SessionRefusal extends EgtpError {
  replies?: Uint8Array[]
}

/** Frames to send back for an error thrown by `open` (a clock-window refusal's notice), else none. */
export function refusalReplies (err: unknown): Uint8Array[] {
  const replies = (err as SessionRefusal | undefined)?.replies
  return Array.isArray(replies) ? replies : []
}

interface PeerIdentity {
  readonly nodeId: string
  readonly x25519: Uint8Array
}

type Limits = Required<Omit<SessionManagerInit, 'identity' | 'clock' | 'store' | 'random' | 'logger' | 'clockWindowMs'>>

const EMPTY = new Uint8Array(0)
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
/** Base64 of a copy (a view of `b.buffer` would give a small typed array a separate ArrayBuffer for good). */
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64')

/**
 * A flat copy of a string built piece by piece (a node ID's text is a tree of one-character pieces, ~1 KB, until
 * something reads it character by character): every peer state and replay record holds its node ID.
 */
const flat = (s: string): string => Buffer.from(s, 'latin1').toString('latin1')

function positive (name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new RangeError(`SessionManagerInit.${name} must be a positive finite number`)
  return v
}

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
  readonly #identity: NodeIdentity
  readonly #selfId: string
  readonly #selfIdBytes: Uint8Array
  readonly #selfKey: Uint8Array
  readonly #clock: Clock
  readonly #random: (n: number) => Uint8Array
  readonly #log: Logger
  readonly #clockWindowMs: number | undefined
  readonly #o: Limits
  readonly #ctx: IkContext
  readonly #replay: ReplayState
  readonly #peers = new Map<string, PeerState>()
  readonly #byIndex = new Map<number, Session>()
  readonly #initiations = new Map<string, Session | Rejection>()
  readonly #peerKeys = new Map<string, PeerIdentity>()
  /** Current sessions, least recently active first (evicted first when the table is full). */
  readonly #activity = new Set<Session>()
  /** Archived sessions, oldest first. */
  readonly #archivedOrder = new Set<Session>()
  /** Peers owed a fresh initiation of ours (their initiation was stale or outside the clock window). */
  readonly #recover = new Set<string>()
  /** Refusal notices signed per second (each costs a signature). */
  readonly #notices: TokenBucket
  readonly #handshakes: TokenBucket
  readonly #hints: TokenBucket
  readonly #events: Array<[keyof SessionEvents, SessionEvents[keyof SessionEvents]]> = []
  readonly #stats: SessionStats
  #sessionCount = 0
  /** The session #touch last moved to the end of #activity (undefined once anything else changes it). */
  #lastTouched: Session | undefined
  #seq = 0
  #started = false
  #closed = false

  constructor (init: SessionManagerInit) {
    super()
    if (init?.identity === undefined) throw new TypeError('SessionManagerInit.identity is required')
    this.#identity = init.identity
    this.#selfId = init.identity.nodeId
    this.#selfIdBytes = init.identity.nodeIdBytes
    this.#selfKey = init.identity.publicKey
    this.#clock = init.clock ?? systemClock
    this.#random = init.random ?? ((n) => new Uint8Array(randomBytes(n)))
    this.#log = init.logger ?? disabledLogger
    if (init.clockWindowMs !== undefined) positive('clockWindowMs', init.clockWindowMs, 0)
    this.#clockWindowMs = init.clockWindowMs
    this.#o = {
      idleReceiveTimeoutMs: positive('idleReceiveTimeoutMs', init.idleReceiveTimeoutMs, C.DEFAULT_IDLE_RECEIVE_TIMEOUT_MS),
      rekeyAfterMs: positive('rekeyAfterMs', init.rekeyAfterMs, C.DEFAULT_REKEY_AFTER_MS),
      rejectAfterMs: positive('rejectAfterMs', init.rejectAfterMs, C.DEFAULT_REJECT_AFTER_MS),
      rekeyAfterMessages: positive('rekeyAfterMessages', init.rekeyAfterMessages, C.DEFAULT_REKEY_AFTER_MESSAGES),
      rejectAfterMessages: Math.min(positive('rejectAfterMessages', init.rejectAfterMessages, C.DEFAULT_REJECT_AFTER_MESSAGES), Number.MAX_SAFE_INTEGER - 1),
      archiveKeepMs: positive('archiveKeepMs', init.archiveKeepMs, C.DEFAULT_ARCHIVE_KEEP_MS),
      maxArchivedPerPeer: positive('maxArchivedPerPeer', init.maxArchivedPerPeer, C.DEFAULT_MAX_ARCHIVED_PER_PEER),
      maxSessions: positive('maxSessions', init.maxSessions, C.DEFAULT_MAX_SESSIONS),
      maxReplayRecords: positive('maxReplayRecords', init.maxReplayRecords, C.DEFAULT_MAX_REPLAY_RECORDS),
      maxHandshakesPerPeerPerSecond: positive('maxHandshakesPerPeerPerSecond', init.maxHandshakesPerPeerPerSecond, C.DEFAULT_MAX_HANDSHAKES_PER_PEER_PER_SECOND),
      maxHandshakesPerSecond: positive('maxHandshakesPerSecond', init.maxHandshakesPerSecond, C.DEFAULT_MAX_HANDSHAKES_PER_SECOND),
      maxHintsPerSecond: positive('maxHintsPerSecond', init.maxHintsPerSecond, C.DEFAULT_MAX_HINTS_PER_SECOND),
      maxEarlyDataMessages: positive('maxEarlyDataMessages', init.maxEarlyDataMessages, C.DEFAULT_MAX_EARLY_DATA_MESSAGES),
      maxCachedInitiations: positive('maxCachedInitiations', init.maxCachedInitiations, C.DEFAULT_MAX_CACHED_INITIATIONS),
      rejectedInitiationCacheMs: positive('rejectedInitiationCacheMs', init.rejectedInitiationCacheMs, C.DEFAULT_REJECTED_INITIATION_CACHE_MS),
      handshakeRetryMs: positive('handshakeRetryMs', init.handshakeRetryMs, C.DEFAULT_HANDSHAKE_RETRY_MS),
      maxHandshakeRetries: positive('maxHandshakeRetries', init.maxHandshakeRetries, C.DEFAULT_MAX_HANDSHAKE_RETRIES),
      recoveryQuietMs: positive('recoveryQuietMs', init.recoveryQuietMs, C.DEFAULT_RECOVERY_QUIET_MS),
      clockRefusalYieldMs: positive('clockRefusalYieldMs', init.clockRefusalYieldMs, C.DEFAULT_CLOCK_REFUSAL_YIELD_MS)
    }
    if (this.#o.rejectAfterMs < this.#o.rekeyAfterMs) throw new RangeError('SessionManagerInit.rejectAfterMs must be at least rekeyAfterMs')
    const secret = init.identity.x25519SecretKey()
    try {
      this.#ctx = ikContext(C.NOISE_PROTOCOL, keyPairFromSecret(secret), new PublicKeyCache(C.DEFAULT_PEER_KEY_CACHE_SIZE))
    } finally {
      secret.fill(0)
    }
    this.#replay = new ReplayState({ store: init.store, clock: this.#clock, maxRecords: this.#o.maxReplayRecords, logger: this.#log })
    const now = this.#clock.monotonic()
    this.#handshakes = new TokenBucket(this.#o.maxHandshakesPerSecond, this.#o.maxHandshakesPerSecond, now)
    this.#hints = new TokenBucket(this.#o.maxHintsPerSecond, this.#o.maxHintsPerSecond, now)
    this.#notices = new TokenBucket(this.#o.maxHintsPerSecond, this.#o.maxHintsPerSecond, now)
    this.#stats = {
      peers: 0, sessions: 0, currentSessions: 0, archivedSessions: 0, cachedInitiations: 0, replayRecords: 0,
      handshakesInitiated: 0, handshakesAccepted: 0, handshakesRejected: 0, framesSealed: 0, framesOpened: 0,
      authFailures: 0, replaysRejected: 0, clockWindowRejected: 0, clockRefusalsSent: 0, clockRefusalsReceived: 0,
      hintsSent: 0, hintsAccepted: 0, rateLimited: 0
    }
    internals.set(this, {
      sessions: (peerId) => this.#inspect(peerId),
      setEphemeralSource: (source) => {
        if (source === undefined) delete this.#ctx.ephemeral
        else this.#ctx.ephemeral = source
      }
    })
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
  }

  /**
   * Seal `plaintext` for `peer` into one wire frame. Starts a handshake when there is no usable session (the
   * frame then carries the initiation and the plaintext as early data), rekeys when the session is old.
   * @param plaintext 1 byte to MAX_PLAINTEXT_BYTES (empty frames are reserved for confirmations)
   * @throws {EgtpError} ERR_SELF, ERR_KEY_MISMATCH / ERR_BAD_NODE_ID (a key that does not hash to the ID),
   *   ERR_RATE_LIMITED (too many handshakes with this peer), ERR_CLOSED, ERR_NOT_STARTED
   */
  seal (peer: PeerKey, plaintext: Uint8Array): SealResult {
    this.#checkUsable()
    if (!(plaintext instanceof Uint8Array)) throw new TypeError('seal: plaintext must be a Uint8Array')
    if (plaintext.byteLength === 0 || plaintext.byteLength > C.MAX_PLAINTEXT_BYTES) {
      throw new RangeError(`seal: plaintext must be 1..${C.MAX_PLAINTEXT_BYTES} bytes`)
    }
    try {
      const ps = this.#peerFor(peer)
      const now = this.#clock.monotonic()
      const s = this.#sendSession(ps, now)
      const frame = this.#frame(s, plaintext, now)
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
      total += p.byteLength
    }
    if (total === 0 || total > C.MAX_PLAINTEXT_BYTES) {
      throw new RangeError(`seal: plaintext must be 1..${C.MAX_PLAINTEXT_BYTES} bytes`)
    }
    try {
      const ps = this.#peerFor(peer)
      const now = this.#clock.monotonic()
      const s = this.#sendSession(ps, now)
      let pieces: Uint8Array[]
      if (parts.length > 1 && (s.role === 'initiator' ? s.established : s.confirmed)) {
        s.lastSendAt = now
        this.#touch(s)
        pieces = s.sealDataFramePieces(parts, total)
      } else {
        pieces = [this.#frame(s, parts.length === 1 ? parts[0]! : concatBytes(parts, total), now)]
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
   *   fresh initiation.
   * @returns the authenticated peer and plaintext (when the frame carried data) and frames to send back
   * @throws {EgtpError} ERR_AUTH, ERR_REPLAY, ERR_SELF, ERR_CLOCK_WINDOW, ERR_RATE_LIMITED, codec errors
   *   (ERR_MALFORMED, ERR_FIELD, ERR_UNKNOWN_TYPE, ERR_VERSION), ERR_CLOSED, ERR_NOT_STARTED
   */
  open (frame: Uint8Array, from?: { authenticatedSender?: string, authenticatedSenderKey?: Uint8Array }): OpenResult {
    this.#checkUsable()
    try {
      const msg = readDataFrame(frame) ?? sessionCodec.decode(frame)
      const now = this.#clock.monotonic()
      const res = this.#open(msg, now, from)
      this.#stats.framesOpened++
      return res
    } catch (err) {
      if (err instanceof EgtpError) {
        if (err.code === 'ERR_AUTH') this.#stats.authFailures++
        else if (err.code === 'ERR_REPLAY') this.#stats.replaysRejected++
        else if (err.code === 'ERR_RATE_LIMITED') this.#stats.rateLimited++
        else if (err.code === 'ERR_CLOCK_WINDOW') this.#stats.clockWindowRejected++
      }
      throw err
    } finally {
      this.#flushEvents()
    }
  }

  /**
   * Expire idle and over-age sessions, wipe archived keys past archiveKeepMs, retransmit unanswered handshakes
   * and start the fresh initiations owed to peers whose initiation we refused. Call it about once a second.
   * @returns frames to send to each peer (over any path that reaches it)
   */
  tick (): Array<{ peer: PeerKey, frame: Uint8Array }> {
    if (this.#closed) return []
    const now = this.#clock.monotonic()
    const out: Array<{ peer: PeerKey, frame: Uint8Array }> = []
    try {
      for (const ps of [...this.#peers.values()]) {
        const cur = ps.current
        if (cur !== undefined) {
          if (this.#idle(cur, now) || now - cur.createdAt >= this.#o.rejectAfterMs) {
            this.#demote(ps, 'expired', undefined, now)
          } else if (!(cur.role === 'initiator' ? cur.established : cur.confirmed) &&
            now - cur.lastHandshakeAt >= this.#o.handshakeRetryMs && cur.handshakeRetries < this.#o.maxHandshakeRetries) {
            cur.handshakeRetries++
            out.push({ peer: ps.key, frame: this.#frame(cur, undefined, now) })
          }
        }
        while (ps.archived.length > 0 && now - ps.archived[0]!.archivedAt! >= this.#o.archiveKeepMs) this.#discard(ps, ps.archived[0]!)
      }
      for (const peerId of [...this.#recover]) {
        this.#recover.delete(peerId)
        const ps = this.#peers.get(peerId)
        if (ps === undefined || this.#working(ps, now) || !this.#peerBucket(ps, now)) continue
        const s = this.#initiate(ps, now, 'restart')
        out.push({ peer: ps.key, frame: this.#frame(s, undefined, now) })
      }
      for (const [id, v] of this.#initiations) if (!(v instanceof Session) && v.until <= now) this.#initiations.delete(id)
      for (const [id, ps] of this.#peers) if (ps.current === undefined && ps.archived.length === 0) this.#peers.delete(id)
    } finally {
      this.#flushEvents()
    }
    return out
  }

  /** True when a usable current session with the peer exists (a seal would not start a handshake). */
  hasSession (peerId: string): boolean {
    const ps = this.#peers.get(peerId)
    return ps?.current !== undefined && this.#verdict(ps.current, this.#clock.monotonic()) === 'ok'
  }

  /**
   * True when the current session with the peer is usable and its handshake is complete on our side (we
   * initiated and the peer answered, or it initiated and confirmed): a seal sends a plain data frame, with
   * no handshake message riding along.
   */
  isEstablished (peerId: string): boolean {
    const cur = this.#peers.get(peerId)?.current
    if (cur === undefined || this.#verdict(cur, this.#clock.monotonic()) !== 'ok') return false
    return cur.role === 'initiator' ? cur.established : cur.confirmed
  }

  /** Forget a peer: wipe all its sessions. Its replay record stays (replay protection outlives sessions). */
  drop (peerId: string): void {
    const ps = this.#peers.get(peerId)
    if (ps === undefined) return
    if (ps.current !== undefined) this.#unregister(ps.current)
    for (const s of ps.archived) this.#unregister(s)
    ps.current = undefined
    ps.archived = NO_SESSIONS
    this.#peers.delete(peerId)
    this.#recover.delete(peerId)
  }

  /** Resolves when all replay state written so far is durable; rejects with the first store failure. */
  async flush (): Promise<void> {
    await this.#replay.flush()
  }

  /** Wipe every key and refuse further use (ERR_CLOSED). Idempotent. */
  close (): void {
    if (this.#closed) return
    this.#closed = true
    for (const ps of this.#peers.values()) {
      if (ps.current !== undefined) this.#unregister(ps.current)
      for (const s of ps.archived) this.#unregister(s)
    }
    this.#peers.clear()
    this.#initiations.clear()
    this.#recover.clear()
    this.#ctx.keyCache.clear()
    this.#events.length = 0
  }

  stats (): SessionStats {
    let current = 0
    for (const ps of this.#peers.values()) if (ps.current !== undefined) current++
    return {
      ...this.#stats,
      peers: this.#peers.size,
      sessions: this.#sessionCount,
      currentSessions: current,
      archivedSessions: this.#sessionCount - current,
      cachedInitiations: this.#initiations.size,
      replayRecords: this.#replay.size
    }
  }

  // ---- sending ----

  #sendSession (ps: PeerState, now: number): Session {
    const cur = ps.current
    if (now < ps.yieldUntil && (cur === undefined || this.#verdict(cur, now) === 'expired')) {
      throw new EgtpError('ERR_CLOCK_SKEW', `${ps.key.nodeId} refused our session setup as outside its clock window; waiting for its own (retry later)`)
    }
    if (cur !== undefined) {
      const verdict = this.#verdict(cur, now)
      if (verdict === 'ok') return cur
      // A session due for rekey stays usable while the handshake budget is spent; an expired one does not,
      // nor a pending initiation whose early data is used up (the responder would refuse more: ERR_AUTH).
      if (!this.#peerBucket(ps, now)) {
        if (verdict === 'rekey' || (verdict === 'exhausted' && mutations.legacyEarlyDataBudget)) return cur
        throw this.#rateLimited()
      }
      return this.#initiate(ps, now, verdict === 'exhausted' ? 'rekey' : verdict)
    }
    if (!this.#peerBucket(ps, now)) throw this.#rateLimited()
    return this.#initiate(ps, now, undefined)
  }

  #verdict (s: Session, now: number): 'ok' | 'rekey' | 'expired' | 'exhausted' {
    const age = now - s.createdAt
    if (this.#idle(s, now) || age >= this.#o.rejectAfterMs || s.sendCounter >= this.#o.rejectAfterMessages) return 'expired'
    if (s.role === 'initiator' && !s.established && s.sendCounter >= this.#o.maxEarlyDataMessages) return 'exhausted'
    const rekeyAge = this.#o.rekeyAfterMs + (s.role === 'responder' ? C.RESPONDER_REKEY_DELAY_MS : 0)
    if (age >= rekeyAge || s.sendCounter >= this.#o.rekeyAfterMessages) return 'rekey'
    return 'ok'
  }

  #idle (s: Session, now: number): boolean {
    return now - s.lastReceiveAt >= this.#o.idleReceiveTimeoutMs
  }

  /** A current, confirmed session that heard from the peer recently: never disturbed by stale initiations. */
  #working (ps: PeerState, now: number): boolean {
    const cur = ps.current
    return cur !== undefined && cur.confirmed && now - cur.lastReceiveAt < this.#o.recoveryQuietMs
  }

  /** Start a new session as initiator; it outranks every session with this peer (see #timestamp). */
  #initiate (ps: PeerState, now: number, reason: ReplaceReason | undefined): Session {
    const wallClock = Math.floor(this.#clock.now())
    const timestamp = this.#timestamp(ps, wallClock)
    const localIndex = this.#allocateIndex()
    // The peer's X25519 key comes from the bounded cache (recomputed after eviction): a peer state does not keep it.
    const init = writeInitiation(this.#ctx, this.#peerIdentity(ps.key.publicKey).x25519, { publicKey: this.#selfKey, index: localIndex, timestamp })
    const s = new Session({
      id: this.#nextId(), peerId: ps.key.nodeId, role: 'initiator', timestamp,
      // Only accepted initiations are cached by ID (the responder's side): ours needs none.
      localIndex, initiationId: '', now, early: init.early
    })
    s.hs = init.hs
    s.msg1 = init.message
    this.#register(s)
    this.#replay.markIssued(ps.key.nodeId, timestamp, wallClock)
    this.#stats.handshakesInitiated++
    this.#install(ps, s, reason ?? 'crossover', now)
    this.#log('session %s: initiating with %k', s.id, ps.key.nodeId)
    return s
  }

  /**
   * The timestamp of a new initiation to `ps`: a logical clock. At least our wall clock, above everything an
   * earlier run issued (the persisted lease), above what we last issued to this peer, and above the peer's last
   * initiation we accepted — so a new initiation of ours always outranks every session with this peer, even
   * when our clock is behind the peer's (PROTOCOL.md §Sessions, "Timestamps").
   */
  #timestamp (ps: PeerState, wallClock: number): number {
    const ts = Math.max(wallClock, this.#replay.bootFloor, this.#replay.issued(ps.key.nodeId) + 1,
      this.#replay.acceptedFloor(ps.key.nodeId) + 1, ...this.#ranksOf(ps).map(r => r + 1))
    if (ts >= Number.MAX_SAFE_INTEGER) throw new EgtpError('ERR_LIMIT', 'timestamp space exhausted')
    return ts
  }

  #ranksOf (ps: PeerState): number[] {
    return ps.current === undefined ? [] : [ps.current.timestamp]
  }

  /** One frame on `s`: the handshake message rides along until the peer confirmed (heal without a return path). */
  #frame (s: Session, plaintext: Uint8Array | undefined, now: number): Uint8Array {
    s.lastSendAt = now
    this.#touch(s)
    if (s.role === 'initiator' ? s.established : s.confirmed) {
      // The hot path: a transport frame, encoded without the generic codec (same bytes).
      return s.sealDataFrame(plaintext ?? EMPTY)
    }
    let msg: SessionFrame
    const data = plaintext === undefined ? undefined : s.seal(plaintext)
    if (s.role === 'initiator') {
      msg = data === undefined ? { t: 'hi', h: s.msg1! } : { t: 'hi', h: s.msg1!, n: data.n, c: data.c }
    } else {
      msg = data === undefined ? { t: 'hr', r: s.remoteIndex!, h: s.msg2! } : { t: 'hr', r: s.remoteIndex!, h: s.msg2!, n: data.n, c: data.c }
    }
    s.lastHandshakeAt = now
    return sessionCodec.encode(msg)
  }

  // ---- receiving ----

  #open (msg: SessionFrame, now: number, from: { authenticatedSender?: string, authenticatedSenderKey?: Uint8Array } | undefined): OpenResult {
    switch (msg.t) {
      case 'hd': {
        const s = this.#byIndex.get(msg.r)
        if (s === undefined) return this.#unknown(msg.r, msg.n, now, from)
        if (!s.established) throw authFailed()
        return this.#deliver(s, s.open('transport', msg.n, msg.c), now, [], true)
      }
      case 'hi':
        return this.#openInitiation(msg, now)
      case 'hr':
        return this.#openResponse(msg, now, from)
      case 'hu':
        return this.#openHint(msg, now)
      case 'hc':
        return this.#openClockRefusal(msg)
    }
  }

  #deliver (s: Session, plaintext: Uint8Array | undefined, now: number, replies: Uint8Array[], transport: boolean, durable?: Promise<void>): OpenResult {
    const ps = this.#peers.get(s.peerId)!
    s.lastReceiveAt = now
    if (transport && s.role === 'responder' && !s.confirmed) {
      s.confirmed = true
      s.msg2 = undefined
      this.#emit('session:confirmed', { peer: ps.key, sessionId: s.id })
    }
    if (ps.current === s) this.#touch(s)
    const res: OpenResult = { peer: ps.key, sessionId: s.id, replies }
    if (plaintext !== undefined && plaintext.byteLength > 0) res.plaintext = plaintext
    if (durable !== undefined) res.durable = durable
    return res
  }

  #openInitiation (msg: SessionFrame & { t: 'hi' }, now: number): OpenResult {
    const id = messageId(msg.h)
    const cached = this.#initiations.get(id)
    if (cached instanceof Session) return this.#repeatedInitiation(cached, msg, now)
    if (cached !== undefined && cached.until > now) {
      if (cached.peerId !== undefined) this.#maybeRecover(cached.peerId, cached.code, now)
      const err: SessionRefusal = new EgtpError(cached.code, 'initiation refused (cached verdict)')
      if (cached.notice !== undefined && now - (cached.noticeAt ?? 0) >= this.#o.handshakeRetryMs) {
        cached.noticeAt = now
        err.replies = [cached.notice]
      }
      throw err
    }
    if (!this.#handshakes.tryTake(1, now)) throw this.#rateLimited()
    let read
    try {
      read = readInitiation(this.#ctx, msg.h)
    } catch (err) {
      throw authFailed(err)
    }
    const { payload } = read
    let peerId: PeerIdentity
    try {
      peerId = this.#peerIdentity(payload.publicKey)
      if (!bytesEqual(peerId.x25519, read.remoteStatic)) throw authFailed()
    } catch (err) {
      read.hs.wipe()
      throw authFailed(err)
    }
    if (peerId.nodeId === this.#selfId) {
      read.hs.wipe()
      this.#cacheInitiation(id, { code: 'ERR_SELF', peerId: undefined, until: now + this.#o.rejectedInitiationCacheMs })
      throw new EgtpError('ERR_SELF', 'the initiation comes from our own identity')
    }
    const ps = this.#peerState({ nodeId: peerId.nodeId, publicKey: payload.publicKey })
    const refuse = (code: 'ERR_REPLAY' | 'ERR_CLOCK_WINDOW', text: string, notice?: Uint8Array): never => {
      read.hs.wipe()
      this.#stats.handshakesRejected++
      this.#cacheInitiation(id, { code, peerId: ps.key.nodeId, until: now + this.#o.rejectedInitiationCacheMs, ...(notice === undefined ? {} : { notice, noticeAt: now }) })
      this.#maybeRecover(ps.key.nodeId, code, now)
      const err: SessionRefusal = new EgtpError(code, text)
      if (notice !== undefined) err.replies = [notice]
      throw err
    }
    const wallClock = this.#clock.now()
    const offset = payload.timestamp - wallClock
    // A restarted initiator's first timestamps may run up to the lease ahead of its clock (constants.ts).
    const lease = mutations.legacyTimestampLease ? 0 : C.TIMESTAMP_LEASE_MS
    if (this.#clockWindowMs !== undefined && (offset < -this.#clockWindowMs || offset > this.#clockWindowMs + lease)) {
      this.#logClockRefusal(ps, offset)
      refuse('ERR_CLOCK_WINDOW', `initiation from ${ps.key.nodeId} is ${Math.round(offset)} ms from our clock (window ${this.#clockWindowMs} ms)`,
        this.#clockNotice(msg.h, wallClock, now))
    }
    if (payload.timestamp <= this.#replay.acceptedFloor(ps.key.nodeId)) {
      // The repeat of an initiation we accepted but no longer cache by hash (the cache is bounded): the same
      // session, found by its initiation ID, not a replay.
      const known = mutations.disableInitiationRecognition ? undefined : this.#sessionByInitiation(ps, id)
      if (known !== undefined) {
        read.hs.wipe()
        this.#cacheInitiation(id, known)
        return this.#repeatedInitiation(known, msg, now)
      }
      refuse('ERR_REPLAY', 'initiation is not newer than the last one accepted from this peer')
    }
    if (!this.#peerBucket(ps, now)) {
      read.hs.wipe()
      throw this.#rateLimited()
    }
    const durable = this.#replay.markAccepted(ps.key.nodeId, payload.timestamp)
    this.#stats.handshakesAccepted++
    const timestamp = payload.timestamp
    const cur = ps.current
    let s: Session
    let replies: Uint8Array[]
    if (cur === undefined || (compareRank({ timestamp, initiator: nodeIdToBytes(ps.key.nodeId) }, this.#rank(cur)) > 0 &&
      !(mutations.disableWinnerRule && cur.role === 'initiator'))) {
      const localIndex = this.#allocateIndex()
      const { message, keys } = writeResponse(read.hs, localIndex)
      s = new Session({ id: this.#nextId(), peerId: ps.key.nodeId, role: 'responder', timestamp, localIndex, initiationId: id, now, early: read.early })
      s.remoteIndex = payload.index
      s.msg2 = message
      s.setTransportKeys(keys.send, keys.recv)
      this.#register(s)
      this.#install(ps, s, cur?.confirmed === true ? 'restart' : 'crossover', now)
      this.#log('session %s: accepted initiation from %k', s.id, ps.key.nodeId)
      replies = [this.#frame(s, undefined, now)]
    } else {
      // It lost to a better session: keep it only to open the early data it (and its repeats) carry.
      read.hs.wipe()
      s = new Session({ id: this.#nextId(), peerId: ps.key.nodeId, role: 'responder', timestamp, localIndex: -1, initiationId: id, now, early: read.early, loser: true })
      this.#register(s)
      this.#archive(ps, s, now)
      this.#log('session %s: initiation from %k lost to session %s', s.id, ps.key.nodeId, cur.id)
      replies = this.#handshakeReplies(ps, s, now, true)
    }
    this.#cacheInitiation(id, s)
    return this.#deliver(s, this.#early(s, msg), now, replies, false, durable)
  }

  /** A known initiation (repeated on every frame until confirmed): no DH, just the early data. */
  #repeatedInitiation (s: Session, msg: SessionFrame & { t: 'hi' }, now: number): OpenResult {
    const ps = this.#peers.get(s.peerId)!
    const plaintext = this.#early(s, msg)
    // A bare repeat to a confirmed session is old news (possibly a replay): it must not count as traffic,
    // or a replayed initiation could hold the session open past the idle timeout.
    if (plaintext === undefined && s.confirmed) return { peer: ps.key, sessionId: s.id, replies: [] }
    return this.#deliver(s, plaintext, now, this.#handshakeReplies(ps, s, now, false), false)
  }

  #sessionByInitiation (ps: PeerState, id: string): Session | undefined {
    if (ps.current?.initiationId === id) return ps.current
    return ps.archived.find(x => x.initiationId === id)
  }

  /** The signed notice that tells an initiator its timestamp is outside our window (and our clock). Rate-limited. */
  #clockNotice (msg1: Uint8Array, wallClock: number, now: number): Uint8Array | undefined {
    if (!this.#notices.tryTake(1, now)) return undefined
    const i = initiationDigest(msg1)
    const w = Math.max(0, Math.floor(wallClock))
    const g = signCanonical(this.#identity, C.CLOCK_REFUSAL_CONTEXT, clockRefusalValue(i, w))
    this.#stats.clockRefusalsSent++
    return sessionCodec.encode({ t: 'hc', i, w, k: this.#selfKey, g })
  }

  /** First refusal per peer per minute at warn level; the counter counts every one. */
  #logClockRefusal (ps: PeerState, offset: number): void {
    const now = this.#clock.monotonic()
    if (ps.clockRefusalLoggedAt >= 0 && now - ps.clockRefusalLoggedAt < C.CLOCK_REFUSAL_LOG_INTERVAL_MS) return
    ps.clockRefusalLoggedAt = now
    warnOf(this.#log)('refusing initiations from %k: their timestamp is %d ms from our clock, outside the %d ms clock window (is a clock wrong?)',
      ps.key.nodeId, Math.round(offset), this.#clockWindowMs)
  }

  /** A peer refused our initiation as outside its clock window: give way to its initiation, and say so. */
  #openClockRefusal (msg: SessionFrame & { t: 'hc' }): OpenResult {
    const ps = this.#signer(msg.k)
    // It must name our current initiation to that peer, still pending: it changes no session either way.
    const s = ps.current
    if (s === undefined || s.role !== 'initiator' || s.established || s.msg1 === undefined || !bytesEqual(initiationDigest(s.msg1), msg.i)) throw authFailed()
    if (!verifyCanonical(msg.k, C.CLOCK_REFUSAL_CONTEXT, clockRefusalValue(msg.i, msg.w), msg.g)) throw authFailed()
    this.#stats.clockRefusalsReceived++
    const skewMs = Math.round(this.#clock.now() - msg.w)
    const timestampOffsetMs = Math.round(s.timestamp - msg.w)
    const now = this.#clock.monotonic()
    if (!mutations.disableRefusalYield) {
      // Give way: drop our refused initiation (its early data is re-sent by the node under the peer's session)
      // and start none for a while, so the initiation the peer owes us is installed on our side. A genuine
      // notice names only our pending initiation, so nothing else can be dropped this way.
      this.#demote(ps, 'refused', undefined, now)
      ps.yieldUntil = now + this.#o.clockRefusalYieldMs
    }
    this.#emit('session:clock-skew', { peer: ps.key, sessionId: s.id, skewMs, timestampOffsetMs })
    if (ps.clockRefusalLoggedAt >= 0 && now - ps.clockRefusalLoggedAt < C.CLOCK_REFUSAL_LOG_INTERVAL_MS) return { peer: ps.key, replies: [] }
    ps.clockRefusalLoggedAt = now
    warnOf(this.#log)('%k refuses our session setup: our clock is %d ms from its clock (our initiation timestamp %d ms), outside its clock window',
      ps.key.nodeId, skewMs, timestampOffsetMs)
    return { peer: ps.key, replies: [] }
  }

  #early (s: Session, msg: SessionFrame & { t: 'hi' }): Uint8Array | undefined {
    if (msg.c === undefined && msg.n === undefined) return undefined
    if (msg.c === undefined || msg.n === undefined) throw authFailed()
    if (msg.n >= this.#o.maxEarlyDataMessages) throw new EgtpError('ERR_AUTH', 'early data beyond the limit')
    return s.open('early', msg.n, msg.c)
  }

  /**
   * What to answer a frame carrying a known initiation with: our response while the initiator has not
   * confirmed, or — when it lost to our own pending initiation — that initiation again, so the peer learns
   * which session won. Paced by handshakeRetryMs.
   */
  #handshakeReplies (ps: PeerState, s: Session, now: number, first: boolean): Uint8Array[] {
    const cur = ps.current
    if (cur === undefined) return []
    const due = first || now - cur.lastHandshakeAt >= this.#o.handshakeRetryMs
    if (!due) return []
    if (cur === s && s.role === 'responder' && !s.confirmed) return [this.#frame(s, undefined, now)]
    if (cur !== s && cur.role === 'initiator' && !cur.established) return [this.#frame(cur, undefined, now)]
    return []
  }

  #openResponse (msg: SessionFrame & { t: 'hr' }, now: number, from: { authenticatedSender?: string, authenticatedSenderKey?: Uint8Array } | undefined): OpenResult {
    const s = this.#byIndex.get(msg.r)
    if (s === undefined) return this.#unknown(msg.r, msg.n, now, from)
    if (s.role !== 'initiator') throw authFailed()
    const ps = this.#peers.get(s.peerId)!
    let replies: Uint8Array[] = []
    const responseId = messageId(msg.h)
    if (!s.established) {
      if (s.hs === undefined) throw authFailed()
      let res
      try {
        res = readResponse(s.hs, msg.h)
      } catch (err) {
        throw authFailed(err)
      }
      s.remoteIndex = res.index
      s.setTransportKeys(res.keys.send, res.keys.recv)
      s.responseId = responseId
      s.hs = undefined
      s.msg1 = undefined
      s.confirmed = true
      this.#emit('session:confirmed', { peer: ps.key, sessionId: s.id })
      this.#log('session %s: confirmed by %k', s.id, ps.key.nodeId)
      if (ps.current === s) replies = [this.#frame(s, undefined, now)]
    } else {
      if (s.responseId !== responseId) throw authFailed()
      if (ps.current === s && now - s.lastHandshakeAt >= this.#o.handshakeRetryMs) {
        s.lastHandshakeAt = now
        replies = [this.#frame(s, undefined, now)]
      }
    }
    let plaintext: Uint8Array | undefined
    if (msg.c !== undefined || msg.n !== undefined) {
      if (msg.c === undefined || msg.n === undefined) throw authFailed()
      plaintext = s.open('transport', msg.n, msg.c)
    }
    if (replies.length > 0) s.lastHandshakeAt = now
    return this.#deliver(s, plaintext, now, replies, true)
  }

  /** A frame for a session we do not know: sign a hint the sender can check, and initiate when we know who sent it. */
  #unknown (r: number, n: number | undefined, now: number, from: { authenticatedSender?: string, authenticatedSenderKey?: Uint8Array } | undefined): OpenResult {
    const replies: Uint8Array[] = []
    if (mutations.disableHints) return { replies }
    if (this.#hints.tryTake(1, now)) {
      const g = signCanonical(this.#identity, C.HINT_CONTEXT, hintValue(r, n))
      replies.push(sessionCodec.encode(n === undefined ? { t: 'hu', r, k: this.#selfKey, g } : { t: 'hu', r, n, k: this.#selfKey, g }))
      this.#stats.hintsSent++
    }
    const sender = from?.authenticatedSender
    if (sender !== undefined && sender !== this.#selfId) {
      let ps = this.#peers.get(sender)
      if (ps === undefined && from?.authenticatedSenderKey !== undefined) {
        try {
          ps = this.#peerFor({ nodeId: sender, publicKey: from.authenticatedSenderKey })
        } catch {
          ps = undefined
        }
      }
      if (ps !== undefined && !this.#working(ps, now) && this.#peerBucket(ps, now)) {
        const cur = ps.current
        const s = cur !== undefined && cur.role === 'initiator' && !cur.established ? cur : this.#initiate(ps, now, 'restart')
        replies.push(this.#frame(s, undefined, now))
      }
    }
    this.#log.trace('frame for unknown session index; %d replies', replies.length)
    return { replies }
  }

  /** The peer whose key signed a hint or notice: one we hold sessions with, else ERR_AUTH. */
  #signer (k: Uint8Array): PeerState {
    let peerId: string
    try {
      peerId = nodeIdFromPublicKey(k)
    } catch (err) {
      throw authFailed(err)
    }
    const ps = this.#peers.get(peerId)
    if (ps === undefined || !bytesEqual(ps.key.publicKey, k)) throw authFailed()
    return ps
  }

  #openHint (msg: SessionFrame & { t: 'hu' }, now: number): OpenResult {
    const ps = this.#signer(msg.k)
    const s = [ps.current, ...ps.archived].find(x => x !== undefined && !x.loser && x.remoteIndex === msg.r)
    // The hint must name a frame we really sent on that session, and carry the peer's signature.
    if (s === undefined || (msg.n !== undefined && msg.n >= s.sendCounter)) throw authFailed()
    if (!verifyCanonical(msg.k, C.HINT_CONTEXT, hintValue(msg.r, msg.n), msg.g)) throw authFailed()
    this.#stats.hintsAccepted++
    this.#log('session %s: %k says it does not know it', s.id, ps.key.nodeId)
    if (ps.current === s) {
      this.#demote(ps, 'hint', undefined, now)
      this.#discard(ps, s)
    } else {
      this.#discard(ps, s)
      this.#emit('session:replaced', { peer: ps.key, oldSessionId: s.id, ...(ps.current === undefined ? {} : { newSessionId: ps.current.id }), reason: 'hint' })
    }
    return { peer: ps.key, replies: [] }
  }

  // ---- table management ----

  #peerFor (peer: PeerKey): PeerState {
    if (peer === null || typeof peer !== 'object' || typeof peer.nodeId !== 'string' || !(peer.publicKey instanceof Uint8Array)) {
      throw new TypeError('peer must be { nodeId: string, publicKey: Uint8Array }')
    }
    if (peer.nodeId === this.#selfId) throw new EgtpError('ERR_SELF', 'cannot open a session with our own node ID')
    const ps = this.#peers.get(peer.nodeId)
    if (ps !== undefined && bytesEqual(ps.key.publicKey, peer.publicKey)) return ps
    checkPeerKey(peer.nodeId, peer.publicKey)
    // From here on the peer is known by the canonical (lowercase) form of its node ID.
    const id = this.#peerIdentity(peer.publicKey)
    if (id.nodeId === this.#selfId) throw new EgtpError('ERR_SELF', 'cannot open a session with our own node ID')
    return this.#peerState({ nodeId: id.nodeId, publicKey: peer.publicKey })
  }

  #peerIdentity (publicKey: Uint8Array): PeerIdentity {
    const k = b64(publicKey)
    let id = this.#peerKeys.get(k)
    if (id === undefined) {
      id = { nodeId: flat(nodeIdFromPublicKey(publicKey)), x25519: x25519PublicKeyFromEd25519(publicKey) }
      if (this.#peerKeys.size >= C.DEFAULT_PEER_KEY_CACHE_SIZE) this.#peerKeys.delete(this.#peerKeys.keys().next().value!)
      this.#peerKeys.set(k, id)
    }
    return id
  }

  #peerState (peer: PeerKey): PeerState {
    let ps = this.#peers.get(peer.nodeId)
    if (ps === undefined) {
      // Our own copy of the key: a small typed array whose bytes stay inside it (V8 allocates no separate
      // ArrayBuffer until something asks for .buffer). The raw node ID is decoded only when needed.
      const publicKey = new Uint8Array(32)
      publicKey.set(peer.publicKey)
      ps = new PeerState(Object.freeze({ nodeId: peer.nodeId, publicKey }), this.#o.maxHandshakesPerPeerPerSecond, this.#clock.monotonic())
      this.#peers.set(peer.nodeId, ps)
    }
    return ps
  }

  /** The ordering key of `s`: the initiator's node ID is ours or, for a responder, the peer's (decoded when asked for). */
  #rank (s: Session): SessionRank {
    return { timestamp: s.timestamp, initiator: s.role === 'initiator' ? this.#selfIdBytes : nodeIdToBytes(s.peerId) }
  }

  #peerBucket (ps: PeerState, now: number): boolean {
    return ps.tryTake(1, now)
  }

  /** Make `s` the current session of `ps`, archiving the one it replaces. */
  #install (ps: PeerState, s: Session, reason: ReplaceReason, now: number): void {
    const old = ps.current
    ps.current = s
    this.#activity.add(s)
    this.#lastTouched = undefined
    if (old !== undefined) {
      this.#activity.delete(old)
      this.#archive(ps, old, now)
      this.#emit('session:replaced', { peer: ps.key, oldSessionId: old.id, newSessionId: s.id, reason })
    }
    this.#emit('session:new', { peer: ps.key, sessionId: s.id, role: s.role })
  }

  /** The current session ends without a successor; it stays open for late frames. */
  #demote (ps: PeerState, reason: ReplaceReason, newSessionId: string | undefined, now: number): void {
    const old = ps.current
    if (old === undefined) return
    ps.current = undefined
    this.#activity.delete(old)
    this.#archive(ps, old, now)
    this.#log('session %s with %k ended: %s', old.id, ps.key.nodeId, reason)
    this.#emit('session:replaced', { peer: ps.key, oldSessionId: old.id, ...(newSessionId === undefined ? {} : { newSessionId }), reason })
  }

  #archive (ps: PeerState, s: Session, now: number): void {
    s.archivedAt = now
    // Nothing is sent on an archived session: drop what only sending needed.
    s.msg2 = undefined
    if (ps.archived === NO_SESSIONS) ps.archived = []
    ps.archived.push(s)
    this.#archivedOrder.add(s)
    while (ps.archived.length > this.#o.maxArchivedPerPeer) this.#discard(ps, ps.archived[0]!)
  }

  /** Remove an archived (or current) session for good and wipe its keys. */
  #discard (ps: PeerState, s: Session): void {
    const i = ps.archived.indexOf(s)
    if (i >= 0) ps.archived.splice(i, 1)
    if (ps.current === s) {
      ps.current = undefined
      this.#activity.delete(s)
    }
    this.#unregister(s)
  }

  #register (s: Session): void {
    if (this.#sessionCount >= this.#o.maxSessions) this.#evictOne()
    if (s.localIndex >= 0) this.#byIndex.set(s.localIndex, s)
    this.#sessionCount++
  }

  #unregister (s: Session): void {
    if (s.wiped) return
    if (s.localIndex >= 0 && this.#byIndex.get(s.localIndex) === s) this.#byIndex.delete(s.localIndex)
    if (this.#initiations.get(s.initiationId) === s) this.#initiations.delete(s.initiationId)
    this.#activity.delete(s)
    this.#archivedOrder.delete(s)
    s.wipe()
    this.#sessionCount--
  }

  /** The table is full: drop the oldest archived session, else the least recently active current one. */
  #evictOne (): void {
    const victim = this.#archivedOrder.values().next().value ?? this.#activity.values().next().value
    if (victim === undefined) throw new EgtpError('ERR_LIMIT', 'session table full')
    const ps = this.#peers.get(victim.peerId)!
    if (ps.current === victim) this.#demote(ps, 'expired', undefined, this.#clock.monotonic())
    this.#discard(ps, victim)
  }

  #touch (s: Session): void {
    // Already the most recently active (a burst to one peer): nothing to reorder.
    if (this.#lastTouched === s || !this.#activity.has(s)) return
    this.#activity.delete(s)
    this.#activity.add(s)
    this.#lastTouched = s
  }

  #allocateIndex (): number {
    for (let i = 0; i < 64; i++) {
      const b = this.#random(4)
      const index = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0
      if (!this.#byIndex.has(index)) return index
    }
    throw new EgtpError('ERR_LIMIT', 'could not allocate a receiver index')
  }

  #cacheInitiation (id: string, v: Session | Rejection): void {
    if (!this.#initiations.has(id) && this.#initiations.size >= this.#o.maxCachedInitiations) {
      // Drop the oldest entry; a dropped session stays reachable by index and by its peer's sessions (a repeat
      // of its initiation costs a DH again, then finds it: #sessionByInitiation).
      this.#initiations.delete(this.#initiations.keys().next().value!)
    }
    this.#initiations.set(id, v)
  }

  /**
   * A refused initiation from a peer we have no working session with: owe it a fresh initiation of ours —
   * unless that peer is itself refusing ours as outside its clock window (then neither side can initiate, and
   * answering each refusal with an initiation would only trade refusals every tick).
   */
  #maybeRecover (peerId: string, code: Rejection['code'], now: number): void {
    if (code === 'ERR_SELF') return
    const ps = this.#peers.get(peerId)
    if (ps === undefined || this.#working(ps, now) || now < ps.yieldUntil) return
    this.#recover.add(peerId)
  }

  #nextId (): string {
    return `s${(++this.#seq).toString(36)}`
  }

  #emit<K extends keyof SessionEvents> (type: K, detail: SessionEvents[K]): void {
    this.#events.push([type, detail])
  }

  /** Events go out after the state change is complete, so listeners may call seal() or open() again. */
  #flushEvents (): void {
    while (this.#events.length > 0) {
      const [type, detail] = this.#events.shift()!
      this.safeDispatch(type, detail as never)
    }
  }

  #rateLimited (): EgtpError {
    return new EgtpError('ERR_RATE_LIMITED', 'too many handshakes')
  }

  #checkOpen (): void {
    if (this.#closed) throw new EgtpError('ERR_CLOSED', 'session manager is closed')
  }

  #checkUsable (): void {
    this.#checkOpen()
    if (!this.#started && this.#replay.persistent) throw new EgtpError('ERR_NOT_STARTED', 'call start() first: the replay state is not loaded')
  }

  #inspect (peerId: string): SessionInfo[] {
    const ps = this.#peers.get(peerId)
    if (ps === undefined) return []
    return [ps.current, ...ps.archived].filter((s): s is Session => s !== undefined).map(s => ({
      id: s.id,
      role: s.role,
      current: s === ps.current,
      loser: s.loser,
      established: s.established,
      confirmed: s.confirmed,
      timestamp: s.timestamp,
      initiator: hex(this.#rank(s).initiator),
      localIndex: s.localIndex,
      remoteIndex: s.remoteIndex,
      sendCounter: s.sendCounter
    }))
  }
}

function authFailed (cause?: unknown): EgtpError {
  if (cause instanceof EgtpError && cause.code === 'ERR_AUTH') return cause
  return new EgtpError('ERR_AUTH', 'message authentication failed', cause === undefined ? undefined : { cause })
}
