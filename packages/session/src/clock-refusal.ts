// Paranoid mode's clock window (PROTOCOL.md §Sessions, "Clock window"): refusing an initiation whose timestamp
// is too far from our clock with a signed notice, and giving way when a peer refuses ours that way.
import { warnOf, bytesEqual, TokenBucket } from '@egtp/interface'
import type { Logger } from '@egtp/interface'
import { signCanonical, verifyCanonical } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import { CLOCK_REFUSAL_CONTEXT, CLOCK_REFUSAL_LOG_INTERVAL_MS, TIMESTAMP_LEASE_MS } from './constants.ts'
import { authFailed } from './errors.ts'
import { initiationDigest } from './ik.ts'
import { mutations } from './internal.ts'
import type { PartInit, PeerState } from './peer-table.ts'
import type { OpenResult } from './types.ts'
import { clockRefusalValue, sessionCodec } from '@egtp/codec/session'
import type { SessionFrame } from '@egtp/codec/session'

export interface ClockRefusalsInit extends PartInit {
  identity: NodeIdentity
  log: Logger
  /** Paranoid mode: the window, or undefined (every timestamp is accepted). */
  clockWindowMs: number | undefined
}

export class ClockRefusals {
  readonly #i: ClockRefusalsInit
  /** Refusal notices signed per second (each costs a signature). */
  readonly #notices: TokenBucket

  constructor (init: ClockRefusalsInit) {
    this.#i = init
    this.#notices = new TokenBucket(init.limits.maxHintsPerSecond, init.limits.maxHintsPerSecond, init.clock.monotonic())
  }

  get windowMs (): number | undefined {
    return this.#i.clockWindowMs
  }

  /** True when `offset` (initiation timestamp minus our clock) is outside the window (never without one). */
  outside (offset: number): boolean {
    const w = this.#i.clockWindowMs
    // A restarted initiator's first timestamps may run up to the lease ahead of its clock (constants.ts).
    const lease = mutations.legacyTimestampLease ? 0 : TIMESTAMP_LEASE_MS
    return w !== undefined && (offset < -w || offset > w + lease)
  }

  /** The signed notice that tells an initiator its timestamp is outside our window (and our clock). Rate-limited. */
  notice (msg1: Uint8Array, wallClock: number, now: number): Uint8Array | undefined {
    if (!this.#notices.tryTake(1, now)) return undefined
    const i = initiationDigest(msg1)
    const w = Math.max(0, Math.floor(wallClock))
    const g = signCanonical(this.#i.identity, CLOCK_REFUSAL_CONTEXT, clockRefusalValue(i, w))
    this.#i.stats.clockRefusalsSent++
    return sessionCodec.encode({ t: 'hc', i, w, k: this.#i.identity.publicKey, g })
  }

  /** First refusal per peer per minute at warn level; the counter counts every one. */
  logRefusal (ps: PeerState, offset: number): void {
    if (!this.#logDue(ps)) return
    warnOf(this.#i.log)('refusing initiations from %k: their timestamp is %d ms from our clock, outside the %d ms clock window (is a clock wrong?)',
      ps.key.nodeId, Math.round(offset), this.#i.clockWindowMs)
  }

  #logDue (ps: PeerState): boolean {
    const now = this.#i.clock.monotonic()
    if (ps.clockRefusalLoggedAt >= 0 && now - ps.clockRefusalLoggedAt < CLOCK_REFUSAL_LOG_INTERVAL_MS) return false
    ps.clockRefusalLoggedAt = now
    return true
  }

  /** A peer refused our initiation as outside its clock window: give way to its initiation, and say so. */
  open (msg: SessionFrame & { t: 'hc' }): OpenResult {
    const { table, clock } = this.#i
    const ps = table.signer(msg.k)
    // It must name our current initiation to that peer, still pending: it changes no session either way.
    const s = ps.current
    if (s === undefined || s.role !== 'initiator' || s.established || s.msg1 === undefined || !bytesEqual(initiationDigest(s.msg1), msg.i)) throw authFailed()
    if (!verifyCanonical(msg.k, CLOCK_REFUSAL_CONTEXT, clockRefusalValue(msg.i, msg.w), msg.g)) throw authFailed()
    this.#i.stats.clockRefusalsReceived++
    const skewMs = Math.round(clock.now() - msg.w)
    const timestampOffsetMs = Math.round(s.timestamp - msg.w)
    const now = clock.monotonic()
    if (!mutations.disableRefusalYield) {
      // Give way: drop our refused initiation (its early data is re-sent by the node under the peer's session)
      // and start none for a while, so the initiation the peer owes us is installed on our side. A genuine
      // notice names only our pending initiation, so nothing else can be dropped this way.
      table.demote(ps, 'refused', undefined, now)
      ps.yieldUntil = now + this.#i.limits.clockRefusalYieldMs
    }
    this.#i.emit('session:clock-skew', { peer: ps.key, sessionId: s.id, skewMs, timestampOffsetMs })
    if (!this.#logDue(ps)) return { peer: ps.key, replies: [] }
    warnOf(this.#i.log)('%k refuses our session setup: our clock is %d ms from its clock (our initiation timestamp %d ms), outside its clock window',
      ps.key.nodeId, skewMs, timestampOffsetMs)
    return { peer: ps.key, replies: [] }
  }
}
