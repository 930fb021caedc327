// When a session may still carry traffic: expiry, rekey and the "working session" test (PROTOCOL.md §Sessions,
// "Timers"). Pure functions of a session, the limits and the monotonic time.
import { RESPONDER_REKEY_DELAY_MS } from './constants.ts'
import type { Limits } from './options.ts'
import type { Session } from './session.ts'

export type Verdict = 'ok' | 'rekey' | 'expired' | 'exhausted'

export class Lifetime {
  readonly #o: Limits

  constructor (limits: Limits) {
    this.#o = limits
  }

  verdict (s: Session, now: number): Verdict {
    const age = now - s.createdAt
    if (this.idle(s, now) || age >= this.#o.rejectAfterMs || s.sendCounter >= this.#o.rejectAfterMessages) return 'expired'
    if (s.role === 'initiator' && !s.established && s.sendCounter >= this.#o.maxEarlyDataMessages) return 'exhausted'
    const rekeyAge = this.#o.rekeyAfterMs + (s.role === 'responder' ? RESPONDER_REKEY_DELAY_MS : 0)
    if (age >= rekeyAge || s.sendCounter >= this.#o.rekeyAfterMessages) return 'rekey'
    return 'ok'
  }

  idle (s: Session, now: number): boolean {
    return now - s.lastReceiveAt >= this.#o.idleReceiveTimeoutMs
  }

  /** Idle, or past rejectAfterMs: the current session ends at the next tick. */
  over (s: Session, now: number): boolean {
    return this.idle(s, now) || now - s.createdAt >= this.#o.rejectAfterMs
  }

  /** A current, confirmed session that heard from the peer recently: never disturbed by stale initiations. */
  working (cur: Session | undefined, now: number): boolean {
    return cur !== undefined && cur.confirmed && now - cur.lastReceiveAt < this.#o.recoveryQuietMs
  }
}
