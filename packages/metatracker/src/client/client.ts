import { MAX_DISCOVER_RECORDS } from '@egtp/codec'
import { decodeContactRecord, nodeIdToBytes, parseNodeId, verifyContactRecord } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import { EgtpError, TypedEventTarget, disabledComponentLogger, isAbortError, isEgtpError, systemClock } from '@egtp/interface'
import type { AbortOptions, Announcer, Clock, ContactRecord, Discovery, Logger, Lookup } from '@egtp/interface'
import type { EgtpNode } from '@egtp/node'
import { TRACKER_QUERY_TYPE, TRACKER_SERVICE, answerCodec, codeFromWire, requestCodec } from '../protocol.ts'
import type { TrackerAnswer, TrackerRequest } from '../protocol.ts'
import { resolveClientConfig } from './config.ts'
import { RecordPublisher } from './publisher.ts'
import { raceAbort, settleEarly, shuffle } from './util.ts'
import type { MetatrackerClientConfig, MetatrackerClientInit } from './config.ts'

/** What one tracker did for this client. */
export interface TrackerStats {
  requests: number
  /** No answer, a refusal, or an undecodable answer. */
  failures: number
  /** Records it returned that were forged, re-signed, expired, garbage, for another node, or older than another tracker's. */
  badRecords: number
}

export interface MetatrackerClientEvents extends Record<string, unknown> {
  /** A tracker returned a record that failed verification or was stale; it was ignored. */
  'tracker:bad-record': { trackerId: string, reason: string }
  /** The node's record was published to `trackerId` (held for `heldMs`). */
  'tracker:announce': { trackerId: string, seq: number, heldMs: number }
  /** `seeds` was called: `added` trackers were new (or newer records of known ones); `known` now. */
  'tracker:seeded': { added: number, known: number }
  /**
   * `trackerId` refused the node's record as expired while it is still valid by this machine's clock: this
   * clock is at least `behindMs` behind the tracker's (fix it, e.g. with NTP; peers cannot find the node).
   */
  'tracker:clock-skew': { trackerId: string, behindMs: number }
}

type Answer<T extends TrackerAnswer['t']> = Extract<TrackerAnswer, { t: T }>
const EXPECTED = { mp: 'mpa', ml: 'mla', md: 'mda', mg: 'mga' } as const
type AnswerTo<T extends TrackerRequest> = Answer<(typeof EXPECTED)[T['t']]>
/** One tracker's part of a fan-out; `late` when it had not answered by the time the fan-out returned. */
interface FanOutResult<T extends TrackerRequest> {
  t: string
  answer: AnswerTo<T> | undefined
  late?: Promise<{ t: string, answer: AnswerTo<T> | undefined }>
}

/**
 * The node's lookup, discovery and announcer through metatrackers. Give it to `createNode` as `lookup`,
 * `discovery` and `announcer`, then {@link MetatrackerClient.attach} the node before starting it. Trackers
 * are never trusted: every record is verified, the newest valid one wins, and a tracker that hands out a bad
 * record is counted ({@link MetatrackerClient.stats}).
 */
export class MetatrackerClient extends TypedEventTarget<MetatrackerClientEvents> implements Lookup, Discovery, Announcer {
  readonly config: MetatrackerClientConfig
  readonly #trackers = new Map<string, ContactRecord>()
  readonly #stats = new Map<string, TrackerStats>()
  readonly #identity: NodeIdentity | undefined
  readonly #clock: Clock
  readonly #log: Logger
  readonly #cache = new Map<string, { record: ContactRecord, fetchedAt: number }>()
  readonly #inflight = new Map<string, Promise<ContactRecord | undefined>>()
  readonly #shutdown = new AbortController()
  #node: EgtpNode | undefined
  readonly #publisher: RecordPublisher
  readonly #seeds: MetatrackerClientInit['seeds']
  /** Trackers whose last request went unanswered (asked last; all of them failing calls `seeds`). */
  readonly #failing = new Set<string>()
  #seeding: Promise<number> | undefined
  #lastSeedAt: number | undefined

