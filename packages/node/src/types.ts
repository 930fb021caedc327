import type { Keystore, NodeIdentity } from '@egtp/identity'
import type {
  AbortOptions, Announcer, Clock, Commstrat, ComponentLogger, ContactRecord, Discovery, EgtpError, KeyValueStore,
  Lookup
} from '@egtp/interface'
import type { SessionManagerInit } from '@egtp/session'

/** Every limit of a node; each has an exported `DEFAULT_` constant (constants.ts). */
export interface NodeLimits {
  /** Hard timeout of `query`, delivery deadline of `send` (ms). Default {@link DEFAULT_TIMEOUT_MS}. */
  defaultTimeoutMs: number
  maxPendingQueries: number
  maxUnackedPerPeer: number
  maxUnackedBytesPerPeer: number
  maxUnackedBytes: number
  maxMessageBytes: number
  maxBatchBytes: number
  maxConcurrentHandlers: number
  maxQueuedHandlers: number
  ackDelayMs: number
  retryInitialMs: number
  retryMaxMs: number
  dedupRetentionMs: number
  maxDedupStreams: number
  maxStreamsPerPeer: number
  maxReorder: number
  tickIntervalMs: number
  /** A quiet node's housekeeping interval (ms): see `DEFAULT_QUIET_TICK_INTERVAL_MS`. */
  quietTickIntervalMs: number
  stopTimeoutMs: number
  lateReplyWindowMs: number
  maxLateQueries: number
  recordTtlMs: number
  minLookupIntervalMs: number
  /** Re-sends to a peer whose record is older than this look it up again first (ms). */
  relookupAfterMs: number
  lookupTimeoutMs: number
  maxPeers: number
  maxStatsPeers: number
  maxStatsTypes: number
  /** Bound on one `connect` (ms). Default {@link DEFAULT_CONNECT_TIMEOUT_MS}. */
  connectTimeoutMs: number
  /** Longest wait of `disconnect` for owed acknowledgements to go out (ms). */
  disconnectTimeoutMs: number
  /** Send window per peer, in unacknowledged messages (`writable`, `ready`, `peer:drain`); capped at `maxUnackedPerPeer`. */
  sendHighWaterMessages: number
  /** Send window per peer, in unacknowledged bytes; capped at `maxUnackedBytesPerPeer - maxMessageBytes`. */
  sendHighWaterBytes: number
}

/** Session options passed through to the SessionManager (timers and limits). */
export type NodeSessionOptions = Omit<SessionManagerInit, 'identity' | 'clock' | 'store' | 'logger' | 'clockWindowMs' | 'random'>

/** Construction config of {@link createNode}. */
export interface NodeInit {
  /** The node's identity; or give `keystore` (loaded, or created and saved, by createNode). Default: a fresh ephemeral identity. */
  identity?: NodeIdentity
  keystore?: Keystore
  /** The transports the node sends and receives frames on. The node starts and stops them. */
  commstrats?: Commstrat[]
  /** How to find a peer's contact record by node ID. */
  lookup?: Lookup
  discovery?: Discovery
  /** Where the node publishes its own contact record (on start and whenever its endpoints change). */
  announcer?: Announcer
  /** Services advertised in the contact record (e.g. `relay`). */
  services?: string[]
  /**
   * Persistence for session replay state and the receiver's de-duplication journal. Without it nothing is
   * written anywhere; with it, a crash of this node never makes it deliver a message twice.
   */
  store?: KeyValueStore
  /** Paranoid session mode: reject initiations whose clock differs by more than this (ms). */
  clockWindowMs?: number
  /** Further SessionManager options (timers, limits). */
  sessions?: NodeSessionOptions
  limits?: Partial<NodeLimits>
  logger?: ComponentLogger
  clock?: Clock
  /** Randomness (epochs, session indices); default `randomBytesPooled` of @egtp/identity (the OS CSPRNG, drawn ahead). */
  random?: (n: number) => Uint8Array
}

/** Per-call options of `query`. */
export interface QueryOptions extends AbortOptions {
  /** Give up (ERR_TIMEOUT) after this long (ms). Default `limits.defaultTimeoutMs`; at most MAX_TIMEOUT_MS. */
  timeoutMs?: number
  /** Emit `query:impatient` after this long while still waiting (ms). */
  softTimeoutMs?: number
}

