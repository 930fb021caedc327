import { mkdir, open, rename, rm } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { decodeValue, encodeValue, RELAY_EPOCH_BYTES } from '@egtp/codec'
import { EgtpError } from '@egtp/interface'
import type { Logger } from '@egtp/interface'
import { idKey } from './mailbox.ts'
import type { ClientQueue, Mailbox, QueuedMessage } from './mailbox.ts'

/*
 * The durable queue: an append-only log, fsync'd in group commits. Why not an embedded database: the queue is
 * a FIFO per client with two operations (append, drop a prefix), which a log expresses exactly; replay is a
 * linear scan; and the candidates on this platform are poor (better-sqlite3 needs an ~80 s native build and
 * 13.x crashes on Node 20; Node 20 has no node:sqlite). A log needs no dependency and its failure modes are
 * few and testable: a torn final record (crash mid-append) or corruption.
 *
 * File: MAGIC, then records: u32 length | u32 crc32(length bytes) | u32 crc32(body) | body (msgpack array):
 *   ['H', 1, epoch, createdAt]            header, first record
 *   ['R', client, lastSeen, nextId, retain] registration (repeated on each reconnect)
 *   ['U', client]                         unregistration (idle client forgotten)
 *   ['E', client, id, from, at, payload]  enqueue; id is always the queue's next id
 *   ['A', client, upTo]                   messages up to `upTo` left the queue (acknowledged or expired)
 */

const MAGIC = new TextEncoder().encode('EGTPRLG1')
const HEADER_BYTES = 12
/** No record is larger than this (a payload plus a little). */
const MAX_RECORD_BYTES = 16 * 1024 * 1024 + 1024
const READ_CHUNK_BYTES = 1024 * 1024
const LOG_FILE = 'relay.log'

function storeError (message: string, cause?: unknown): EgtpError {
  return new EgtpError('ERR_RELAY_STORE', message, cause === undefined ? undefined : { cause })
}

function encodeRecord (body: unknown[]): Uint8Array {
  const bytes = encodeValue(body)
  const out = new Uint8Array(HEADER_BYTES + bytes.byteLength)
  const view = new DataView(out.buffer)
  view.setUint32(0, bytes.byteLength)
  view.setUint32(4, crc32(out.subarray(0, 4)))
  view.setUint32(8, crc32(bytes))
  out.set(bytes, HEADER_BYTES)
  return out
}

interface Deferred { promise: Promise<void>, resolve: () => void, reject: (err: Error) => void }
function deferred (): Deferred {
  let resolve!: () => void
  let reject!: (err: Error) => void
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej })
  promise.catch(() => {}) // callers that care await it; the others must not crash the process
  return { promise, resolve, reject }
}

export interface LogStoreInit {
  dataDir: string
  /** fsync after each group commit (default true; tests of replay logic may turn it off). */
  fsync?: boolean
  compactMinBytes: number
  logger: Logger
  random: (n: number) => Uint8Array
  now: () => number
}

export interface OpenedStore {
  store: LogStore
  epoch: Uint8Array
  /** Bytes of a torn final record that were cut off, when the last run crashed mid-append. */
  truncatedBytes: number
}

type Snapshot = Array<{ idBytes: Uint8Array, lastSeen: number, nextId: number, retain: boolean, items: QueuedMessage[] }>

/** The append-only log behind a persistent relay. */
export class LogStore {
  readonly path: string
  readonly #init: LogStoreInit
  readonly #epoch: Uint8Array
  #fh: FileHandle
  #fileBytes: number
  #pending: Uint8Array[] = []
  #batch: Deferred | undefined
  #running = false
  #compactRequested = false
  #snapshot: (() => Snapshot) | undefined
  #failed: EgtpError | undefined
  compactions = 0

