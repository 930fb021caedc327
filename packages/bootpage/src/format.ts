import { BOOTPAGE_FORMAT_VERSION, MAX_BOOTPAGE_RECORDS, bootpageSignedValue } from '@egtp/codec'
import { EgtpError, isEgtpError, toHex } from '@egtp/interface'
import type { ContactRecord } from '@egtp/interface'
import {
  PUBLIC_KEY_BYTES, SIGNATURE_BYTES, contactRecordToWire, nodeIdFromPublicKey, parseNodeId, signCanonical, verifyCanonical,
  verifyContactRecord
} from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import { BOOTPAGE_CONTEXT, BOOTPAGE_FORMAT, RELAY_SERVICE, TRACKER_SERVICE } from './constants.ts'
import { checkSigner, parseBootpageKey } from './key.ts'
import type { BootpageSigner } from './key.ts'

/** A page read from JSON: every field bounds-checked, nothing verified yet (see {@link verifyBootpage}). */
export interface Bootpage {
  version: number
  /** Node ID of `publicKey` (the JSON names both; they must agree). */
  signer: string
  publicKey: Uint8Array
  /** Unix milliseconds. */
  issuedAt: number
  expiresAt: number
  /** As listed, unverified. */
  records: ContactRecord[]
  signature: Uint8Array
}

/** A record of a page that failed its own verification, and why. It is left out of the result. */
export interface RefusedRecord {
  index: number
  nodeId: string
  error: EgtpError
}

/** A page whose signer, signature and expiry hold; its records verified one by one. */
export interface VerifiedBootpage {
  version: number
  signer: string
  publicKey: Uint8Array
  issuedAt: number
  expiresAt: number
  /** Every listed record that verified, in page order. */
  records: ContactRecord[]
  /** The verified records offering the `metatracker` service: what the metatracker client starts from. */
  trackers: ContactRecord[]
  /** The verified records offering the `relay` service. */
  relays: ContactRecord[]
  refused: RefusedRecord[]
}

export interface CreateBootpageInit {
  /** Signed contact records (each is verified first: a page never lists a record that does not hold). */
  records: ContactRecord[]
  /** Unix milliseconds after which the page is worthless. */
  expiresAt: number
  /** Default `Date.now()`. */
  issuedAt?: number
}

export interface VerifyBootpageOptions {
  /** Who must have signed: node ID, 64-hex public key, or 32 key bytes. */
  key: string | Uint8Array | BootpageSigner
  /** Unix milliseconds for the expiry checks; default `Date.now()`. */
  now?: number
}

const malformed = (message: string, cause?: unknown): EgtpError =>
  new EgtpError('ERR_BOOTPAGE_MALFORMED', message, cause === undefined ? undefined : { cause })

type Json = Record<string, unknown>

