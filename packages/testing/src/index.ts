/**
 * @packageDocumentation
 * The EGTP test kit. {@link memoryNetwork} gives in-memory commstrats and transports whose links have latency,
 * jitter, loss, reordering and partitions, seeded so a run repeats; {@link startNetwork} starts a small network
 * of nodes on it (or on any commstrat). The commstrat and transport compliance suites for vitest are the
 * subpath `@egtp/testing/compliance`.
 *
 * @example
 * ```ts
 * import { memoryNetwork } from '@egtp/testing'
 * const net = memoryNetwork({ latencyMs: 5, loss: 0.1, seed: 7 })
 * const a = net.commstrat()
 * const b = net.commstrat()
 * await a.start()
 * await b.start()
 * b.addEventListener('frame', ({ detail }) => { void detail.path.reply(detail.frame) })
 * await a.send('b', b.endpoint, Uint8Array.of(1))
 * ```
 */
export {
  DEFAULT_MEMORY_MAX_FRAME_BYTES, DEFAULT_MEMORY_MAX_QUEUED_BYTES_PER_CONN, DEFAULT_MEMORY_SEND_TIMEOUT_MS,
  DEFAULT_MEMORY_CLOSE_TIMEOUT_MS, DEFAULT_MEMORY_MAX_CONNECTIONS, DEFAULT_MEMORY_CONNECT_TIMEOUT_MS,
  DEFAULT_MEMORY_RETRANSMIT_MS, MAX_MEMORY_RETRANSMITS, MAX_MEMORY_DELAY_MS, MEMORY_HOST_SUFFIX
} from './constants.ts'
export { memoryNetwork, MemoryNetwork } from './network.ts'
export type { LinkConditions } from './links.ts'
export type { MemoryNetworkInit, MemoryNetworkStats, MemoryParticipant } from './network.ts'
export { MemoryTransport } from './transport.ts'
export type { MemoryListener, MemoryTransportInit, MemoryTransportStats } from './transport.ts'
export { MemoryCommstrat } from './commstrat.ts'
export type { MemoryCommstratInit, MemoryCommstratStats } from './commstrat.ts'
export type { MemoryConn } from './conn.ts'
export { seededRandom } from './random.ts'
export type { Random } from './random.ts'
export { startNetwork, MAX_NETWORK_NODES } from './start-network.ts'
export type { NetworkNode, NodeParts, StartNetworkOptions, TestNetwork } from './start-network.ts'
