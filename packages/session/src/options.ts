// SessionManagerInit resolved: every limit checked and defaulted once, at construction.
import * as C from './constants.ts'
import type { SessionManagerInit } from './types.ts'

/** The resolved limits and timers (every optional number of SessionManagerInit, defaulted). */
export type Limits = Required<Omit<SessionManagerInit, 'identity' | 'clock' | 'store' | 'random' | 'logger' | 'clockWindowMs'>>

function positive (name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new RangeError(`SessionManagerInit.${name} must be a positive finite number`)
  return v
}

/** @throws {RangeError} for a limit that is not a positive finite number, or rejectAfterMs below rekeyAfterMs */
export function resolveLimits (init: SessionManagerInit): { limits: Limits, clockWindowMs: number | undefined } {
  if (init.clockWindowMs !== undefined) positive('clockWindowMs', init.clockWindowMs, 0)
  const limits: Limits = {
    idleReceiveTimeoutMs: positive('idleReceiveTimeoutMs', init.idleReceiveTimeoutMs, C.DEFAULT_IDLE_RECEIVE_TIMEOUT_MS),
    rekeyAfterMs: positive('rekeyAfterMs', init.rekeyAfterMs, C.DEFAULT_REKEY_AFTER_MS),
    rejectAfterMs: positive('rejectAfterMs', init.rejectAfterMs, C.DEFAULT_REJECT_AFTER_MS),
    rekeyAfterMessages: positive('rekeyAfterMessages', init.rekeyAfterMessages, C.DEFAULT_REKEY_AFTER_MESSAGES),
    rejectAfterMessages: Math.min(positive('rejectAfterMessages', init.rejectAfterMessages, C.DEFAULT_REJECT_AFTER_MESSAGES), Number.MAX_SAFE_INTEGER - 1),
    archiveKeepMs: positive('archiveKeepMs', init.archiveKeepMs, C.DEFAULT_ARCHIVE_KEEP_MS),
    tickMaxPeers: positive('tickMaxPeers', init.tickMaxPeers, C.DEFAULT_TICK_MAX_PEERS),
    maxArchivedPerPeer: positive('maxArchivedPerPeer', init.maxArchivedPerPeer, C.DEFAULT_MAX_ARCHIVED_PER_PEER),
    maxSessions: positive('maxSessions', init.maxSessions, C.DEFAULT_MAX_SESSIONS),
    maxReplayRecords: positive('maxReplayRecords', init.maxReplayRecords, C.DEFAULT_MAX_REPLAY_RECORDS),
    maxHandshakesPerPeerPerSecond: positive('maxHandshakesPerPeerPerSecond', init.maxHandshakesPerPeerPerSecond, C.DEFAULT_MAX_HANDSHAKES_PER_PEER_PER_SECOND),
    maxHandshakesPerSecond: positive('maxHandshakesPerSecond', init.maxHandshakesPerSecond, C.DEFAULT_MAX_HANDSHAKES_PER_SECOND),
    maxHintsPerSecond: positive('maxHintsPerSecond', init.maxHintsPerSecond, C.DEFAULT_MAX_HINTS_PER_SECOND),
    maxEarlyDataMessages: positive('maxEarlyDataMessages', init.maxEarlyDataMessages, C.DEFAULT_MAX_EARLY_DATA_MESSAGES),
    maxCachedInitiations: positive('maxCachedInitiations', init.maxCachedInitiations, C.DEFAULT_MAX_CACHED_INITIATIONS),
    rejectedInitiationCacheMs: positive('rejectedInitiationCacheMs', init.rejectedInitiationCacheMs, C.DEFAULT_REJECTED_INITIATION_CACHE_MS),
    handshakeRetryMs: positive('handshakeRetryMs', init.handshakeRetryMs, C.DEFAULT_HANDSHAKE_RETRY_MS),
    maxHandshakeRetries: positive('maxHandshakeRetries', init.maxHandshakeRetries, C.DEFAULT_MAX_HANDSHAKE_RETRIES),
    recoveryQuietMs: positive('recoveryQuietMs', init.recoveryQuietMs, C.DEFAULT_RECOVERY_QUIET_MS),
    clockRefusalYieldMs: positive('clockRefusalYieldMs', init.clockRefusalYieldMs, C.DEFAULT_CLOCK_REFUSAL_YIELD_MS),
    handshakeLoadThresholdPerSecond: 0,
    maxHandshakesPerSourcePerSecond: positive('maxHandshakesPerSourcePerSecond', init.maxHandshakesPerSourcePerSecond, C.DEFAULT_MAX_HANDSHAKES_PER_SOURCE_PER_SECOND),
    maxHandshakeSources: positive('maxHandshakeSources', init.maxHandshakeSources, C.DEFAULT_MAX_HANDSHAKE_SOURCES),
    spareEphemeralMaxAgeMs: positive('spareEphemeralMaxAgeMs', init.spareEphemeralMaxAgeMs, C.DEFAULT_SPARE_EPHEMERAL_MAX_AGE_MS)
  }
  limits.handshakeLoadThresholdPerSecond = positive('handshakeLoadThresholdPerSecond', init.handshakeLoadThresholdPerSecond,
    limits.maxHandshakesPerSecond * C.DEFAULT_HANDSHAKE_LOAD_FRACTION)
  if (limits.rejectAfterMs < limits.rekeyAfterMs) throw new RangeError('SessionManagerInit.rejectAfterMs must be at least rekeyAfterMs')
  return { limits, clockWindowMs: init.clockWindowMs }
}
