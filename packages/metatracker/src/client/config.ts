import type { NodeIdentity } from '@egtp/identity'
import type { AbortOptions, Clock, ComponentLogger, ContactRecord } from '@egtp/interface'
import {
  DEFAULT_CACHE_FRESH_MS, DEFAULT_FANOUT, DEFAULT_GOODBYE_TIMEOUT_MS, DEFAULT_MAX_CACHED_RECORDS, DEFAULT_MAX_TRACKERS,
  DEFAULT_MIN_SEED_INTERVAL_MS, DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_RETRY_MIN_MS, DEFAULT_SETTLE_MS
} from '../constants.ts'

/** Construction config of {@link trackers}. Every limit has an exported `DEFAULT_*` constant. */
export interface MetatrackerClientInit {
  /**
   * The trackers' own signed contact records (from a bootpage, a file, or a tracker's ready line). Verified.
   * May be empty when `seeds` is given.
   */
  trackers: ContactRecord[]
  /**
   * Where more trackers come from (e.g. a bootpage: `async (o) => (await loader.load(o)).trackers`). Called
   * when the client knows no tracker (at `attach` and first use) and again when every tracker it knows has
   * failed its last request, at most once per `minSeedIntervalMs`; what it returns is added with
   * `addTracker`. Its errors are logged and swallowed (a rate-limited bootpage loader included).
   */
  seeds?: (options: AbortOptions) => Promise<ContactRecord[]>
  /** Least time between two calls of `seeds` (ms). */
  minSeedIntervalMs?: number
  /** The node's identity: signs the goodbye sent on stop (without it, records just expire). */
  identity?: NodeIdentity
  /** Trackers asked at once by a lookup or discover, and published to. */
  fanout?: number
  /** Most trackers known (bootstrap plus discovered). */
  maxTrackers?: number
  /** Bound on one request to one tracker (ms). */
  requestTimeoutMs?: number
  /**
   * Once one tracker answered a lookup or discover with records, how long the others still get (ms); a tracker
   * that answers later still counts (a newer record it returns replaces the cached one).
   */
  settleMs?: number
  maxCachedRecords?: number
  /** A looked-up record answers again without asking for this long (ms); after that it is only a fallback. */
  cacheFreshMs?: number
  /** First delay before a failed publish is tried again (ms). */
  retryMinMs?: number
  goodbyeTimeoutMs?: number
  clock?: Clock
  logger?: ComponentLogger
}

export interface MetatrackerClientConfig {
  fanout: number
  maxTrackers: number
  requestTimeoutMs: number
  settleMs: number
  maxCachedRecords: number
  cacheFreshMs: number
  retryMinMs: number
  goodbyeTimeoutMs: number
  minSeedIntervalMs: number
}

function int (name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${v}`)
  return v
}

const HOUR_MS = 3_600_000

export function resolveClientConfig (init: MetatrackerClientInit): MetatrackerClientConfig {
  return {
    fanout: int('fanout', init.fanout, DEFAULT_FANOUT, 1, 64),
    maxTrackers: int('maxTrackers', init.maxTrackers, DEFAULT_MAX_TRACKERS, 1, 1024),
    requestTimeoutMs: int('requestTimeoutMs', init.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS, 1, HOUR_MS),
    settleMs: int('settleMs', init.settleMs, DEFAULT_SETTLE_MS, 0, HOUR_MS),
    maxCachedRecords: int('maxCachedRecords', init.maxCachedRecords, DEFAULT_MAX_CACHED_RECORDS, 0, 10_000_000),
    cacheFreshMs: int('cacheFreshMs', init.cacheFreshMs, DEFAULT_CACHE_FRESH_MS, 0, HOUR_MS),
    retryMinMs: int('retryMinMs', init.retryMinMs, DEFAULT_RETRY_MIN_MS, 1, HOUR_MS),
    goodbyeTimeoutMs: int('goodbyeTimeoutMs', init.goodbyeTimeoutMs, DEFAULT_GOODBYE_TIMEOUT_MS, 1, HOUR_MS),
    minSeedIntervalMs: int('minSeedIntervalMs', init.minSeedIntervalMs, DEFAULT_MIN_SEED_INTERVAL_MS, 0, 24 * HOUR_MS)
  }
}
