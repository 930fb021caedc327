// Ed25519 through libsodium (the optional `sodium-native`) when it loads, else node:crypto (OpenSSL: ~40 µs sign,
// ~100 µs verify, 20x faster than pure JS). Signing keys: libsodium expands a seed in ~12 µs and signs in ~13,
// OpenSSL imports it as a JWK in ~25–60 µs and signs in ~22–40 (Ed25519 signatures are deterministic: both give
// the same bytes, and libsodium is used only after it signs RFC 8032 test 1 correctly). Raw keys for OpenSSL are
// imported as JWK: ~10 µs for a public key and ~60 µs for a private one, against ~140 µs and ~700 µs for the
// DER (SPKI / PKCS#8 prefix) route, which remains the fallback.
// Verification asks libsodium (the optional `sodium-native`) first when it loads: no key import, ~80 µs against
// ~145 µs for a key not seen before (every new peer's contact record). OpenSSL's verdict is the rule (see
// verifySignature): libsodium only ever says "valid" where OpenSSL does too. A signature found valid is
// remembered with its key and message (a bounded LRU), so the same record verified again costs ~1 µs.
import { createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto'
import { createRequire } from 'node:module'
import type { KeyObject } from 'node:crypto'
import {
  DEFAULT_PUBLIC_KEY_CACHE_SIZE, DEFAULT_VERIFIED_SIGNATURE_CACHE_SIZE, MAX_PUBLIC_KEY_CACHE_SIZE, MAX_VERIFIED_SIGNATURE_CACHE_SIZE,
  MAX_VERIFIED_SIGNATURE_MESSAGE_BYTES, PUBLIC_KEY_BYTES, SEED_BYTES, SIGNATURE_BYTES
} from './constants.ts'
import { bytesEqual } from '@egtp/interface'
import { LruCache } from './lru.ts'
import { checkBytes, latin1, toU8 } from './util.ts'

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const PLACEHOLDER_X = Buffer.alloc(PUBLIC_KEY_BYTES).toString('base64url')
const b64url = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64url')

/** What is used of libsodium (`sodium-native`, an optional dependency): Ed25519 signing and verification. */
interface SodiumSign {
  crypto_sign_verify_detached?: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean
  crypto_sign_seed_keypair?: (publicKey: Uint8Array, secretKey: Uint8Array, seed: Uint8Array) => void
  crypto_sign_detached?: (signature: Uint8Array, message: Uint8Array, secretKey: Uint8Array) => void
  crypto_sign_ed25519_sk_to_curve25519?: (x25519SecretKey: Uint8Array, ed25519SecretKey: Uint8Array) => void
}

/** libsodium, when `sodium-native` loads (EGTP_NO_SODIUM=1: never). */
function loadSodium (): SodiumSign | undefined {
  if (process.env.EGTP_NO_SODIUM === '1') return undefined
  try {
    return createRequire(import.meta.url)('sodium-native') as SodiumSign
  } catch {
    return undefined
  }
}

const sodium = loadSodium()
const sodiumVerify = typeof sodium?.crypto_sign_verify_detached === 'function' ? sodium.crypto_sign_verify_detached : undefined

export function importSeedDer (seed: Uint8Array): KeyObject {
  const der = Buffer.alloc(PKCS8_PREFIX.length + SEED_BYTES)
  PKCS8_PREFIX.copy(der)
  der.set(seed, PKCS8_PREFIX.length)
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  } finally {
    der.fill(0)
  }
}

// A private JWK must carry `x`, but Node (OpenSSL 3) imports Ed25519 from `d` alone and derives the public key.
// Were a runtime ever to trust a supplied `x`, signatures would be computed with a wrong public key (the
// "double public key" oracle), so the JWK route is used only after it signs RFC 8032 test 1 correctly.
let jwkImportWorks: boolean | undefined

function importSeedJwk (seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64url(seed), x: PLACEHOLDER_X }, format: 'jwk' })
}

/** RFC 8032 §7.1 TEST 1 (an empty message): what a signing route must reproduce before it is used. */
const RFC8032_TEST1 = {
  seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
  signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'
}

function checkJwkImport (): boolean {
  try {
    const key = importSeedJwk(Buffer.from(RFC8032_TEST1.seed, 'hex'))
    return cryptoSign(null, new Uint8Array(0), key).toString('hex') === RFC8032_TEST1.signature
  } catch {
    return false
  }
}

