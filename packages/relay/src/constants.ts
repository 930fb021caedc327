/**
 * `@egtp/relay/defaults`: every limit of the relay server and client, with its default. Each one is configurable
 * in the init objects (RelayServerInit, RelayClientInit), under the same name without `DEFAULT_`.
 * @packageDocumentation
 */

// ---- server ----

/**
 * Largest payload (one end-to-end encrypted node frame) the relay accepts: 768 KiB, so that a node's largest
 * message (512 KiB by default) and its full batches pass, while the relay frame stays within the transport's
 * default 1 MiB frames.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 768 * 1024
/** Hard upper bound for `maxMessageBytes` (it must also fit in the transport's frames). */
export const MAX_MESSAGE_BYTES_LIMIT = 8 * 1024 * 1024
/** Messages queued for one client before senders get `ERR_RELAY_FULL`. */
export const DEFAULT_MAX_QUEUED_MESSAGES_PER_CLIENT = 10_000
/** Bytes queued for one client before senders get `ERR_RELAY_FULL`: 16 MiB. */
export const DEFAULT_MAX_QUEUED_BYTES_PER_CLIENT = 16 * 1024 * 1024
/** Bytes queued for all clients together: 256 MiB. */
export const DEFAULT_MAX_TOTAL_QUEUED_BYTES = 256 * 1024 * 1024
/** How long a message waits for its recipient before it expires (the sender is told if still connected): 24 h. */
export const DEFAULT_MESSAGE_TTL_MS = 24 * 60 * 60 * 1000
/** Registered clients (connected or away) before new registrations get `ERR_RELAY_FULL`. */
export const DEFAULT_MAX_CLIENTS = 10_000
/**
 * Client registrations from one source (an IPv4 address, or an IPv6 /64). Past it, the source's oldest away
 * registration with an empty queue gives way, or the new one is refused with `ERR_RELAY_FULL`.
 */
export const DEFAULT_MAX_CLIENTS_PER_SOURCE = 64
/**
 * Proof of work asked of a new client registration under load, in leading zero bits of a SHA-256 (16: ~65k
 * hashes, ~0.1 s of a client's CPU; one hash for the relay). 0 never asks.
 */
export const DEFAULT_WORK_BITS = 16
/** Work is asked once registrations fill this percentage of `maxClients` (0: always). */
export const DEFAULT_WORK_LOAD_PERCENT = 50
/** Work is also asked while more than this many new clients registered in the last second. */
export const DEFAULT_WORK_NEW_CLIENTS_PER_SECOND = 20
/** An away client with an empty queue is forgotten after this long: 24 h. */
export const DEFAULT_REGISTRATION_TTL_MS = 24 * 60 * 60 * 1000
/** Open connections (authenticated or not) before new ones are refused. */
export const DEFAULT_MAX_CONNECTIONS = 4096
/** Messages per second one sender (node ID) may hand the relay; a burst of twice this is allowed. */
export const DEFAULT_SENDER_MESSAGES_PER_SECOND = 2000
/** Payload bytes per second one sender may hand the relay: 8 MiB/s. */
export const DEFAULT_SENDER_BYTES_PER_SECOND = 8 * 1024 * 1024
/** A connection must authenticate within this long. */
export const DEFAULT_AUTH_TIMEOUT_MS = 10_000
/** A connection that sends nothing for this long is closed (clients ping every keepaliveMs). */
export const DEFAULT_IDLE_TIMEOUT_MS = 120_000
/** Pushed but unacknowledged messages per client connection (the delivery window). */
export const DEFAULT_MAX_INFLIGHT_MESSAGES = 4096
/** Pushed but unacknowledged bytes per client connection: 4 MiB. */
export const DEFAULT_MAX_INFLIGHT_BYTES = 4 * 1024 * 1024
/** Payload bytes batched into one frame (a single larger message still travels alone): 256 KiB. */
export const DEFAULT_MAX_BATCH_BYTES = 256 * 1024
/** Control entries (refusals, notices) waiting for a connection that does not read, before it is closed. */
export const DEFAULT_MAX_CONTROL_BACKLOG = 65_536
/** How often the server expires messages, registrations and stale connections. */
export const DEFAULT_SWEEP_INTERVAL_MS = 1000
/** How often the persistent store checks whether its log needs compacting. */
export const DEFAULT_COMPACT_INTERVAL_MS = 60_000
/** The log is compacted when it is larger than this and more than twice the live data: 8 MiB. */
export const DEFAULT_COMPACT_MIN_BYTES = 8 * 1024 * 1024
/**
 * Node flags for a process that runs a relay server (`apps/relay` starts with them). V8 counts the external
 * memory (buffers outside the JS heap) allocated since its last full collection against the old generation's
 * limit, which for a relay's small heap (~10 MB) is ~24 MB; a relay's payloads are such buffers, so under load
 * it ran a full collection every ~100 ms. A 128 MB initial heap makes them rare (the relay bench: none in 4 s,
 * +30% of 64 KiB messages forwarded). It reserves no memory, and peak RSS under that load did not change.
 */
