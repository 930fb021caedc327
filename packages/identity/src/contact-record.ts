import { ContactRecordMessage, canonicalRecordFields, contactRecordFields, createMessageCodec, signatureField } from '@egtp/codec'
import type { MessageOf } from '@egtp/codec'
import { EgtpError, bytesEqual, compactCopy, isEgtpError } from '@egtp/interface'
import type { ContactRecord, Endpoint } from '@egtp/interface'
import { canonicalSigningBytes, signingHead } from './canonical.ts'
import { verifySignature } from './ed25519.ts'
import { CONTACT_RECORD_CONTEXT, RECORD_EXPIRY_GRACE_MS } from './constants.ts'
import { copyBytes } from './util.ts'
import type { NodeIdentity } from './identity.ts'
import { checkPeerKey, nodeIdFromBytes, nodeIdToBytes } from './node-id.ts'

/** The wire form of a contact record: codec's `ContactRecordMessage` without its tag `t`. */
export type ContactRecordWire = Omit<MessageOf<typeof ContactRecordMessage>, 't'>
/** The fields a contact record's signature covers (the wire form without `g`). */
type SignedFields = Omit<ContactRecordWire, 'g'>

export interface ContactRecordFields {
  /** Monotonic: a record with a higher `seq` replaces a lower one. */
  seq: number
  /** Unix milliseconds after which the record must not be used. */
  expiresAt: number
  endpoints: Endpoint[]
  services?: string[]
}

export interface VerifyContactRecordOptions {
  /** Unix milliseconds to check expiry against; default `Date.now()`. */
  now?: number
  /** Accept a record this long past its `expiresAt` (clock skew between issuer and reader). Default {@link RECORD_EXPIRY_GRACE_MS}. */
  graceMs?: number
  /**
   * A node ID and public key already known to belong together (e.g. the key a session handshake authenticated
   * for that node): a record of that node carrying that same key skips the key-to-node-ID hash. The signature
   * is checked all the same.
   */
  knownPeer?: { readonly nodeId: string, readonly publicKey: Uint8Array } | undefined
}

const signature = signatureField()
const recordCodec = createMessageCodec([ContactRecordMessage])
const SIGNING_HEAD = signingHead(CONTACT_RECORD_CONTEXT)

/**
 * What a record's signature covers: `canonicalSigningBytes(CONTACT_RECORD_CONTEXT, signed)`, written by codec's
 * record writer (the same bytes, without msgpackr: every new peer's record is checked once), else generically.
 */
function signingBytes (signed: SignedFields): Uint8Array {
  return canonicalRecordFields(SIGNING_HEAD, signed) ?? canonicalSigningBytes(CONTACT_RECORD_CONTEXT, signed)
}

// Validates and normalises (schema key order, no extra keys) the signed fields, so that what is signed is
// exactly what goes on the wire. Codec field errors (ERR_FIELD) pass through.
function signedFields (nodeIdBytes: Uint8Array, r: { publicKey: unknown, seq: unknown, expiresAt: unknown, endpoints: unknown, services: unknown }): SignedFields {
  const c = contactRecordFields
  return {
    id: nodeIdBytes,
    // Not compactCopy: a node keeps its session's key instead, and a dropped copy would stay in its slab.
    k: copyBytes(c.k.check(r.publicKey, 'publicKey')),
    q: c.q.check(r.seq, 'seq'),
    x: c.x.check(r.expiresAt, 'expiresAt'),
    e: c.e.check(r.endpoints, 'endpoints').map(copyEndpoint),
    s: [...c.s.check(r.services, 'services')]
  }
}

// A fresh object with exactly the schema's keys (check() already refused any other key).
function copyEndpoint (e: SignedFields['e'][number]): SignedFields['e'][number] {
  return e.kind === 'tcp'
    ? { kind: 'tcp', host: e.host, port: e.port }
    : { kind: 'relay', relay: e.relay, host: e.host, port: e.port }
}

/**
 * Create and sign the identity's contact record (context {@link CONTACT_RECORD_CONTEXT}).
 * @throws {TypeError} when a field is out of the codec's bounds (e.g. more than 16 endpoints)
 */
