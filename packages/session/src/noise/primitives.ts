// Noise primitives (rev 34 §4, §12): the AEADs through node:crypto (native, several times faster than pure JS
// here); hashes, HMAC and HKDF (./hash.ts) through @noble/hashes (the project's hashing library). Keys handed
// to node:crypto are imported once and cached.
// ChaChaPoly on small inputs goes through libsodium (the optional `sodium-native`) when it loads: node:crypto
// builds a Cipheriv object per call (~5 µs and garbage each time), libsodium is one native call. Same bytes.
import { createCipheriv, createDecipheriv } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { EgtpError } from '@egtp/interface'
import { loadSodium } from './sodium.ts'

/** AEAD key and tag lengths. */
export const KEY_LEN = 32
export const TAG_LEN = 16

/** A Noise AEAD (§5.1 ENCRYPT/DECRYPT) with a 64-bit counter nonce. */
export interface NoiseCipher {
  readonly name: 'ChaChaPoly' | 'AESGCM'
  /** 96-bit nonce for counter `n` (0 ≤ n < 2^53), or the all-ones counter 2^64-1 used by REKEY. */
  nonce: (n: number | 'max') => Uint8Array
  encrypt: (key: Uint8Array | KeyObject, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array) => Uint8Array
  /**
   * Encrypt with empty associated data straight into `out` at `offset` (ciphertext ‖ tag: plaintext + 16 bytes).
   * `plaintext` may be `out`'s own bytes at `offset` (encrypted in place).
   */
  encryptInto: (key: Uint8Array | KeyObject, nonce: Uint8Array, plaintext: Uint8Array, out: Uint8Array, offset: number) => void
  /**
   * Encrypt the concatenation of `parts` with empty associated data, without copying them together: returns
   * the ciphertext ‖ tag as pieces (one per non-empty part, the tag in the last).
   */
  encryptParts: (key: Uint8Array | KeyObject, nonce: Uint8Array, parts: readonly Uint8Array[]) => Uint8Array[]
  /** @throws {EgtpError} ERR_AUTH when the tag does not verify */
  decrypt: (key: Uint8Array | KeyObject, nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array) => Uint8Array
  /**
   * Decrypt with empty associated data into the ciphertext's own memory (its first bytes become the plaintext,
   * returned as a view of it): no output allocation. Returns `undefined` (and leaves `ciphertext` untouched) when
   * it cannot (no libsodium, a KeyObject, AES-GCM): then call {@link decrypt}. On a bad tag the bytes are zeroed.
   * @throws {EgtpError} ERR_AUTH when the tag does not verify
   */
  decryptInPlace: (key: Uint8Array | KeyObject, nonce: Uint8Array, ciphertext: Uint8Array) => Uint8Array | undefined
}

const toU8 = (b: Uint8Array): Uint8Array => b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.length)
const EMPTY = new Uint8Array(0)

/**
 * Inputs up to this many bytes are sealed and opened by libsodium when it loaded: below it one native call beats
 * node:crypto's per-call object (64 B: ~1.5 µs against ~11 µs per seal + open); above it OpenSSL's ChaCha20 is
 * the faster of the two (64 KiB: ~220 µs against ~280 µs), so large frames stay on node:crypto.
 */
export const SODIUM_AEAD_MAX_BYTES = 8 * 1024

/**
 * The libsodium functions used (IETF ChaCha20-Poly1305: Noise's ChaChaPoly, 96-bit nonce), in their combined
 * form (ciphertext ‖ tag as one buffer): one view per call instead of two or three on the per-frame path.
 */
interface SodiumAead {
  crypto_aead_chacha20poly1305_ietf_encrypt: (c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array) => void
  crypto_aead_chacha20poly1305_ietf_decrypt: (m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array) => void
}

const sodium = loadSodium<SodiumAead>(['crypto_aead_chacha20poly1305_ietf_encrypt', 'crypto_aead_chacha20poly1305_ietf_decrypt'])

/**
 * Small plaintexts are opened into views of a shared slab, as Node's `Buffer` pool does: one ArrayBuffer per slab
 * instead of one per frame (an ArrayBuffer of its own costs ~0.3 µs and GC work; a view ~30 ns). A part of the
 * slab is never handed out twice, so a plaintext stays valid for good; one the application keeps keeps its slab
 * alive, which is why slabs are small.
 */