  constructor (init: MetatrackerClientInit) {
    super()
    this.config = resolveClientConfig(init)
    if (init.seeds !== undefined && typeof init.seeds !== 'function') throw new TypeError('seeds must be a function')
    this.#seeds = init.seeds
    if (!Array.isArray(init.trackers) || (init.trackers.length === 0 && init.seeds === undefined)) throw new TypeError('trackers must list at least one tracker record (or give seeds)')
    if (init.trackers.length > this.config.maxTrackers) throw new RangeError(`at most maxTrackers (${this.config.maxTrackers}) trackers`)
    this.#clock = init.clock ?? systemClock
    for (const r of init.trackers) this.#addTracker(verifyContactRecord(r, { now: this.#clock.now() }))
    this.#identity = init.identity
    this.#log = (init.logger ?? disabledComponentLogger).forComponent('metatracker-client')
    this.#publisher = new RecordPublisher({
      config: this.config,
      clock: this.#clock,
      log: this.#log,
      identity: this.#identity,
      fanOut: async request => await this.#fanOut(request),
      ask: async (trackerId, request, timeoutMs) => await this.#ask(trackerId, request, timeoutMs),
      dispatch: (type, detail) => { this.safeDispatch(type, detail as never) }
    })
  }

  /** The node requests travel through (before it starts): learns the trackers' records. */
  attach (node: EgtpNode): void {
    if (this.#node !== undefined && this.#node !== node) throw new TypeError('already attached to another node')
    this.#node = node
    for (const r of this.#trackers.values()) node.addContact(r)
    if (this.#trackers.size === 0) void this.#reseed()
  }

  /** Per-tracker counts, by tracker node ID. */
  stats (): Record<string, TrackerStats> {
    return Object.fromEntries([...this.#stats].map(([id, s]) => [id, { ...s }]))
  }

  /** The trackers known (bootstrap ones and any added with {@link MetatrackerClient.addTracker}). */
  trackerIds (): string[] {
    return [...this.#trackers.keys()]
  }

  /**
   * Use another tracker (e.g. one found by `discover('metatracker')`); its record is verified. A newer record
   * of a known tracker replaces the old one. Returns false when `maxTrackers` are known already.
   * @throws {EgtpError} the verification errors of `verifyContactRecord`
   */
  addTracker (record: ContactRecord): boolean {
    const verified = verifyContactRecord(record, { now: this.#clock.now() })
    const known = this.#trackers.get(verified.nodeId)
    if (known === undefined && this.#trackers.size >= this.config.maxTrackers) return false
    if (known !== undefined && known.seq >= verified.seq) return true
    this.#addTracker(verified)
    this.#node?.addContact(verified)
    return true
  }

  /** Ask the trackers for other trackers (service `metatracker`) and use them, up to `maxTrackers`; returns how many are known. */
  async discoverTrackers (options: AbortOptions = {}): Promise<number> {
    for (const r of await this.discover(TRACKER_SERVICE, { ...options, limit: this.config.maxTrackers })) {
      if (r.nodeId !== this.#identity?.nodeId) this.addTracker(r)
    }
    return this.#trackers.size
  }

  /**
   * The newest valid record of `nodeId` among the trackers asked (several at once), or a cached one.
   * @throws {EgtpError} ERR_BAD_NODE_ID; rethrows `signal.reason` on abort
   */
  async lookup (nodeId: string, options: AbortOptions = {}): Promise<ContactRecord | undefined> {
    options.signal?.throwIfAborted()
    const id = parseNodeId(nodeId)
    const tracker = this.#trackers.get(id)
    if (tracker !== undefined) return tracker
    const now = this.#clock.now()
    const cached = this.#cache.get(id)
    if (cached !== undefined && cached.record.expiresAt > now && now - cached.fetchedAt < this.config.cacheFreshMs) return cached.record
    let pending = this.#inflight.get(id)
    if (pending === undefined) {
      pending = this.#lookupFresh(id).finally(() => this.#inflight.delete(id))
      this.#inflight.set(id, pending)
    }
    return await raceAbort(pending, options.signal)
  }

  async #lookupFresh (id: string): Promise<ContactRecord | undefined> {
    const request: TrackerRequest = { t: 'ml', ids: [nodeIdToBytes(id)] }
    const results = await this.#fanOut(request, answer => answer.r.length > 0)
    let best: { record: ContactRecord, from: string } | undefined
    const got: Array<{ record: ContactRecord, from: string }> = []
    let answered = false
    for (const { t, answer, late } of results) {
      if (late !== undefined) void late.then(l => { this.#lateLookup(id, l.t, l.answer) })
      if (answer === undefined) continue
      answered = true
      for (const record of this.#recordsOf(id, t, answer)) {
        got.push({ record, from: t })
        if (best === undefined || record.seq > best.record.seq) best = { record, from: t }
      }
    }
    // A tracker that answered with an older record than another one did is serving stale data.
    if (best !== undefined) for (const g of got) if (g.record.seq < best.record.seq) this.#bad(g.from, 'an older record than another tracker had')
    const cached = this.#cache.get(id)
    if (best === undefined) {
      // Nobody answered: what we had still holds until it expires. Everybody answered "unknown": forget it.
      if (!answered && cached !== undefined && cached.record.expiresAt > this.#clock.now()) return cached.record
      if (answered) this.#cache.delete(id)
      return undefined
    }
    const record = cached !== undefined && cached.record.seq > best.record.seq && cached.record.expiresAt > this.#clock.now() ? cached.record : best.record
    this.#remember(id, record)
    return record
  }

  #recordsOf (id: string, trackerId: string, answer: { r: Uint8Array[] }): ContactRecord[] {
    const out: ContactRecord[] = []
    for (const bytes of answer.r) {
      const record = this.#checkRecord(trackerId, bytes, r => r.nodeId === id ? undefined : 'a record of another node')
      if (record !== undefined) out.push(record)
    }
    return out
  }

  /** A tracker that answered a lookup after it returned: its newer record replaces the cached one; an older one marks it stale. */
  #lateLookup (id: string, trackerId: string, answer: { r: Uint8Array[] } | undefined): void {
    if (answer === undefined) return
    for (const record of this.#recordsOf(id, trackerId, answer)) {
      const cached = this.#cache.get(id)
      if (cached === undefined || record.seq > cached.record.seq) this.#remember(id, record)
      else if (record.seq < cached.record.seq) this.#bad(trackerId, 'an older record than another tracker had')
    }
  }

  /**
   * Up to `limit` records offering `service` (e.g. `relay`), merged from several trackers, verified, newest
   * per node, in random order.
   */
  async discover (service: string, options: AbortOptions & { limit?: number } = {}): Promise<ContactRecord[]> {
    options.signal?.throwIfAborted()
    if (typeof service !== 'string' || service.length === 0 || service.length > 32) throw new TypeError('service must be a string of 1..32 characters')
    const limit = Math.min(options.limit ?? MAX_DISCOVER_RECORDS, MAX_DISCOVER_RECORDS)
    const request: TrackerRequest = { t: 'md', s: service, n: limit }
    const results = await raceAbort(this.#fanOut(request, answer => answer.r.length > 0), options.signal)
    const byId = new Map<string, ContactRecord>()
    for (const { t, answer } of results) {
      for (const bytes of answer?.r ?? []) {
        const record = this.#checkRecord(t, bytes, r => r.services.includes(service) ? undefined : `a record without service ${service}`)
        if (record === undefined) continue
        const held = byId.get(record.nodeId)
        if (held === undefined || held.seq < record.seq) byId.set(record.nodeId, record)
      }
    }
    return shuffle([...byId.values()]).slice(0, limit)
  }

  /**
   * Publish the node's record to several trackers (the node calls this at start, whenever its endpoints
   * change, and before the record's TTL runs out). It is published again before the trackers forget it.
   * @throws {EgtpError} ERR_UNREACHABLE when no tracker accepted it (the cause has each tracker's refusal)
   */
  async announce (record: ContactRecord, options: AbortOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    if (this.#shutdown.signal.aborted) return
    await raceAbort(this.#publisher.announce(record), options.signal)
  }

  /**
   * Withdraw the node's record from the trackers it was published to (a signed goodbye). Needs `identity`.
   * @returns how many trackers removed it
   */
  async withdraw (options: AbortOptions = {}): Promise<number> {
    options.signal?.throwIfAborted()
    return await raceAbort(this.#publisher.withdraw(), options.signal)
  }

  /** Send the goodbye (bounded by `goodbyeTimeoutMs`) and stop publishing. Call before the node stops. */
  async stop (): Promise<void> {
    if (this.#shutdown.signal.aborted) return
    try {
      await this.withdraw()
    } finally {
      this.#publisher.stop()
      this.#shutdown.abort(new EgtpError('ERR_CLOSED', 'metatracker client stopped'))
    }
  }

  /** One request to one tracker; undefined (and counted) when it fails or answers with a refusal. */
  async #ask<T extends TrackerRequest> (trackerId: string, request: T, timeoutMs = this.config.requestTimeoutMs): Promise<AnswerTo<T> | undefined> {
    const node = this.#node
    if (node === undefined) throw new EgtpError('ERR_NOT_STARTED', 'attach the node to the metatracker client first')
    const stats = this.#statsOf(trackerId)
    stats.requests++
    try {
      const reply = await node.query(trackerId, TRACKER_QUERY_TYPE, requestCodec.encode(request), { timeoutMs })
      if (!(reply instanceof Uint8Array)) throw new EgtpError('ERR_MALFORMED', 'answer is not bytes')
      const answer = answerCodec.decode(reply)
      if (answer.t !== EXPECTED[request.t]) throw new EgtpError('ERR_MALFORMED', `answer ${answer.t} to ${request.t}`)
      this.#failing.delete(trackerId) // it answered: alive, even if it refuses
      if (answer.c !== undefined) {
        stats.failures++
        this.#log('tracker %s refused %s: %s', trackerId, request.t, codeFromWire(answer.c))
        return request.t === 'mp' ? answer as never : undefined
      }
      return answer as never
    } catch (err) {
      // Our own node not running yet (a relay client shopping during start) says nothing about the tracker.
      if (isEgtpError(err, 'ERR_NOT_STARTED')) { stats.requests--; return undefined }
      stats.failures++
      if (this.#trackers.has(trackerId)) this.#failing.add(trackerId)
      if (!isAbortError(err)) this.#log('tracker %s failed %s: %e', trackerId, request.t, err)
      return undefined
    }
  }

  /** Decode and verify a record a tracker returned; undefined (and counted) when it is bad. */
  #checkRecord (trackerId: string, bytes: Uint8Array, problem: (r: ContactRecord) => string | undefined): ContactRecord | undefined {
    let record: ContactRecord
    try {
      record = decodeContactRecord(bytes, { now: this.#clock.now() })
    } catch (err) {
      this.#bad(trackerId, (err as Error).message)
      return undefined
    }
    const why = problem(record)
    if (why !== undefined) {
      this.#bad(trackerId, why)
      return undefined
    }
    return record
  }

  #bad (trackerId: string, reason: string): void {
    this.#statsOf(trackerId).badRecords++
    this.#log('tracker %s returned a bad record: %s', trackerId, reason)
    this.safeDispatch('tracker:bad-record', { trackerId, reason })
  }

  #statsOf (trackerId: string): TrackerStats {
    let s = this.#stats.get(trackerId)
    if (s === undefined) this.#stats.set(trackerId, s = { requests: 0, failures: 0, badRecords: 0 })
    return s
  }

  #addTracker (record: ContactRecord): void {
    this.#trackers.set(record.nodeId, record)
  }

  /** `fanout` trackers, a random choice each time; those whose last request failed only when too few others are known. */
  #pick (): string[] {
    const ids = shuffle([...this.#trackers.keys()])
    return [...ids.filter(id => !this.#failing.has(id)), ...ids.filter(id => this.#failing.has(id))].slice(0, this.config.fanout)
  }

  /**
   * One request to `fanout` trackers; with `seeds`, seeds when none is known, or when all fail (then asks once
   * more). With `useful`, returns once one answer is useful and the others had `settleMs` more: an answer still
   * pending then is `undefined`, with the request itself as `late`.
   */
  async #fanOut<T extends TrackerRequest> (request: T, useful?: (answer: AnswerTo<T>) => boolean): Promise<Array<FanOutResult<T>>> {
    if (this.#trackers.size === 0) await this.#reseed()
    const askAll = async (): Promise<Array<FanOutResult<T>>> => {
      const picked = this.#pick()
      const asks = picked.map(async t => ({ t, answer: await this.#ask(t, request) }))
      if (useful === undefined) return await Promise.all(asks)
      const settled = await settleEarly(asks, r => r.answer !== undefined && useful(r.answer), this.config.settleMs)
      return settled.map((r, i) => r ?? { t: picked[i]!, answer: undefined, late: asks[i]! })
    }
    const results = await askAll()
    if (this.#seeds === undefined || results.some(r => r.answer !== undefined) || [...this.#trackers.keys()].some(id => !this.#failing.has(id))) return results
    if (await this.#reseed() === 0) return results
    // The node's own record goes to the new trackers now, not at its next republish.
    if (request.t !== 'mp') this.#publisher.republish()
    return await askAll()
  }

  /** Call `seeds` (at most once per `minSeedIntervalMs`, one call at a time); how many trackers it added. */
  async #reseed (): Promise<number> {
    const seeds = this.#seeds
    if (this.#seeding !== undefined) return await this.#seeding
    const now = this.#clock.monotonic()
    if (seeds === undefined || this.#shutdown.signal.aborted || (this.#lastSeedAt !== undefined && now - this.#lastSeedAt < this.config.minSeedIntervalMs)) return 0
    this.#lastSeedAt = now
    const run = (async (): Promise<number> => {
      let records: ContactRecord[]
      try {
        records = await seeds({ signal: this.#shutdown.signal })
        if (!Array.isArray(records)) throw new TypeError('seeds must return an array of contact records')
      } catch (err) {
        if (isEgtpError(err, 'ERR_RATE_LIMITED') || isAbortError(err)) this.#log('no new trackers: %s', (err as Error).message)
        else this.#log.error('seeding trackers failed: %s', (err as Error).message)
        return 0
      }
      let added = 0
      for (const record of records.slice(0, 4 * this.config.maxTrackers)) {
        try { if (this.#takeSeed(record, records)) added++ } catch (err) { this.#log('a seed tracker record was refused: %s', (err as Error).message) }
      }
      this.#log('seeded %d new tracker(s); %d known', added, this.#trackers.size)
      this.safeDispatch('tracker:seeded', { added, known: this.#trackers.size })
      return added
    })().finally(() => { this.#seeding = undefined })
    this.#seeding = run
    return await run
  }

  /** Add a seed tracker, making room by dropping a failing tracker the seeds do not list; true if it is new or newer. */
  #takeSeed (record: ContactRecord, seeds: ContactRecord[]): boolean {
    const verified = verifyContactRecord(record, { now: this.#clock.now() })
    if (verified.nodeId === this.#identity?.nodeId) return false
    const known = this.#trackers.get(verified.nodeId)
    if (known !== undefined && known.seq >= verified.seq) return false
    if (known === undefined && this.#trackers.size >= this.config.maxTrackers) {
      const listed = new Set(seeds.map(r => r.nodeId))
      const dead = [...this.#failing].find(id => !listed.has(id))
      if (dead === undefined) return false
      this.#trackers.delete(dead)
      this.#failing.delete(dead)
    }
    this.#failing.delete(verified.nodeId)
    return this.addTracker(verified)
  }

  #remember (id: string, record: ContactRecord): void {
    if (this.config.maxCachedRecords === 0) return
    this.#cache.delete(id)
    if (this.#cache.size >= this.config.maxCachedRecords) this.#cache.delete(this.#cache.keys().next().value!)
    this.#cache.set(id, { record, fetchedAt: this.#clock.now() })
  }
}

/**
 * The node's lookup, discovery and announcer through metatrackers.
 * @example
 * ```ts
 * const identity = generateIdentity()
 * const mt = trackers({ trackers: [trackerRecord], identity })
 * const node = await createNode({ identity, commstrats: [tcp({ listen })()], lookup: mt, discovery: mt, announcer: mt })
 * mt.attach(node)
 * await node.start() // publishes its record; node.query(peerId, …) now finds peers by ID alone
 * ```
 */
export function trackers (init: MetatrackerClientInit): MetatrackerClient {
  return new MetatrackerClient(init)
}
