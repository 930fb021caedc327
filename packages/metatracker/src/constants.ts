/** Default time a tracker holds a record unless it is published again (ms): v1's 30 minutes. */
export const DEFAULT_RECORD_TTL_MS = 30 * 60_000
/** Default most records one tracker (or one shared Redis) holds. */
export const DEFAULT_MAX_RECORDS = 1_000_000
/** Default largest encoded record a tracker accepts (bytes); the wire allows up to MAX_TRACKER_RECORD_BYTES. */
export const DEFAULT_MAX_RECORD_BYTES = 2048
/** Default publishes (and goodbyes) accepted per sender per second (also the burst). */
export const DEFAULT_PUBLISHES_PER_SECOND = 5
/** Default lookup and discover requests accepted per sender per second (also the burst). */
export const DEFAULT_LOOKUPS_PER_SECOND = 50
/** Default most senders whose request rates are tracked at once (the least recently seen are forgotten). */
export const DEFAULT_MAX_TRACKED_SENDERS = 100_000
/** Default interval of the sweep that drops expired records from memory (ms). */
export const DEFAULT_SWEEP_INTERVAL_MS = 10_000
/** Default interval at which a durable memory store writes its log (ms). */
export const DEFAULT_FLUSH_INTERVAL_MS = 100

/** Default trackers a client asks at once (lookup, discover) and publishes to. */
export const DEFAULT_FANOUT = 3
/** Default most trackers a client knows (bootstrap ones plus those it discovers). */
export const DEFAULT_MAX_TRACKERS = 16
/** Default bound on one request to one tracker (ms). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 3000
/**
 * Default time a lookup or discover waits for the other trackers once one has answered with records (ms): long
 * enough for healthy trackers on a LAN or a continent to answer too (a newer record wins), short enough that a
 * dead tracker costs this, not `requestTimeoutMs`.
 */
export const DEFAULT_SETTLE_MS = 150
/** Default most looked-up records a client caches. */
export const DEFAULT_MAX_CACHED_RECORDS = 10_000
/**
 * Default time a looked-up record answers again without asking the trackers (ms). 0: every lookup asks (the
 * node already spaces lookups of one peer); the cache then only answers while no tracker does.
 */
export const DEFAULT_CACHE_FRESH_MS = 0
/** Default first delay before a failed publish is retried (ms); doubles up to the republish interval. */
export const DEFAULT_RETRY_MIN_MS = 500
/** Default bound on the goodbye sent on stop (ms). */
export const DEFAULT_GOODBYE_TIMEOUT_MS = 1000

/**
 * Default least time between two calls of a client's `seeds` (ms): 90 s, the bootpage's own reload interval,
 * so a client whose trackers all fail does not hammer the page's mirrors.
 */
export const DEFAULT_MIN_SEED_INTERVAL_MS = 90_000

/** Default relays a node with `relay: 'auto'` registers with. */
export const DEFAULT_AUTO_RELAYS = 2
/** Default interval at which the auto-relay picker checks its relays (ms). */
export const DEFAULT_AUTO_RELAY_CHECK_MS = 2000
