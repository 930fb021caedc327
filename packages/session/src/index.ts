/**
 * @packageDocumentation
 * EGTP sessions: a sans-I/O state machine that turns plaintext for a peer into wire frames and back. Noise
 * `IK_25519_ChaChaPoly_BLAKE2s` handshakes bound to the node identity, early data so the first message costs
 * no round trip, the initiation repeated on every frame until confirmed (so a restarted peer heals even over a
 * one-way relay path), one deterministic winner per peer pair (higher initiation timestamp, then higher node
 * ID), signed unknown-session hints, archived receive keys for late messages, replay state that survives
 * restarts, idle expiry and rekeying. Time comes from an injected clock; the node drives `tick()`.
 *
 * @example
 * ```ts
 * import { SessionManager } from '@egtp/session'
 * import { generateIdentity } from '@egtp/identity'
 * const alice = generateIdentity(); const bob = generateIdentity()
 * const a = new SessionManager({ identity: alice }); const b = new SessionManager({ identity: bob })
 * await a.start(); await b.start()
 * const { frame } = a.seal({ nodeId: bob.nodeId, publicKey: bob.publicKey }, new TextEncoder().encode('hello'))
 * const opened = b.open(frame)          // opened.plaintext: 'hello', opened.peer.nodeId === alice.nodeId
 * for (const reply of opened.replies) a.open(reply)   // completes the handshake
 * ```
 */
export { SessionManager, refusalReplies } from './manager.ts'
export type { SessionRefusal } from './manager.ts'
export type {
  PeerKey, SessionManagerInit, SealResult, SealPartsResult, OpenResult, SessionEvents, SessionStats, ReplaceReason
} from './types.ts'
export {
  NOISE_PROTOCOL, SESSION_PROLOGUE, HINT_CONTEXT, CLOCK_REFUSAL_CONTEXT, REPLAY_WINDOW, DEFAULT_IDLE_RECEIVE_TIMEOUT_MS, DEFAULT_REKEY_AFTER_MS,
  DEFAULT_REJECT_AFTER_MS, DEFAULT_REKEY_AFTER_MESSAGES, DEFAULT_REJECT_AFTER_MESSAGES, DEFAULT_ARCHIVE_KEEP_MS,
  DEFAULT_MAX_ARCHIVED_PER_PEER, DEFAULT_MAX_SESSIONS, DEFAULT_MAX_REPLAY_RECORDS,
  DEFAULT_MAX_HANDSHAKES_PER_PEER_PER_SECOND, DEFAULT_MAX_HANDSHAKES_PER_SECOND, DEFAULT_MAX_HINTS_PER_SECOND,
  DEFAULT_MAX_EARLY_DATA_MESSAGES, DEFAULT_MAX_CACHED_INITIATIONS, DEFAULT_REJECTED_INITIATION_CACHE_MS,
  DEFAULT_HANDSHAKE_RETRY_MS, DEFAULT_MAX_HANDSHAKE_RETRIES, DEFAULT_RECOVERY_QUIET_MS, DEFAULT_PEER_KEY_CACHE_SIZE,
  TIMESTAMP_LEASE_MS, CLOCK_REFUSAL_LOG_INTERVAL_MS, DEFAULT_CLOCK_REFUSAL_YIELD_MS, RESPONDER_REKEY_DELAY_MS, REPLAY_STORE_SHARDS,
  MAX_PLAINTEXT_BYTES, RECOVERY_BOUND_MS
} from './constants.ts'
export { SODIUM_AEAD_MAX_BYTES } from './noise/primitives.ts'
