import { createMessageCodec, recordMessages } from '@egtp/codec'
import { checkPeerKey, contactRecordFromWire, encodeContactRecord, nodeIdFromBytes, verifyContactRecord } from '@egtp/identity'
import { EgtpError, TypedEventTarget, disabledComponentLogger, isEgtpError, systemClock } from '@egtp/interface'
import type { Clock, ComponentLogger, ContactRecord, EgtpErrorCode, Logger } from '@egtp/interface'
import type { EgtpNode, HandlerContext } from '@egtp/node'
import { TRACKER_QUERY_TYPE, answerCodec, requestCodec, verifyGoodbye } from '../protocol.ts'
import type { TrackerAnswer, TrackerRequest } from '../protocol.ts'
import { resolveServerConfig } from './config.ts'
import type { MetatrackerServerConfig, MetatrackerServerInit } from './config.ts'
import { MemoryRecordStore } from './memory-store.ts'
import type { MetatrackerStats } from './metrics.ts'
import { SenderRates } from './rate.ts'
import type { HeldRecord, RecordStore } from './store.ts'

/** What a tracker runs on: the node its requests arrive at, and where it keeps records. */
export interface MetatrackerServerComponents {
  /** The tracker's own EGTP node (advertise the `metatracker` service in its record). */
  node: EgtpNode
  /** Default: a memory store the server opens and closes itself. An injected store is opened and closed by its owner. */
  store?: RecordStore
  clock?: Clock
  logger?: ComponentLogger
}

export interface MetatrackerServerEvents extends Record<string, unknown> {
  /** A record was stored (new or newer). */
  'tracker:publish': { nodeId: string, seq: number, from: string }
  /** A request was refused. */
  'tracker:refuse': { type: string, code: EgtpErrorCode, from: string }
}

type RequestKind = 'publish' | 'lookup' | 'discover' | 'goodbye'
const KIND: Record<TrackerRequest['t'], RequestKind> = { mp: 'publish', ml: 'lookup', md: 'discover', mg: 'goodbye' }
const recordCodec = createMessageCodec(recordMessages)
const NO_SERVICES: readonly string[] = Object.freeze([])

/** A refusal that goes into the answer (not a failed query). */
class Refusal extends Error {
  readonly code: EgtpErrorCode
  constructor (code: EgtpErrorCode) {
    super(code)
    this.code = code
  }
}

/**
 * The metatracker service on an EGTP node: `metatrackerServer(init)({ node, store })`. Requests arrive as
 * queries of type `metatracker` over the node's authenticated sessions; every record is verified before it
 * is stored, and refusals are answered with a code.
 */
export class MetatrackerServer extends TypedEventTarget<MetatrackerServerEvents> {
  readonly config: MetatrackerServerConfig
  readonly #node: EgtpNode
  readonly #store: RecordStore
  readonly #ownsStore: boolean
  readonly #clock: Clock
  readonly #log: Logger
  readonly #publishRates: SenderRates
  readonly #lookupRates: SenderRates
  readonly #requests: Record<string, Record<string, number>> = {}
  readonly #refused: Record<string, number> = {}
  #found = 0
  #lastRecords = 0
  #sweepTimer: ReturnType<typeof setInterval> | undefined
  #ownTimer: ReturnType<typeof setInterval> | undefined
  #running = false
  readonly #onOwnRecord = (evt: CustomEvent<ContactRecord>): void => { void this.#holdOwn(evt.detail) }

  constructor (init: MetatrackerServerInit, components: MetatrackerServerComponents) {
    super()
    this.config = resolveServerConfig(init)
    this.#node = components.node
    this.#ownsStore = components.store === undefined
    this.#store = components.store ?? new MemoryRecordStore()
    this.#clock = components.clock ?? systemClock
    this.#log = (components.logger ?? disabledComponentLogger).forComponent('metatracker')
    this.#publishRates = new SenderRates(this.config.publishesPerSecond, this.config.maxTrackedSenders)
    this.#lookupRates = new SenderRates(this.config.lookupsPerSecond, this.config.maxTrackedSenders)
  }

