// Replay state that survives restarts (PROTOCOL.md §Sessions, "Timestamps and replay"): per peer, the last
// accepted initiation timestamp and the last one we issued; globally, a timestamp lease (all timestamps
// issued by earlier runs are below it, so a clock that went backwards cannot make us reuse one) and the floor
// left by evicted records. Without a store all of it lives in memory only.
import { EgtpError } from '@egtp/interface'
import type { Clock, KeyValueStore, Logger } from '@egtp/interface'
import { nodeIdFromBytes, nodeIdToBytes } from '@egtp/identity'
import { REPLAY_STORE_SHARDS, TIMESTAMP_LEASE_MS } from './constants.ts'
import { mutations } from './internal.ts'

/** The lease before issue 10, for the explorer's mutation check only (internal.ts). */
const LEGACY_LEASE_MS = 3_600_000

const RECORD_BYTES = 20 + 8 + 8
const BOOT_KEY = 'egtp-session-boot'
const SHARD_KEY = (i: number): string => `egtp-session-replay-${i.toString(16).padStart(2, '0')}`
const FORMAT = 1

interface ReplayRecord {
  /** The peer's node ID (text form: the same string as its key in the records map, so nothing is copied). */
  readonly nodeId: string
  accepted: number
  issued: number
}

const noop = (): void => {}

function writeU64 (view: DataView, off: number, v: number): void {
  view.setUint32(off, Math.floor(v / 0x1_0000_0000))
  view.setUint32(off + 4, v >>> 0)
}

/** The store shard of a peer: its first raw node ID byte (decoded only when a record is created or written). */
function shardOf (nodeId: string): number {
  return nodeIdToBytes(nodeId)[0]! % REPLAY_STORE_SHARDS
}

function readU64 (view: DataView, off: number): number {
  return view.getUint32(off) * 0x1_0000_0000 + view.getUint32(off + 4)
}

export class ReplayState {
  readonly #store: KeyValueStore | undefined
  readonly #clock: Clock
  readonly #max: number
  readonly #log: Logger
  /** Node ID (text form) → record, in least-recently-touched order. */
  readonly #records = new Map<string, ReplayRecord>()
  /** The records of each persisted shard (with a store only: 64 empty sets are ~10 KB per manager). */
  readonly #shards: Array<Set<ReplayRecord>>
  /** Every timestamp issued by an earlier run is below this. */
  #bootFloor = 0
  /** Persisted ceiling: timestamps issued in this run stay below it (extended ahead of use). */
  #ceiling = 0
  /** The highest accepted timestamp among evicted records: an unknown peer must beat it. */
  #evictedFloor = 0
  /** Writes scheduled and writes in flight, by store key (with a store only). */
  readonly #pending: Map<string, Promise<void>> | undefined
  readonly #inflight: Map<string, Promise<void>> | undefined
  #failure: unknown

  constructor (init: { store: KeyValueStore | undefined, clock: Clock, maxRecords: number, logger: Logger }) {
    this.#store = init.store
    this.#shards = init.store === undefined ? [] : Array.from({ length: REPLAY_STORE_SHARDS }, () => new Set<ReplayRecord>())
    if (init.store !== undefined) {
      this.#pending = new Map()
      this.#inflight = new Map()
    }
    this.#clock = init.clock
    this.#max = init.maxRecords
    this.#log = init.logger
  }

  get persistent (): boolean {
    return this.#store !== undefined
  }

  get size (): number {
    return this.#records.size
  }

  get bootFloor (): number {
    return this.#bootFloor
  }