export function importSeed (seed: Uint8Array): KeyObject {
  jwkImportWorks ??= checkJwkImport()
  return jwkImportWorks ? importSeedJwk(seed) : importSeedDer(seed)
}

export function publicKeyOf (privateKey: KeyObject): Uint8Array {
  const x = privateKey.export({ format: 'jwk' }).x
  if (typeof x !== 'string') throw new Error('node:crypto exported an Ed25519 JWK without x')
  return checkedPublicKey(new Uint8Array(Buffer.from(x, 'base64url')), 'node:crypto')
}

function checkedPublicKey (publicKey: Uint8Array, by: string): Uint8Array {
  if (publicKey.length !== PUBLIC_KEY_BYTES || bytesEqual(publicKey, new Uint8Array(PUBLIC_KEY_BYTES))) {
    throw new Error(`${by} returned an invalid Ed25519 public key`)
  }
  return publicKey
}

/** An Ed25519 key pair able to sign (the secret stays inside). */
export interface SigningKey {
  readonly publicKey: Uint8Array
  sign: (message: Uint8Array) => Uint8Array
  /**
   * The X25519 secret key of the same seed (RFC 8032 §5.1.5: the clamped first half of SHA-512(seed)), when this
   * route can derive it natively (libsodium: ~1 µs against ~4–25 µs for a SHA-512 in JavaScript); else undefined.
   */
  x25519SecretKey?: (() => Uint8Array) | undefined
}

/** The signing key of an RFC 8032 seed: libsodium's when it loads and signs correctly, else OpenSSL's. */
export function signingKeyFromSeed (seed: Uint8Array): SigningKey {
  sodiumSignWorks ??= checkSodiumSign()
  return sodiumSignWorks ? sodiumSigningKey(seed) : openSslSigningKey(seed)
}

/** @internal The OpenSSL route, whatever loaded (tests compare the two). */
export function openSslSigningKey (seed: Uint8Array): SigningKey {
  const privateKey = importSeed(seed)
  const publicKey = publicKeyOf(privateKey)
  return { publicKey, sign: message => toU8(cryptoSign(null, message, privateKey)) }
}

/** (Only once {@link checkSodiumSign} found both functions.) */
function sodiumSigningKey (seed: Uint8Array): SigningKey {
  const detached = sodium!.crypto_sign_detached!
  const publicKey = new Uint8Array(PUBLIC_KEY_BYTES)
  const secretKey = new Uint8Array(SEED_BYTES + PUBLIC_KEY_BYTES) // seed ‖ public key, libsodium's layout
  sodium!.crypto_sign_seed_keypair!(publicKey, secretKey, seed)
  checkedPublicKey(publicKey, 'libsodium')
  const toCurve = sodium!.crypto_sign_ed25519_sk_to_curve25519
  return {
    publicKey,
    sign: message => {
      const signature = new Uint8Array(SIGNATURE_BYTES)
      detached(signature, message, secretKey)
      return signature
    },
    x25519SecretKey: toCurve === undefined
      ? undefined
      : () => {
          const x25519 = new Uint8Array(SEED_BYTES)
          toCurve(x25519, secretKey)
          return x25519
        }
  }
}

let sodiumSignWorks: boolean | undefined

function checkSodiumSign (): boolean {
  if (sodium?.crypto_sign_seed_keypair === undefined || sodium.crypto_sign_detached === undefined) return false
  try {
    const key = sodiumSigningKey(Buffer.from(RFC8032_TEST1.seed, 'hex'))
    return Buffer.from(key.publicKey).toString('hex') === RFC8032_TEST1.publicKey &&
      Buffer.from(key.sign(new Uint8Array(0))).toString('hex') === RFC8032_TEST1.signature
  } catch {
    return false
  }
}

function importPublicKey (publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(publicKey) }, format: 'jwk' })
}

/** Imported public keys, by their bytes. */
const importedKeys = new LruCache<KeyObject>(DEFAULT_PUBLIC_KEY_CACHE_SIZE)

/**
 * Set how many imported public keys {@link verifySignature} caches (default
 * {@link DEFAULT_PUBLIC_KEY_CACHE_SIZE}; 0 disables the cache).
 * @throws {RangeError} outside 0..{@link MAX_PUBLIC_KEY_CACHE_SIZE}
 */
export function setPublicKeyCacheSize (entries: number): void {
  importedKeys.resize(entries, 'setPublicKeyCacheSize', MAX_PUBLIC_KEY_CACHE_SIZE)
}

