import type { Logger } from './logger.ts'
import { warnOf } from './logger.ts'

/** Default most sources remembered by a {@link SourceWarnings} (the oldest is forgotten first). */
export const DEFAULT_MAX_WARNING_SOURCES = 1024
/** Default interval after which the same kind from the same source is logged again, with a count (1 min). */
export const DEFAULT_WARNING_INTERVAL_MS = 60_000
/** Default most warning lines per second over all sources (a flood from many addresses stays a few lines). */
export const DEFAULT_MAX_WARNINGS_PER_SECOND = 10

export interface SourceWarningsInit {
  maxSources?: number
  intervalMs?: number
  maxPerSecond?: number
  /** Monotonic milliseconds (default `performance.now`). */
  now?: () => number
}

interface Seen { at: number, suppressed: number }

/**
 * Rate-limited warnings about hostile input: the first of each kind per source is logged at warn level, then at
 * most one line per `intervalMs` per (source, kind) saying how many were suppressed, and never more than
 * `maxPerSecond` lines overall. Memory is bounded by `maxSources` entries.
 * @example
 * ```ts
 * const warnings = new SourceWarnings(log)
 * warnings.warn('203.0.113.9', 'malformed', 'closing %s: %s', conn.id, err.message)
 * ```
 */
export class SourceWarnings {
  readonly #log: Logger
  readonly #maxSources: number
  readonly #intervalMs: number
  readonly #maxPerSecond: number
  readonly #now: () => number
  readonly #seen = new Map<string, Seen>()
  #windowStart = -Infinity
  #inWindow = 0

  constructor (log: Logger, init: SourceWarningsInit = {}) {
    this.#log = log
    this.#maxSources = init.maxSources ?? DEFAULT_MAX_WARNING_SOURCES
    this.#intervalMs = init.intervalMs ?? DEFAULT_WARNING_INTERVAL_MS
    this.#maxPerSecond = init.maxPerSecond ?? DEFAULT_MAX_WARNINGS_PER_SECOND
    this.#now = init.now ?? (() => performance.now())
    for (const [k, v] of [['maxSources', this.#maxSources], ['intervalMs', this.#intervalMs], ['maxPerSecond', this.#maxPerSecond]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${k} must be a positive integer, got ${v}`)
    }
  }

  /** Log `formatter` for (`source`, `kind`) unless rate-limited. Returns true when a line was written. */
  warn (source: string, kind: string, formatter: string, ...args: unknown[]): boolean {
    const now = this.#now()
    const key = `${kind}\u0000${source}`
    const seen = this.#seen.get(key)
    if (seen !== undefined && now - seen.at < this.#intervalMs) {
      seen.suppressed++
      return false
    }
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now
      this.#inWindow = 0
    }
    if (this.#inWindow >= this.#maxPerSecond) {
      if (seen !== undefined) seen.suppressed++
      return false
    }
    this.#inWindow++
    const suppressed = seen?.suppressed ?? 0
    if (seen !== undefined) this.#seen.delete(key) // re-inserted last: the map's order is by last line
    else if (this.#seen.size >= this.#maxSources) this.#seen.delete(this.#seen.keys().next().value!)
    this.#seen.set(key, { at: now, suppressed: 0 })
    warnOf(this.#log)(`${formatter}${suppressed > 0 ? ` (${suppressed} more of this kind from ${source} not logged)`.replace(/%/g, '%%') : ''}`, ...args)
    return true
  }
}
