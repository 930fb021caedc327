import { MAX_TRACKER_RECORD_BYTES } from '@egtp/codec'
import {
  DEFAULT_LOOKUPS_PER_SECOND, DEFAULT_MAX_RECORD_BYTES, DEFAULT_MAX_TRACKED_SENDERS, DEFAULT_PUBLISHES_PER_SECOND,
  DEFAULT_RECORD_TTL_MS, DEFAULT_SWEEP_INTERVAL_MS
} from '../constants.ts'

/** Construction config of {@link metatrackerServer}. Every limit has an exported `DEFAULT_*` constant. */
export interface MetatrackerServerInit {
  /** How long a record is held unless published again (ms; a record's own expiry is earlier when it is). */
  recordTtlMs?: number
  /** Largest encoded record accepted (bytes), at most MAX_TRACKER_RECORD_BYTES. */
  maxRecordBytes?: number
  /** Publishes and goodbyes accepted per sender per second. */
  publishesPerSecond?: number
  /** Lookup and discover requests accepted per sender per second. */
  lookupsPerSecond?: number
  maxTrackedSenders?: number
  /** How often expired records are dropped from a lazily expiring store (ms). */
  sweepIntervalMs?: number
}

export type MetatrackerServerConfig = Required<MetatrackerServerInit>

function int (name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${v}`)
  return v
}

const DAY_MS = 86_400_000

export function resolveServerConfig (init: MetatrackerServerInit): MetatrackerServerConfig {
  return {
    recordTtlMs: int('recordTtlMs', init.recordTtlMs, DEFAULT_RECORD_TTL_MS, 1, 7 * DAY_MS),
    maxRecordBytes: int('maxRecordBytes', init.maxRecordBytes, DEFAULT_MAX_RECORD_BYTES, 64, MAX_TRACKER_RECORD_BYTES),
    publishesPerSecond: int('publishesPerSecond', init.publishesPerSecond, DEFAULT_PUBLISHES_PER_SECOND, 1, 10_000_000),
    lookupsPerSecond: int('lookupsPerSecond', init.lookupsPerSecond, DEFAULT_LOOKUPS_PER_SECOND, 1, 10_000_000),
    maxTrackedSenders: int('maxTrackedSenders', init.maxTrackedSenders, DEFAULT_MAX_TRACKED_SENDERS, 1, 100_000_000),
    sweepIntervalMs: int('sweepIntervalMs', init.sweepIntervalMs, DEFAULT_SWEEP_INTERVAL_MS, 1, DAY_MS)
  }
}