  get store (): RecordStore {
    return this.#store
  }

  /** Register the request handler on the node and hold the node's own record (so it is discoverable). */
  async start (): Promise<void> {
    if (this.#running) return
    if (this.#ownsStore && this.#store instanceof MemoryRecordStore) await this.#store.open(this.#clock.now())
    this.#node.handle(TRACKER_QUERY_TYPE, async (payload, ctx) => await this.#handle(payload, ctx))
    this.#node.addEventListener('contact:change', this.#onOwnRecord)
    const own = this.#node.contactRecord()
    if (own !== undefined) await this.#holdOwn(own)
    if (this.#store.sweep !== undefined) {
      this.#sweepTimer = setInterval(() => { this.#store.sweep?.(this.#clock.now()) }, this.config.sweepIntervalMs)
      this.#sweepTimer.unref?.()
    }
    // The node re-signs its record on its own schedule; hold it again well within the tracker's TTL.
    this.#ownTimer = setInterval(() => {
      const record = this.#node.contactRecord()
      if (record !== undefined) void this.#holdOwn(record)
    }, Math.max(1000, Math.floor(this.config.recordTtlMs / 3)))
    this.#ownTimer.unref?.()
    this.#running = true
    this.#log('started (%s store)', this.#store.kind)
  }

  /** Stop answering (later requests get ERR_NO_HANDLER); closes the store if the server made it. */
  async stop (): Promise<void> {
    if (!this.#running) return
    this.#running = false
    clearInterval(this.#sweepTimer)
    clearInterval(this.#ownTimer)
    this.#node.unhandle(TRACKER_QUERY_TYPE)
    this.#node.removeEventListener('contact:change', this.#onOwnRecord)
    if (this.#ownsStore) await this.#store.close()
  }

  async stats (): Promise<MetatrackerStats> {
    // A store that cannot answer (Redis down) leaves the last count; the refusals show the outage.
    this.#lastRecords = await this.#store.size(this.#clock.now()).catch(() => this.#lastRecords)
    return {
      records: this.#lastRecords,
      store: this.#store.kind,
      durable: this.#store.durable,
      requests: structuredClone(this.#requests),
      refused: { ...this.#refused },
      found: this.#found
    }
  }

  async #handle (payload: unknown, ctx: HandlerContext): Promise<Uint8Array> {
    let request: TrackerRequest
    try {
      if (!(payload instanceof Uint8Array)) throw new EgtpError('ERR_MALFORMED', 'a metatracker request is encoded bytes')
      request = requestCodec.decode(payload)
    } catch (err) {
      this.#count('invalid', isEgtpError(err) ? err.code : 'ERR_MALFORMED', ctx.peerId)
      throw err
    }
    const kind = KIND[request.t]
    try {
      const answer = await this.#answer(request, ctx.peerId)
      this.#count(kind, 'ok', ctx.peerId)
      return answerCodec.encode(answer)
    } catch (err) {
      const code: EgtpErrorCode = err instanceof Refusal ? err.code : isEgtpError(err) ? err.code : 'ERR_TRACKER_STORE'
      if (!(err instanceof Refusal) && !isEgtpError(err)) this.#log.error('%s request failed: %e', kind, err)
      this.#count(kind, code, ctx.peerId)
      return answerCodec.encode(refusal(request.t, code))
    }
  }

  async #answer (request: TrackerRequest, from: string): Promise<TrackerAnswer> {
    const now = this.#clock.now()
    switch (request.t) {
      case 'mp': {
        if (!this.#publishRates.take(from, this.#clock.monotonic())) throw new Refusal('ERR_RATE_LIMITED')
        const held = this.#verify(request.r, now)
        await this.#put(held, now, from)
        return { t: 'mpa', h: held.expiresAt - now }
      }
      case 'ml': {
        if (!this.#lookupRates.take(from, this.#clock.monotonic())) throw new Refusal('ERR_RATE_LIMITED')
        const r = await this.#storeCall(async () => await this.#store.get(request.ids.map(id => nodeIdFromBytes(id)), now))
        this.#found += r.length
        return { t: 'mla', r }
      }
      case 'md': {
        if (!this.#lookupRates.take(from, this.#clock.monotonic())) throw new Refusal('ERR_RATE_LIMITED')
        return { t: 'mda', r: await this.#storeCall(async () => await this.#store.sample(request.s, request.n, now)) }
      }
      case 'mg': {
        if (!this.#publishRates.take(from, this.#clock.monotonic())) throw new Refusal('ERR_RATE_LIMITED')
        const nodeId = nodeIdFromBytes(request.id)
        checkPeerKey(nodeId, request.k)
        if (!verifyGoodbye(request.k, request.id, request.q, request.g)) throw new Refusal('ERR_SIGNATURE')
        return { t: 'mga', d: await this.#storeCall(async () => await this.#store.withdraw(nodeId, request.q, now)) }
      }
    }
  }

  /** Size, structure, expiry (cheap checks first), then key and signature. */
  #verify (bytes: Uint8Array, now: number): HeldRecord {
    if (bytes.length > this.config.maxRecordBytes) throw new Refusal('ERR_RECORD_TOO_LARGE')
    const { t: _t, ...wire } = recordCodec.decode(bytes)
    const record = contactRecordFromWire(wire)
    if (record.expiresAt <= now) throw new Refusal('ERR_RECORD_EXPIRED')
    const verified = verifyContactRecord(record, { now })
    return {
      nodeId: verified.nodeId,
      seq: verified.seq,
      expiresAt: Math.min(verified.expiresAt, now + this.config.recordTtlMs),
      services: verified.services.length === 0 ? NO_SERVICES : verified.services,
      bytes: bytes.slice() // the request's bytes view the frame buffer
    }
  }

  async #put (held: HeldRecord, now: number, from: string): Promise<void> {
    const outcome = await this.#storeCall(async () => await this.#store.put(held, now))
    if (outcome === 'stale') throw new Refusal('ERR_STALE_RECORD')
    if (outcome === 'full') throw new Refusal('ERR_LIMIT')
    if (outcome === 'stored') this.safeDispatch('tracker:publish', { nodeId: held.nodeId, seq: held.seq, from })
  }

  async #storeCall<T> (fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      if (isEgtpError(err, 'ERR_TRACKER_STORE')) throw err
      throw new EgtpError('ERR_TRACKER_STORE', `${this.#store.kind} store failed`, { cause: err })
    }
  }

  async #holdOwn (record: ContactRecord): Promise<void> {
    try {
      const now = this.#clock.now()
      await this.#put(this.#verify(encodeContactRecord(record), now), now, this.#node.nodeId)
    } catch (err) {
      this.#log.error('holding the tracker\'s own record failed: %e', err)
    }
  }

  #count (kind: string, outcome: string, from: string): void {
    const byOutcome = (this.#requests[kind] ??= {})
    byOutcome[outcome] = (byOutcome[outcome] ?? 0) + 1
    if (outcome !== 'ok') {
      this.#refused[outcome] = (this.#refused[outcome] ?? 0) + 1
      this.safeDispatch('tracker:refuse', { type: kind, code: outcome as EgtpErrorCode, from })
    }
  }
}

function refusal (t: TrackerRequest['t'], code: EgtpErrorCode): TrackerAnswer {
  switch (t) {
    case 'mp': return { t: 'mpa', c: code }
    case 'ml': return { t: 'mla', c: code, r: [] }
    case 'md': return { t: 'mda', c: code, r: [] }
    case 'mg': return { t: 'mga', c: code, d: false }
  }
}

/**
 * Create a metatracker server: `metatrackerServer(init)(components)`, then `start()`.
 * @example
 * ```ts
 * const node = await createNode({ commstrats: [tcp({ listen })()], services: ['metatracker'] })
 * const tracker = metatrackerServer({ recordTtlMs: 30 * 60_000 })({ node })
 * await node.start(); await tracker.start()
 * ```
 */
export function metatrackerServer (init: MetatrackerServerInit = {}): (components: MetatrackerServerComponents) => MetatrackerServer {
  const config = resolveServerConfig(init)
  return (components) => new MetatrackerServer(config, components)
}
