import type { FileHandle } from 'node:fs/promises'
import { crc32 } from 'node:zlib'
import { decodeValue, encodeValue, RELAY_EPOCH_BYTES } from '@egtp/codec'
import { EgtpError } from '@egtp/interface'
import { idKey } from './mailbox.ts'
import type { ClientQueue, Mailbox } from './mailbox.ts'

// The relay log's format (described in store.ts) and its replay, including the repair of a damaged log.

export const MAGIC = new TextEncoder().encode('EGTPRLG1')
export const HEADER_BYTES = 12
/** No record is larger than this (a payload plus a little). */
const MAX_RECORD_BYTES = 16 * 1024 * 1024 + 1024
const READ_CHUNK_BYTES = 1024 * 1024
export const LOG_FILE = 'relay.log'

export function storeError (message: string, cause?: unknown): EgtpError {
  return new EgtpError('ERR_RELAY_STORE', message, cause === undefined ? undefined : { cause })
}

export function encodeRecord (body: unknown[]): Uint8Array {
  const bytes = encodeValue(body)
  const out = new Uint8Array(HEADER_BYTES + bytes.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, bytes.length)
  view.setUint32(4, crc32(out.subarray(0, 4)))
  view.setUint32(8, crc32(bytes))
  out.set(bytes, HEADER_BYTES)
  return out
}

/** Reads records in chunks; `undefined` at the end of the good prefix. */
class RecordReader {
  readonly #fh: FileHandle
  readonly size: number
  offset: number
  droppedBytes = 0
  regions = 0
  #buf = new Uint8Array(0)
  #bufStart = 0

  constructor (fh: FileHandle, size: number, offset: number) {
    this.#fh = fh
    this.size = size
    this.offset = offset
  }

  async bytes (at: number, n: number): Promise<Uint8Array> {
    if (at < this.#bufStart || at + n > this.#bufStart + this.#buf.length) {
      const len = Math.min(Math.max(n, READ_CHUNK_BYTES), this.size - at)
      const buf = new Uint8Array(len)
      const { bytesRead } = await this.#fh.read(buf, 0, len, at)
      this.#buf = buf.subarray(0, bytesRead)
      this.#bufStart = at
    }
    return this.#buf.subarray(at - this.#bufStart, at - this.#bufStart + n)
  }

  async allZero (from: number): Promise<boolean> {
    for (let at = from; at < this.size; at += READ_CHUNK_BYTES) {
      const chunk = await this.bytes(at, Math.min(READ_CHUNK_BYTES, this.size - at))
      if (chunk.some(b => b !== 0)) return false
    }
    return true
  }

