import { DEFAULT_MAX_FRAME_BYTES, MAX_FRAME_BYTES_LIMIT } from '@egtp/codec'

/** Default largest frame body (1 MiB), from the codec. A larger length prefix closes the connection. */
export { DEFAULT_MAX_FRAME_BYTES, MAX_FRAME_BYTES_LIMIT }

/** Default time allowed for a TCP connect before `ERR_UNREACHABLE` (5 s). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000
/** Default time a managed connection may sit unused before it is closed (5 min; v1 used 10 min). */
export const DEFAULT_IDLE_TIMEOUT_MS = 300_000
/** Default cap on open connections of one instance, inbound and outbound together (v1: 512). */
export const DEFAULT_MAX_CONNECTIONS = 512
/**
 * Default time an inbound connection of `start()`'s listeners has to carry a frame that its consumer marks
 * authenticated (`ReturnPath.authenticated()`, which the node calls when a frame opens under a session) before
 * it is closed with `ERR_TIMEOUT` (5 s). An honest peer's first frame authenticates it within a round trip.
 */
export const DEFAULT_AUTH_TIMEOUT_MS = 5_000
/** Default cap on inbound connections from one remote IP address. */
export const DEFAULT_MAX_INBOUND_PER_ADDRESS = 64
/**
 * Default bound on bytes queued for one connection (ours plus the socket's user-space buffer). A send past it
 * waits for room, then fails with `ERR_BACKPRESSURE`. One frame is always accepted on an empty queue.
 */
export const DEFAULT_MAX_QUEUED_BYTES_PER_CONN = 4 * 1024 * 1024
/** Default time a send may wait for room in the queue before `ERR_BACKPRESSURE` (10 s). */
export const DEFAULT_SEND_TIMEOUT_MS = 10_000
/** Default time a connection is kept open after a send with `expectReply`, unless replies arrive (5 min). */
export const DEFAULT_EXPECT_REPLY_KEEP_MS = 300_000
/** Default bound on a graceful close (of a connection, a listener, or `stop()`) before sockets are destroyed. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 2_000
/** Hard upper bound on every `*Ms` setting (1 h). */
export const MAX_TIMEOUT_MS = 3_600_000
/** Hard upper bound on `maxQueuedBytesPerConn` (256 MiB). */
export const MAX_QUEUED_BYTES_LIMIT = 256 * 1024 * 1024
/** Frames queued in one tick are written together; a batch is written early once it reaches this size. */
export const FLUSH_THRESHOLD_BYTES = 256 * 1024
/** Frames at least this large are written as they are (header + body), not copied into a batch buffer. */
export const LARGE_FRAME_BYTES = 16 * 1024
/**
 * Received frames at least this large that had to be reassembled from several reads may be recycled by their
 * consumer (`ReturnPath.recycle`): the next one is written into the same memory, one large allocation fewer per
 * frame. A connection holds at most one such buffer (≤ `maxFrameBytes`), dropped after a sweep interval unused.
 */
export const RECYCLE_FRAME_BYTES = 16 * 1024
/**
 * Size of the one buffer every socket of the process reads into (a read takes at most this many bytes). Larger
 * reads cost fewer calls per megabyte; the memory is held once per process, not per connection.
 */
export const READ_BUFFER_BYTES = 256 * 1024
/**
 * Largest read of a connection under an inbound throttle: Node's own read size, so that the bytes read past
 * the budget stay within one such read.
 */
export const THROTTLED_READ_BYTES = 64 * 1024
