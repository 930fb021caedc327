import { EgtpError, toHex } from '@egtp/interface'
import { ed25519 } from '@noble/curves/ed25519.js'
import { base32Encode } from './base32.ts'
import { PUBLIC_KEY_BYTES, SEED_BYTES } from './constants.ts'
import { signingKeyFromSeed } from './ed25519.ts'
import type { SigningKey } from './ed25519.ts'
import { hashNodeId } from './node-id.ts'
import { randomBytesPooled } from './random.ts'
import { checkBytes, copyBytes } from './util.ts'

/**
 * A node's identity: an Ed25519 key pair, the node ID it hashes to, and the X25519 static key derived from it
 * for the session handshake. Byte properties return copies, so callers cannot alter the identity.
 */
export interface NodeIdentity {
  /** Text form: 32 lowercase base32 characters. */
  readonly nodeId: string
  /** 20 raw bytes. */
  readonly nodeIdBytes: Uint8Array
  /** Ed25519 public key, 32 bytes. */
  readonly publicKey: Uint8Array
  /** First 8 hex characters of the node ID bytes (a hash of the public key): what `%k` prints in logs. */
  readonly fingerprint: string
  /** Ed25519 signature (64 bytes) of `message`, through libsodium when it loads, else node:crypto (the same bytes). */
  sign: (message: Uint8Array) => Uint8Array
  /** The X25519 public key of the birationally mapped Ed25519 key (RFC 7748 u-coordinate). */
  readonly x25519PublicKey: Uint8Array
  /** The X25519 secret key (a copy; only the session package needs it). */
  x25519SecretKey: () => Uint8Array
  /** The 32-byte Ed25519 seed (a copy; for keystores only). */
  exportSeed: () => Uint8Array
}

class Ed25519Identity implements NodeIdentity {
  readonly nodeId: string
  readonly fingerprint: string
  readonly #seed: Uint8Array
  readonly #signingKey: SigningKey
  readonly #publicKey: Uint8Array
  readonly #nodeIdBytes: Uint8Array
  #x25519PublicKey: Uint8Array | undefined
  #x25519SecretKey: Uint8Array | undefined

