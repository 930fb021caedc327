import { createContactRecord, generateIdentity } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import type { ContactRecord } from '@egtp/interface'
import { createBootpage } from '../src/index.ts'

export const HOUR = 3_600_000
export const DAY = 24 * HOUR

export function trackerRecord (port: number, services = ['metatracker'], identity: NodeIdentity = generateIdentity(), expiresAt = Date.now() + DAY): ContactRecord {
  return createContactRecord(identity, { seq: 1, expiresAt, endpoints: [{ kind: 'tcp', host: '127.0.0.1', port }], services })
}

export interface Fixture {
  signer: NodeIdentity
  records: ContactRecord[]
  page: string
}

/** A page signed by a fresh key, listing two trackers and a relay. */
export function fixture (init: { expiresAt?: number, issuedAt?: number } = {}): Fixture {
  const signer = generateIdentity()
  const records = [trackerRecord(4001), trackerRecord(4002), trackerRecord(5001, ['relay'])]
  const page = createBootpage(signer, { records, expiresAt: init.expiresAt ?? Date.now() + 30 * DAY, ...(init.issuedAt !== undefined ? { issuedAt: init.issuedAt } : {}) })
  return { signer, records, page }
}
