import { mkdir, open, rename } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { FrameDecoder, decodeValue, encodeFrame, encodeValue } from '@egtp/codec'
import { EgtpError } from '@egtp/interface'

/** One log entry: a record held until `expiresAt`, or the withdrawal of a node's records up to `seq`. */
export type LogEntry = { op: 'put', expiresAt: number, bytes: Uint8Array } | { op: 'withdraw', nodeId: string, seq: number }

const FILE = 'records.log'
/** Largest log entry read back (an encoded record is at most 8 KiB). */
const MAX_ENTRY_BYTES = 16 * 1024

/**
 * The durable memory store's append-only log: frames of `[1, expiresAt, bytes]` or `[2, nodeId, seq]`.
 * Appends are batched and written every flush interval (a killed process loses at most that window);
 * `compact` rewrites the file from the live records through a temporary file and a rename.
 */
export class RecordLog {
  readonly #dir: string
  #file: FileHandle | undefined
  #pending: Uint8Array[] = []
  #chain: Promise<void> = Promise.resolve()
  /** Entries in the file (for deciding when to compact). */
  entries = 0

  constructor (dir: string) {
    this.#dir = dir
  }

  /** Read every entry (a torn last frame from a crash is ignored), then open the file for appending. */
  async load (): Promise<LogEntry[]> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 })
    const path = join(this.#dir, FILE)
    const out: LogEntry[] = []
    const fh = await open(path, 'a+', 0o600)
    try {
      const data = await fh.readFile()
      const decoder = new FrameDecoder({ maxFrameBytes: MAX_ENTRY_BYTES })
      try {
        for (const frame of decoder.push(data)) {
          const v = decodeValue(frame) as unknown[]
          if (Array.isArray(v) && v[0] === 1 && typeof v[1] === 'number' && v[2] instanceof Uint8Array) {
            out.push({ op: 'put', expiresAt: v[1], bytes: v[2].slice() })
          } else if (Array.isArray(v) && v[0] === 2 && typeof v[1] === 'string' && typeof v[2] === 'number') {
            out.push({ op: 'withdraw', nodeId: v[1], seq: v[2] })
          }
        }
      } catch (err) {
        throw new EgtpError('ERR_TRACKER_STORE', `record log ${path} is corrupt`, { cause: err })
      }
    } finally {
      await fh.close()
    }
    this.entries = out.length
    this.#file = await open(path, 'a', 0o600)
    return out
  }

  append (entry: LogEntry): void {
    this.#pending.push(encodeFrame(encodeValue(entry.op === 'put' ? [1, entry.expiresAt, entry.bytes] : [2, entry.nodeId, entry.seq])))
    this.entries++
  }

  /** Write what was appended so far. */
  async flush (): Promise<void> {
    await this.#then(async () => {
      if (this.#pending.length === 0 || this.#file === undefined) return
      const batch = this.#pending
      this.#pending = []
      await this.#file.write(Buffer.concat(batch))
    })
  }

  /** Run `op` after the previous one; a failure rejects this call only, never the later ones. */
  async #then (op: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(op)
    this.#chain = run.catch(() => {})
    await run
  }

  /** Replace the log by these entries (the live records). */
  async compact (live: LogEntry[]): Promise<void> {
    this.#pending = [] // the snapshot holds everything appended so far; later appends go to the new file
    await this.#then(async () => {
      const tmp = join(this.#dir, `${FILE}.tmp`)
      const fh = await open(tmp, 'w', 0o600)
      try {
        await fh.write(Buffer.concat(live.map(e => encodeFrame(encodeValue(e.op === 'put' ? [1, e.expiresAt, e.bytes] : [2, e.nodeId, e.seq])))))
        await fh.sync()
      } finally {
        await fh.close()
      }
      await rename(tmp, join(this.#dir, FILE))
      await this.#file?.close()
      this.#file = await open(join(this.#dir, FILE), 'a', 0o600)
      this.entries = live.length
    })
  }

  async close (): Promise<void> {
    await this.flush()
    await this.#chain
    await this.#file?.sync()
    await this.#file?.close()
    this.#file = undefined
  }
}
