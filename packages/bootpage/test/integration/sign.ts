import { contactRecordToWire, signCanonical } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import { BOOTPAGE_CONTEXT, parseBootpage } from '../../src/index.ts'

/**
 * Re-sign an edited page JSON with `signer`, following docs/protocol/bootpage.md by hand (no record is
 * verified: this is how a careless or hostile page key could list anything).
 */
export function signForTest (signer: NodeIdentity, json: string): string {
  const doc = JSON.parse(json) as Record<string, unknown>
  const page = parseBootpage(json)
  const value = { v: page.version, k: page.publicKey, i: page.issuedAt, x: page.expiresAt, r: page.records.map(contactRecordToWire) }
  doc.signature = Buffer.from(signCanonical(signer, BOOTPAGE_CONTEXT, value)).toString('hex')
  return JSON.stringify(doc, null, 2)
}
