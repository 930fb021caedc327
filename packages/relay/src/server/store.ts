import { mkdir, open, rename, rm } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { RELAY_EPOCH_BYTES } from '@egtp/codec'
import type { EgtpError, Logger } from '@egtp/interface'
import { LOG_FILE, MAGIC, encodeRecord, replay, storeError } from './log-format.ts'
import type { Replayed } from './log-format.ts'
import type { ClientQueue, Mailbox, QueuedMessage } from './mailbox.ts'

/*
 * The durable queue: an append-only log, fsync'd in group commits. Why not an embedded database: the queue is
 * a FIFO per client with two operations (append, drop a prefix), which a log expresses exactly; replay is a
 * linear scan; and the candidates on this platform are poor (better-sqlite3 needs an ~80 s native build and
 * 13.x crashes on Node 20; Node 20 has no node:sqlite). A log needs no dependency and its failure modes are
 * few and testable: a torn final record (crash mid-append) or corruption.
 *
 * File: MAGIC, then records: u32 length | u32 crc32(length bytes) | u32 crc32(body) | body (msgpack array):
 *   ['H', 1, epoch, createdAt, firstFree] header, first record; firstFree (optional): the first position of a
 *                                         new mailbox (Mailbox.firstFreeId when the log was written)
 *   ['R', client, lastSeen, nextId, retain] registration (repeated on each reconnect)
 *   ['U', client]                         unregistration (idle client forgotten)
 *   ['E', client, id, from, at, payload]  enqueue; id is always the queue's next id
 *   ['A', client, upTo]                   messages up to `upTo` left the queue (acknowledged or expired)
 */

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
  /**
   * Recover from corruption inside the log (default true): damaged records are skipped, the intact ones
   * replayed, the damaged file kept beside the new one, and the epoch changed (accepted messages may be lost).
   * False: opening fails with ERR_RELAY_STORE and the log is left untouched.
   */
  repair?: boolean
}

/** What a repair of a damaged log dropped. */
export interface LogDamage {
  /** Bytes skipped over damaged regions. */
  droppedBytes: number
  /** Records that passed their checksums but could not be applied (undecodable, or inconsistent). */
  droppedRecords: number
  /** Damaged regions found. */
  regions: number
  /** Where the damaged file was kept. */
  keptAs: string
}

export interface OpenedStore {
  store: LogStore
  epoch: Uint8Array
  /** Bytes of a torn final record that were cut off, when the last run crashed mid-append. */
  truncatedBytes: number
  /** Set when the log was damaged inside and repaired (the epoch is then a new one). */
  damage?: LogDamage
}

/** The live state a compaction or a repair writes: every mailbox and the first free position. */
interface Snapshot {
  firstFreeId: number
  clients: Array<{ idBytes: Uint8Array, lastSeen: number, nextId: number, retain: boolean, items: QueuedMessage[] }>
}

function snapshotOf (mailbox: Mailbox): Snapshot {
  return {
    firstFreeId: mailbox.firstFreeId,
    // The registration names the first live id; the E records that follow continue from it.
    clients: [...mailbox.clients.values()].map(q => ({ idBytes: q.idBytes, lastSeen: q.lastSeen, nextId: q.firstId, retain: q.retain, items: q.items.slice(q.head) }))
  }
}

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
  #mailbox: Mailbox | undefined
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
      const replayed = await replay(fh, mailbox, toText, init.repair !== false)
      const { goodBytes, size } = replayed
      if (replayed.droppedBytes > 0 || replayed.droppedRecords > 0 || replayed.epoch === undefined) {
        await fh.close()
        return await LogStore.#repaired(init, path, mailbox, replayed)
      }
      const epoch = replayed.epoch
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

  /**
   * A damaged log was replayed as far as it was intact: keep the damaged file, write a fresh one from the
   * recovered state under a new epoch (clients learn that accepted messages may have been lost), and say what
   * was dropped.
   */
  static async #repaired (init: LogStoreInit, path: string, mailbox: Mailbox, replayed: Replayed): Promise<OpenedStore> {
    const keptAs = `${path}.damaged-${init.now()}`
    await rename(path, keptAs)
    const epoch = init.random(RELAY_EPOCH_BYTES)
    await writeFileAtomically(init.dataDir, path, snapshotRecords(epoch, init.now(), snapshotOf(mailbox)))
    const damage: LogDamage = { droppedBytes: replayed.droppedBytes, droppedRecords: replayed.droppedRecords, regions: replayed.regions, keptAs }
    init.logger.error('relay log %s was damaged: kept %d messages for %d clients, dropped %d bytes in %d regions and %d records; new epoch; the damaged file is %s',
      path, mailbox.totalMessages, mailbox.clients.size, damage.droppedBytes, damage.regions, damage.droppedRecords, keptAs)
    const appender = await open(path, 'a', 0o600)
    const store = new LogStore(init, appender, (await appender.stat()).size, epoch)
    return { store, epoch, truncatedBytes: 0, damage }
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

  /** Rewrite the log from `mailbox` when it is mostly dead records. */
  maybeCompact (mailbox: Mailbox): void {
    const liveBytes = mailbox.totalBytes + mailbox.totalMessages * 64 + mailbox.clients.size * 48
    if (this.#fileBytes < this.#init.compactMinBytes || this.#fileBytes < 2 * liveBytes) return
    this.#mailbox = mailbox
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
        if (this.#compactRequested && this.#mailbox !== undefined) {
          // The snapshot is taken now, synchronously: it already contains every pending record's effect.
          this.#compactRequested = false
          const snapshot = snapshotOf(this.#mailbox)
          this.#pending = []
          await this.#rewrite(snapshot)
        } else {
          this.#compactRequested = false
          const records = this.#pending
          this.#pending = []
          const bytes = concat(records)
          await this.#fh.write(bytes)
          if (this.#init.fsync !== false) await this.#fh.datasync()
          this.#fileBytes += bytes.length
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
    await this.#fh.close()
    await writeFileAtomically(this.#init.dataDir, this.path, snapshotRecords(this.#epoch, this.#init.now(), snapshot))
    this.#fh = await open(this.path, 'a', 0o600)
    this.#fileBytes = (await this.#fh.stat()).size
    this.compactions++
    this.#init.logger('relay log %s compacted to %d bytes', this.path, this.#fileBytes)
  }
}

/** A whole log holding `snapshot`. */
function snapshotRecords (epoch: Uint8Array, now: number, snapshot: Snapshot): Uint8Array[] {
  const records: Uint8Array[] = [MAGIC, encodeRecord(['H', 1, epoch, now, snapshot.firstFreeId])]
  for (const client of snapshot.clients) {
    records.push(encodeRecord(['R', client.idBytes, client.lastSeen, client.nextId, client.retain]))
    for (const item of client.items) records.push(encodeRecord(['E', client.idBytes, item.id, item.from, item.at, item.payload]))
  }
  return records
}

function concat (parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let pos = 0
  for (const p of parts) { out.set(p, pos); pos += p.length }
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
      batchBytes += part.length
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