export const OPEN_SLAB_BYTES = 8 * 1024
/** Largest plaintext opened into a slab; a larger one gets an ArrayBuffer of its own. */
export const MAX_SLAB_PLAINTEXT_BYTES = 1024
let openSlab = new ArrayBuffer(OPEN_SLAB_BYTES)
let openSlabPos = 0
/** The slab view {@link plaintextMemory} handed out last (compared by identity: Node 20 does not inline `buffer`). */
let lastSlabPlaintext: Uint8Array | undefined

/** Memory for `n` bytes of plaintext (the slab's part is taken only once the tag verified: {@link plaintextTaken}). */
function plaintextMemory (n: number): Uint8Array {
  if (n > MAX_SLAB_PLAINTEXT_BYTES) return new Uint8Array(n)
  if (openSlabPos + n > OPEN_SLAB_BYTES) {
    openSlab = new ArrayBuffer(OPEN_SLAB_BYTES)
    openSlabPos = 0
  }
  lastSlabPlaintext = new Uint8Array(openSlab, openSlabPos, n)
  return lastSlabPlaintext
}

function plaintextTaken (out: Uint8Array): void {
  if (out !== lastSlabPlaintext) return
  lastSlabPlaintext = undefined
  openSlabPos = (openSlabPos + out.length + 7) & ~7
}

/** Whether ChaChaPoly uses libsodium for small inputs (raw keys only: a KeyObject always goes to node:crypto). */
export const sodiumLoaded = sodium !== undefined

function makeCipher (name: NoiseCipher['name'], algorithm: 'chacha20-poly1305' | 'aes-256-gcm', littleEndian: boolean): NoiseCipher {
  const cipher = makeNodeCipher(name, algorithm, littleEndian)
  const na = sodium
  if (na === undefined || algorithm !== 'chacha20-poly1305') return cipher
  // Empty inputs too (a confirmation, an empty handshake payload: one per new session on each side): node:crypto's
  // Cipheriv object costs ~10 µs there as anywhere.
  const small = (key: Uint8Array | KeyObject, bytes: number): key is Uint8Array => bytes <= SODIUM_AEAD_MAX_BYTES && key instanceof Uint8Array
  return {
    name,
    nonce: cipher.nonce,
    encrypt: (key, nonce, ad, plaintext) => {
      if (!small(key, plaintext.length)) return cipher.encrypt(key, nonce, ad, plaintext)
      const n = plaintext.length
      const out = new Uint8Array(n + TAG_LEN)
      na.crypto_aead_chacha20poly1305_ietf_encrypt(out, plaintext, ad.length > 0 ? ad : null, null, nonce, key)
      return out
    },
    encryptInto: (key, nonce, plaintext, out, offset) => {
      const n = plaintext.length
      if (!small(key, n)) {
        cipher.encryptInto(key, nonce, plaintext, out, offset)
        return
      }
      na.crypto_aead_chacha20poly1305_ietf_encrypt(out.subarray(offset, offset + n + TAG_LEN), plaintext, null, null, nonce, key)
    },
    // Parts are sealed one by one only when large (a session joins small ones into its frame and seals them
    // with encryptInto), where node:crypto is the faster of the two.
    encryptParts: cipher.encryptParts,
    decrypt: (key, nonce, ad, ciphertext) => {
      const n = ciphertext.length - TAG_LEN
      if (n < 0) throw new EgtpError('ERR_AUTH', 'message authentication failed')
      if (!small(key, n)) return cipher.decrypt(key, nonce, ad, ciphertext)
      const out = plaintextMemory(n)
      try {
        na.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, ciphertext, ad.length > 0 ? ad : null, nonce, key)
      } catch (err) {
        throw new EgtpError('ERR_AUTH', 'message authentication failed', { cause: err })
      }
      plaintextTaken(out)
      return out
    },
    decryptInPlace: (key, nonce, ciphertext) => {
      const n = ciphertext.length - TAG_LEN
      if (n < 0) throw new EgtpError('ERR_AUTH', 'message authentication failed')
      if (!(key instanceof Uint8Array)) return undefined
      const out = ciphertext.subarray(0, n) // libsodium verifies the tag first, then decrypts over the same bytes
      try {
        na.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, ciphertext, null, nonce, key)
      } catch (err) {
        throw new EgtpError('ERR_AUTH', 'message authentication failed', { cause: err })
      }
      return out
    }
  }
}

