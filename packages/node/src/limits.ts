import * as C from './constants.ts'
import type { NodeLimits } from './types.ts'

/** The defaults of every limit. */
export const DEFAULT_LIMITS: Readonly<NodeLimits> = Object.freeze({
  defaultTimeoutMs: C.DEFAULT_TIMEOUT_MS,
  maxPendingQueries: C.DEFAULT_MAX_PENDING_QUERIES,
  maxUnackedPerPeer: C.DEFAULT_MAX_UNACKED_PER_PEER,
  maxUnackedBytesPerPeer: C.DEFAULT_MAX_UNACKED_BYTES_PER_PEER,
  maxUnackedBytes: C.DEFAULT_MAX_UNACKED_BYTES,
  maxMessageBytes: C.DEFAULT_MAX_MESSAGE_BYTES,
  maxBatchBytes: C.DEFAULT_MAX_BATCH_BYTES,
  maxConcurrentHandlers: C.DEFAULT_MAX_CONCURRENT_HANDLERS,
  maxQueuedHandlers: C.DEFAULT_MAX_QUEUED_HANDLERS,
  ackDelayMs: C.DEFAULT_ACK_DELAY_MS,
  retryInitialMs: C.DEFAULT_RETRY_INITIAL_MS,
  retryMaxMs: C.DEFAULT_RETRY_MAX_MS,
  dedupRetentionMs: C.DEFAULT_DEDUP_RETENTION_MS,
  maxDedupStreams: C.DEFAULT_MAX_DEDUP_STREAMS,
  maxStreamsPerPeer: C.DEFAULT_MAX_STREAMS_PER_PEER,
  maxReorder: C.DEFAULT_MAX_REORDER,
  tickIntervalMs: C.DEFAULT_TICK_INTERVAL_MS,
  quietTickIntervalMs: C.DEFAULT_QUIET_TICK_INTERVAL_MS,
  stopTimeoutMs: C.DEFAULT_STOP_TIMEOUT_MS,
  lateReplyWindowMs: C.DEFAULT_LATE_REPLY_WINDOW_MS,
  maxLateQueries: C.DEFAULT_MAX_LATE_QUERIES,
  recordTtlMs: C.DEFAULT_RECORD_TTL_MS,
  minLookupIntervalMs: C.DEFAULT_MIN_LOOKUP_INTERVAL_MS,
  relookupAfterMs: C.DEFAULT_RELOOKUP_AFTER_MS,
  lookupTimeoutMs: C.DEFAULT_LOOKUP_TIMEOUT_MS,
  maxPeers: C.DEFAULT_MAX_PEERS,
  maxStatsPeers: C.DEFAULT_MAX_STATS_PEERS,
  maxStatsTypes: C.DEFAULT_MAX_STATS_TYPES,
  connectTimeoutMs: C.DEFAULT_CONNECT_TIMEOUT_MS,
  disconnectTimeoutMs: C.DEFAULT_DISCONNECT_TIMEOUT_MS,
  sendHighWaterMessages: C.DEFAULT_SEND_HIGH_WATER_MESSAGES,
  sendHighWaterBytes: C.DEFAULT_SEND_HIGH_WATER_BYTES
})

/**
 * Merge `limits` over the defaults and validate: every value a non-negative integer (ack delay may be 0),
 * timeouts within MAX_TIMEOUT_MS, and the dedup retention longer than the longest timeout.
 * @throws {RangeError}
 */
export function resolveLimits (limits: Partial<NodeLimits> = {}): Readonly<NodeLimits> {
  let given: NodeLimits | undefined
  for (const [k, v] of Object.entries(limits) as Array<[keyof NodeLimits, number | undefined]>) {
    if (v === undefined) continue
    if (!(k in DEFAULT_LIMITS)) throw new RangeError(`unknown limit ${k}`)
    if (!Number.isInteger(v) || v < 0 || (v === 0 && k !== 'ackDelayMs')) throw new RangeError(`limits.${k} must be a positive integer, got ${v}`)
    given ??= { ...DEFAULT_LIMITS }
    given[k] = v
  }
  // No limit given: the frozen defaults themselves, not a copy per node (~300 bytes that live as long as it).
  const out = given ?? DEFAULT_LIMITS
  if (out.defaultTimeoutMs > C.MAX_TIMEOUT_MS) throw new RangeError(`limits.defaultTimeoutMs exceeds ${C.MAX_TIMEOUT_MS}`)
  if (out.connectTimeoutMs > C.MAX_TIMEOUT_MS) throw new RangeError(`limits.connectTimeoutMs exceeds ${C.MAX_TIMEOUT_MS}`)
  if (out.dedupRetentionMs <= C.MAX_TIMEOUT_MS) {
    throw new RangeError(`limits.dedupRetentionMs must outlast the longest sender retry horizon (${C.MAX_TIMEOUT_MS} ms)`)
  }
  if (out.retryMaxMs < out.retryInitialMs) throw new RangeError('limits.retryMaxMs must be at least retryInitialMs')
  return out
}

/** A per-call timeout: a positive integer up to MAX_TIMEOUT_MS. */
export function checkTimeout (name: string, ms: number): number {
  if (!Number.isInteger(ms) || ms <= 0 || ms > C.MAX_TIMEOUT_MS) throw new RangeError(`${name} must be an integer from 1 to ${C.MAX_TIMEOUT_MS}, got ${ms}`)
  return ms
}
