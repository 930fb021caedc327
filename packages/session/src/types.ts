import type { Clock, KeyValueStore, Logger } from '@egtp/interface'
import type { NodeIdentity } from '@egtp/identity'

/** A peer: its node ID and Ed25519 public key (checked against the ID before first use). */
export interface PeerKey {
  nodeId: string
  publicKey: Uint8Array
}

/** Construction config of a {@link SessionManager}. Every timer and limit has an exported `DEFAULT_*` value. */
export interface SessionManagerInit {
  identity: NodeIdentity
  /** Default: the system clock. `now()` stamps initiations; `monotonic()` drives every timer. */
  clock?: Clock
  /** Persists replay state (last accepted initiation per peer, the timestamp floor). Default: memory only. */
  store?: KeyValueStore
  /** Random bytes (receiver indices). Default: `randomBytesPooled` of @egtp/identity (node:crypto, drawn ahead). */
  random?: (n: number) => Uint8Array
  /** Paranoid mode: reject initiations whose timestamp is further than this from our clock (ERR_CLOCK_WINDOW). */
  clockWindowMs?: number
  idleReceiveTimeoutMs?: number
  rekeyAfterMs?: number
  rejectAfterMs?: number
  rekeyAfterMessages?: number
  rejectAfterMessages?: number
  archiveKeepMs?: number
  /** Peers one `tick()` checks for expiry; a bigger table is swept a slice per tick (DEFAULT_TICK_MAX_PEERS). */
  tickMaxPeers?: number
  maxArchivedPerPeer?: number
  maxSessions?: number
  maxReplayRecords?: number
  maxHandshakesPerPeerPerSecond?: number
  maxHandshakesPerSecond?: number
  maxHintsPerSecond?: number
  maxEarlyDataMessages?: number
  maxCachedInitiations?: number
  rejectedInitiationCacheMs?: number
  handshakeRetryMs?: number
  recoveryQuietMs?: number
  /** After a verified clock-window refusal of our initiation, start none to that peer for this long (ms). */
  clockRefusalYieldMs?: number
  maxHandshakeRetries?: number
  /**
   * Under load (cookie replies instead of DH work) once more new initiations than this arrived within a second.
   * Default: `maxHandshakesPerSecond` × DEFAULT_HANDSHAKE_LOAD_FRACTION.
   */
  handshakeLoadThresholdPerSecond?: number
  /** Under load: initiations with a valid cookie MAC processed per proven transport source per second. */
  maxHandshakesPerSourcePerSecond?: number
  /** Under load: per-source budgets remembered (the oldest is forgotten first). */
  maxHandshakeSources?: number
  /** A spare ephemeral key pair (made ahead of the next handshake) older than this is zeroed, not used (ms). */
  spareEphemeralMaxAgeMs?: number
  logger?: Logger
}

/**
 * What the transport knows about where an inbound frame came from (the second argument of `open`).
 */
export interface FrameOrigin {
  /** The sender's node ID when the path authenticated it (a relay names the client it verified). */
  authenticatedSender?: string
  /** That sender's Ed25519 key, when the path knows it: lets an unknown-session frame be answered with an initiation. */
  authenticatedSenderKey?: Uint8Array
  /**
   * Where the frame came from as the transport sees it: a label the node supplies (the remote IP for TCP,
   * `relay:<relayId>:<authenticated sender>` for a relayed frame), at most MAX_SOURCE_LABEL_LENGTH characters.
   * A responder under load makes an initiator prove it can receive at this source (a cookie reply) and limits
   * handshakes per source. Without it, an initiation is handled as before (the global budget only).
   */
  source?: string
}

/** What `seal` returns: one wire frame and the session it was sealed under. */
export interface SealResult {
  frame: Uint8Array
  sessionId: string
}

/** What `sealParts` returns: one wire frame as pieces to write back to back, and the session it was sealed under. */
export interface SealPartsResult {
  pieces: Uint8Array[]
  sessionId: string
}