function isObject (v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function exactKeys (o: Json, keys: readonly string[], path: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw malformed(`${path}: unexpected field ${JSON.stringify(k.slice(0, 32))}`)
  for (const k of keys) if (!(k in o)) throw malformed(`${path}: missing field ${k}`)
}

function hexBytes (v: unknown, length: number, path: string): Uint8Array {
  if (typeof v !== 'string' || v.length !== length * 2 || !/^[0-9a-f]*$/.test(v)) throw malformed(`${path}: expected ${length * 2} lowercase hex digits`)
  return Uint8Array.from(Buffer.from(v, 'hex'))
}


// One spelling per instant (what toISOString writes), so a person reads exactly what is signed.
function isoTime (v: unknown, path: string): number {
  const ms = typeof v === 'string' ? Date.parse(v) : Number.NaN
  if (!Number.isSafeInteger(ms) || ms < 0 || new Date(ms).toISOString() !== v) {
    throw malformed(`${path}: expected a UTC time as toISOString() writes it, e.g. "2026-12-04T22:30:00.000Z"`)
  }
  return ms
}

const iso = (ms: number): string => new Date(ms).toISOString()

function recordFromJson (v: unknown, path: string): ContactRecord {
  if (!isObject(v)) throw malformed(`${path}: expected an object`)
  exactKeys(v, ['nodeId', 'services', 'endpoints', 'seq', 'expiresAt', 'publicKey', 'signature'], path)
  if (typeof v.nodeId !== 'string') throw malformed(`${path}.nodeId: expected a node ID`)
  let nodeId: string
  try {
    nodeId = parseNodeId(v.nodeId) // the canonical (lowercase) form: base32 is read case-insensitively
  } catch (err) {
    throw malformed(`${path}.nodeId: ${(err as Error).message}`, err)
  }
  const record = {
    nodeId,
    publicKey: hexBytes(v.publicKey, PUBLIC_KEY_BYTES, `${path}.publicKey`),
    seq: v.seq,
    expiresAt: isoTime(v.expiresAt, `${path}.expiresAt`),
    endpoints: v.endpoints,
    services: v.services,
    signature: hexBytes(v.signature, SIGNATURE_BYTES, `${path}.signature`)
  } as ContactRecord
  try {
    contactRecordToWire(record) // the codec's bounds: node ID form, endpoints, services, seq
  } catch (err) {
    if (isEgtpError(err)) throw malformed(`${path}: ${err.message}`, err)
    throw err
  }
  return record
}

function recordToJson (r: ContactRecord): Json {
  return {
    nodeId: r.nodeId,
    services: r.services,
    endpoints: r.endpoints,
    seq: r.seq,
    expiresAt: iso(r.expiresAt),
    publicKey: toHex(r.publicKey),
    signature: toHex(r.signature)
  }
}

/** The value the page signature covers; its canonical msgpack bytes are what is signed. */
function signedValue (page: Omit<Bootpage, 'signature' | 'signer'>): Record<string, unknown> {
  return bootpageSignedValue.check({
    v: page.version,
    k: page.publicKey,
    i: page.issuedAt,
    x: page.expiresAt,
    r: page.records.map(contactRecordToWire)
  }, 'bootpage')
}

/**
 * Sign a page listing `records` and return its JSON text (what a static HTTP server serves).
 * @throws {EgtpError} ERR_SIGNATURE, ERR_STALE_RECORD, … when a record does not verify
 * @throws {RangeError} for more than {@link MAX_BOOTPAGE_RECORDS} records or bad times
 */
export function createBootpage (identity: NodeIdentity, init: CreateBootpageInit): string {
  const issuedAt = init.issuedAt ?? Date.now()
  if (!Number.isSafeInteger(issuedAt) || issuedAt < 0) throw new RangeError('createBootpage: issuedAt must be Unix milliseconds')
  if (!Number.isSafeInteger(init.expiresAt) || init.expiresAt <= issuedAt) throw new RangeError('createBootpage: expiresAt must be Unix milliseconds after issuedAt')
  if (!Array.isArray(init.records) || init.records.length > MAX_BOOTPAGE_RECORDS) {
    throw new RangeError(`createBootpage: records must be an array of at most ${MAX_BOOTPAGE_RECORDS}`)
  }
  const records = init.records.map(r => verifyContactRecord(r, { now: issuedAt }))
  const page = { version: BOOTPAGE_FORMAT_VERSION, publicKey: identity.publicKey, issuedAt, expiresAt: init.expiresAt, records }
  const signature = signCanonical(identity, BOOTPAGE_CONTEXT, signedValue(page))
  const doc = {
    format: BOOTPAGE_FORMAT,
    version: page.version,
    signer: identity.nodeId,
    publicKey: toHex(page.publicKey),
    issuedAt: iso(issuedAt),
    expiresAt: iso(init.expiresAt),
    records: records.map(recordToJson),
    signature: toHex(signature)
  }
  return `${JSON.stringify(doc, null, 2)}\n`
}

const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Read a page's JSON (bytes or text) and check every field's form and bounds. Verifies nothing.
 * @throws {EgtpError} ERR_BOOTPAGE_MALFORMED (not JSON, truncated, a field out of form, an unknown field),
 *   ERR_VERSION (a format version this code does not know), ERR_KEY_MISMATCH (signer is not publicKey's ID)
 */
export function parseBootpage (input: Uint8Array | string): Bootpage {
  let doc: unknown
  try {
    doc = JSON.parse(typeof input === 'string' ? input : decoder.decode(input))
  } catch (err) {
    throw malformed('the page is not UTF-8 JSON (truncated?)', err)
  }
  if (!isObject(doc) || doc.format !== BOOTPAGE_FORMAT) throw malformed(`the page is not an object with "format": "${BOOTPAGE_FORMAT}"`)
  if (doc.version !== BOOTPAGE_FORMAT_VERSION) {
    throw new EgtpError('ERR_VERSION', `bootpage format version ${JSON.stringify(doc.version)} is not supported (this code reads ${BOOTPAGE_FORMAT_VERSION})`)
  }
  exactKeys(doc, ['format', 'version', 'signer', 'publicKey', 'issuedAt', 'expiresAt', 'records', 'signature'], 'page')
  const publicKey = hexBytes(doc.publicKey, PUBLIC_KEY_BYTES, 'page.publicKey')
  const signer = nodeIdFromPublicKey(publicKey)
  if (doc.signer !== signer) throw new EgtpError('ERR_KEY_MISMATCH', `page.signer is not the node ID of page.publicKey (${signer})`)
  if (!Array.isArray(doc.records) || doc.records.length > MAX_BOOTPAGE_RECORDS) throw malformed(`page.records: expected an array of at most ${MAX_BOOTPAGE_RECORDS} records`)
  const issuedAt = isoTime(doc.issuedAt, 'page.issuedAt')
  const expiresAt = isoTime(doc.expiresAt, 'page.expiresAt')
  if (expiresAt <= issuedAt) throw malformed('page.expiresAt is not after page.issuedAt')
  return {
    version: BOOTPAGE_FORMAT_VERSION,
    signer,
    publicKey,
    issuedAt,
    expiresAt,
    records: doc.records.map((r, i) => recordFromJson(r, `page.records[${i}]`)),
    signature: hexBytes(doc.signature, SIGNATURE_BYTES, 'page.signature')
  }
}

/** True when the page's signature holds for the key the page itself names (says nothing about who that is). */
export function bootpageSignatureHolds (page: Bootpage): boolean {
  return verifyCanonical(page.publicKey, BOOTPAGE_CONTEXT, signedValue(page), page.signature)
}

/**
 * Verify a page: signed by the configured key, signature intact, not expired; then every record on its own
 * (a record that fails is left out and listed in `refused`).
 * @throws {EgtpError} those of {@link parseBootpage}; ERR_KEY_MISMATCH (another signer), ERR_SIGNATURE
 *   (tampered), ERR_BOOTPAGE_EXPIRED, ERR_BOOTPAGE_EMPTY (no valid metatracker record)
 */
export function verifyBootpage (input: Bootpage | Uint8Array | string, options: VerifyBootpageOptions): VerifiedBootpage {
  const page = typeof input === 'string' || input instanceof Uint8Array ? parseBootpage(input) : input
  const key = options.key
  const signer = typeof key === 'string' || key instanceof Uint8Array ? parseBootpageKey(key) : key
  checkSigner(signer, page.publicKey)
  if (!bootpageSignatureHolds(page)) throw new EgtpError('ERR_SIGNATURE', `the bootpage signature of ${page.signer} does not hold (tampered?)`)
  const now = options.now ?? Date.now()
  if (now >= page.expiresAt) throw new EgtpError('ERR_BOOTPAGE_EXPIRED', `the bootpage expired at ${iso(page.expiresAt)}`)
  const records: ContactRecord[] = []
  const refused: RefusedRecord[] = []
  page.records.forEach((r, index) => {
    try {
      records.push(verifyContactRecord(r, { now }))
    } catch (err) {
      if (!isEgtpError(err)) throw err
      refused.push({ index, nodeId: r.nodeId, error: err })
    }
  })
  const trackers = records.filter(r => r.services.includes(TRACKER_SERVICE))
  if (trackers.length === 0) {
    throw new EgtpError('ERR_BOOTPAGE_EMPTY', `the bootpage lists no valid ${TRACKER_SERVICE} record (${refused.length} refused)`)
  }
  return {
    version: page.version,
    signer: page.signer,
    publicKey: page.publicKey,
    issuedAt: page.issuedAt,
    expiresAt: page.expiresAt,
    records,
    trackers,
    relays: records.filter(r => r.services.includes(RELAY_SERVICE)),
    refused
  }
}
