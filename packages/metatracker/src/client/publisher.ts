// The node's own record on the trackers: published to `fanout` trackers, published again at half the shortest
// hold (or backing off after a failure), withdrawn with a signed goodbye. A refusal of a still-valid record as
// expired says this machine's clock is behind.
import { encodeContactRecord } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import { EgtpError } from '@egtp/interface'
import type { Clock, ContactRecord, Logger } from '@egtp/interface'
import { codeFromWire, signGoodbye } from '../protocol.ts'
import type { TrackerAnswer, TrackerRequest } from '../protocol.ts'
import type { MetatrackerClientConfig } from './config.ts'

/** How often the clock-skew error is logged at most (ms). */
const CLOCK_SKEW_LOG_INTERVAL_MS = 60_000

type PublishAnswer = Extract<TrackerAnswer, { t: 'mpa' }>
type GoodbyeAnswer = Extract<TrackerAnswer, { t: 'mga' }>

/** What the publisher needs of its client. */
export interface PublisherContext {
  config: MetatrackerClientConfig
  clock: Clock
  log: Logger
  identity: NodeIdentity | undefined
  fanOut: (request: Extract<TrackerRequest, { t: 'mp' }>) => Promise<Array<{ t: string, answer: PublishAnswer | undefined }>>
  ask: (trackerId: string, request: Extract<TrackerRequest, { t: 'mg' }>, timeoutMs: number) => Promise<GoodbyeAnswer | undefined>
  dispatch: (type: 'tracker:announce' | 'tracker:clock-skew', detail: unknown) => void
}

export class RecordPublisher {
  readonly #c: PublisherContext
  #own: ContactRecord | undefined
  readonly #publishedTo = new Set<string>()
  #timer: ReturnType<typeof setTimeout> | undefined
  #retryMs: number
  #skewLoggedAt = -Infinity
  #stopped = false

  constructor (context: PublisherContext) {
    this.#c = context
    this.#retryMs = context.config.retryMinMs
  }

  /** Publish `record` now (and keep it published). @throws {EgtpError} ERR_UNREACHABLE when no tracker accepted it */
  async announce (record: ContactRecord): Promise<void> {
    this.#own = record
    await this.#publish()
  }

  /** Publish the current record again now (e.g. to trackers just seeded), logging a failure. */
  republish (): void {
    if (this.#own !== undefined) void this.#publish().catch(err => { this.#c.log('publishing to the new trackers failed: %e', err) })
  }

  async #publish (): Promise<void> {
    const own = this.#own
    if (own === undefined || this.#stopped) return
    clearTimeout(this.#timer)
    const results = await this.#c.fanOut({ t: 'mp', r: encodeContactRecord(own) })
    if (this.#own !== own || this.#stopped) return // superseded while in flight
    let heldMs = Infinity
    const refusals: string[] = []
    for (const { t, answer } of results) {
      if (answer?.h === undefined) {
        const code = answer?.c !== undefined ? codeFromWire(answer.c) : undefined
        if (code === 'ERR_RECORD_EXPIRED') this.#clockBehind(t, own)
        refusals.push(`${t}: ${code ?? 'no answer'}`)
        continue
      }
      heldMs = Math.min(heldMs, answer.h)
      this.#publishedTo.add(t)
      this.#c.dispatch('tracker:announce', { trackerId: t, seq: own.seq, heldMs: answer.h })
    }
    const ok = heldMs !== Infinity
    const { retryMinMs } = this.#c.config
    // Publish again at half the shortest hold (every tracker keeps it), or soon after a failure.
    const delay = ok && refusals.length === 0 ? Math.max(1000, heldMs / 2) : this.#retryMs
    this.#retryMs = ok && refusals.length === 0 ? retryMinMs : Math.min(this.#retryMs * 2, Math.max(retryMinMs, heldMs / 2, 60_000))
    this.#timer = setTimeout(() => { void this.#publish().catch(err => { this.#c.log.error('publishing failed: %e', err) }) }, delay)
    this.#timer.unref?.()
    if (!ok) throw new EgtpError('ERR_UNREACHABLE', `no tracker accepted record seq ${own.seq}: ${results.length === 0 ? 'no tracker known' : refusals.join('; ')}`)
  }

  /** A tracker refused our record as expired although our clock says it is valid: our clock is behind. */
  #clockBehind (trackerId: string, own: ContactRecord): void {
    const behindMs = own.expiresAt - this.#c.clock.now()
    if (behindMs <= 0) return
    this.#c.dispatch('tracker:clock-skew', { trackerId, behindMs })
    const now = this.#c.clock.monotonic()
    if (now - this.#skewLoggedAt < CLOCK_SKEW_LOG_INTERVAL_MS) return
    this.#skewLoggedAt = now
    const s = Math.round(behindMs / 1000)
    this.#c.log.error('tracker %s refused our record as expired, yet it is valid for another %d s by this machine\'s clock: this clock is at least %d s behind the tracker\'s; fix the clock (NTP), or peers cannot find this node', trackerId, s, s)
  }

  /** Send the signed goodbye to the trackers the record was published to; how many removed it. Needs `identity`. */
  async withdraw (): Promise<number> {
    clearTimeout(this.#timer)
    const own = this.#own
    const identity = this.#c.identity
    if (own === undefined || identity === undefined) return 0
    const request = { t: 'mg' as const, id: identity.nodeIdBytes, k: identity.publicKey, q: own.seq, g: signGoodbye(identity, own.seq) }
    const targets = [...this.#publishedTo]
    this.#publishedTo.clear()
    const answers = await Promise.all(targets.map(async t => await this.#c.ask(t, request, this.#c.config.goodbyeTimeoutMs)))
    return answers.filter(a => a?.d === true).length
  }

  /** Publish no more. */
  stop (): void {
    this.#stopped = true
    clearTimeout(this.#timer)
  }
}
