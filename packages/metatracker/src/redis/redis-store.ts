import { RESP_TYPES, createClient } from '@redis/client'
import { EgtpError } from '@egtp/interface'
import { DEFAULT_MAX_RECORDS } from '../constants.ts'
import type { HeldRecord, PutOutcome, RecordStore } from '../server/store.ts'
import { PUT_SCRIPT, SAMPLE_SCRIPT, WITHDRAW_SCRIPT } from './scripts.ts'

/** Default key prefix; the `{…}` hash tag keeps every key of one tracker fleet in one Redis Cluster slot. */
export const DEFAULT_REDIS_KEY_PREFIX = 'egtp:mt:{fleet}:'
/** Default bound on one Redis command (ms). */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 2000

export interface RedisStoreInit {
  /** `redis://[[user]:password@]host:port[/db]` or `rediss://…` (TLS). */
  url: string
  /** Shared by every tracker of the fleet: they must agree. Default {@link DEFAULT_REDIS_KEY_PREFIX}. */
  keyPrefix?: string
  /** Default {@link DEFAULT_MAX_RECORDS}, for the whole fleet (checked atomically on publish). */
  maxRecords?: number
  /** Default {@link DEFAULT_REDIS_COMMAND_TIMEOUT_MS}. */
  commandTimeoutMs?: number
}

type Reply = Buffer | string | number | null | Reply[]
const AS_BUFFERS = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } }

/**
 * The fleet store: several tracker processes share one Redis (or Valkey). Records expire by Redis' own
 * expiry; publish and goodbye are Lua scripts, so the sequence-number compare and the write are atomic.
 * Commands fail fast (no offline queue) with ERR_TRACKER_STORE while Redis is unreachable; the client
 * reconnects by itself.
 */
export class RedisRecordStore implements RecordStore {
  readonly kind = 'redis'
  readonly durable = true
  readonly #prefix: string
  readonly #max: number
  readonly #client
  readonly #shas = new Map<string, string>()

  constructor (init: RedisStoreInit) {
    if (typeof init.url !== 'string' || !/^rediss?:\/\//.test(init.url)) throw new TypeError('url must be a redis:// or rediss:// URL')
    this.#prefix = init.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX
    this.#max = init.maxRecords ?? DEFAULT_MAX_RECORDS
    if (!Number.isSafeInteger(this.#max) || this.#max < 1) throw new RangeError('maxRecords must be a positive integer')
    const timeout = init.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS
    this.#client = createClient({
      url: init.url,
      disableOfflineQueue: true,
      socket: { connectTimeout: timeout, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000) },
      commandOptions: { timeout }
    })
    // Errors surface on the commands; the client reconnects by itself. Never crash on an 'error' event.
    this.#client.on('error', () => {})
  }

  /** Connect (and load the scripts). */
  async open (): Promise<void> {
    try {
      await this.#client.connect()
      for (const script of [PUT_SCRIPT, WITHDRAW_SCRIPT, SAMPLE_SCRIPT]) await this.#load(script)
    } catch (err) {
      throw storeError('connecting to Redis failed', err)
    }
  }

  async put (r: HeldRecord, now: number): Promise<PutOutcome> {
    const out = await this.#script(PUT_SCRIPT, [this.#key('r', r.nodeId), this.#key('m', r.nodeId), `${this.#prefix}all`],
      [String(r.seq), Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.length), String(r.expiresAt), String(now), String(this.#max), r.services.join(','), r.nodeId, this.#prefix])
    return String(out) as PutOutcome
  }

  async get (nodeIds: readonly string[], _now: number): Promise<Uint8Array[]> {
    if (nodeIds.length === 0) return []
    const found = await this.#send(['MGET', ...nodeIds.map(id => this.#key('r', id))]) as Array<Buffer | null>
    return found.filter((b): b is Buffer => b !== null).map(b => new Uint8Array(b.buffer, b.byteOffset, b.length))
  }

  async withdraw (nodeId: string, seq: number, _now: number): Promise<boolean> {
    const out = await this.#script(WITHDRAW_SCRIPT, [this.#key('r', nodeId), this.#key('m', nodeId), `${this.#prefix}all`], [String(seq), nodeId, this.#prefix])
    return Number(out) === 1
  }

  async sample (service: string, n: number, now: number): Promise<Uint8Array[]> {
    if (n <= 0) return []
    const out = await this.#script(SAMPLE_SCRIPT, [this.#key('s', service)], [String(n), String(now), this.#prefix]) as Buffer[]
    return out.map(b => new Uint8Array(b.buffer, b.byteOffset, b.length))
  }

  async size (now: number): Promise<number> {
    return Number(await this.#send(['ZCOUNT', `${this.#prefix}all`, `(${now}`, '+inf']))
  }

  async close (): Promise<void> {
    if (this.#client.isOpen) await this.#client.close().catch(() => { this.#client.destroy() })
  }

  #key (kind: 'r' | 'm' | 's', id: string): string {
    return `${this.#prefix}${kind}:${id}`
  }

  async #load (script: string): Promise<string> {
    const sha = String(await this.#client.sendCommand(['SCRIPT', 'LOAD', script]))
    this.#shas.set(script, sha)
    return sha
  }

  async #script (script: string, keys: string[], args: Array<string | Buffer>): Promise<Reply> {
    const run = async (sha: string): Promise<Reply> => await this.#send(['EVALSHA', sha, String(keys.length), ...keys, ...args])
    try {
      return await run(this.#shas.get(script) ?? await this.#load(script))
    } catch (err) {
      // A restarted or failed-over Redis has lost its script cache: load again, once.
      if (!(err instanceof EgtpError && /NOSCRIPT/.test(String(err.cause)))) throw err
      return await run(await this.#load(script))
    }
  }

  async #send (args: Array<string | Buffer>): Promise<Reply> {
    try {
      return await this.#client.sendCommand(args, AS_BUFFERS) as Reply
    } catch (err) {
      throw storeError(`Redis ${String(args[0])} failed`, err)
    }
  }
}

function storeError (what: string, cause: unknown): EgtpError {
  return new EgtpError('ERR_TRACKER_STORE', `${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
}

/** The fleet store (see {@link RedisRecordStore}); call `open` before use. */
export function redisRecordStore (init: RedisStoreInit): RedisRecordStore {
  return new RedisRecordStore(init)
}
