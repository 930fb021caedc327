// Ed25519 through node:crypto (OpenSSL: ~40 µs sign, ~100 µs verify, 20x faster than pure JS). Raw keys are
// imported by prepending the fixed DER headers of PKCS#8 / SPKI for the Ed25519 OID 1.3.101.112.
import { createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { DEFAULT_PUBLIC_KEY_CACHE_SIZE, MAX_PUBLIC_KEY_CACHE_SIZE, PUBLIC_KEY_BYTES, SEED_BYTES, SIGNATURE_BYTES } from './constants.ts'
import { checkBytes, toU8 } from './util.ts'

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

export function importSeed (seed: Uint8Array): KeyObject {
  const der = Buffer.alloc(PKCS8_PREFIX.length + SEED_BYTES)
  PKCS8_PREFIX.copy(der)
  der.set(seed, PKCS8_PREFIX.length)
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  } finally {
    der.fill(0)
  }
}

export function publicKeyOf (privateKey: KeyObject): Uint8Array {
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  return new Uint8Array(spki.subarray(SPKI_PREFIX.length))
}

function importPublicKey (publicKey: Uint8Array): KeyObject {
  const der = Buffer.alloc(SPKI_PREFIX.length + PUBLIC_KEY_BYTES)
  SPKI_PREFIX.copy(der)
  der.set(publicKey, SPKI_PREFIX.length)
  return createPublicKey({ key: der, format: 'der', type: 'spki' })
}

export function signWith (privateKey: KeyObject, message: Uint8Array): Uint8Array {
  return toU8(cryptoSign(null, message, privateKey))
}

// A bounded LRU of imported public keys: a Map keeps insertion order, so re-inserting on a hit moves the entry
// to the back and the first entry is the least recently used.
const cache = new Map<string, KeyObject>()
let cacheSize = DEFAULT_PUBLIC_KEY_CACHE_SIZE

/**
 * Set how many imported public keys {@link verifySignature} caches (default
 * {@link DEFAULT_PUBLIC_KEY_CACHE_SIZE}; 0 disables the cache).
 * @throws {RangeError} outside 0..{@link MAX_PUBLIC_KEY_CACHE_SIZE}
 */
export function setPublicKeyCacheSize (entries: number): void {
  if (!Number.isInteger(entries) || entries < 0 || entries > MAX_PUBLIC_KEY_CACHE_SIZE) {
    throw new RangeError(`setPublicKeyCacheSize: entries must be an integer 0..${MAX_PUBLIC_KEY_CACHE_SIZE}`)
  }
  cacheSize = entries
  while (cache.size > cacheSize) cache.delete(cache.keys().next().value!)
}

/** Entries currently in the public key cache (for tests and stats). */
export function publicKeyCacheEntries (): number {
  return cache.size
}

function cachedPublicKey (publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('latin1')
  let key = cache.get(id)
  if (key !== undefined) {
    cache.delete(id)
    cache.set(id, key)
    return key
  }
  key = importPublicKey(publicKey)
  if (cacheSize > 0) {
    if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!)
    cache.set(id, key)
  }
  return key
}

/**
 * Verify an Ed25519 signature (RFC 8032, as strict as OpenSSL: S must be below the group order). Wrong lengths
 * and invalid keys give `false`, never an exception, since all three inputs usually come from the network.
 * @throws {TypeError} when an argument is not a Uint8Array
 */
export function verifySignature (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  checkBytes('verifySignature: publicKey', publicKey)
  checkBytes('verifySignature: message', message)
  checkBytes('verifySignature: signature', signature)
  if (publicKey.byteLength !== PUBLIC_KEY_BYTES || signature.byteLength !== SIGNATURE_BYTES) return false
  try {
    return cryptoVerify(null, message, cachedPublicKey(publicKey), signature)
  } catch {
    return false
  }
}
