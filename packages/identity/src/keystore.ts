import { mkdir, open } from 'node:fs/promises'
import { dirname } from 'node:path'
import { EgtpError, isEgtpError, toHex } from '@egtp/interface'
import type { AbortOptions } from '@egtp/interface'
import { KEYSTORE_FORMAT_VERSION, MAX_KEYSTORE_FILE_BYTES, SEED_BYTES } from './constants.ts'
import { DIR_MODE, errnoCode, writeFileAtomic } from './fs-util.ts'
import { generateIdentity, identityFromSeed } from './identity.ts'
import type { NodeIdentity } from './identity.ts'

export interface KeystoreSaveOptions extends AbortOptions {
  /** Replace a different identity already stored. Default false: saving over another key is ERR_KEY_EXISTS. */
  overwrite?: boolean
}

/** Where a node's identity persists. Persistence is optional: nothing writes to disk unless given a store. */
export interface Keystore {
  /** The stored identity, or `undefined` when none is stored yet. */
  load: (options?: AbortOptions) => Promise<NodeIdentity | undefined>
  /** Store `identity`. Saving the identity already stored is a no-op. */
  save: (identity: NodeIdentity, options?: KeystoreSaveOptions) => Promise<void>
}

function keyExists (where: string, stored: NodeIdentity): EgtpError {
  return new EgtpError('ERR_KEY_EXISTS', `${where} already holds the identity ${stored.nodeId}; pass { overwrite: true } to replace it`)
}

/** The default keystore: memory only. A fresh process gets a fresh, ephemeral identity. */
export class MemoryKeystore implements Keystore {
  #identity: NodeIdentity | undefined

  constructor (identity?: NodeIdentity) {
    this.#identity = identity
  }

  async load (options: AbortOptions = {}): Promise<NodeIdentity | undefined> {
    options.signal?.throwIfAborted()
    return this.#identity
  }

  async save (identity: NodeIdentity, options: KeystoreSaveOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    const stored = this.#identity
    if (stored !== undefined && stored.nodeId !== identity.nodeId && options.overwrite !== true) throw keyExists('the memory keystore', stored)
    this.#identity = identity
  }
}

const FORMAT = 'egtp-identity'
const KEYS = ['format', 'version', 'nodeId', 'seed'].sort().join()

/**
 * The keystore file: `{"format":"egtp-identity","version":1,"nodeId":"<32 base32>","seed":"<64 hex>"}`.
 * JSON so an operator can read the node ID with `cat`; the node ID is checked against the seed on load.
 */
function encodeKeystoreFile (identity: NodeIdentity): Uint8Array {
  const seed = identity.exportSeed()
  const doc = { format: FORMAT, version: KEYSTORE_FORMAT_VERSION, nodeId: identity.nodeId, seed: toHex(seed) }
  seed.fill(0)
  return new TextEncoder().encode(`${JSON.stringify(doc)}\n`)
}

function decodeKeystoreFile (path: string, bytes: Uint8Array): NodeIdentity {
  const corrupt = (why: string): EgtpError => new EgtpError('ERR_KEYSTORE_CORRUPT', `keystore ${path} is corrupt (${why}); it was not replaced: restore it from a backup or move it away`)
  let doc: unknown
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    // No cause on purpose: JSON.parse's message quotes the input, which holds the seed.
    throw corrupt('not a JSON document')
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw corrupt('not a JSON object')
  const d = doc as Record<string, unknown>
  if (d.format !== FORMAT) throw corrupt(`format is not ${JSON.stringify(FORMAT)}`)
  if (typeof d.version !== 'number') throw corrupt('no version')
  if (d.version !== KEYSTORE_FORMAT_VERSION) {
    throw new EgtpError('ERR_KEYSTORE', `keystore ${path} has format version ${d.version}; this version of @egtp/identity reads version ${KEYSTORE_FORMAT_VERSION}`)
  }
  if (Object.keys(d).sort().join() !== KEYS) throw corrupt('unexpected or missing fields')
  if (typeof d.seed !== 'string' || !/^[0-9a-f]{64}$/.test(d.seed)) throw corrupt(`seed is not ${SEED_BYTES * 2} lowercase hex digits`)
  const seed = Uint8Array.from(Buffer.from(d.seed, 'hex'))
  const identity = identityFromSeed(seed)
  seed.fill(0)
  if (identity.nodeId !== d.nodeId) throw corrupt('its seed does not match its node ID')
  return identity
}

