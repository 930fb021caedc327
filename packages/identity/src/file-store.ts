import { mkdir, open, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { EgtpError, isEgtpError } from '@egtp/interface'
import type { AbortOptions, KeyValueStore } from '@egtp/interface'
import { DEFAULT_FILE_STORE_MAX_VALUE_BYTES, MAX_FILE_STORE_KEY_BYTES, MAX_FILE_STORE_VALUE_BYTES } from './constants.ts'
import { DIR_MODE, errnoCode, syncDirectory, writeFileAtomic } from './fs-util.ts'
import { checkBytes, copyBytes } from './util.ts'

export interface FileStoreInit {
  /** Largest value `put` accepts and `get` reads. Default {@link DEFAULT_FILE_STORE_MAX_VALUE_BYTES}. */
  maxValueBytes?: number
}

const encoder = new TextEncoder()
const VALUE_SUFFIX = '.v'

/**
 * A key's file name: bytes in [a-z0-9_-] kept, every other UTF-8 byte written `%xx`. Lowercase-only output is
 * safe on case-insensitive file systems, never starts with `.` (temp files do), and is injective.
 */
export function fileStoreFileName (key: string): string {
  if (typeof key !== 'string' || key.length === 0) throw new TypeError('FileStore: key must be a non-empty string')
  const bytes = encoder.encode(key)
  if (bytes.length > MAX_FILE_STORE_KEY_BYTES) throw new RangeError(`FileStore: key must be at most ${MAX_FILE_STORE_KEY_BYTES} UTF-8 bytes`)
  let out = ''
  for (const b of bytes) {
    const safe = (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x5f || b === 0x2d
    out += safe ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`
  }
  return out + VALUE_SUFFIX
}

/**
 * A {@link KeyValueStore} in a directory, one file per key: for session replay state and other small values
 * that must survive restarts. Every `put` is atomic and durable when it resolves (temp file, fsync, rename,
 * fsync of the directory); files are 0600 and the directory is created 0700. A directory that group or others
 * can write is refused (ERR_KEYSTORE_PERMISSIONS).
 */
export class FileStore implements KeyValueStore {
  readonly directory: string
  readonly maxValueBytes: number
  #ready: Promise<void> | undefined
  // Per-key chains so concurrent puts/deletes of one key apply in call order. Entries leave when idle.
  readonly #chains = new Map<string, Promise<unknown>>()

  constructor (directory: string, init: FileStoreInit = {}) {
    if (typeof directory !== 'string' || directory.length === 0) throw new TypeError('FileStore: directory must be a non-empty string')
    const max = init.maxValueBytes ?? DEFAULT_FILE_STORE_MAX_VALUE_BYTES
    if (!Number.isInteger(max) || max < 1 || max > MAX_FILE_STORE_VALUE_BYTES) {
      throw new RangeError(`FileStore: maxValueBytes must be an integer 1..${MAX_FILE_STORE_VALUE_BYTES}`)
    }
    this.directory = directory
    this.maxValueBytes = max
  }

  #prepare (): Promise<void> {
    this.#ready ??= (async () => {
      try {
        await mkdir(this.directory, { recursive: true, mode: DIR_MODE })
        const st = await stat(this.directory)
        if (!st.isDirectory()) throw new EgtpError('ERR_KEYSTORE', `store ${this.directory} is not a directory`)
        if (process.platform !== 'win32' && (st.mode & 0o022) !== 0) {
          throw new EgtpError('ERR_KEYSTORE_PERMISSIONS', `store directory ${this.directory} is writable by group or others (mode ${(st.mode & 0o777).toString(8)}); run: chmod 700 ${this.directory}`)
        }
      } catch (err) {
        this.#ready = undefined // retry next time (e.g. after the operator fixed the mode)
        if (isEgtpError(err)) throw err
        throw new EgtpError('ERR_KEYSTORE', `cannot prepare store directory ${this.directory}`, { cause: err })
      }
    })()
    return this.#ready
  }

  async #serial<T> (name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#chains.get(name) ?? Promise.resolve()
    const run = prev.then(fn, fn)
    const tail = run.catch(() => {})
    this.#chains.set(name, tail)
    try {
      return await run
    } finally {
      if (this.#chains.get(name) === tail) this.#chains.delete(name)
    }
  }

  async get (key: string, options: AbortOptions = {}): Promise<Uint8Array | undefined> {
    const name = fileStoreFileName(key)
    options.signal?.throwIfAborted()
    await this.#prepare()
    return await this.#serial(name, async () => {
      const path = join(this.directory, name)
      let fh
      try {
        fh = await open(path, 'r')
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') return undefined
        throw new EgtpError('ERR_KEYSTORE', `cannot open ${path}`, { cause: err })
      }
      try {
        const st = await fh.stat()
        if (!st.isFile()) throw new EgtpError('ERR_KEYSTORE', `${path} is not a regular file`)
        if (st.size > this.maxValueBytes) throw new EgtpError('ERR_KEYSTORE_CORRUPT', `${path} holds ${st.size} bytes, more than maxValueBytes ${this.maxValueBytes}`)
        const buf = new Uint8Array(st.size)
        const { bytesRead } = await fh.read(buf, 0, st.size, 0)
        if (bytesRead !== st.size) throw new EgtpError('ERR_KEYSTORE_CORRUPT', `${path} changed while being read`)
        return buf
      } catch (err) {
        if (isEgtpError(err)) throw err
        throw new EgtpError('ERR_KEYSTORE', `cannot read ${path}`, { cause: err })
      } finally {
        await fh.close()
      }
    })
  }

  async put (key: string, value: Uint8Array, options: AbortOptions = {}): Promise<void> {
    const name = fileStoreFileName(key)
    checkBytes('FileStore.put: value', value)
    if (value.length > this.maxValueBytes) throw new RangeError(`FileStore.put: value of ${value.length} bytes exceeds maxValueBytes ${this.maxValueBytes}`)
    const data = copyBytes(value) // the caller may reuse its buffer while we write
    options.signal?.throwIfAborted()
    await this.#prepare()
    await this.#serial(name, async () => {
      try {
        await writeFileAtomic(join(this.directory, name), data, { signal: options.signal })
      } catch (err) {
        if (options.signal?.aborted === true && err === options.signal.reason) throw err
        throw new EgtpError('ERR_KEYSTORE', `cannot write ${join(this.directory, name)}`, { cause: err })
      }
    })
  }

  async delete (key: string, options: AbortOptions = {}): Promise<void> {
    const name = fileStoreFileName(key)
    options.signal?.throwIfAborted()
    await this.#prepare()
    await this.#serial(name, async () => {
      try {
        await unlink(join(this.directory, name))
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') return
        throw new EgtpError('ERR_KEYSTORE', `cannot delete ${join(this.directory, name)}`, { cause: err })
      }
      await syncDirectory(this.directory).catch((err: unknown) => {
        throw new EgtpError('ERR_KEYSTORE', `cannot sync ${this.directory}`, { cause: err })
      })
    })
  }
}
