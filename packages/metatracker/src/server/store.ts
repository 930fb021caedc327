/** A record as a tracker holds it: the published bytes and what the store indexes them by. */
export interface HeldRecord {
  nodeId: string
  seq: number
  /** Unix ms after which the tracker forgets it: the earlier of the record's expiry and publish time + TTL. */
  expiresAt: number
  services: readonly string[]
  /** The encoded, signed `cr` message as it was published (consumers verify it themselves). */
  bytes: Uint8Array
}

/**
 * What a publish did: `stored` (new or newer), `refreshed` (the same record again: its hold is extended),
 * `stale` (the held record has a higher sequence number, or the same one with other bytes), `full`
 * (the store holds its maximum and this node is not in it).
 */
export type PutOutcome = 'stored' | 'refreshed' | 'stale' | 'full'

/**
 * Where a tracker keeps records. Every method is atomic on its own: a `put` compares sequence numbers and
 * writes in one step, so two trackers sharing a store never let an older record replace a newer one.
 */
export interface RecordStore {
  /** `memory` or `redis`, for metrics and logs. */
  readonly kind: string
  /** True when records survive a restart of the tracker process. */
  readonly durable: boolean
  put: (record: HeldRecord, now: number) => Promise<PutOutcome>
  /** The live records among `nodeIds` (unknown or expired ones are left out). */
  get: (nodeIds: readonly string[], now: number) => Promise<Uint8Array[]>
  /** Remove the node's record if its sequence number is at most `seq`; true when one was removed. */
  withdraw: (nodeId: string, seq: number, now: number) => Promise<boolean>
  /** Up to `n` live records offering `service`, chosen uniformly at random without repetition. */
  sample: (service: string, n: number, now: number) => Promise<Uint8Array[]>
  /** Live records held (an upper bound where expiry is lazy). */
  size: (now: number) => Promise<number>
  /** Drop expired records now (stores whose expiry is lazy); returns how many. */
  sweep?: (now: number) => number
  close: () => Promise<void>
}

/** Up to `n` distinct random picks from `0..m-1` (partial Fisher–Yates over a sparse map). */
export function randomIndices (m: number, n: number, random: () => number = Math.random): number[] {
  const k = Math.min(m, n)
  const swapped = new Map<number, number>()
  const out: number[] = []
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (m - i))
    const atJ = swapped.get(j) ?? j
    swapped.set(j, swapped.get(i) ?? i)
    out.push(atJ)
  }
  return out
}
