import { createMessageCodec, ContactRecordMessage } from '@egtp/codec'
import { isEgtpError } from '@egtp/interface'
import type { ContactRecord, Endpoint } from '@egtp/interface'
import { describe, expect, test } from 'vitest'
import {
  RECORD_EXPIRY_GRACE_MS,
  contactRecordFromWire, contactRecordToWire, createContactRecord, decodeContactRecord, encodeContactRecord,
  generateIdentity, identityFromSeed, verifyContactRecord, canonicalSigningBytes, verifySignature, CONTACT_RECORD_CONTEXT,
  nodeIdToBytes, signCanonical
} from '../src/index.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const NOW = 1_700_000_000_000
const EXPIRES = 1_800_000_000_000
const endpoints: Endpoint[] = [
  { kind: 'tcp', host: '127.0.0.1', port: 4000 },
  { kind: 'relay', relay: 'zza2k37zpsedinq73pd7tnmjp6lnsklm', host: 'relay.example', port: 4001 }
]

function codeOf (fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (isEgtpError(err)) return err.code
    throw err
  }
  return 'accepted'
}

describe('contact records', () => {
  const id = generateIdentity()
  const record = createContactRecord(id, { seq: 7, expiresAt: EXPIRES, endpoints, services: ['relay'] })

  test('a created record verifies and says who, where and until when', () => {
    const v = verifyContactRecord(record, { now: NOW })
    expect(v).toEqual(record)
    expect(v.nodeId).toBe(id.nodeId)
    expect(v.publicKey).toEqual(id.publicKey)
    expect(createContactRecord(id, { seq: 1, expiresAt: EXPIRES, endpoints: [] }).services).toEqual([])
  })

  test('the signature is pinned for a fixed identity (context "egtp/contact-record/v1")', () => {
    const rfc = identityFromSeed(hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'))
    const r = createContactRecord(rfc, { seq: 7, expiresAt: EXPIRES, endpoints, services: ['relay'] })
    expect(toHex(r.signature)).toBe('4eefd3c45f0921324735e5205ebf11edd15540c523dfd908f22a88603ad783ae49ac0f611b377ec3c7c37f00198ad8f4d8d0a8e9554527eb0a5576ae20c3fe00')
    const { g, ...signed } = contactRecordToWire(r)
    expect(verifySignature(rfc.publicKey, canonicalSigningBytes(CONTACT_RECORD_CONTEXT, signed), g)).toBe(true)
  })

  test('wire and standalone encodings round-trip', () => {
    expect(contactRecordFromWire(contactRecordToWire(record))).toEqual(record)
    expect(decodeContactRecord(encodeContactRecord(record), { now: NOW })).toEqual(record)
    const codec = createMessageCodec([ContactRecordMessage])
    const { t, ...wire } = codec.decode(codec.encode({ t: 'cr', ...contactRecordToWire(record) }))
    expect(t).toBe('cr')
    expect(verifyContactRecord(contactRecordFromWire(wire), { now: NOW })).toEqual(record)
  })

  test('flipping any bit of an encoded record never yields an accepted record', () => {
    const bytes = encodeContactRecord(record)
    const codes = new Set<string>()
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const t = new Uint8Array(bytes)
      t[bit >> 3]! ^= 1 << (bit & 7)
      codes.add(codeOf(() => decodeContactRecord(t, { now: NOW })))
    }
    expect(codes.has('accepted')).toBe(false)
    expect(codes).toContain('ERR_SIGNATURE')
    expect(codes).toContain('ERR_KEY_MISMATCH')
  })

  test.each<[string, (r: ContactRecord) => ContactRecord, string]>([
    ['a higher seq', r => ({ ...r, seq: r.seq + 1 }), 'ERR_SIGNATURE'],
    ['a later expiry', r => ({ ...r, expiresAt: r.expiresAt + 1 }), 'ERR_SIGNATURE'],
    ['another port', r => ({ ...r, endpoints: [{ kind: 'tcp', host: '127.0.0.1', port: 4002 }, r.endpoints[1]!] }), 'ERR_SIGNATURE'],
    ['a dropped endpoint', r => ({ ...r, endpoints: r.endpoints.slice(0, 1) }), 'ERR_SIGNATURE'],
    ['an added service', r => ({ ...r, services: [...r.services, 'metatracker'] }), 'ERR_SIGNATURE'],
    ['another node\'s key', r => ({ ...r, publicKey: generateIdentity().publicKey }), 'ERR_KEY_MISMATCH'],
    ['another node\'s ID', r => ({ ...r, nodeId: generateIdentity().nodeId }), 'ERR_KEY_MISMATCH'],
    ['a malformed node ID', r => ({ ...r, nodeId: 'nope' }), 'ERR_BAD_NODE_ID'],
    ['a short signature', r => ({ ...r, signature: r.signature.subarray(0, 63) }), 'ERR_FIELD'],
    ['an endpoint with an extra key', r => ({ ...r, endpoints: [{ ...r.endpoints[0]!, extra: 1 } as unknown as Endpoint] }), 'ERR_FIELD'],
    ['a negative seq', r => ({ ...r, seq: -1 }), 'ERR_FIELD']
  ])('a record with %s is refused with %s', (_name, change, code) => {
    expect(codeOf(() => verifyContactRecord(change(record), { now: NOW }))).toBe(code)
  })

  test('a record re-signed by a different key for the original ID is refused (designation = key)', () => {
    const mallory = generateIdentity()
    const forged = createContactRecord(mallory, { seq: 8, expiresAt: EXPIRES, endpoints })
    expect(codeOf(() => verifyContactRecord({ ...forged, nodeId: id.nodeId }, { now: NOW }))).toBe('ERR_KEY_MISMATCH')
  })

  test('knownPeer: a record with the key known for its node skips the key-to-ID hash; its signature is still checked', () => {
    const knownPeer = { nodeId: id.nodeId, publicKey: id.publicKey }
    expect(verifyContactRecord(record, { now: NOW, knownPeer })).toEqual(record)
    expect(codeOf(() => verifyContactRecord({ ...record, seq: record.seq + 1 }, { now: NOW, knownPeer }))).toBe('ERR_SIGNATURE')
    expect(codeOf(() => verifyContactRecord({ ...record, nodeId: 'nope' }, { now: NOW, knownPeer }))).toBe('ERR_BAD_NODE_ID')
    // Another key than the known one, or another node: the hash decides as without the option.
    const mallory = generateIdentity()
    const forged = { ...createContactRecord(mallory, { seq: 8, expiresAt: EXPIRES, endpoints }), nodeId: id.nodeId }
    expect(codeOf(() => verifyContactRecord(forged, { now: NOW, knownPeer }))).toBe('ERR_KEY_MISMATCH')
    expect(codeOf(() => verifyContactRecord({ ...record, nodeId: mallory.nodeId }, { now: NOW, knownPeer }))).toBe('ERR_KEY_MISMATCH')
    // The caller vouches for the pair: a pair it claims is trusted as is (so only pass what a handshake proved).
    const signed = { id: nodeIdToBytes(id.nodeId), k: mallory.publicKey, q: 8, x: EXPIRES, e: endpoints, s: [] }
    const vouched = { nodeId: id.nodeId, publicKey: mallory.publicKey, seq: 8, expiresAt: EXPIRES, endpoints, services: [], signature: signCanonical(mallory, CONTACT_RECORD_CONTEXT, signed) }
    expect(codeOf(() => verifyContactRecord(vouched, { now: NOW }))).toBe('ERR_KEY_MISMATCH')
    expect(verifyContactRecord(vouched, { now: NOW, knownPeer: { nodeId: id.nodeId, publicKey: mallory.publicKey } }).publicKey).toEqual(mallory.publicKey)
  })

  test('expiry: with no grace, valid until the millisecond before expiresAt, then ERR_STALE_RECORD', () => {
    expect(verifyContactRecord(record, { now: EXPIRES - 1, graceMs: 0 })).toEqual(record)
    expect(() => verifyContactRecord(record, { now: EXPIRES, graceMs: 0 })).toThrow(/^ERR_STALE_RECORD: .*expired at 2027-01-15T08:00:00.000Z/)
    const far = createContactRecord(id, { seq: 1, expiresAt: Number.MAX_SAFE_INTEGER, endpoints })
    expect(verifyContactRecord(far).seq).toBe(1) // default clock: Date.now()
    const past = createContactRecord(id, { seq: 1, expiresAt: 1, endpoints })
    expect(() => verifyContactRecord(past)).toThrow(/^ERR_STALE_RECORD/)
  })

  test('issue 10 defect 7: a reader whose clock is hours off still accepts a fresh one-hour record (grace RECORD_EXPIRY_GRACE_MS)', () => {
    const HOUR = 3_600_000
    const fresh = createContactRecord(id, { seq: 2, expiresAt: NOW + HOUR, endpoints })
    // The reader's clock runs an hour (and a minute) ahead, or the issuer's ran behind: still accepted.
    expect(verifyContactRecord(fresh, { now: NOW + HOUR + 60_000 }).seq).toBe(2)
    expect(verifyContactRecord(fresh, { now: NOW + RECORD_EXPIRY_GRACE_MS }).seq).toBe(2)
    // Past the grace it is refused, and the error says to check the clock.
    expect(() => verifyContactRecord(fresh, { now: NOW + HOUR + RECORD_EXPIRY_GRACE_MS })).toThrow(/^ERR_STALE_RECORD: .*check this machine's clock/)
  })

  test('a node ID in upper case verifies and comes back canonical', () => {
    expect(verifyContactRecord({ ...record, nodeId: record.nodeId.toUpperCase() }, { now: NOW }).nodeId).toBe(record.nodeId)
  })

  test('created records do not alias the caller\'s objects', () => {
    const mine: Endpoint[] = [{ kind: 'tcp', host: '127.0.0.1', port: 1 }]
    const r = createContactRecord(id, { seq: 1, expiresAt: EXPIRES, endpoints: mine })
    mine[0]!.port = 2
    expect(verifyContactRecord(r, { now: NOW }).endpoints[0]).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 1 })
  })

  test('out-of-bounds fields are programmer errors at creation', () => {
    const many = Array.from({ length: 17 }, (_, i): Endpoint => ({ kind: 'tcp', host: '127.0.0.1', port: i }))
    expect(() => createContactRecord(id, { seq: 1, expiresAt: EXPIRES, endpoints: many })).toThrow(TypeError)
    expect(() => createContactRecord(id, { seq: 1.5, expiresAt: EXPIRES, endpoints: [] })).toThrow(TypeError)
    expect(() => createContactRecord(id, { seq: 1, expiresAt: EXPIRES, endpoints: [{ kind: 'tcp', host: 'bad host', port: 1 }] })).toThrow(TypeError)
  })

  test('garbage standalone bytes fail with a codec EgtpError', () => {
    for (const bytes of [new Uint8Array(0), Uint8Array.of(0xc1), Uint8Array.of(0x80), new Uint8Array(100).fill(0x91)]) {
      expect(isEgtpError(catchErr(() => decodeContactRecord(bytes)))).toBe(true)
    }
  })
})

function catchErr (fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  return undefined
}
