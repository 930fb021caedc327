// The session table: each peer's current and archived sessions, the index by receiver index, the bounds on
// both, and the one way every frame of a session is written. Owns every session's place; the handshake logic
// (initiator.ts, responder.ts) decides what to install, this file keeps the table consistent.
import { EgtpError, bytesEqual, compactCopy, TokenBucket, toHex } from '@egtp/interface'
import type { Clock } from '@egtp/interface'
import { checkPeerKey, ed25519MapsToX25519, nodeIdFromPublicKey, nodeIdToBytes } from '@egtp/identity'
import { DEFAULT_PEER_KEY_CACHE_SIZE } from './constants.ts'
import { x25519OfPeer } from './noise/x25519.ts'
import { authFailed } from './errors.ts'
import type { SessionInfo } from './internal.ts'
import type { Limits } from './options.ts'
import type { Counters } from './stats.ts'
import { ActivityList } from './activity-list.ts'

/** Whether `s`'s handshake finished on our side (we initiated and the peer answered, or it initiated and confirmed). */
const settled = (s: Session): boolean => s.role === 'initiator' ? s.established : s.confirmed
import { Session, indexKey } from './session.ts'
import type { SessionRank } from './session.ts'
import type { OpenResult, PeerKey, ReplaceReason, SessionEvents } from './types.ts'
import { initiationFrame, responseFrame } from '@egtp/codec/session'

function checkPeerShape (peer: PeerKey): void {
  if (peer === null || typeof peer !== 'object' || typeof peer.nodeId !== 'string' || !(peer.publicKey instanceof Uint8Array)) {
    throw new TypeError('peer must be { nodeId: string, publicKey: Uint8Array }')
  }
}

/** No archived sessions: shared by every peer until its first session is archived (most never have one). */
const NO_SESSIONS = Object.freeze([]) as unknown as Session[]
const EMPTY = new Uint8Array(0)
/**
 * Bytes as a latin1 string (one character per byte: a key of the peer-key cache, smaller than base64), made by
 * one builtin call (no copy, no Buffer; a view of `b.buffer` would give a small typed array a separate
 * ArrayBuffer for good). Keys are 32 bytes; anything longer (a caller's wrong key, refused later) is read
 * from a copy, far from any argument-count limit.
 */
const latin1 = (b: Uint8Array): string => b.length <= 64 ? String.fromCharCode.apply(null, b as unknown as number[]) : Buffer.from(b).toString('latin1')
/**
 * A flat copy of a string built piece by piece (a node ID's text is a tree of one-character pieces, ~1 KB, until
 * something reads it character by character): every peer state and replay record holds its node ID.
 */
const flat = (s: string): string => Buffer.from(s, 'latin1').toString('latin1')

/**
 * Per peer: its key, sessions, and (as a subclass: one object per peer) its handshake token bucket. Each field
 * has one writer: `current`/`archived` the table, `yieldUntil`/`clockRefusalLoggedAt` clock-refusal.ts,
 * `cookie` cookie.ts.
 */
export class PeerState extends TokenBucket {
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
  /** The cookie this peer (a responder under load) gave us, and when it arrived (monotonic ms). */
  cookie: { readonly value: Uint8Array, readonly at: number } | undefined = undefined

  constructor (key: PeerKey, handshakesPerSecond: number, now: number) {
    super(handshakesPerSecond, handshakesPerSecond, now)
    this.key = key
  }

  /** The current session, then the archived ones. */
  sessions (): Session[] {
    return this.current === undefined ? [...this.archived] : [this.current, ...this.archived]
  }
}

/**
 * What a peer's Ed25519 key maps to (each costs a point decompression and a hash: cached). The X25519 key is
 * kept as a latin1 string, half the heap of a typed array per cached peer (thousands are), and copied out when
 * read (a handshake's rare use).
 */
export class PeerIdentity {
  readonly nodeId: string
  readonly #x25519: string

  constructor (nodeId: string, x25519: Uint8Array) {
    this.nodeId = nodeId
    this.#x25519 = latin1(x25519)
  }