  /** Load the persisted state and take a new timestamp lease (awaited: the first initiation depends on it). */
  async load (): Promise<void> {
    const store = this.#store
    if (store === undefined) return
    const boot = await store.get(BOOT_KEY)
    if (boot !== undefined) {
      if (boot.length !== 17 || boot[0] !== FORMAT) throw new EgtpError('ERR_KEYSTORE_CORRUPT', 'corrupt session replay state (boot record)')
      const view = new DataView(boot.buffer, boot.byteOffset, boot.length)
      this.#ceiling = readU64(view, 1)
      this.#evictedFloor = readU64(view, 9)
      this.#bootFloor = this.#ceiling + 1
    }
    const shards = await Promise.all(Array.from({ length: REPLAY_STORE_SHARDS }, async (_, i) => await store.get(SHARD_KEY(i))))
    for (const bytes of shards) {
      if (bytes === undefined) continue
      if ((bytes.length - 1) % RECORD_BYTES !== 0 || bytes[0] !== FORMAT) throw new EgtpError('ERR_KEYSTORE_CORRUPT', 'corrupt session replay state (shard)')
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
      for (let off = 1; off < bytes.length; off += RECORD_BYTES) {
        const id = bytes.slice(off, off + 20)
        const r = { nodeId: nodeIdFromBytes(id), accepted: readU64(view, off + 20), issued: readU64(view, off + 28) }
        this.#records.set(r.nodeId, r)
        this.#shards[id[0]! % REPLAY_STORE_SHARDS]!.add(r)
      }
    }
    while (this.#records.size > this.#max) this.#evictOldest()
    this.#ceiling = Math.max(this.#ceiling, this.#clock.now()) + (mutations.legacyTimestampLease ? LEGACY_LEASE_MS : TIMESTAMP_LEASE_MS)
    await this.#schedule(BOOT_KEY)
  }

  /** The timestamp an initiation from this peer must exceed. */
  acceptedFloor (nodeId: string): number {
    const r = this.#records.get(nodeId)
    return r === undefined ? this.#evictedFloor : r.accepted
  }

  /** The last timestamp we issued to this peer (0 if none recorded). */
  issued (nodeId: string): number {
    return this.#records.get(nodeId)?.issued ?? 0
  }

  /** Record an accepted initiation; the promise resolves once it is durable (undefined without a store). */
  markAccepted (nodeId: string, timestamp: number): Promise<void> | undefined {
    const r = this.#touch(nodeId)
    if (timestamp <= r.accepted) return undefined
    r.accepted = timestamp
    return this.#persistShardOf(nodeId)
  }

  /**
   * Record a timestamp we issued. The lease covers our wall clock only (a crash before this record lands
   * restarts above every wall-clock timestamp); a timestamp raised above the clock by a peer's own floors is
   * that peer's business and lives in its record, so a peer with a skewed clock cannot push the timestamps we
   * give everyone else (and the lease we persist) away from our clock.
   */
  markIssued (nodeId: string, timestamp: number, wallClock: number): void {
    const r = this.#touch(nodeId)
    r.issued = Math.max(r.issued, timestamp)
    if (mutations.legacyTimestampLease) {
      if (timestamp >= this.#ceiling - LEGACY_LEASE_MS / 2) {
        this.#ceiling = timestamp + LEGACY_LEASE_MS
        void this.#persist(BOOT_KEY)
      }
    } else if (wallClock >= this.#ceiling - TIMESTAMP_LEASE_MS / 2) {
      this.#ceiling = Math.max(this.#ceiling, wallClock + TIMESTAMP_LEASE_MS)
      void this.#persist(BOOT_KEY)
    }
    void this.#persistShardOf(nodeId)
  }

  /** Resolves when every write scheduled so far has landed; rejects with the first write failure. */
  async flush (): Promise<void> {
    const pending = this.#pending
    const inflight = this.#inflight
    while (pending !== undefined && inflight !== undefined && (pending.size > 0 || inflight.size > 0)) {
      await Promise.allSettled([...pending.values(), ...inflight.values()])
    }
    if (this.#failure !== undefined) {
      const err = this.#failure
      this.#failure = undefined
      throw err
    }
  }

  clear (): void {
    this.#records.clear()
    for (const s of this.#shards) s.clear()
  }

  #touch (nodeId: string): ReplayRecord {
    let r = this.#records.get(nodeId)
    if (r !== undefined) {
      this.#records.delete(nodeId)
    } else {
      // A peer we hold no record for must beat the floor left by evicted records.
      r = { nodeId, accepted: this.#evictedFloor, issued: 0 }
      if (this.#records.size >= this.#max) this.#evictOldest()
      // Shards only index what is written to the store: without one they would only cost memory.
      if (this.#store !== undefined) this.#shards[shardOf(nodeId)]!.add(r)
    }
    this.#records.set(nodeId, r)
    return r
  }

  #evictOldest (): void {
    const [nodeId, r] = this.#records.entries().next().value!
    this.#records.delete(nodeId)
    const shard = this.#store === undefined ? -1 : shardOf(nodeId)
    if (shard >= 0) this.#shards[shard]!.delete(r)
    // Whatever that peer sent before stays rejected: an unknown peer must now beat the evicted floor.
    if (r.accepted > this.#evictedFloor) {
      this.#evictedFloor = r.accepted
      void this.#persist(BOOT_KEY)
    }
    if (shard >= 0) void this.#persist(SHARD_KEY(shard))
  }

  #persistShardOf (nodeId: string): Promise<void> | undefined {
    return this.#store === undefined ? undefined : this.#persist(SHARD_KEY(shardOf(nodeId)))
  }

  #persist (key: string): Promise<void> | undefined {
    if (this.#store === undefined) return undefined
    const p = this.#schedule(key)
    p.catch(noop) // the caller may ignore `durable`; flush() reports the failure
    return p
  }

  /** One write per key at a time; changes made while a write is in flight ride on the next one. */
  #schedule (key: string): Promise<void> {
    const pendingWrites = this.#pending!
    const inflight = this.#inflight!
    const pending = pendingWrites.get(key)
    if (pending !== undefined) return pending
    const before = inflight.get(key) ?? Promise.resolve()
    const next = before.catch(noop).then(async () => {
      pendingWrites.delete(key)
      const write = this.#write(key)
      inflight.set(key, write)
      try {
        await write
      } catch (err) {
        this.#failure ??= err
        this.#log.error('persisting session replay state failed: %e', err)
        throw err
      } finally {
        if (inflight.get(key) === write) inflight.delete(key)
      }
    })
    pendingWrites.set(key, next)
    return next
  }

  async #write (key: string): Promise<void> {
    const store = this.#store!
    if (key === BOOT_KEY) {
      const out = new Uint8Array(17)
      const view = new DataView(out.buffer)
      out[0] = FORMAT
      writeU64(view, 1, this.#ceiling)
      writeU64(view, 9, this.#evictedFloor)
      await store.put(key, out)
      return
    }
    const shard = Number.parseInt(key.slice(-2), 16)
    const records = [...this.#shards[shard]!]
    const out = new Uint8Array(1 + records.length * RECORD_BYTES)
    const view = new DataView(out.buffer)
    out[0] = FORMAT
    let off = 1
    for (const r of records) {
      out.set(nodeIdToBytes(r.nodeId), off)
      writeU64(view, off + 20, r.accepted)
      writeU64(view, off + 28, r.issued)
      off += RECORD_BYTES
    }
    await store.put(key, out)
  }
}