function makeNodeCipher (name: NoiseCipher['name'], algorithm: 'chacha20-poly1305' | 'aes-256-gcm', littleEndian: boolean): NoiseCipher {
  return {
    name,
    nonce: (n) => {
      // ChaChaPoly: 32 zero bits ‖ little-endian 64-bit n. AESGCM: 32 zero bits ‖ big-endian 64-bit n (§12.3, §12.4).
      const out = new Uint8Array(12)
      if (n === 'max') {
        out.fill(0xff, 4)
        return out
      }
      const view = new DataView(out.buffer)
      const lo = n >>> 0
      const hi = Math.floor(n / 0x1_0000_0000)
      if (littleEndian) {
        view.setUint32(4, lo, true)
        view.setUint32(8, hi, true)
      } else {
        view.setUint32(4, hi, false)
        view.setUint32(8, lo, false)
      }
      return out
    },
    encrypt: (key, nonce, ad, plaintext) => {
      const c = createCipheriv(algorithm as 'chacha20-poly1305', key, nonce, { authTagLength: TAG_LEN })
      if (ad.length > 0) c.setAAD(ad, { plaintextLength: plaintext.length })
      const out = new Uint8Array(plaintext.length + TAG_LEN)
      if (plaintext.length > 0) out.set(c.update(plaintext))
      c.final()
      out.set(c.getAuthTag(), plaintext.length)
      return out
    },
    encryptInto: (key, nonce, plaintext, out, offset) => {
      const c = createCipheriv(algorithm as 'chacha20-poly1305', key, nonce, { authTagLength: TAG_LEN })
      if (plaintext.length > 0) out.set(c.update(plaintext), offset)
      c.final()
      out.set(c.getAuthTag(), offset + plaintext.length)
    },
    encryptParts: (key, nonce, parts) => {
      const c = createCipheriv(algorithm as 'chacha20-poly1305', key, nonce, { authTagLength: TAG_LEN })
      const out: Uint8Array[] = []
      for (const p of parts) if (p.length > 0) out.push(c.update(p))
      const rest = c.final() // empty for a stream cipher, kept for correctness
      if (rest.length > 0) out.push(rest)
      out.push(c.getAuthTag())
      return out
    },
    decrypt: (key, nonce, ad, ciphertext) => {
      if (ciphertext.length < TAG_LEN) throw new EgtpError('ERR_AUTH', 'message authentication failed')
      const body = ciphertext.subarray(0, ciphertext.length - TAG_LEN)
      const d = createDecipheriv(algorithm as 'chacha20-poly1305', key, nonce, { authTagLength: TAG_LEN })
      d.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_LEN))
      if (ad.length > 0) d.setAAD(ad, { plaintextLength: body.length })
      const out = body.length > 0 ? toU8(d.update(body)) : EMPTY
      try {
        d.final()
      } catch (err) {
        out.fill(0)
        throw new EgtpError('ERR_AUTH', 'message authentication failed', { cause: err })
      }
      return out
    },
    decryptInPlace: () => undefined
  }
}

export const CIPHERS: Readonly<Record<NoiseCipher['name'], NoiseCipher>> = {
  ChaChaPoly: makeCipher('ChaChaPoly', 'chacha20-poly1305', true),
  AESGCM: makeCipher('AESGCM', 'aes-256-gcm', false)
}

export { HASHES, makeHash } from './hash.ts'
export type { NoiseHash } from './hash.ts'
export { DH_LEN, PublicKeyCache, dh, generateKeyPair, importPublicKey, keyPairFromSecret, latin1Of, wipeSecret } from './x25519.ts'
export type { KeyPair } from './x25519.ts'

/**
 * The bytes of `parts` in one new array (`total` is its length when the caller already knows it; a larger
 * `total` leaves room after them).
 */
export function concatBytes (parts: readonly Uint8Array[], total?: number): Uint8Array {
  let length = total ?? 0
  if (total === undefined) for (const p of parts) length += p.length
  const out = new Uint8Array(length)
  let pos = 0
  for (const p of parts) {
    out.set(p, pos)
    pos += p.length
  }
  return out
}