  /** The peer's X25519 public key (a fresh copy). */
  get x25519 (): Uint8Array {
    return Buffer.from(this.#x25519, 'latin1')
  }

  /** Whether `x25519` is this peer's X25519 public key. */
  hasX25519 (x25519: Uint8Array): boolean {
    const k = this.#x25519
    if (x25519.length !== k.length) return false
    for (let i = 0; i < k.length; i++) if (x25519[i] !== k.charCodeAt(i)) return false
    return true
  }
}

/** Queue an event; the manager dispatches it once the state change is complete. */
export type Emit = <K extends keyof SessionEvents>(type: K, detail: SessionEvents[K]) => void

/** What every part of a SessionManager is given: the clock, the limits, the table, the counters, the event queue. */
export interface PartInit {
  clock: Clock
  limits: Limits
  table: SessionTable
  stats: Counters
  emit: Emit
}

export interface SessionTableInit {
  selfId: string
  selfIdBytes: Uint8Array
  clock: Clock
  random: (n: number) => Uint8Array
  limits: Limits
  emit: Emit
  log: (formatter: string, ...args: unknown[]) => void
  /** A session leaves the table for good (the responder forgets it from its initiation cache). */
  onWipe: (s: Session) => void
  /** The extra fields of an initiation frame of `s` (the cookie MAC of cookie.ts), if any. */
  initiationExtras: (s: Session, now: number) => { m: Uint8Array } | undefined
}

export class SessionTable {
  readonly #i: SessionTableInit
  readonly #peers = new Map<string, PeerState>()
  /** By {@link indexKey} of the local index (small integers as keys: a 32-bit index is a heap number half the time). */
  readonly #byIndex = new Map<number, Session>()
  readonly #peerKeys = new Map<string, PeerIdentity>()
  /** Current sessions, least recently active first (evicted first when the table is full). */
  readonly #activity = new ActivityList<Session>()
  /** Archived sessions, oldest first. */
  readonly #archivedOrder = new Set<Session>()
  /** Peers whose current session was installed with its handshake unfinished (retransmission candidates). */
  readonly #unsettled = new Set<PeerState>()
  /** Where the expiry sweep of a big table is (see {@link nextSlice}). */
  #sweep: IterableIterator<PeerState> | undefined
  #sessionCount = 0
  #seq = 0

  constructor (init: SessionTableInit) {
    this.#i = init
  }

