import { contactRecordFromWire } from '@egtp/identity'
import { createMessageCodec, recordMessages } from '@egtp/codec'
import { bytesEqual, disabledComponentLogger } from '@egtp/interface'
import type { ComponentLogger, Logger } from '@egtp/interface'
import { DEFAULT_FLUSH_INTERVAL_MS, DEFAULT_MAX_RECORDS } from '../constants.ts'
import { RecordLog } from './record-log.ts'
import type { LogEntry } from './record-log.ts'
import { randomIndices } from './store.ts'
import type { HeldRecord, PutOutcome, RecordStore } from './store.ts'

export interface MemoryStoreInit {
  /** Default {@link DEFAULT_MAX_RECORDS}. */
  maxRecords?: number
  /** Keep records in an append-only log in this directory, so a restart keeps them (default: memory only). */
  dataDir?: string
  /** How often the log is written (ms); a killed process loses at most this window. Default {@link DEFAULT_FLUSH_INTERVAL_MS}. */
  flushIntervalMs?: number
  random?: () => number
  logger?: ComponentLogger
}

interface Entry { seq: number, expiresAt: number, bytes: Uint8Array, services: readonly string[] }

const recordCodec = createMessageCodec(recordMessages)

/** Node ID, sequence number and services of an encoded record, not verified (it was, when published). */
function parseHeld (bytes: Uint8Array, expiresAt: number): HeldRecord {
  const { t: _t, ...wire } = recordCodec.decode(bytes)
  const r = contactRecordFromWire(wire)
  return { nodeId: r.nodeId, seq: r.seq, expiresAt, services: r.services, bytes }
}

/**
 * The embedded store: records in a map, indexed by service for random sampling; expired ones are dropped
 * lazily and by {@link MemoryRecordStore.sweep}. With `dataDir`, every change is also appended to a log that
 * is replayed (and compacted) when the store opens.
 */
export class MemoryRecordStore implements RecordStore {
  readonly kind = 'memory'
  readonly durable: boolean
  readonly #max: number
  readonly #records = new Map<string, Entry>()
  readonly #byService = new Map<string, { ids: string[], at: Map<string, number> }>()
  readonly #random: () => number
  readonly #log: RecordLog | undefined
  readonly #flushMs: number
  readonly #logger: Logger
  #timer: ReturnType<typeof setInterval> | undefined
  #lastFullSweep = -Infinity