  /**
   * The next record body, `'torn'` for a torn tail, `undefined` at the end. With `recover`, a damaged region is
   * skipped up to the next offset where a whole record checks (counted in `droppedBytes` and `regions`).
   * @throws ERR_RELAY_STORE (without `recover`)
   */
  async next (recover: boolean): Promise<Uint8Array | 'torn' | undefined> {
    for (;;) {
      const r = await this.#at(this.offset)
      if (typeof r !== 'string' || r === 'torn') {
        if (r instanceof Uint8Array) this.offset += HEADER_BYTES + r.length
        return r
      }
      if (!recover) throw storeError(`${r} at byte ${this.offset}`)
      const start = this.offset
      let at = start + 1
      while (at + HEADER_BYTES <= this.size && !((await this.#at(at)) instanceof Uint8Array)) at++
      this.regions++
      if (at + HEADER_BYTES > this.size) {
        this.droppedBytes += this.size - start
        this.offset = this.size
        return undefined
      }
      this.droppedBytes += at - start
      this.offset = at
    }
  }

  /** The record body at `at`, `'torn'`, `undefined` at the end, or why it is damaged. */
  async #at (at: number): Promise<Uint8Array | 'torn' | undefined | `${string} record${string}`> {
    const left = this.size - at
    if (left === 0) return undefined
    if (left < HEADER_BYTES) return 'torn'
    const header = await this.bytes(at, HEADER_BYTES)
    const view = new DataView(header.buffer, header.byteOffset, HEADER_BYTES)
    const len = view.getUint32(0)
    if (view.getUint32(4) !== crc32(header.subarray(0, 4))) {
      // A crash can leave zeros after the last good record (the length was allocated, not written).
      if (await this.allZero(at)) return 'torn'
      return 'corrupt record header'
    }
    if (len > MAX_RECORD_BYTES) return `oversized record (${len} bytes)`
    if (at + HEADER_BYTES + len > this.size) return 'torn'
    const bodyCrc = view.getUint32(8)
    const body = (await this.bytes(at + HEADER_BYTES, len)).slice()
    if (crc32(body) !== bodyCrc) {
      if (at + HEADER_BYTES + len === this.size) return 'torn'
      return 'checksum mismatch in the record'
    }
    return body
  }
}

const isBytes = (v: unknown, len?: number): v is Uint8Array => v instanceof Uint8Array && (len === undefined || v.length === len)
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

export interface Replayed {
  /** Undefined when the header record was lost (a repair then starts a new epoch). */
  epoch: Uint8Array | undefined
  goodBytes: number
  size: number
  droppedBytes: number
  droppedRecords: number
  regions: number
}

export async function replay (fh: FileHandle, mailbox: Mailbox, toText: (id: Uint8Array) => string, recover: boolean): Promise<Replayed> {
  const size = (await fh.stat()).size
  const reader = new RecordReader(fh, size, MAGIC.length)
  if (size < MAGIC.length || !(await reader.bytes(0, MAGIC.length)).every((b, i) => b === MAGIC[i])) {
    throw storeError('not a relay log (bad magic)')
  }
  let epoch: Uint8Array | undefined
  let index = 0
  let droppedRecords = 0
  /** Queues whose positions skip lost enqueues (recovery only): renumbered at the end. */
  const gapped = new Set<ClientQueue>()
  const done = (goodBytes: number): Replayed => {
    if (epoch === undefined && !recover) throw storeError('relay log has no header')
    for (const queue of gapped) renumber(queue)
    return { epoch, goodBytes, size, droppedBytes: reader.droppedBytes, droppedRecords, regions: reader.regions }
  }
  for (;;) {
    const at = reader.offset
    const body = await reader.next(recover)
    if (body === undefined) break
    if (body === 'torn') return done(at)
    let rec: unknown
    try {
      rec = decodeValue(body, { maxDepth: 2, maxItems: 8 })
    } catch (err) {
      if (!recover) throw storeError(`undecodable record at byte ${at}`, err)
      droppedRecords++
      continue
    }
    if (index++ === 0 && Array.isArray(rec) && rec[0] === 'H') {
      if (rec[1] !== 1 || !isBytes(rec[2], RELAY_EPOCH_BYTES)) {
        if (!recover) throw storeError('relay log has no valid header')
        droppedRecords++
        continue
      }
      epoch = rec[2]
      if (isUint(rec[4])) mailbox.firstFreeId = Math.max(mailbox.firstFreeId, rec[4])
      continue
    }
    if (epoch === undefined && !recover) throw storeError('relay log has no valid header')
    if (!apply(rec, mailbox, toText, recover ? gapped : undefined)) {
      if (!recover) throw storeError(`invalid record at byte ${at}`)
      droppedRecords++
    }
  }
  return done(size)
}

/**
 * Apply one record; false when it is invalid. In recovery (`gapped` given), records that follow a dropped one
 * are applied as far as they make sense: a message for a client whose registration was lost re-creates it, and
 * a gap in queue positions (lost enqueues) is accepted, the queue noted in `gapped`.
 */
function apply (rec: unknown, mailbox: Mailbox, toText: (id: Uint8Array) => string, gapped: Set<ClientQueue> | undefined): boolean {
  if (!Array.isArray(rec) || typeof rec[0] !== 'string' || !isBytes(rec[1], 20)) return false
  let queue = mailbox.clients.get(idKey(rec[1]))
  switch (rec[0]) {
    case 'R': {
      if (rec.length !== 5 || !isUint(rec[2]) || !isUint(rec[3]) || typeof rec[4] !== 'boolean') return false
      const q = queue ?? mailbox.register(toText(rec[1]), rec[1], rec[2], true)!.queue
      q.lastSeen = rec[2]
      if (gapped !== undefined && rec[3] > q.nextId && q.length > 0) gapped.add(q)
      // A replayed registration continues exactly where it was (not at the mailbox's first free position).
      q.nextId = queue === undefined ? rec[3] : Math.max(q.nextId, rec[3])
      q.retain = rec[4]
      return true
    }
    case 'U':
      if (rec.length !== 2 || queue === undefined) return false
      gapped?.delete(queue)
      mailbox.unregister(queue)
      return true
    case 'E':
      if (rec.length !== 6 || !isUint(rec[2]) || !isBytes(rec[3], 20) || !isUint(rec[4]) || !isBytes(rec[5])) return false
      if (gapped !== undefined && queue === undefined) {
        queue = mailbox.register(toText(rec[1]), rec[1], rec[4], true)!.queue
        queue.retain = true
        queue.nextId = rec[2]
      }
      if (queue === undefined) return false
      if (rec[2] !== queue.nextId) {
        if (gapped === undefined || rec[2] < queue.nextId) return false
        if (queue.length > 0) gapped.add(queue)
      }
      mailbox.push(queue, { from: rec[3], at: rec[4], payload: rec[5], conn: 0, m: 0 }, rec[2])
      return true
    case 'A': {
      if (rec.length !== 3 || queue === undefined || !isUint(rec[2])) return false
      let upTo = rec[2]
      if (gapped?.has(queue) === true) {
        // Positions skip: remove the leading messages up to `upTo` by count (shiftUpTo counts from the first).
        let k = 0
        while (queue.head + k < queue.items.length && queue.items[queue.head + k]!.id <= upTo) k++
        upTo = k === 0 ? -1 : queue.firstId + k - 1
      }
      if (upTo >= 0) mailbox.remove(queue, upTo)
      return true
    }
    default:
      return false
  }
}

/**
 * Make a recovered queue's positions consecutive again (the delivery window relies on it). Safe because a
 * repaired log gets a new epoch, and clients restart their position tracking on a new epoch.
 */
function renumber (queue: ClientQueue): void {
  const live = queue.items.slice(queue.head)
  const first = live[0]?.id ?? queue.nextId
  queue.items = live.map((m, k) => ({ ...m, id: first + k }))
  queue.head = 0
  queue.nextId = first + live.length
}
