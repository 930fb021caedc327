/**
 * @packageDocumentation
 * EGTP sessions: a sans-I/O state machine that turns plaintext for a peer into wire frames and back. Noise
 * `IK_25519_ChaChaPoly_SHA256` handshakes bound to the node identity, early data so the first message costs
 * no round trip, the initiation repeated on every frame until confirmed (so a restarted peer heals even over a
 * one-way relay path), one deterministic winner per peer pair (higher initiation timestamp, then higher node
 * ID), signed unknown-session hints, archived receive keys for late messages, replay state that survives
 * restarts, idle expiry and rekeying, and WireGuard's cookie reply under load (proof of address, per-source
 * handshake budgets). Time comes from an injected clock; the node drives `tick()`.
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
export { SessionManager } from './manager.ts'
export { refusalReplies } from './errors.ts'
export type { SessionRefusal } from './errors.ts'
export type {
  PeerKey, FrameOrigin, OpenOptions, SessionManagerInit, SealResult, SealPartsResult, OpenResult, SessionEvents, SessionEventArgs, SessionEventObserver, SessionStats, ReplaceReason
} from './types.ts'
// Protocol constants and fixed bounds. The defaults of SessionManagerInit are at `@egtp/session/defaults`.
export {
  NOISE_PROTOCOL, SESSION_PROLOGUE, HINT_CONTEXT, CLOCK_REFUSAL_CONTEXT, REPLAY_WINDOW, TIMESTAMP_LEASE_MS,
  CLOCK_REFUSAL_LOG_INTERVAL_MS, RESPONDER_REKEY_DELAY_MS, REPLAY_STORE_SHARDS, MAX_PLAINTEXT_BYTES, RECOVERY_BOUND_MS,
  COOKIE_MAC1_LABEL, COOKIE_KEY_LABEL, COOKIE_SECRET_ROTATION_MS, COOKIE_SECRET_LATENCY_MS, UNDER_LOAD_HOLD_MS, MAX_SOURCE_LABEL_LENGTH
} from './constants.ts'
export { SODIUM_AEAD_MAX_BYTES } from './noise/primitives.ts'
