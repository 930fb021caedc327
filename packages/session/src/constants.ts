// Every limit and timer of the session layer: a named, exported default, overridable in SessionManagerInit.
// README §Defaults explains each value (WireGuard's timers are the model; relays shape the rest).

/**
 * The Noise protocol of EGTP sessions. SHA-256 rather than WireGuard's BLAKE2s: in `@noble/hashes` (the project's
 * hashing library) a SHA-256 compression costs about half of a BLAKE2s one and allocates nothing, where BLAKE2s
 * makes an object per G call (~0.6 MB of garbage per handshake side): a new peer costs ~17 % less CPU on each side.
 */
export const NOISE_PROTOCOL = 'Noise_IK_25519_ChaChaPoly_SHA256'
/** The Noise prologue: binds the handshake to this protocol and wire version (PROTOCOL.md §Sessions). */
export const SESSION_PROLOGUE = 'egtp/session/v1'
/** Context of the signed unknown-session hint (`hu`). */
export const HINT_CONTEXT = 'egtp/session-hint/v1'
/** Context of the signed clock-window refusal notice (`hc`). */
export const CLOCK_REFUSAL_CONTEXT = 'egtp/session-clock/v1'
/** Replay window width in counters (RFC 6479 style); WireGuard uses 8128, the issue asks for at least 2048. */
export const REPLAY_WINDOW = 2048

/** Drop an outgoing session when nothing authenticated arrived on it for this long (the seed's fix 3). */
export const DEFAULT_IDLE_RECEIVE_TIMEOUT_MS = 120_000
/** The initiator starts a new session on its next send after this age (WireGuard REKEY_AFTER_TIME). */
export const DEFAULT_REKEY_AFTER_MS = 120_000
/** Never send under a session older than this (WireGuard REJECT_AFTER_TIME). */
export const DEFAULT_REJECT_AFTER_MS = 180_000
/** Start a new session after sending this many messages. */
export const DEFAULT_REKEY_AFTER_MESSAGES = 2 ** 48
/** Never send more than this many messages under one session (below 2^53: JS integers). */
export const DEFAULT_REJECT_AFTER_MESSAGES = 2 ** 52
/** Receive keys of a replaced session stay usable this long (relayed messages arrive minutes late). */
export const DEFAULT_ARCHIVE_KEEP_MS = 600_000
/**
 * Peers one `tick()` checks for expiry (idle or over-age sessions, archived keys past archiveKeepMs). A bigger
 * table is swept a slice per tick, each peer once a round, so a tick's pause stays bounded (~0.15 ms) whatever
 * the table's size: 5 000 peers took ~0.6 ms every tick. Unanswered handshakes are retransmitted on time anyway.
 */
export const DEFAULT_TICK_MAX_PEERS = 1024
/** At most this many replaced sessions kept per peer for late messages; the oldest is wiped first. */
export const DEFAULT_MAX_ARCHIVED_PER_PEER = 8
/** Sessions in the table (current and archived, all peers). */
export const DEFAULT_MAX_SESSIONS = 65_536
/** Peers whose replay state is kept (in memory and in the store); the oldest are folded into one floor. */
export const DEFAULT_MAX_REPLAY_RECORDS = 100_000
/** Handshakes (sent or accepted) per peer per second, burst included. */
export const DEFAULT_MAX_HANDSHAKES_PER_PEER_PER_SECOND = 10
/** Initiations parsed per second from all peers (bounds the Diffie-Hellman work anyone can cause). */
export const DEFAULT_MAX_HANDSHAKES_PER_SECOND = 1_000
/** Signed unknown-session hints produced per second (each costs a signature). */
export const DEFAULT_MAX_HINTS_PER_SECOND = 100
/** Early-data messages (sent before the responder confirmed) per initiation; then a new initiation starts. */
export const DEFAULT_MAX_EARLY_DATA_MESSAGES = 65_536
/** Parsed initiations remembered by hash, so a burst of frames carrying one initiation costs one DH set. */
export const DEFAULT_MAX_CACHED_INITIATIONS = 4_096
/** How long a rejected initiation's verdict is cached (a replayed burst costs one DH set per period). */
export const DEFAULT_REJECTED_INITIATION_CACHE_MS = 5_000
/** Minimum spacing of repeated handshake messages (bare `hr` replies, `hi`/`hr` retransmissions by tick). */
export const DEFAULT_HANDSHAKE_RETRY_MS = 1_000
/** Bare handshake retransmissions `tick()` makes for a session that is still unconfirmed. */
export const DEFAULT_MAX_HANDSHAKE_RETRIES = 5
/**
 * Persisted timestamp lease: wall-clock timestamps issued in this run stay below a ceiling stored this far
 * ahead, renewed once half of it is used. After a restart a node's first timestamps may run this far ahead of
 * its clock, so a paranoid responder allows it on the future side of its window. Short, so that a restarted
 * node stays inside any peer's window (it was one hour, and a restarted node was refused by every paranoid peer).
 */