/**
 * An identity in a file, for nodes that keep their node ID across restarts. Writes are atomic and durable
 * (temp file, fsync, rename, fsync of the directory) with mode 0600; the parent directory is created 0700.
 * Loading refuses a file that group or others can access, or that another user owns (ERR_KEYSTORE_PERMISSIONS),
 * and reports a damaged file (ERR_KEYSTORE_CORRUPT) rather than silently replacing it with a new identity.
 */
export class FileKeystore implements Keystore {
  readonly path: string
  #queue: Promise<unknown> = Promise.resolve()

  constructor (path: string) {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('FileKeystore: path must be a non-empty string')
    this.path = path
  }

  // Operations on one keystore run one at a time, so a load never sees a save half done in this process.
  #serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn)
    this.#queue = run.catch(() => {})
    return run
  }

  async load (options: AbortOptions = {}): Promise<NodeIdentity | undefined> {
    options.signal?.throwIfAborted()
    return await this.#serial(async () => await this.#load())
  }

  async #load (): Promise<NodeIdentity | undefined> {
    let fh
    try {
      fh = await open(this.path, 'r')
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined
      throw new EgtpError('ERR_KEYSTORE', `cannot open keystore ${this.path}`, { cause: err })
    }
    try {
      const st = await fh.stat()
      if (!st.isFile()) throw new EgtpError('ERR_KEYSTORE', `keystore ${this.path} is not a regular file`)
      if (process.platform !== 'win32') {
        if ((st.mode & 0o077) !== 0) {
          throw new EgtpError('ERR_KEYSTORE_PERMISSIONS', `keystore ${this.path} is accessible to group or others (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${this.path}`)
        }
        const uid = process.getuid?.()
        if (uid !== undefined && uid !== 0 && st.uid !== uid) {
          throw new EgtpError('ERR_KEYSTORE_PERMISSIONS', `keystore ${this.path} belongs to uid ${st.uid}, not to this process (uid ${uid})`)
        }
      }
      if (st.size > MAX_KEYSTORE_FILE_BYTES) throw new EgtpError('ERR_KEYSTORE_CORRUPT', `keystore ${this.path} is corrupt (${st.size} bytes; at most ${MAX_KEYSTORE_FILE_BYTES}); it was not replaced`)
      const buf = new Uint8Array(MAX_KEYSTORE_FILE_BYTES + 1)
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0)
      try {
        return decodeKeystoreFile(this.path, buf.subarray(0, bytesRead))
      } finally {
        buf.fill(0)
      }
    } catch (err) {
      if (isEgtpError(err)) throw err
      throw new EgtpError('ERR_KEYSTORE', `cannot read keystore ${this.path}`, { cause: err })
    } finally {
      await fh.close()
    }
  }

  async save (identity: NodeIdentity, options: KeystoreSaveOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    await this.#serial(async () => {
      const overwrite = options.overwrite === true
      if (!overwrite) {
        const stored = await this.#load()
        if (stored !== undefined) {
          if (stored.nodeId === identity.nodeId) return
          throw keyExists(`keystore ${this.path}`, stored)
        }
      }
      const data = encodeKeystoreFile(identity)
      try {
        await mkdir(dirname(this.path), { recursive: true, mode: DIR_MODE })
        await writeFileAtomic(this.path, data, { exclusive: !overwrite, signal: options.signal })
      } catch (err) {
        if (options.signal?.aborted === true && err === options.signal.reason) throw err
        if (errnoCode(err) === 'EEXIST') {
          throw new EgtpError('ERR_KEY_EXISTS', `keystore ${this.path} was created by someone else meanwhile; pass { overwrite: true } to replace it`, { cause: err })
        }
        throw new EgtpError('ERR_KEYSTORE', `cannot write keystore ${this.path}`, { cause: err })
      } finally {
        data.fill(0)
      }
    })
  }
}

/**
 * The keystore's identity, or a new one saved to it. A corrupt or unreadable keystore is an error, never a
 * reason to create a new identity (that would silently change the node ID).
 * @throws {EgtpError} ERR_KEYSTORE, ERR_KEYSTORE_PERMISSIONS, ERR_KEYSTORE_CORRUPT
 */
export async function loadOrCreateIdentity (keystore: Keystore, options: AbortOptions = {}): Promise<NodeIdentity> {
  const existing = await keystore.load(options)
  if (existing !== undefined) return existing
  const identity = generateIdentity()
  try {
    await keystore.save(identity, options)
    return identity
  } catch (err) {
    // Another process created one between our load and save: use theirs.
    if (!isEgtpError(err, 'ERR_KEY_EXISTS')) throw err
    const winner = await keystore.load(options)
    if (winner === undefined) throw err
    return winner
  }
}
