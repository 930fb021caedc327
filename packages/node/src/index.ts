/**
 * @packageDocumentation
 * The EGTP node: the message API an application embeds. It composes an identity, sessions
 * (`@egtp/session`), injected transports (commstrats), lookup and discovery into handlers, queries and
 * one-way messages addressed by node ID, with end-to-end acknowledgements, re-sends across session
 * changes and receiver de-duplication: a message accepted by `query`/`send` reaches the peer's handler
 * exactly once or is reported failed to the caller.
 *
 * @example
 * ```ts
 * import { createNode, memoryDirectory } from '@egtp/node'
 * import { tcp } from '@egtp/tcp'
 * const directory = memoryDirectory()
 * const transport = () => tcp({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }] })()
 * const a = await createNode({ commstrats: [transport()], lookup: directory, announcer: directory })
 * const b = await createNode({ commstrats: [transport()], lookup: directory, announcer: directory })
 * b.handle('echo', (payload) => payload)
 * await Promise.all([a.start(), b.start()])
 * console.log(await a.query(b.nodeId, 'echo', { hello: 'world' }))
 * await Promise.all([a.stop(), b.stop()])
 * ```
 */
export {
  DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS, DEFAULT_MAX_PENDING_QUERIES, DEFAULT_MAX_UNACKED_PER_PEER,
  DEFAULT_MAX_UNACKED_BYTES_PER_PEER, DEFAULT_MAX_UNACKED_BYTES, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_BATCH_BYTES, REFERENCED_PAYLOAD_BYTES,
  DEFAULT_MAX_CONCURRENT_HANDLERS, DEFAULT_MAX_QUEUED_HANDLERS, DEFAULT_ACK_DELAY_MS, DEFAULT_RETRY_INITIAL_MS,
  DEFAULT_RETRY_MAX_MS, DEFAULT_DEDUP_RETENTION_MS, DEFAULT_MAX_DEDUP_STREAMS, DEFAULT_MAX_STREAMS_PER_PEER,
  DEFAULT_MAX_REORDER, DEFAULT_TICK_INTERVAL_MS, DEFAULT_STOP_TIMEOUT_MS, DEFAULT_LATE_REPLY_WINDOW_MS,
  DEFAULT_MAX_LATE_QUERIES, DEFAULT_RECORD_TTL_MS, DEFAULT_MIN_LOOKUP_INTERVAL_MS, DEFAULT_LOOKUP_TIMEOUT_MS,
  DEFAULT_MAX_PEERS, DEFAULT_MAX_STATS_PEERS, DEFAULT_MAX_STATS_TYPES, MAX_REMOTE_ERROR_CHARS,
  DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_DISCONNECT_TIMEOUT_MS, DEFAULT_SEND_HIGH_WATER_MESSAGES, DEFAULT_SEND_HIGH_WATER_BYTES
} from './constants.ts'
export type { ConnectOptions, DisconnectOptions, PeerConnection } from './connect.ts'
export type { SendStreamOptions } from './send-stream.ts'
export { createNode, EgtpNode } from './node.ts'
export { DEFAULT_LIMITS } from './limits.ts'
export { RemoteError } from './errors.ts'
export { memoryDirectory, DEFAULT_DIRECTORY_MAX_RECORDS, DEFAULT_DISCOVER_LIMIT } from './directory.ts'
export type { MemoryDirectory, MemoryDirectoryInit } from './directory.ts'
export { RTT_BUCKETS_MS, OTHER_KEY } from './stats.ts'
export type { NodeStats, TrafficStats, HistogramSnapshot } from './stats.ts'
export { JOURNAL_KEY } from './journal.ts'
export type {
  NodeInit, NodeLimits, NodeSessionOptions, QueryOptions, SendOptions, Handler, HandlerContext, NodeEvents, DropReason
} from './types.ts'