export const TIMESTAMP_LEASE_MS = 10_000
/** A clock-window refusal is logged at warn level at most once per peer per this interval (it is always counted). */
export const CLOCK_REFUSAL_LOG_INTERVAL_MS = 60_000
/**
 * After a peer refused our initiation as outside its clock window (a verified `hc`), we start no initiation to
 * it for this long and wait for the one it owes us (it initiates on its next tick; a relay may hold it a while).
 */
export const DEFAULT_CLOCK_REFUSAL_YIELD_MS = 5_000
/** The responder side rekeys this much later than the initiator, so both rarely rekey at once. */
export const RESPONDER_REKEY_DELAY_MS = 30_000
/** Shards of the persisted replay state (one store key each). */
export const REPLAY_STORE_SHARDS = 64
/** Largest plaintext one frame carries (the codec's default frame limit leaves room for the envelope). */
export const MAX_PLAINTEXT_BYTES = 1024 * 1024 - 1024
/**
 * A stale or out-of-window initiation from a peer makes us start our own fresh one, but only when nothing
 * authenticated arrived on our current session with that peer for this long (a working session is never
 * disturbed by a replay).
 */
export const DEFAULT_RECOVERY_QUIET_MS = 5_000
/**
 * Ed25519 → X25519/node-ID results remembered (each costs a point decompression and a hash), and as many
 * handshake hashes our initiations to those peers start from (two hashes each).
 */
export const DEFAULT_PEER_KEY_CACHE_SIZE = 4_096
/**
 * The next handshake's ephemeral key pair is made ahead (one spare per manager, off the critical path); a spare
 * older than this is zeroed instead of used (and not replaced until a handshake needs one), which bounds how
 * long an ephemeral secret waits in memory before its handshake.
 */
export const DEFAULT_SPARE_EPHEMERAL_MAX_AGE_MS = 10_000
/**
 * Recovery bound: once faults stop (no more loss, duplication, restarts or clock steps) on a pair that can exchange
 * frames both ways (directly or through a relay that carries replies), every message still owed is delivered, and
 * a new one goes through, within this long; the two nodes then hold one confirmed session. On a one-way relayed
 * path add `idleReceiveTimeoutMs` (the sender learns of a restarted peer only by hearing nothing). Checked by the
 * explorer (test/explorer) in every explored schedule, with a node that ticks every second and re-sends
 * unacknowledged messages after 1 s doubling to 4 s: recovery quiet period (5 s) + five paced handshake retries
 * (5 s) + one re-send interval (4 s) + a tick.
 */
export const RECOVERY_BOUND_MS = 15_000

// ---- proof of address under load: WireGuard's cookie reply (PROTOCOL.md §Sessions, "Under load") ----

/** Label of the mac1 key, BLAKE2s(label ‖ responder's static X25519 key) (WireGuard LABEL_MAC1). */
export const COOKIE_MAC1_LABEL = 'egtp/mac1/v1'
/** Label of the key sealing cookie replies, BLAKE2s(label ‖ responder's static X25519 key) (WireGuard LABEL_COOKIE). */
export const COOKIE_KEY_LABEL = 'egtp/cookie/v1'
/** A responder replaces the secret its cookies are MACs under this often (WireGuard COOKIE_SECRET_MAX_AGE, 2 min). */
export const COOKIE_SECRET_ROTATION_MS = 120_000
/**
 * An initiator uses a cookie for the rotation period less this margin after it arrived, so it never sends a
 * MAC under a secret the responder has already replaced (WireGuard COOKIE_SECRET_LATENCY).
 */
export const COOKIE_SECRET_LATENCY_MS = 5_000
/** Once under load, a responder stays under load at least this long (WireGuard UNDER_LOAD_AFTER_TIME). */
export const UNDER_LOAD_HOLD_MS = 1_000
/**
 * The default of `handshakeLoadThresholdPerSecond` as a fraction of `maxHandshakesPerSecond`: a responder is
 * under load once more new initiations than this arrived within a second (250/s by default), so it asks for
 * proof of address well before the DH budget runs out.
 */
export const DEFAULT_HANDSHAKE_LOAD_FRACTION = 0.25
/** Under load: initiations with a valid cookie MAC processed per proven source per second (WireGuard: 20/s). */
export const DEFAULT_MAX_HANDSHAKES_PER_SOURCE_PER_SECOND = 20
/** Per-source budgets remembered under load; the oldest is forgotten first. */
export const DEFAULT_MAX_HANDSHAKE_SOURCES = 4_096
/** Longest transport source label `open` accepts in `from.source` (a relay label holds two node IDs). */
export const MAX_SOURCE_LABEL_LENGTH = 256