/** What `open` returns. */
/** How {@link SessionManager.open} opens a frame. */
export interface OpenOptions {
  /**
   * Decrypt a data frame into the frame's own memory when the cipher can (libsodium, raw keys): the plaintext is
   * then a view of `frame` (no allocation) and the ciphertext is gone, also when the tag does not verify. Only
   * for a caller that owns the frame's bytes and keeps them as long as it uses the plaintext. Default false.
   */
  inPlace?: boolean
}

export interface OpenResult {
  /** The authenticated sender, when the frame authenticated. */
  peer?: PeerKey
  sessionId?: string
  /** Application bytes, when the frame carried data (never empty: empty frames are confirmations). */
  plaintext?: Uint8Array
  /** Frames to send back over the same return path (handshake response, confirmation, unknown-session hint, fresh initiation). */
  replies: Uint8Array[]
  /** When set, await it before acting on `plaintext`: the replay state that admits it is being persisted. */
  durable?: Promise<void>
  /**
   * True when `replies` only confirm the peer's handshake response (a bare transport frame): the peer waits
   * for nothing in them, so they may go after `plaintext` was handed over (one wake-up of the peer less before
   * the application sees its data).
   */
  confirmationOnly?: true
  /**
   * True when `replies` is just our handshake response on the peer's current session: every frame sealed to the
   * peer carries that response until the peer confirms, so when one goes out now (the answer to `plaintext`),
   * the replies may be left out (the initiator then opens one frame, not two).
   */
  responseOnly?: true
}

export type ReplaceReason = 'crossover' | 'restart' | 'rekey' | 'expired' | 'hint' | 'refused'

/** Events of a {@link SessionManager}. */
// A type alias (not an interface): TypedEventTarget needs an index-compatible map.
export type SessionEvents = {
  'session:new': { peer: PeerKey, sessionId: string, role: 'initiator' | 'responder' }
  'session:confirmed': { peer: PeerKey, sessionId: string }
  /**
   * The current session with `peer` changed or ended. Messages sealed under `oldSessionId` may not have
   * arrived (except for `rekey`, whose old session stays open at the peer): the node re-sends its
   * unacknowledged ones.
   */
  'session:replaced': { peer: PeerKey, oldSessionId: string, newSessionId?: string, reason: ReplaceReason }
  /**
   * `peer` refused our initiation `sessionId` as outside its clock window, and said so in a signed notice:
   * `skewMs` is our clock minus the peer's (latency included), `timestampOffsetMs` our initiation timestamp
   * minus the peer's clock. Nothing changes: the peer starts a session of its own that outranks ours.
   */
  'session:clock-skew': { peer: PeerKey, sessionId: string, skewMs: number, timestampOffsetMs: number }
}

/** An event as the arguments of a {@link SessionEventObserver}: its type, then its detail (narrowed by the type). */
export type SessionEventArgs = { [K in keyof SessionEvents]: [type: K, detail: SessionEvents[K]] }[keyof SessionEvents]

/**
 * The one direct observer of a manager's events (`SessionManager.setEventObserver`): called with each event
 * before its listeners, by a plain call (no `CustomEvent` and no `EventTarget` dispatch per event).
 */
export type SessionEventObserver = (...event: SessionEventArgs) => void

/** Counters and gauges. */
export interface SessionStats {
  peers: number
  /** Sessions in the table: current + archived (including initiations that lost and are kept for early data). */
  sessions: number
  currentSessions: number
  archivedSessions: number
  cachedInitiations: number
  replayRecords: number
  handshakesInitiated: number
  handshakesAccepted: number
  handshakesRejected: number
  framesSealed: number
  framesOpened: number
  authFailures: number
  replaysRejected: number
  clockWindowRejected: number
  /** Signed clock-window notices sent to refused initiators. */
  clockRefusalsSent: number
  /** Verified clock-window notices received about our own initiations. */
  clockRefusalsReceived: number
  hintsSent: number
  hintsAccepted: number
  rateLimited: number
  /** Under load: initiations without a valid cookie MAC, answered with a cookie reply (no DH work). */
  cookieRepliesSent: number
  /** Cookie replies that answered one of our pending initiations (we re-send it with the cookie MAC). */
  cookieRepliesReceived: number
  /** Under load: initiations with a valid cookie MAC refused because their source spent its budget. */
  sourceRateLimited: number
}