export const RELAY_NODE_FLAGS: readonly string[] = Object.freeze(['--initial-heap-size=128'])

// ---- client ----

/** Relays a client registers with at once. */
export const DEFAULT_MAX_RELAYS = 2
/** First reconnect delay; doubles per failure up to the max, with ±50% jitter. */
export const DEFAULT_RECONNECT_MIN_MS = 250
export const DEFAULT_RECONNECT_MAX_MS = 30_000
/** Connect (dial + authentication) timeout. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000
/** A send waiting for a relay (reconnecting, or its accept ack) fails after this long. */
export const DEFAULT_SEND_TIMEOUT_MS = 10_000
/** Sends waiting on one relay connection before new ones get `ERR_BACKPRESSURE`. */
export const DEFAULT_MAX_PENDING_SENDS = 8192
/** Payload bytes waiting on one relay connection: 32 MiB. */
export const DEFAULT_MAX_PENDING_SEND_BYTES = 32 * 1024 * 1024
/** Messages written to a relay and not yet acknowledged by it (the send window). */
export const DEFAULT_MAX_INFLIGHT_SENDS = 4096
/** Accepted messages tracked per relay until their delivered notice, to report them if the relay loses them. */
export const DEFAULT_MAX_TRACKED_DELIVERIES = 8192
/** Payload bytes kept for those tracked messages: 8 MiB (the oldest are forgotten first). */
export const DEFAULT_MAX_TRACKED_DELIVERY_BYTES = 8 * 1024 * 1024
/** Keepalive ping interval; the connection is dropped when nothing arrives for twice this. */
export const DEFAULT_KEEPALIVE_MS = 30_000
/** Connections kept to relays used only for sending (not registered). */
export const DEFAULT_MAX_SENDER_LINKS = 64
/** A send-only relay connection idle for this long is closed. */
export const DEFAULT_SENDER_IDLE_MS = 60_000
/** How often the client looks for better relays through discovery ("relay shopping", v1: 300 s). */
export const DEFAULT_SHOP_INTERVAL_MS = 300_000
/** Consecutive failures (connect failures or drops) after which a relay is replaced when others are known. */
export const DEFAULT_MAX_RELAY_FAILURES = 3
/** A replaced relay is not tried again for this long. */
export const DEFAULT_RELAY_BAN_MS = 10 * 60_000

// ---- storage of large messages (server) and sends that travel alone (client) ----

/**
 * Messages of at least this many bytes are stored by the relay as their own one-entry `rd` frame (see
 * `encodeDeliverOne` in @egtp/codec/relay): the copy out of the received frame is also the frame that delivers
 * them. The client sends a message of this size from its own pieces, alone in its `rs` frame.
 */
export const OWN_FRAME_BYTES = 8 * 1024
