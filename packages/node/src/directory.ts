import { verifyContactRecord } from '@egtp/identity'
import { EgtpError, systemClock } from '@egtp/interface'
import type { AbortOptions, Announcer, Clock, ContactRecord, Discovery, Lookup } from '@egtp/interface'

/** Default most records a memory directory holds. */
export const DEFAULT_DIRECTORY_MAX_RECORDS = 10_000
/** Default most records one `discover` returns. */
export const DEFAULT_DISCOVER_LIMIT = 400

export interface MemoryDirectoryInit {
  clock?: Clock
  /** Default {@link DEFAULT_DIRECTORY_MAX_RECORDS}; expired records are dropped first when full. */
  maxRecords?: number
}

/** An in-memory {@link Lookup} + {@link Discovery} + {@link Announcer}, for tests and demos. */
export interface MemoryDirectory extends Lookup, Discovery, Announcer {
  /** Forget a node (as if its tracker entry expired). */
  remove: (nodeId: string) => void
  /** Every unexpired record held. */
  records: () => ContactRecord[]
}

/**
 * A directory in memory, shared by the nodes of one process: `announce` verifies each record (signature,
 * node ID = hash of the key, expiry) and keeps the highest `seq` per node; `lookup` and `discover` return only
 * unexpired records.
 * @example
 * ```ts
 * const directory = memoryDirectory()
 * const a = createNode({ commstrats: [tcp()({})], lookup: directory, announcer: directory })
 * ```
 */
export function memoryDirectory (init: MemoryDirectoryInit = {}): MemoryDirectory {
  const clock = init.clock ?? systemClock
  const maxRecords = init.maxRecords ?? DEFAULT_DIRECTORY_MAX_RECORDS
  const byId = new Map<string, ContactRecord>()

  const live = (r: ContactRecord): boolean => r.expiresAt > clock.now()

  return {
    async announce (record: ContactRecord, options?: AbortOptions): Promise<void> {
      options?.signal?.throwIfAborted()
      const verified = verifyContactRecord(record, { now: clock.now() })
      const held = byId.get(verified.nodeId)
      if (held !== undefined && held.seq >= verified.seq) {
        if (held.seq === verified.seq) return
        throw new EgtpError('ERR_STALE_RECORD', `record seq ${verified.seq} is older than the held ${held.seq}`)
      }
      if (held === undefined && byId.size >= maxRecords) {
        for (const [id, r] of byId) if (!live(r)) byId.delete(id)
        if (byId.size >= maxRecords) throw new EgtpError('ERR_LIMIT', 'directory full')
      }
      byId.set(verified.nodeId, verified)
    },
    async lookup (nodeId: string, options?: AbortOptions): Promise<ContactRecord | undefined> {
      options?.signal?.throwIfAborted()
      const r = byId.get(nodeId)
      return r !== undefined && live(r) ? r : undefined
    },
    async discover (service: string, options?: AbortOptions & { limit?: number }): Promise<ContactRecord[]> {
      options?.signal?.throwIfAborted()
      const limit = options?.limit ?? DEFAULT_DISCOVER_LIMIT
      const out: ContactRecord[] = []
      for (const r of byId.values()) {
        if (out.length >= limit) break
        if (live(r) && r.services.includes(service)) out.push(r)
      }
      return out
    },
    remove (nodeId: string): void {
      byId.delete(nodeId)
    },
    records (): ContactRecord[] {
      return [...byId.values()].filter(live)
    }
  }
}
