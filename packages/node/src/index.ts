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
// Each limit's default by name: `@egtp/node/defaults` (documented here as one object, DEFAULT_LIMITS).
export { MAX_EARLIER_PATHS_PER_PEER, MAX_TIMEOUT_MS, REFERENCED_PAYLOAD_BYTES, MAX_REMOTE_ERROR_CHARS } from './constants.ts'
export type { ConnectOptions, DisconnectOptions, PeerConnection } from './connect.ts'
export type { SendStreamOptions } from './send-stream.ts'
export { createNode, EgtpNode } from './node.ts'
export { DEFAULT_LIMITS } from './limits.ts'
export { RemoteError } from './errors.ts'
export { memoryDirectory } from './directory.ts'
export type { MemoryDirectory, MemoryDirectoryInit } from './directory.ts'
export { RTT_BUCKETS_MS, OTHER_KEY } from './stats.ts'
export type { NodeStats, TrafficStats, HistogramSnapshot } from './stats.ts'
export { JOURNAL_KEY } from './journal.ts'
export type {
  NodeInit, NodeLimits, NodeSessionOptions, QueryOptions, SendOptions, Handler, HandleOptions, HandlerContext, NodeEvents, DropReason
} from './types.ts'
