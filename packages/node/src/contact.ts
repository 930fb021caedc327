import { MAX_ENDPOINTS } from '@egtp/codec'
import { contactRecordToWire, createContactRecord } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import type { Announcer, Clock, Commstrat, ContactRecord, Endpoint, Logger } from '@egtp/interface'
import type { OwnContactMessage } from './sender.ts'
import { encodeMessage } from '@egtp/codec/node'

/**
 * The node's own signed contact record, built from its commstrats' endpoints. Sequence numbers never go
 * back, even across restarts: `seq = max(previous + 1, now in ms)`.
 */
export class OwnContact {
  readonly #identity: NodeIdentity
  readonly #clock: Clock
  readonly #ttlMs: number
  readonly #services: string[]
  readonly #log: Logger
  #record: ContactRecord | undefined
  #message: OwnContactMessage | undefined
  #signedAt = 0

  constructor (identity: NodeIdentity, clock: Clock, ttlMs: number, services: string[], log: Logger) {
    this.#identity = identity
    this.#clock = clock
    this.#ttlMs = ttlMs
    this.#services = services
    this.#log = log
  }

  get record (): ContactRecord | undefined {
    return this.#record
  }

  /** The record as a `ci` message (for piggybacking). */
  get message (): OwnContactMessage | undefined {
    return this.#message
  }

  /** Due for re-signing (half its lifetime passed). */
  stale (): boolean {
    return this.#record !== undefined && this.#clock.now() >= this.#signedAt + this.#ttlMs / 2
  }

  /** Re-sign from the commstrats' current endpoints. */
  refresh (commstrats: readonly Commstrat[]): ContactRecord {
    const seen = new Set<string>()
    const endpoints: Endpoint[] = []
    for (const c of commstrats) {
      for (const e of c.localEndpoints()) {
        const k = JSON.stringify(e)
        if (seen.has(k) || endpoints.length >= MAX_ENDPOINTS) continue
        seen.add(k)
        endpoints.push(e)
      }
    }
    const now = this.#clock.now()
    const seq = Math.max((this.#record?.seq ?? 0) + 1, now)
    const record = createContactRecord(this.#identity, { seq, expiresAt: now + this.#ttlMs, endpoints, services: this.#services })
    this.#record = record
    this.#signedAt = now
    this.#message = { seq, bytes: encodeMessage({ t: 'ci', r: contactRecordToWire(record) }) }
    this.#log('contact record seq %d: %o', seq, endpoints)
    return record
  }

  /** Publish through `announcer`, bounded; failures are logged. */
  async announce (announcer: Announcer | undefined, signal: AbortSignal): Promise<void> {
    const record = this.#record
    if (announcer === undefined || record === undefined) return
    try {
      await announcer.announce(record, { signal })
    } catch (err) {
      this.#log.error('announcing contact record failed: %e', err)
    }
  }
}