/** Entries currently in the public key cache (for tests and stats). */
export function publicKeyCacheEntries (): number {
  return importedKeys.size
}

function cachedPublicKey (publicKey: Uint8Array): KeyObject {
  return importedKeys.derived(publicKey, importPublicKey)
}

/**
 * Verify an Ed25519 signature (RFC 8032, as strict as OpenSSL: S must be below the group order). Wrong lengths
 * and invalid keys give `false`, never an exception, since all three inputs usually come from the network.
 *
 * Every node must reach the same verdict on a record, so the verdict is OpenSSL's. libsodium is asked first: it
 * checks the same cofactorless equation over the same bytes (S below the group order, R compared as encoded,
 * the hash over R ‖ A ‖ M) and refuses more besides (a non-canonical or small-order A, a small-order R), so its
 * "valid" is OpenSSL's "valid" too; anything it refuses goes to OpenSSL, which decides.
 * @throws {TypeError} when an argument is not a Uint8Array
 */
export function verifySignature (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  checkBytes('verifySignature: publicKey', publicKey)
  checkBytes('verifySignature: message', message)
  checkBytes('verifySignature: signature', signature)
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false
  const remembered = verified.capacity > 0 && message.length <= MAX_VERIFIED_SIGNATURE_MESSAGE_BYTES
  const id = remembered ? latin1(signature) : ''
  if (remembered) {
    const signed = verified.get(id)
    if (signed !== undefined && signedBytesAre(signed, publicKey, message)) return true
  }
  let valid = false
  if (sodiumVerify !== undefined) {
    try {
      valid = sodiumVerify(signature, message, publicKey)
    } catch {
      // Not a verdict: OpenSSL decides below.
    }
  }
  valid ||= verifySignatureOpenSsl(publicKey, message, signature)
  if (valid && remembered) {
    const signed = new Uint8Array(PUBLIC_KEY_BYTES + message.length)
    signed.set(publicKey)
    signed.set(message, PUBLIC_KEY_BYTES)
    verified.set(id, signed)
  }
  return valid
}

// Verdicts already reached, as a bounded LRU: each signature found valid, with a copy of the key ‖ message it was
// found valid over. A record is verified more than once on its way in (decoded, then kept by a node; a lookup's
// result, then offered to the peer table), and the same record comes back (lookups, bootpages, reconnections).
// Only "valid" is kept, and a hit needs the very bytes the verification ran over, so it is the verdict a
// verification would give again. (All public data: nothing here needs constant time.)
const verified = new LruCache<Uint8Array>(DEFAULT_VERIFIED_SIGNATURE_CACHE_SIZE)

function signedBytesAre (signed: Uint8Array, publicKey: Uint8Array, message: Uint8Array): boolean {
  if (signed.length !== PUBLIC_KEY_BYTES + message.length) return false
  for (let i = 0; i < PUBLIC_KEY_BYTES; i++) if (signed[i] !== publicKey[i]) return false
  for (let i = 0; i < message.length; i++) if (signed[PUBLIC_KEY_BYTES + i] !== message[i]) return false
  return true
}

/**
 * Set how many valid signatures {@link verifySignature} remembers (default
 * {@link DEFAULT_VERIFIED_SIGNATURE_CACHE_SIZE}; 0 disables it). Messages over
 * {@link MAX_VERIFIED_SIGNATURE_MESSAGE_BYTES} are verified every time.
 * @throws {RangeError} outside 0..{@link MAX_VERIFIED_SIGNATURE_CACHE_SIZE}
 */
export function setVerifiedSignatureCacheSize (entries: number): void {
  verified.resize(entries, 'setVerifiedSignatureCacheSize', MAX_VERIFIED_SIGNATURE_CACHE_SIZE)
}

/** Signatures currently remembered as valid (for tests and stats). */
export function verifiedSignatureCacheEntries (): number {
  return verified.size
}

/** @internal OpenSSL's verdict alone, whatever loaded (lengths already checked): the rule {@link verifySignature} follows. */
export function verifySignatureOpenSsl (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return cryptoVerify(null, message, cachedPublicKey(publicKey), signature)
  } catch {
    return false
  }
}

/** @internal Whether identities sign through libsodium (tests). */
export function sodiumSigns (): boolean {
  sodiumSignWorks ??= checkSodiumSign()
  return sodiumSignWorks
}

/** @internal Whether libsodium verifies first (tests). */
export const sodiumVerifyLoaded = sodiumVerify !== undefined
