// X25519, the Noise DH (rev 34 §12.1), through libsodium (the optional `sodium-native`) when it loads, else
// node:crypto. libsodium works on raw 32-byte keys: no KeyObject import or export per handshake (a key pair
// ~24 µs against ~55 µs, a DH ~38 µs against ~44 µs plus ~7 µs to import the peer's key here), and a raw secret
// can be zeroed. Same bytes either way (the vector tests run both).
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { EgtpError } from '@egtp/interface'
import { randomBytesPooled, x25519PublicKeyFromEd25519 } from '@egtp/identity'
import { loadSodium } from './sodium.ts'

/** X25519 key and Diffie-Hellman output length (Noise DHLEN). */
export const DH_LEN = 32

/**
 * The libsodium functions used: X25519 (they clamp the scalar; a small-order peer key makes them throw) and the
 * map of an Ed25519 public key to X25519 (it throws for a key that is no canonical point of the prime-order
 * subgroup).
 */
interface SodiumX25519 {
  crypto_scalarmult: (q: Uint8Array, n: Uint8Array, p: Uint8Array) => void
  crypto_scalarmult_base: (q: Uint8Array, n: Uint8Array) => void
  crypto_sign_ed25519_pk_to_curve25519: (x25519: Uint8Array, ed25519: Uint8Array) => void
}

const sodium = loadSodium<SodiumX25519>(['crypto_scalarmult', 'crypto_scalarmult_base', 'crypto_sign_ed25519_pk_to_curve25519'])

/** Whether X25519 goes through libsodium (raw secrets) rather than node:crypto (KeyObject secrets). */
export const sodiumX25519Loaded = sodium !== undefined

/**
 * An X25519 key pair: the raw public key and the secret, raw when libsodium does X25519 (zeroed when no longer
 * needed), else a node:crypto KeyObject (never exported raw; JavaScript cannot zero it: it is dropped for GC).
 */
export interface KeyPair {
  readonly publicKey: Uint8Array
  readonly secret: KeyObject | Uint8Array
}

const b64u = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64url')
const toU8 = (b: Uint8Array): Uint8Array => b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.length)

function checkSecret (secret: Uint8Array): void {
  if (!(secret instanceof Uint8Array) || secret.length !== DH_LEN) throw new TypeError(`an X25519 secret key is ${DH_LEN} bytes`)
}

/** A fresh X25519 key pair from the OS CSPRNG (drawn ahead in a pool: one call per handshake costs ~10 µs). */
export function generateKeyPair (): KeyPair {
  if (sodium !== undefined) return sodiumKeyPair(randomBytesPooled(DH_LEN))
  const { publicKey, privateKey } = generateKeyPairSync('x25519')
  return { publicKey: new Uint8Array(Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url')), secret: privateKey }
}

/**
 * The key pair of a raw 32-byte X25519 secret (clamping is applied by X25519 itself; the secret is copied).
 * Used for the static key (once) and for injected test ephemerals.
 */
export function keyPairFromSecret (secret: Uint8Array): KeyPair {
  checkSecret(secret)
  return sodium !== undefined ? sodiumKeyPair(secret.slice()) : keyPairFromSecretNode(secret)
}

function sodiumKeyPair (secret: Uint8Array): KeyPair {
  const publicKey = new Uint8Array(DH_LEN)
  sodium!.crypto_scalarmult_base(publicKey, secret)
  return { publicKey, secret }
}

/** @internal {@link keyPairFromSecret} through node:crypto whatever loaded (~0.2 ms; tests compare both paths). */
export function keyPairFromSecretNode (secret: Uint8Array): KeyPair {
  checkSecret(secret)
  // A JWK import needs some `x`; node derives the real public key from `d` (checked by the vector tests).
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64u(secret), x: b64u(new Uint8Array(DH_LEN)) }, format: 'jwk' })
  const x = createPublicKey(key).export({ format: 'jwk' }).x!
  return { publicKey: new Uint8Array(Buffer.from(x, 'base64url')), secret: key }
}