export function createContactRecord (identity: NodeIdentity, fields: ContactRecordFields): ContactRecord {
  let signed: SignedFields
  try {
    signed = signedFields(identity.nodeIdBytes, { ...fields, publicKey: identity.publicKey, services: fields.services ?? [] })
  } catch (err) {
    if (isEgtpError(err)) throw new TypeError(`createContactRecord: ${err.message}`, { cause: err })
    throw err
  }
  return fromSigned(signed, identity.sign(signingBytes(signed)))
}

function fromSigned (s: SignedFields, g: Uint8Array): ContactRecord {
  return {
    nodeId: nodeIdFromBytes(s.id),
    publicKey: s.k,
    seq: s.q,
    expiresAt: s.x,
    endpoints: s.e,
    services: s.s,
    signature: g
  }
}

/**
 * Verify a contact record received from anywhere: its fields are within bounds, its public key hashes to its
 * node ID, its signature holds, and it has not expired. Returns a normalised copy (node ID in canonical form).
 * @throws {EgtpError} ERR_BAD_NODE_ID, ERR_FIELD (malformed), ERR_KEY_MISMATCH, ERR_SIGNATURE, ERR_STALE_RECORD
 */
export function verifyContactRecord (record: ContactRecord, options: VerifyContactRecordOptions = {}): ContactRecord {
  if (record === null || typeof record !== 'object') throw new TypeError('verifyContactRecord: record must be an object')
  const signed = signedFields(nodeIdToBytes(record.nodeId), record)
  const g = compactCopy(signature.check(record.signature, 'signature'))
  const known = options.knownPeer
  if (known === undefined || known.nodeId !== record.nodeId || !bytesEqual(known.publicKey, signed.k)) checkPeerKey(record.nodeId, signed.k)
  if (!verifySignature(signed.k, signingBytes(signed), g)) {
    throw new EgtpError('ERR_SIGNATURE', `contact record of ${nodeIdFromBytes(signed.id)} has an invalid signature`)
  }
  const now = options.now ?? Date.now()
  const graceMs = options.graceMs ?? RECORD_EXPIRY_GRACE_MS
  if (!(graceMs >= 0)) throw new RangeError('verifyContactRecord: graceMs must be a non-negative number')
  if (now >= signed.x + graceMs) {
    throw new EgtpError('ERR_STALE_RECORD', `contact record of ${nodeIdFromBytes(signed.id)} (seq ${signed.q}) expired at ${new Date(signed.x).toISOString()}` +
      ` (accepted until ${graceMs} ms later for clock skew; check this machine's clock if the record should be fresh)`)
  }
  return fromSigned(signed, g)
}

/** The wire fields of a record (no verification; bytes are copied). */
export function contactRecordToWire (record: ContactRecord): ContactRecordWire {
  const signed = signedFields(nodeIdToBytes(record.nodeId), record)
  return { ...signed, g: copyBytes(signature.check(record.signature, 'signature')) }
}

/**
 * A record from its wire fields, bounds-checked but NOT verified: pass the result to
 * {@link verifyContactRecord} before using it. Bytes are copied (decoded values may view a frame buffer).
 * @throws {EgtpError} ERR_FIELD, ERR_BAD_NODE_ID
 */
export function contactRecordFromWire (wire: ContactRecordWire): ContactRecord {
  if (wire === null || typeof wire !== 'object') throw new TypeError('contactRecordFromWire: wire must be an object')
  const id = copyBytes(contactRecordFields.id.check(wire.id, 'id'))
  const signed = signedFields(id, { publicKey: wire.k, seq: wire.q, expiresAt: wire.x, endpoints: wire.e, services: wire.s })
  return fromSigned(signed, compactCopy(signature.check(wire.g, 'g')))
}

/** A record's standalone encoding (a `cr` message), e.g. for a bootpage or a cache file. */
export function encodeContactRecord (record: ContactRecord): Uint8Array {
  return recordCodec.encode({ t: 'cr', ...contactRecordToWire(record) })
}

/**
 * Decode and verify a standalone record ({@link encodeContactRecord}).
 * @throws {EgtpError} codec errors (ERR_MALFORMED, ERR_FIELD, …) and those of {@link verifyContactRecord}
 */
export function decodeContactRecord (bytes: Uint8Array, options?: VerifyContactRecordOptions): ContactRecord {
  const { t: _t, ...wire } = recordCodec.decode(bytes)
  return verifyContactRecord(contactRecordFromWire(wire), options)
}