  get sessionCount (): number { return this.#sessionCount }
  get peerCount (): number { return this.#peers.size }
  /** Peers whose current handshake may be unfinished (those found finished leave at {@link unsettledPeers}). */
  get unsettledCount (): number { return this.#unsettled.size }
  peer (peerId: string): PeerState | undefined { return this.#peers.get(peerId) }
  peers (): IterableIterator<PeerState> { return this.#peers.values() }
  byIndex (index: number): Session | undefined { return this.#byIndex.get(indexKey(index)) }
  /** The state of the peer `s` belongs to (every registered session has one). */
  owner (s: Session): PeerState { return this.#peers.get(s.peerId)! }

  /** The peer state for a caller-supplied key, checked against its node ID on first use. */
  peerFor (peer: PeerKey): PeerState {
    checkPeerShape(peer)
    if (peer.nodeId === this.#i.selfId) throw new EgtpError('ERR_SELF', 'cannot open a session with our own node ID')
    const ps = this.#peers.get(peer.nodeId)
    // The same key object (the node passes back the key this table gave it) needs no byte compare.
    if (ps !== undefined && (ps.key.publicKey === peer.publicKey || bytesEqual(ps.key.publicKey, peer.publicKey))) return ps
    const id = this.#identityOf(peer)
    return this.peerState({ nodeId: id.nodeId, publicKey: peer.publicKey })
  }

  /**
   * The identity of a caller-supplied key, checked against its node ID (and remembered) on first use: what a
   * first handshake with it needs, without a peer state.
   * @throws {EgtpError} ERR_SELF, ERR_KEY_MISMATCH, ERR_BAD_NODE_ID
   */
  checkedIdentity (peer: PeerKey): PeerIdentity {
    checkPeerShape(peer)
    return this.#identityOf(peer)
  }

  #identityOf (peer: PeerKey): PeerIdentity {
    // From here on the peer is known by the canonical (lowercase) form of its node ID. A key seen before was
    // hashed to its ID then; a new one is hashed once, here (its identity takes the checked ID, no second hash).
    const k = latin1(peer.publicKey)
    let id = this.#peerKeys.get(k)
    if (id === undefined || id.nodeId !== peer.nodeId) checkPeerKey(peer.nodeId, peer.publicKey)
    if (id === undefined) {
      // checkPeerKey took it as strict base32 (ASCII, either case, zero trailing bits): lowercase is canonical.
      id = new PeerIdentity(flat(peer.nodeId.toLowerCase()), x25519OfPeer(peer.publicKey))
      this.#remember(k, id)
    }
    if (id.nodeId === this.#i.selfId) throw new EgtpError('ERR_SELF', 'cannot open a session with our own node ID')
    return id
  }

  identity (publicKey: Uint8Array): PeerIdentity {
    const k = latin1(publicKey)
    let id = this.#peerKeys.get(k)
    if (id === undefined) {
      id = new PeerIdentity(flat(nodeIdFromPublicKey(publicKey)), x25519OfPeer(publicKey))
      this.#remember(k, id)
    }
    return id
  }

  /**
   * The identity of an initiator whose Noise static key `x25519` the handshake authenticated (it decrypted
   * under `ss`: a curve point, not of small order), when its Ed25519 `publicKey` maps to that key; else
   * undefined. A new key is checked by the map from Ed25519 to X25519 alone (no point decoding: a fresh peer's
   * handshake skips ~0.1 ms), which gives the same answer as {@link identity} for such a key.
   */
  authenticatedIdentity (publicKey: Uint8Array, x25519: Uint8Array): PeerIdentity | undefined {
    const k = latin1(publicKey)
    let id = this.#peerKeys.get(k)
    if (id === undefined) {
      if (!ed25519MapsToX25519(publicKey, x25519)) return undefined
      id = new PeerIdentity(flat(nodeIdFromPublicKey(publicKey)), x25519)
      this.#remember(k, id)
    }
    return id.hasX25519(x25519) ? id : undefined
  }

  #remember (k: string, id: PeerIdentity): void {
    if (this.#peerKeys.size >= DEFAULT_PEER_KEY_CACHE_SIZE) this.#peerKeys.delete(this.#peerKeys.keys().next().value!)
    this.#peerKeys.set(k, id)
  }

  /** The state of a peer whose key is already checked (it authenticated), created on first use. */
  peerState (peer: PeerKey): PeerState {
    let ps = this.#peers.get(peer.nodeId)
    if (ps === undefined) {
      // Our own copy of the key (a public key: a view of a shared slab, whose buffer exists already when
      // something asks for .buffer, as the signature check does). The raw node ID is decoded only when needed.
      const publicKey = compactCopy(peer.publicKey)
      ps = new PeerState(Object.freeze({ nodeId: peer.nodeId, publicKey }), this.#i.limits.maxHandshakesPerPeerPerSecond, this.#i.clock.monotonic())
      this.#peers.set(peer.nodeId, ps)
    }
    return ps
  }

  /** The peer whose key signed a hint or notice: one we hold sessions with, else ERR_AUTH. */
  signer (k: Uint8Array): PeerState {
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

  /** The ordering key of `s`: the initiator's node ID is ours or, for a responder, the peer's (decoded when asked for). */
  rank (s: Session): SessionRank {
    return { timestamp: s.timestamp, initiator: s.role === 'initiator' ? this.#i.selfIdBytes : nodeIdToBytes(s.peerId) }
  }

  nextId (): string {
    return `s${(++this.#seq).toString(36)}`
  }

  allocateIndex (): number {
    for (let i = 0; i < 64; i++) {
      const b = this.#i.random(4)
      const index = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0
      if (!this.#byIndex.has(indexKey(index))) return index
    }
    throw new EgtpError('ERR_LIMIT', 'could not allocate a receiver index')
  }

  /** Make `s` the current session of `ps`, archiving the one it replaces. */
  install (ps: PeerState, s: Session, reason: ReplaceReason, now: number): void {
    const old = ps.current
    ps.current = s
    if (!settled(s)) this.#unsettled.add(ps)
    this.#activity.add(s)
    if (old !== undefined) {
      this.#activity.delete(old)
      this.archive(ps, old, now)
      this.#i.emit('session:replaced', { peer: ps.key, oldSessionId: old.id, newSessionId: s.id, reason })
    }
    this.#i.emit('session:new', { peer: ps.key, sessionId: s.id, role: s.role })
  }

  /** The current session ends without a successor; it stays open for late frames. */
  demote (ps: PeerState, reason: ReplaceReason, newSessionId: string | undefined, now: number): void {
    const old = ps.current
    if (old === undefined) return
    ps.current = undefined
    this.#activity.delete(old)
    this.archive(ps, old, now)
    this.#i.log('session %s with %k ended: %s', old.id, ps.key.nodeId, reason)
    this.#i.emit('session:replaced', { peer: ps.key, oldSessionId: old.id, ...(newSessionId === undefined ? {} : { newSessionId }), reason })
  }

  archive (ps: PeerState, s: Session, now: number): void {
    s.archivedAt = now
    // Nothing is sent on an archived session: drop what only sending needed.
    s.msg2 = undefined
    if (ps.archived === NO_SESSIONS) ps.archived = []
    ps.archived.push(s)
    this.#archivedOrder.add(s)
    while (ps.archived.length > this.#i.limits.maxArchivedPerPeer) this.discard(ps, ps.archived[0]!)
  }

  /** Remove an archived (or current) session for good and wipe its keys. */
  discard (ps: PeerState, s: Session): void {
    const i = ps.archived.indexOf(s)
    if (i >= 0) ps.archived.splice(i, 1)
    if (ps.current === s) {
      ps.current = undefined
      this.#activity.delete(s)
    }
    this.#unregister(s)
  }

  /** Wipe the archived sessions of `ps` older than `keepMs`. */
  expireArchived (ps: PeerState, now: number, keepMs: number): void {
    while (ps.archived.length > 0 && now - ps.archived[0]!.archivedAt! >= keepMs) this.discard(ps, ps.archived[0]!)
  }

  register (s: Session): void {
    if (this.#sessionCount >= this.#i.limits.maxSessions) this.#evictOne()
    const key = s.localIndexKey
    if (key !== undefined) this.#byIndex.set(key, s)
    this.#sessionCount++
  }

  #unregister (s: Session): void {
    if (s.wiped) return
    const key = s.localIndexKey
    if (key !== undefined && this.#byIndex.get(key) === s) this.#byIndex.delete(key)
    this.#i.onWipe(s)
    this.#activity.delete(s)
    this.#archivedOrder.delete(s)
    s.wipe()
    this.#sessionCount--
  }

  /** The table is full: drop the oldest archived session, else the least recently active current one. */
  #evictOne (): void {
    const victim = this.#archivedOrder.values().next().value ?? this.#activity.first
    if (victim === undefined) throw new EgtpError('ERR_LIMIT', 'session table full')
    const ps = this.owner(victim)
    if (ps.current === victim) this.demote(ps, 'expired', undefined, this.#i.clock.monotonic())
    this.discard(ps, victim)
  }

  touch (s: Session): void {
    this.#activity.moveToEnd(s) // nothing to do when it is the most recently active already (a burst to one peer)
  }

  /** Forget a peer: wipe all its sessions. */
  drop (peerId: string): void {
    const ps = this.#peers.get(peerId)
    if (ps === undefined) return
    for (const s of ps.sessions()) this.#unregister(s)
    ps.current = undefined
    ps.archived = NO_SESSIONS
    this.#peers.delete(peerId)
  }

  /** Forget peers that hold no session any more. */
  prune (): void {
    for (const [id, ps] of this.#peers) if (ps.current === undefined && ps.archived.length === 0) this.#peers.delete(id)
  }

  /** The peers whose current session's handshake is unfinished (those found finished leave the set). */
  unsettledPeers (): PeerState[] {
    const out: PeerState[] = []
    for (const ps of this.#unsettled) {
      if (ps.current === undefined || settled(ps.current)) this.#unsettled.delete(ps)
      else out.push(ps)
    }
    return out
  }

  /**
   * The next `max` peers of a sweep round the table (new peers join the round); fewer at the end of a round,
   * and the next call starts a new one.
   */
  nextSlice (max: number): PeerState[] {
    const out: PeerState[] = []
    while (out.length < max) {
      const next = (this.#sweep ??= this.#peers.values()).next()
      if (next.done === true) {
        this.#sweep = undefined
        break
      }
      out.push(next.value)
    }
    return out
  }

  /** Forget `ps` if it holds no session any more ({@link prune} for one peer). */
  pruneOne (ps: PeerState): void {
    if (ps.current === undefined && ps.archived.length === 0 && this.#peers.get(ps.key.nodeId) === ps) this.#peers.delete(ps.key.nodeId)
  }

  /** Wipe every session and forget every peer. */
  clear (): void {
    for (const ps of this.#peers.values()) for (const s of ps.sessions()) this.#unregister(s)
    this.#peers.clear()
    this.#unsettled.clear()
    this.#sweep = undefined
  }

  /** One frame on `s`: the handshake message rides along until the peer confirmed (heal without a return path). */
  frame (s: Session, plaintext: Uint8Array | undefined, now: number): Uint8Array {
    s.lastSendAt = now
    this.touch(s)
    if (s.role === 'initiator' ? s.established : s.confirmed) {
      // The hot path: a transport frame, encoded without the generic codec (same bytes).
      return s.sealDataFrame(plaintext ?? EMPTY)
    }
    // Written directly (the same bytes as the session codec's `hi` / `hr`).
    const data = plaintext === undefined ? undefined : s.seal(plaintext)
    if (s.role === 'initiator') {
      const extras = this.#i.initiationExtras(s, now)
      s.lastHandshakeAt = now
      return initiationFrame(s.msg1!, data?.n, data?.c, extras?.m)
    }
    s.lastHandshakeAt = now
    return responseFrame(s.remoteIndex!, s.msg2!, data?.n, data?.c)
  }

  /** What `open` returns for a frame that authenticated on `s`; a transport frame confirms a responder session. */
  deliver (s: Session, plaintext: Uint8Array | undefined, now: number, replies: Uint8Array[], transport: boolean, durable?: Promise<void>): OpenResult {
    const ps = this.owner(s)
    s.lastReceiveAt = now
    if (transport && s.role === 'responder' && !s.confirmed) {
      s.confirmed = true
      s.msg2 = undefined
      this.#i.emit('session:confirmed', { peer: ps.key, sessionId: s.id })
    }
    if (ps.current === s) this.touch(s)
    const res: OpenResult = { peer: ps.key, sessionId: s.id, replies }
    if (plaintext !== undefined && plaintext.length > 0) res.plaintext = plaintext
    if (durable !== undefined) res.durable = durable
    return res
  }

  inspect (peerId: string): SessionInfo[] {
    const ps = this.#peers.get(peerId)
    if (ps === undefined) return []
    return ps.sessions().map(s => ({
      id: s.id,
      role: s.role,
      current: s === ps.current,
      loser: s.loser,
      established: s.established,
      confirmed: s.confirmed,
      timestamp: s.timestamp,
      initiator: toHex(this.rank(s).initiator),
      localIndex: s.localIndex,
      remoteIndex: s.remoteIndex,
      sendCounter: s.sendCounter
    }))
  }
}