/** Import a raw X25519 public key for node:crypto (about 12 µs through JWK, ten times faster than DER). */
export function importPublicKey (publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64u(publicKey) }, format: 'jwk' })
}

/**
 * X25519 of our `secret` with the peer's public key: raw bytes through libsodium for a raw secret, else the
 * peer's KeyObject (`remoteObject`, imported only then) through node:crypto. A small-order peer key gives an
 * all-zero output, which both refuse: that is reported as a handshake failure, never as a key.
 * @throws {EgtpError} ERR_HANDSHAKE
 */
export function dh (secret: KeyObject | Uint8Array, remote: Uint8Array, remoteObject: () => KeyObject): Uint8Array {
  try {
    if (secret instanceof Uint8Array) {
      if (sodium === undefined) throw new TypeError('a raw X25519 secret needs libsodium')
      const out = new Uint8Array(DH_LEN)
      sodium.crypto_scalarmult(out, secret, remote)
      return out
    }
    return toU8(diffieHellman({ privateKey: secret, publicKey: remoteObject() }))
  } catch (err) {
    throw new EgtpError('ERR_HANDSHAKE', 'Diffie-Hellman with the peer key failed', { cause: err })
  }
}

/**
 * The X25519 public key of a peer's Ed25519 public key (RFC 7748 §4.1), for the first initiation to it: through
 * libsodium when loaded (~60 µs against ~130 µs for `@egtp/identity`'s pure-JS decoding), which refuses what
 * {@link x25519PublicKeyFromEd25519} refuses (no canonical curve point, small order) and also a point outside
 * the prime-order subgroup (which no honestly generated key is).
 * @throws {EgtpError} ERR_KEY_MISMATCH
 */
export function x25519OfPeer (publicKey: Uint8Array): Uint8Array {
  if (sodium === undefined || !(publicKey instanceof Uint8Array) || publicKey.length !== DH_LEN) return x25519PublicKeyFromEd25519(publicKey)
  const k = latin1Of(publicKey)
  const known = peerX25519Memo.get(k)
  if (known !== undefined) return known.slice()
  const out = new Uint8Array(DH_LEN)
  try {
    sodium.crypto_sign_ed25519_pk_to_curve25519(out, publicKey)
  } catch (err) {
    throw new EgtpError('ERR_KEY_MISMATCH', 'the public key is not a valid Ed25519 point of the prime-order subgroup', { cause: err })
  }
  if (peerX25519Memo.size >= PEER_X25519_MEMO_SIZE) peerX25519Memo.delete(peerX25519Memo.keys().next().value!)
  peerX25519Memo.set(k, out.slice())
  return out
}

/**
 * Ed25519 → X25519 results remembered process-wide (public data only; only keys libsodium accepted): a manager
 * keeps its own peers' for as long as it knows them, this saves the ~30 µs point decompression when many
 * managers of one process meet the same key (a test network, a process running many nodes against one server).
 * Oldest out first. Each hit hands out a copy.
 */
export const PEER_X25519_MEMO_SIZE = 256
const peerX25519Memo = new Map<string, Uint8Array>()
/** A key's bytes as a string, to key a Map by them (one char per byte, no copy of the bytes). */
export const latin1Of = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1')

/** Zero a raw secret (a KeyObject cannot be: it is dropped for GC). */
export function wipeSecret (pair: KeyPair | undefined): void {
  if (pair?.secret instanceof Uint8Array) pair.secret.fill(0)
}

/** A bounded cache of imported public keys (static keys are used again and again; imports cost ~12 µs). */
export class PublicKeyCache {
  readonly #max: number
  readonly #map = new Map<string, KeyObject>()

  constructor (max: number) {
    this.#max = max
  }

  get (publicKey: Uint8Array): KeyObject {
    const id = b64u(publicKey)
    let key = this.#map.get(id)
    if (key !== undefined) {
      this.#map.delete(id)
    } else {
      key = importPublicKey(publicKey)
      if (this.#map.size >= this.#max) this.#map.delete(this.#map.keys().next().value!)
    }
    this.#map.set(id, key)
    return key
  }

  clear (): void {
    this.#map.clear()
  }
}