/** Per-call options of `send`. */
export interface SendOptions extends AbortOptions {
  /** Report failure if not acknowledged within this long (ms). Default `limits.defaultTimeoutMs`. */
  timeoutMs?: number
}

/** What a handler learns about a message, and how it answers. */
export interface HandlerContext {
  /** The sender's node ID, authenticated by the session. */
  readonly peerId: string
  readonly type: string
  /** The message ID (hex). */
  readonly messageId: string
  readonly kind: 'query' | 'oneway'
  /** Aborted when the caller stops waiting (the query's deadline passed) or the node stops. */
  readonly signal: AbortSignal
  /** Answer the query now or later (first answer wins). Queries only. */
  reply: (value: unknown) => void
  /** Answer the query with an error (the caller gets ERR_REMOTE, or the error's code if it is ERR_NO_HANDLER). */
  fail: (error: unknown) => void
  /** Do not answer when the handler returns: `reply` will be called later, or never (the caller times out). */
  defer: () => void
}

/**
 * Handles one message type. For a query, the return value (when not `undefined`) is the reply; a thrown
 * error becomes ERR_REMOTE at the caller; returning `undefined` replies `null` unless `ctx.defer()` was called.
 */
export type Handler = (payload: unknown, ctx: HandlerContext) => unknown

/** How {@link EgtpNode.handle} delivers messages to a handler. */
export interface HandleOptions {
  /**
   * The handler does not keep its payload: the payload's bytes (a `Uint8Array` payload, or any inside it) are a
   * view that stays valid only until the handler returns (for an async handler: until its promise settles),
   * then its memory may hold a later message (as with the buffer of a socket's `onread`). Copy what you keep,
   * and do not reply with or send a view of it after returning. In exchange a receiver whose large messages all
   * go to borrowing handlers allocates no memory per message: frames are decrypted in place (libsodium) and
   * their memory serves the next frame. Default false: every payload is the handler's to keep.
   */
  borrowPayload?: boolean
}

/** Why an inbound frame or message was not delivered. */
export type DropReason =
  | 'auth' | 'replay' | 'self' | 'clock-window' | 'rate-limited' | 'session' | 'decode' | 'duplicate' | 'uncertain'
  | 'closing' | 'busy' | 'no-handler' | 'reorder-full' | 'dedup-full' | 'persist' | 'unknown-reply' | 'record' | 'reply-expired'

/** Events of a node (observers only: control flow uses promises). */
export interface NodeEvents extends Record<string, unknown> {
  /** A peer authenticated a frame for the first time since start (or since it was forgotten). */
  'peer:connect': { peerId: string, path: string }
  /** A newer verified contact record of a peer (from lookup, `ci`, or `addContact`). */
  'peer:record': { peerId: string, record: ContactRecord }
  'session:new': { peerId: string, sessionId: string, role: 'initiator' | 'responder' }
  /** Unacknowledged messages to the peer are sent again under the new session. */
  'session:replaced': { peerId: string, oldSessionId: string, newSessionId?: string, reason: string }
  /**
   * The peer refused our session setup as outside its clock window (a paranoid peer) and said so, signed:
   * `skewMs` is our clock minus its clock. The peer starts a session of its own; messages that still cannot
   * be delivered in time fail with ERR_CLOCK_SKEW.
   */
  'peer:clock-skew': { peerId: string, skewMs: number }
  'message:dropped': { reason: DropReason, peerId?: string, type?: string, error?: Error }
  /** An outbound message was reported failed to its caller. */
  'message:failed': { peerId: string, type: string, messageId: string, error: EgtpError }
  /** A query passed its soft timeout and is still waiting. */
  'query:impatient': { peerId: string, type: string, messageId: string, elapsedMs: number }
  /** A reply arrived after its query timed out. */
  'query:late': { peerId: string, type: string, messageId: string, lateByMs: number, reply?: unknown, error?: EgtpError }
  /**
   * The peer's send window has room again after `writable(peer)` (or `ready`, or a send stream) found it full:
   * write more.
   */
  'peer:drain': { peerId: string }
  /** `disconnect(peer)` closed the peer's sessions and connections; `failed` messages and queries were reported failed. */
  'peer:disconnect': { peerId: string, failed: number }
  /** The node's own contact record was re-signed. */
  'contact:change': ContactRecord
}
