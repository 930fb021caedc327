/** Default hard timeout of a query, and delivery deadline of a one-way message (ms). */
export const DEFAULT_TIMEOUT_MS = 30_000
/** No query or send may wait longer than this (ms); larger values are a RangeError. */
export const MAX_TIMEOUT_MS = 600_000
/** Default most queries awaiting a reply, across all peers. */
export const DEFAULT_MAX_PENDING_QUERIES = 4096
/** Default most unacknowledged messages (queries, one-way, replies) per peer. */
export const DEFAULT_MAX_UNACKED_PER_PEER = 4096
/** Default most bytes of unacknowledged messages per peer. */
export const DEFAULT_MAX_UNACKED_BYTES_PER_PEER = 16 * 1024 * 1024
/** Default most bytes of unacknowledged messages across all peers. */
export const DEFAULT_MAX_UNACKED_BYTES = 64 * 1024 * 1024
/** Default largest encoded message (type, payload and header). */
export const DEFAULT_MAX_MESSAGE_BYTES = 512 * 1024
/**
 * Byte payloads at least this large are referenced, not copied: the caller's buffer is sealed from directly (and
 * again on a re-send), so it must not change until its `send` or `query` settles.
 */
export const REFERENCED_PAYLOAD_BYTES = 16 * 1024
/** Default target size of one batch (one session frame): small messages are packed up to it. */
export const DEFAULT_MAX_BATCH_BYTES = 256 * 1024
/** Default most handlers running at once. */
export const DEFAULT_MAX_CONCURRENT_HANDLERS = 256
/** Default most delivered messages waiting for a handler slot; beyond it messages are refused (not acked). */
export const DEFAULT_MAX_QUEUED_HANDLERS = 8192
/** Default delay before a lone acknowledgement is sent (it rides on earlier traffic when there is some). */
export const DEFAULT_ACK_DELAY_MS = 5
/** Default first re-send of an unacknowledged message (ms); doubles per attempt up to the max. */
export const DEFAULT_RETRY_INITIAL_MS = 1000
/** Default longest interval between re-sends (ms). */
export const DEFAULT_RETRY_MAX_MS = 4000
/**
 * Default time a receiver remembers a sender's message IDs after that sender's last activity: must
 * outlast the sender's retry horizon (MAX_TIMEOUT_MS) plus transit delays.
 */
export const DEFAULT_DEDUP_RETENTION_MS = MAX_TIMEOUT_MS + 120_000
/** Default most remembered sender streams (one per peer process run). */
export const DEFAULT_MAX_DEDUP_STREAMS = 16_384
/** Default most streams remembered per peer (a peer that restarts often evicts its own oldest). */
export const DEFAULT_MAX_STREAMS_PER_PEER = 8
/** Default most out-of-order message IDs remembered per stream. */
export const DEFAULT_MAX_REORDER = 65_536
/** Default interval of the node's housekeeping timer (session tick, retries, expiry), ms. */
export const DEFAULT_TICK_INTERVAL_MS = 250
/**
 * Default interval of a quiet node's housekeeping (ms): with no handshake waiting for an answer, nothing
 * unacknowledged and nobody waiting for the send window, session expiry, sweeps and the record's renewal run
 * this often instead of every tick (they need no finer grain; an idle node's tick then costs a few checks).
 */
export const DEFAULT_QUIET_TICK_INTERVAL_MS = 1000
/** The dedup sweep runs every this many tick intervals. */
export const DEDUP_SWEEP_TICKS = 40
/** Default bound on a graceful stop (ms). */
export const DEFAULT_STOP_TIMEOUT_MS = 2000
/** Default time a timed-out query is remembered so a late reply is reported (ms). */
export const DEFAULT_LATE_REPLY_WINDOW_MS = 120_000
/** Default most timed-out queries remembered for late replies. */
export const DEFAULT_MAX_LATE_QUERIES = 1024
/** Default lifetime of the node's own contact record (ms); it is re-signed at half of it. */
export const DEFAULT_RECORD_TTL_MS = 3_600_000
/** Default shortest interval between two lookups of the same peer (ms). */
export const DEFAULT_MIN_LOOKUP_INTERVAL_MS = 1000
/**
 * Default age of a peer's record (since learned or last looked up) after which unacknowledged re-sends to it
 * look it up again first (ms): a peer that moved to another relay is found although the old one takes its mail.
 */
export const DEFAULT_RELOOKUP_AFTER_MS = 5000
/** Default bound on one lookup (ms). */
export const DEFAULT_LOOKUP_TIMEOUT_MS = 5000
/** Default most peers in the peer table (idle peers with nothing pending are evicted first). */
export const DEFAULT_MAX_PEERS = 10_000
/** Default most peers and message types tracked individually in stats. */
export const DEFAULT_MAX_STATS_PEERS = 256
export const DEFAULT_MAX_STATS_TYPES = 64
/** Default bound on one `connect` (lookup, transport connection and handshake), ms. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000
/** Default longest wait of `disconnect` for the acknowledgements owed to the peer to go out (ms). */
export const DEFAULT_DISCONNECT_TIMEOUT_MS = 1000
/**
 * Earlier connections of one peer that `disconnect` closes besides the current one (a peer that redialled
 * while our end of its old connection lived on). Older ones than these close at their idle timeout.
 */
export const MAX_EARLIER_PATHS_PER_PEER = 4
/**
 * Default high-water mark of the send window, in unacknowledged messages to one peer: `writable(peer)` is false
 * at or above it (and never above `maxUnackedPerPeer`).
 */
export const DEFAULT_SEND_HIGH_WATER_MESSAGES = 4096
/** Default high-water mark of the send window, in unacknowledged bytes to one peer. */
export const DEFAULT_SEND_HIGH_WATER_BYTES = 8 * 1024 * 1024
/** Longest error message sent back to a caller when a handler throws. */
export const MAX_REMOTE_ERROR_CHARS = 1024
