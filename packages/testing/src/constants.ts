// Defaults of the in-memory network. Each is a limit a test may lift by name (MemoryNetworkInit).

/** Largest frame a memory connection carries (as tcp's default: 1 MiB). */
export const DEFAULT_MEMORY_MAX_FRAME_BYTES = 1024 * 1024
/** Bytes queued in flight on one direction of a connection before `send` waits (then `ERR_BACKPRESSURE`). */
export const DEFAULT_MEMORY_MAX_QUEUED_BYTES_PER_CONN = 4 * 1024 * 1024
/** How long a `send` past the queue bound waits for room before `ERR_BACKPRESSURE`. */
export const DEFAULT_MEMORY_SEND_TIMEOUT_MS = 10_000
/** How long a graceful `close()` waits for queued frames to arrive before aborting. */
export const DEFAULT_MEMORY_CLOSE_TIMEOUT_MS = 2_000
/** Connections one commstrat may hold (inbound + outbound); a dial past it fails with `ERR_LIMIT`. */
export const DEFAULT_MEMORY_MAX_CONNECTIONS = 512
/**
 * How long a memory transport's dial waits for its round trip (twice the links' latency) before
 * `ERR_UNREACHABLE` (as tcp's default: 5 s).
 */
export const DEFAULT_MEMORY_CONNECT_TIMEOUT_MS = 5_000
/**
 * How long a frame of a transport's connection (a stream) is delayed by each loss draw that hits it, and how
 * often a frame held by a partition is tried again: Linux's minimum TCP retransmission timeout.
 */
export const DEFAULT_MEMORY_RETRANSMIT_MS = 200
/** Loss draws one stream frame may take (each adding `retransmitMs`), so that `loss: 1` still ends. */
export const MAX_MEMORY_RETRANSMITS = 6
/** Upper bound of `latencyMs + jitterMs` (a typo such as 1e9 would otherwise hang a test silently). */
export const MAX_MEMORY_DELAY_MS = 60_000
/**
 * The host part of memory endpoints. Contact records only carry `tcp` and `relay` endpoints on the wire, so a
 * memory endpoint is `{ kind: 'tcp', host: '<n>.memory.invalid', port }`: `.invalid` (RFC 2606) never resolves,
 * so a real tcp commstrat given one fails fast instead of reaching a stranger.
 */
export const MEMORY_HOST_SUFFIX = '.memory.invalid'