  private constructor (init: LogStoreInit, fh: FileHandle, fileBytes: number, epoch: Uint8Array) {
    this.#init = init
    this.path = join(init.dataDir, LOG_FILE)
    this.#fh = fh
    this.#fileBytes = fileBytes
    this.#epoch = epoch
  }

  /**
   * Open (or create) the log in `init.dataDir` and replay it into `mailbox`.
   * @throws {EgtpError} ERR_RELAY_STORE when the log is corrupt (it is left untouched)
   */
  static async open (init: LogStoreInit, mailbox: Mailbox, toText: (id: Uint8Array) => string): Promise<OpenedStore> {
    await mkdir(init.dataDir, { recursive: true, mode: 0o700 })
    const path = join(init.dataDir, LOG_FILE)
    await rm(`${path}.tmp`, { force: true })
    let fh: FileHandle
    try {
      fh = await open(path, 'r+')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw storeError(`cannot open ${path}`, err)
      const epoch = init.random(RELAY_EPOCH_BYTES)
      await writeFileAtomically(init.dataDir, path, [MAGIC, encodeRecord(['H', 1, epoch, init.now()])])
      const appender = await open(path, 'a', 0o600)
      const store = new LogStore(init, appender, (await appender.stat()).size, epoch)
      return { store, epoch, truncatedBytes: 0 }
    }
    try {
      const { epoch, goodBytes, size } = await replay(fh, mailbox, toText)
      if (goodBytes < size) {
        init.logger.error('relay log %s: cut off a torn final record (%d bytes) left by a crash', path, size - goodBytes)
        await fh.truncate(goodBytes)
        await fh.sync()
      }
      await fh.close()
      const store = new LogStore(init, await open(path, 'a', 0o600), goodBytes, epoch)
      return { store, epoch, truncatedBytes: size - goodBytes }
    } catch (err) {
      await fh.close().catch(() => {})
      throw err
    }
  }

  get epoch (): Uint8Array {
    return this.#epoch
  }

  get fileBytes (): number {
    return this.#fileBytes
  }

  /** Set when a write failed: the store accepts nothing more. */
  get failed (): EgtpError | undefined {
    return this.#failed
  }

  register (queue: ClientQueue): void {
    void this.#append(['R', queue.idBytes, queue.lastSeen, queue.nextId, queue.retain])
  }

  unregister (queue: ClientQueue): void {
    void this.#append(['U', queue.idBytes])
  }

  /** Resolves once the message is durable. */
  enqueue (queue: ClientQueue, item: QueuedMessage): Promise<void> {
    return this.#append(['E', queue.idBytes, item.id, item.from, item.at, item.payload])
  }

  remove (queue: ClientQueue, upTo: number): void {
    void this.#append(['A', queue.idBytes, upTo])
  }

