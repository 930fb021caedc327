import type { AbortOptions } from './abort.ts'
import type { Endpoint } from './commstrat.ts'

/**
 * A node's signed statement of how to reach it. Verified (signature, ID = hash of key, expiry) before use;
 * a higher `seq` replaces a lower one.
 */
export interface ContactRecord {
  /** Node ID, text form. */
  nodeId: string
  /** Ed25519 public key, 32 bytes; must hash to `nodeId`. */
  publicKey: Uint8Array
  /** Monotonic sequence number chosen by the node. */
  seq: number
  /** Unix milliseconds after which the record must not be used. */
  expiresAt: number
  endpoints: Endpoint[]
  /** Services offered, e.g. `relay`, `metatracker`. */
  services: string[]
  /** Ed25519 signature over the canonical encoding of every other field. */
  signature: Uint8Array
}

/** Finds how to reach a node ID. Returns only verified records; `undefined` when nothing is known. */
export interface Lookup {
  lookup: (nodeId: string, options?: AbortOptions) => Promise<ContactRecord | undefined>
}

/** Finds nodes that offer a service (e.g. relays). Returns only verified records. */
export interface Discovery {
  discover: (service: string, options?: AbortOptions & { limit?: number }) => Promise<ContactRecord[]>
}

/** Publishes the node's own record (the metatracker "hello"). */
export interface Announcer {
  announce: (record: ContactRecord, options?: AbortOptions) => Promise<void>
}