  constructor (seed: Uint8Array) {
    this.#seed = copyBytes(seed)
    this.#signingKey = signingKeyFromSeed(this.#seed)
    this.#publicKey = this.#signingKey.publicKey
    this.#nodeIdBytes = hashNodeId(this.#publicKey)
    this.nodeId = base32Encode(this.#nodeIdBytes)
    this.fingerprint = toHex(this.#nodeIdBytes.subarray(0, 4))
  }

  get publicKey (): Uint8Array { return this.#publicKey.slice() }
  get nodeIdBytes (): Uint8Array { return this.#nodeIdBytes.slice() }
  get x25519PublicKey (): Uint8Array {
    // Computed on first use: the point decoding costs ~0.2 ms, and many identities never need it.
    this.#x25519PublicKey ??= montgomeryU(ed25519.Point.fromBytes(this.#publicKey))
    return this.#x25519PublicKey.slice()
  }

  sign (message: Uint8Array): Uint8Array {
    checkBytes('sign: message', message)
    return this.#signingKey.sign(message)
  }

  x25519SecretKey (): Uint8Array {
    // RFC 8032 §5.1.5: the clamped first half of SHA-512(seed) is the scalar both curves use.
    this.#x25519SecretKey ??= this.#signingKey.x25519SecretKey?.() ?? ed25519.utils.toMontgomerySecret(this.#seed)
    return this.#x25519SecretKey.slice()
  }

  exportSeed (): Uint8Array {
    return this.#seed.slice()
  }

  // Never print or serialise secrets, even by accident.
  toJSON (): { nodeId: string } {
    return { nodeId: this.nodeId }
  }

  toString (): string {
    return `NodeIdentity(${this.nodeId})`
  }

  [Symbol.for('nodejs.util.inspect.custom')] (): string {
    return this.toString()
  }
}

/**
 * The identity of a 32-byte Ed25519 seed (RFC 8032 secret key). Deterministic: the same seed always gives
 * the same keys and node ID.
 * @throws {TypeError | RangeError} unless `seed` is 32 bytes
 */
export function identityFromSeed (seed: Uint8Array): NodeIdentity {
  checkBytes('identityFromSeed: seed', seed, SEED_BYTES)
  return new Ed25519Identity(seed)
}

/** A fresh identity from the operating system's CSPRNG (drawn ahead in a small pool, see {@link randomBytesPooled}). */
export function generateIdentity (): NodeIdentity {
  const seed = randomBytesPooled(SEED_BYTES)
  try {
    return new Ed25519Identity(seed)
  } finally {
    seed.fill(0)
  }
}

/**
 * The X25519 public key of a peer's Ed25519 public key (the birational map of RFC 7748 §4.1). Refuses keys that
 * do not decode to a curve point (strict RFC 8032 decoding) and the small-order points whose Diffie-Hellman
 * output is predictable.
 * @throws {EgtpError} ERR_KEY_MISMATCH for an invalid or small-order point
 */
export function x25519PublicKeyFromEd25519 (publicKey: Uint8Array): Uint8Array {
  checkBytes('x25519PublicKeyFromEd25519: publicKey', publicKey)
  if (publicKey.length !== PUBLIC_KEY_BYTES) {
    throw new EgtpError('ERR_KEY_MISMATCH', `an Ed25519 public key is ${PUBLIC_KEY_BYTES} bytes, got ${publicKey.length}`)
  }
  let point
  try {
    point = ed25519.Point.fromBytes(publicKey)
  } catch (err) {
    throw new EgtpError('ERR_KEY_MISMATCH', 'the public key is not a valid Ed25519 point', { cause: err })
  }
  if (point.isSmallOrder()) throw new EgtpError('ERR_KEY_MISMATCH', 'the public key is a small-order Ed25519 point')
  return montgomeryU(point)
}

const Fp = ed25519.Point.Fp

/**
 * The 32 bytes `b` as a little-endian integer, the top word masked with `topMask`: what noble's `bytesToNumberLE`
 * gives (proven by test), without its copy, reversal and hex text (this runs once per new peer, in the
 * interpreter: eight words instead of 32 characters).
 */
export function le256 (b: Uint8Array, topMask: number): bigint {
  let n = BigInt(((b[28]! | (b[29]! << 8) | (b[30]! << 16) | (b[31]! << 24)) & topMask) >>> 0)
  for (let i = 24; i >= 0; i -= 4) n = (n << 32n) | BigInt((b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0)
  return n
}

/**
 * Whether the Ed25519 public key `ed25519PublicKey` maps to `x25519PublicKey` under the birational map of RFC 7748
 * §4.1 — for an X25519 key already known to be a curve point that is not of small order, such as a Noise static
 * key the peer authenticated with a Diffie-Hellman (a handshake that decrypted under `ss`): then the Ed25519 key
 * that maps to it is a valid, non-small-order point, and this gives the same answer as comparing with
 * {@link x25519PublicKeyFromEd25519}, at a small fraction of the cost (one field multiplication instead of a point
 * decoding and an inversion: a few µs against ~130 µs). For an X25519 key not so proven, use {@link x25519PublicKeyFromEd25519}.
 * @returns false for wrong lengths, a non-canonical y, or a key that maps elsewhere
 * @throws {TypeError} when an argument is not a Uint8Array
 */
export function ed25519MapsToX25519 (ed25519PublicKey: Uint8Array, x25519PublicKey: Uint8Array): boolean {
  checkBytes('ed25519MapsToX25519: ed25519PublicKey', ed25519PublicKey)
  checkBytes('ed25519MapsToX25519: x25519PublicKey', x25519PublicKey)
  if (ed25519PublicKey.length !== PUBLIC_KEY_BYTES || x25519PublicKey.length !== PUBLIC_KEY_BYTES) return false
  // y is the key without its top bit (the sign of x); it must be canonical (below p), as strict decoding requires,
  // and so must u (the bytes x25519PublicKeyFromEd25519 would give). Then u = (1 + y) / (1 - y) is checked as
  // u (1 - y) = 1 + y: a multiplication instead of an inversion.
  const y = le256(ed25519PublicKey, 0x7fff_ffff)
  const u = le256(x25519PublicKey, 0xffff_ffff)
  if (!Fp.isValid(y) || !Fp.isValid(u) || Fp.eql(y, Fp.ONE)) return false
  return Fp.eql(Fp.mul(u, Fp.sub(Fp.ONE, y)), Fp.add(Fp.ONE, y))
}


// RFC 7748 §4.1: u = (1 + y) / (1 - y). Same result as noble's utils.toMontgomery, but from the point we
// already decoded (decoding is the expensive part). y = 1 is the identity point, refused as small order above.
function montgomeryU (point: InstanceType<typeof ed25519.Point>): Uint8Array {
  const { y } = point.toAffine()
  return Fp.toBytes(Fp.div(Fp.add(Fp.ONE, y), Fp.sub(Fp.ONE, y)))
}
