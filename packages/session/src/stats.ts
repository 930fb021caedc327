// The counters behind SessionManager.stats(): each part increments its own; gauges are read from the table.
import type { SessionStats } from './types.ts'

/** The gauges of {@link SessionStats}: computed when `stats()` is called, never counted. */
type Gauges = 'peers' | 'sessions' | 'currentSessions' | 'archivedSessions' | 'cachedInitiations' | 'replayRecords'

export type Counters = Omit<SessionStats, Gauges>

export function newCounters (): Counters {
  return {
    handshakesInitiated: 0, handshakesAccepted: 0, handshakesRejected: 0, framesSealed: 0, framesOpened: 0,
    authFailures: 0, replaysRejected: 0, clockWindowRejected: 0, clockRefusalsSent: 0, clockRefusalsReceived: 0,
    hintsSent: 0, hintsAccepted: 0, rateLimited: 0, cookieRepliesSent: 0, cookieRepliesReceived: 0, sourceRateLimited: 0
  }
}

/** Count a failure of `open` by its code (the parts throw; the manager counts once, here). */
export function countFailure (c: Counters, code: string): void {
  if (code === 'ERR_AUTH') c.authFailures++
  else if (code === 'ERR_REPLAY') c.replaysRejected++
  else if (code === 'ERR_RATE_LIMITED') c.rateLimited++
  else if (code === 'ERR_CLOCK_WINDOW') c.clockWindowRejected++
}