  constructor (init: MemoryStoreInit = {}) {
    this.#max = init.maxRecords ?? DEFAULT_MAX_RECORDS
    if (!Number.isSafeInteger(this.#max) || this.#max < 1) throw new RangeError('maxRecords must be a positive integer')
    this.#random = init.random ?? Math.random
    this.durable = init.dataDir !== undefined
    this.#log = init.dataDir !== undefined ? new RecordLog(init.dataDir) : undefined
    this.#flushMs = init.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS
    this.#logger = (init.logger ?? disabledComponentLogger).forComponent('metatracker:store')
  }

  /** Replay the log (durable stores), dropping what expired before `now`, and start writing it. */
  async open (now: number): Promise<void> {
    if (this.#log === undefined) return
    for (const e of await this.#log.load()) {
      if (e.op === 'withdraw') {
        const held = this.#records.get(e.nodeId)
        if (held !== undefined && held.seq <= e.seq) this.#delete(e.nodeId, held)
      } else if (e.expiresAt > now) {
        const r = parseHeld(e.bytes, e.expiresAt)
        const held = this.#records.get(r.nodeId)
        if (held === undefined || held.seq <= r.seq) this.#set(r)
      }
    }
    await this.#log.compact(this.#snapshot())
    this.#timer = setInterval(() => { void this.#flush() }, this.#flushMs)
    this.#timer.unref?.()
  }

  get count (): number {
    return this.#records.size
  }

  async put (record: HeldRecord, now: number): Promise<PutOutcome> {
    const held = this.#records.get(record.nodeId)
    if (held !== undefined && held.expiresAt > now) {
      if (held.seq > record.seq) return 'stale'
      if (held.seq === record.seq) {
        if (!bytesEqual(held.bytes, record.bytes)) return 'stale'
        held.expiresAt = Math.max(held.expiresAt, record.expiresAt)
        this.#log?.append({ op: 'put', expiresAt: held.expiresAt, bytes: held.bytes })
        return 'refreshed'
      }
    }
    if (held === undefined && this.#records.size >= this.#max) {
      // Full: drop expired records (at most once a second: a sweep walks every record) and check again.
      if (now - this.#lastFullSweep >= 1000) this.sweep(now)
      if (this.#records.size >= this.#max) return 'full'
    }
    this.#set(record)
    this.#log?.append({ op: 'put', expiresAt: record.expiresAt, bytes: record.bytes })
    return 'stored'
  }

  async get (nodeIds: readonly string[], now: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = []
    for (const id of nodeIds) {
      const e = this.#records.get(id)
      if (e !== undefined && e.expiresAt > now) out.push(e.bytes)
    }
    return out
  }

  async withdraw (nodeId: string, seq: number, now: number): Promise<boolean> {
    const held = this.#records.get(nodeId)
    if (held === undefined || held.seq > seq) return false
    this.#delete(nodeId, held)
    this.#log?.append({ op: 'withdraw', nodeId, seq })
    return held.expiresAt > now
  }

  async sample (service: string, n: number, now: number): Promise<Uint8Array[]> {
    const index = this.#byService.get(service)
    if (index === undefined || n <= 0) return []
    const out: Uint8Array[] = []
    // Draw a few more than asked so that expired entries met on the way rarely leave the answer short.
    for (const i of randomIndices(index.ids.length, n + 8, this.#random)) {
      const e = this.#records.get(index.ids[i]!)
      if (e !== undefined && e.expiresAt > now) out.push(e.bytes)
      if (out.length >= n) break
    }
    return out
  }

  async size (): Promise<number> {
    return this.#records.size
  }

  /** Drop every expired record. */
  sweep (now: number): number {
    this.#lastFullSweep = now
    let dropped = 0
    for (const [id, e] of this.#records) {
      if (e.expiresAt <= now) {
        this.#delete(id, e)
        dropped++
      }
    }
    if (this.#log !== undefined && this.#log.entries > 2 * this.#records.size + 10_000) {
      this.#log.compact(this.#snapshot()).catch((err: unknown) => { this.#logger.error('compacting the record log failed: %e', err) })
    }
    return dropped
  }

  async close (): Promise<void> {
    clearInterval(this.#timer)
    await this.#log?.close()
  }

  async #flush (): Promise<void> {
    // A batch that failed to be written is missing from the log (a restart would not have it); memory still serves it.
    await this.#log?.flush().catch((err: unknown) => { this.#logger.error('writing the record log failed: %e', err) })
  }

  #snapshot (): LogEntry[] {
    return [...this.#records.values()].map(e => ({ op: 'put', expiresAt: e.expiresAt, bytes: e.bytes }))
  }

  #set (r: HeldRecord): void {
    const held = this.#records.get(r.nodeId)
    if (held !== undefined) this.#unindex(r.nodeId, held)
    this.#records.set(r.nodeId, { seq: r.seq, expiresAt: r.expiresAt, bytes: r.bytes, services: r.services })
    for (const s of r.services) {
      let index = this.#byService.get(s)
      if (index === undefined) this.#byService.set(s, index = { ids: [], at: new Map() })
      index.at.set(r.nodeId, index.ids.length)
      index.ids.push(r.nodeId)
    }
  }

  #delete (id: string, e: Entry): void {
    this.#unindex(id, e)
    this.#records.delete(id)
  }

  #unindex (id: string, e: Entry): void {
    for (const s of e.services) {
      const index = this.#byService.get(s)
      const i = index?.at.get(id)
      if (index === undefined || i === undefined) continue
      const last = index.ids.pop()!
      if (last !== id) {
        index.ids[i] = last
        index.at.set(last, i)
      }
      index.at.delete(id)
      if (index.ids.length === 0) this.#byService.delete(s)
    }
  }
}

/** The embedded store (see {@link MemoryRecordStore}); durable when given `dataDir`. Call `open` before use. */
export function memoryRecordStore (init: MemoryStoreInit = {}): MemoryRecordStore {
  return new MemoryRecordStore(init)
}