  /** Resolves once everything appended so far is durable. */
  async flush (): Promise<void> {
    if (this.#failed !== undefined) throw this.#failed
    if (this.#batch !== undefined) await this.#batch.promise
    while (this.#running) await new Promise(resolve => setImmediate(resolve))
  }

  /** Rewrite the log from the live state when it is mostly dead records. `liveBytes` estimates the live data. */
  maybeCompact (liveBytes: number, snapshot: () => Snapshot): void {
    if (this.#fileBytes < this.#init.compactMinBytes || this.#fileBytes < 2 * liveBytes) return
    this.#snapshot = snapshot
    this.#compactRequested = true
    this.#batch ??= deferred()
    this.#kick()
  }

  async close (): Promise<void> {
    try {
      await this.flush()
    } finally {
      await this.#fh.close().catch(() => {})
    }
  }

  #append (body: unknown[]): Promise<void> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed)
    this.#pending.push(encodeRecord(body))
    this.#batch ??= deferred()
    this.#kick()
    return this.#batch.promise
  }

  #kick (): void {
    if (this.#running) return
    this.#running = true
    setImmediate(() => { void this.#run() })
  }

  async #run (): Promise<void> {
    let batch: Deferred | undefined
    try {
      while (this.#pending.length > 0 || this.#compactRequested) {
        batch = this.#batch
        this.#batch = undefined
        if (this.#compactRequested && this.#snapshot !== undefined) {
          // The snapshot is taken now, synchronously: it already contains every pending record's effect.
          this.#compactRequested = false
          const snapshot = this.#snapshot()
          this.#pending = []
          await this.#rewrite(snapshot)
        } else {
          this.#compactRequested = false
          const records = this.#pending
          this.#pending = []
          const bytes = concat(records)
          await this.#fh.write(bytes)
          if (this.#init.fsync !== false) await this.#fh.datasync()
          this.#fileBytes += bytes.byteLength
        }
        batch?.resolve()
        batch = undefined
      }
    } catch (err) {
      this.#failed = storeError(`writing ${this.path} failed`, err)
      this.#init.logger.error('relay log %s: %e', this.path, err)
      batch?.reject(this.#failed)
      this.#batch?.reject(this.#failed)
      this.#batch = undefined
      this.#pending = []
    } finally {
      this.#running = false
    }
  }

  async #rewrite (snapshot: Snapshot): Promise<void> {
    const records: Uint8Array[] = [MAGIC, encodeRecord(['H', 1, this.#epoch, this.#init.now()])]
    for (const client of snapshot) {
      records.push(encodeRecord(['R', client.idBytes, client.lastSeen, client.nextId, client.retain]))
      for (const item of client.items) records.push(encodeRecord(['E', client.idBytes, item.id, item.from, item.at, item.payload]))
    }
    await this.#fh.close()
    await writeFileAtomically(this.#init.dataDir, this.path, records)
    this.#fh = await open(this.path, 'a', 0o600)
    this.#fileBytes = (await this.#fh.stat()).size
    this.compactions++
    this.#init.logger('relay log %s compacted to %d bytes', this.path, this.#fileBytes)
  }
}

function concat (parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!
  let n = 0
  for (const p of parts) n += p.byteLength
  const out = new Uint8Array(n)
  let pos = 0
  for (const p of parts) { out.set(p, pos); pos += p.byteLength }
  return out
}

/** Write `parts` to `path` via a temporary file, fsync it, rename it over `path`, fsync the directory. */
async function writeFileAtomically (dir: string, path: string, parts: Uint8Array[]): Promise<void> {
  const tmp = `${path}.tmp`
  const fh = await open(tmp, 'w', 0o600)
  try {
    let batch: Uint8Array[] = []
    let batchBytes = 0
    for (const part of parts) {
      batch.push(part)
      batchBytes += part.byteLength
      if (batchBytes >= 4 * 1024 * 1024) { await fh.write(concat(batch)); batch = []; batchBytes = 0 }
    }
    if (batch.length > 0) await fh.write(concat(batch))
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
  const d = await open(dir, 'r')
  try { await d.sync() } finally { await d.close() }
}

/** Reads records in chunks; `undefined` at the end of the good prefix. */
class RecordReader {
  readonly #fh: FileHandle
  readonly size: number
  offset: number
  #buf = new Uint8Array(0)
  #bufStart = 0

  constructor (fh: FileHandle, size: number, offset: number) {
    this.#fh = fh
    this.size = size
    this.offset = offset
  }

  async bytes (at: number, n: number): Promise<Uint8Array> {
    if (at < this.#bufStart || at + n > this.#bufStart + this.#buf.byteLength) {
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

  /** The next record body, `'torn'` for a torn tail, `undefined` at the end. @throws ERR_RELAY_STORE */
  async next (): Promise<Uint8Array | 'torn' | undefined> {
    const at = this.offset
    const left = this.size - at
    if (left === 0) return undefined
    if (left < HEADER_BYTES) return 'torn'
    const header = await this.bytes(at, HEADER_BYTES)
    const view = new DataView(header.buffer, header.byteOffset, HEADER_BYTES)
    const len = view.getUint32(0)
    if (view.getUint32(4) !== crc32(header.subarray(0, 4))) {
      // A crash can leave zeros after the last good record (the length was allocated, not written).
      if (await this.allZero(at)) return 'torn'
      throw storeError(`corrupt record header at byte ${at}`)
    }
    if (len > MAX_RECORD_BYTES) throw storeError(`record of ${len} bytes at byte ${at}`)
    if (at + HEADER_BYTES + len > this.size) return 'torn'
    const bodyCrc = view.getUint32(8)
    const body = (await this.bytes(at + HEADER_BYTES, len)).slice()
    if (crc32(body) !== bodyCrc) {
      if (at + HEADER_BYTES + len === this.size) return 'torn'
      throw storeError(`checksum mismatch in the record at byte ${at}`)
    }
    this.offset = at + HEADER_BYTES + len
    return body
  }
}

const isBytes = (v: unknown, len?: number): v is Uint8Array => v instanceof Uint8Array && (len === undefined || v.byteLength === len)
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

async function replay (fh: FileHandle, mailbox: Mailbox, toText: (id: Uint8Array) => string): Promise<{ epoch: Uint8Array, goodBytes: number, size: number }> {
  const size = (await fh.stat()).size
  const reader = new RecordReader(fh, size, MAGIC.byteLength)
  if (size < MAGIC.byteLength || !(await reader.bytes(0, MAGIC.byteLength)).every((b, i) => b === MAGIC[i])) {
    throw storeError('not a relay log (bad magic)')
  }
  let epoch: Uint8Array | undefined
  let index = 0
  for (;;) {
    const at = reader.offset
    const body = await reader.next()
    if (body === undefined) break
    if (body === 'torn') {
      if (epoch === undefined) throw storeError('relay log has no header')
      return { epoch, goodBytes: at, size }
    }
    let rec: unknown
    try {
      rec = decodeValue(body, { maxDepth: 2, maxItems: 8 })
    } catch (err) {
      throw storeError(`undecodable record at byte ${at}`, err)
    }
    const bad = (): EgtpError => storeError(`invalid record at byte ${at}`)
    if (!Array.isArray(rec) || typeof rec[0] !== 'string') throw bad()
    if (index++ === 0) {
      if (rec[0] !== 'H' || rec[1] !== 1 || !isBytes(rec[2], RELAY_EPOCH_BYTES)) throw storeError('relay log has no valid header')
      epoch = rec[2]
      continue
    }
    if (!isBytes(rec[1], 20)) throw bad()
    const queue = mailbox.clients.get(idKey(rec[1]))
    switch (rec[0]) {
      case 'R': {
        if (rec.length !== 5 || !isUint(rec[2]) || !isUint(rec[3]) || typeof rec[4] !== 'boolean') throw bad()
        const q = queue ?? mailbox.register(toText(rec[1]), rec[1], rec[2], true)!.queue
        q.lastSeen = rec[2]
        q.nextId = Math.max(q.nextId, rec[3])
        q.retain = rec[4]
        break
      }
      case 'U':
        if (rec.length !== 2 || queue === undefined) throw bad()
        mailbox.unregister(queue)
        break
      case 'E':
        if (rec.length !== 6 || queue === undefined || rec[2] !== queue.nextId || !isBytes(rec[3], 20) || !isUint(rec[4]) || !isBytes(rec[5])) throw bad()
        mailbox.push(queue, { from: rec[3], at: rec[4], payload: rec[5], conn: 0, m: 0 })
        break
      case 'A':
        if (rec.length !== 3 || queue === undefined || !isUint(rec[2])) throw bad()
        mailbox.remove(queue, rec[2])
        break
      default:
        throw bad()
    }
  }
  if (epoch === undefined) throw storeError('relay log has no header')
  return { epoch, goodBytes: size, size }
}
