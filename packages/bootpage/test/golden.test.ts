import { createHash } from 'node:crypto'
import { canonicalSigningBytes, contactRecordToWire, createContactRecord, identityFromSeed } from '@egtp/identity'
import { expect, test } from 'vitest'
import { BOOTPAGE_CONTEXT, createBootpage, parseBootpage, verifyBootpage } from '../src/index.ts'

// Pinned so that another implementation (or a later version of this one) can check it signs the same bytes.
// docs/protocol/bootpage.md quotes these values.
test('golden page: the signed bytes and the signature of a fixed page', () => {
  const signer = identityFromSeed(new Uint8Array(32))
  const tracker = identityFromSeed(new Uint8Array(32).fill(0xff))
  const record = createContactRecord(tracker, { seq: 7, expiresAt: 1_900_000_000_000, endpoints: [{ kind: 'tcp', host: '192.0.2.1', port: 7441 }], services: ['metatracker'] })
  const text = createBootpage(signer, { records: [record], issuedAt: 1_800_000_000_000, expiresAt: 1_802_592_000_000 })
  const page = parseBootpage(text)
  const value = { v: 1, k: signer.publicKey, i: page.issuedAt, x: page.expiresAt, r: page.records.map(contactRecordToWire) }
  const bytes = canonicalSigningBytes(BOOTPAGE_CONTEXT, value)
  expect(page.signer).toBe('zza2k37zpsedinq73pd7tnmjp6lnsklm')
  expect(JSON.parse(text).issuedAt).toBe('2027-01-15T08:00:00.000Z')
  expect(bytes.byteLength).toBe(GOLDEN.length)
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(GOLDEN.sha256)
  expect(Buffer.from(page.signature).toString('hex')).toBe(GOLDEN.signature)
  expect(verifyBootpage(text, { key: page.signer, now: 1_800_000_000_000 }).trackers).toHaveLength(1)
})

const GOLDEN = {
  length: 292,
  sha256: '476b8a692843f894d969d847190eb979f186260403f73854d9799ece76a64b1c',
  signature: 'e7bf211d08d07bd1cd85c621c399707e0b2fab8a21ff49136b016af4caa8782a3cf4d61bd09af4eb258685a353073077fa7ff402efd687a07aec9ff976d41804'
}
