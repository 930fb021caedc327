// CipherState and SymmetricState of the Noise Protocol Framework, revision 34, §5.1 and §5.2.
import { EgtpError } from '@egtp/interface'
import { KEY_LEN, TAG_LEN } from './primitives.ts'
import type { NoiseCipher, NoiseHash } from './primitives.ts'

/** Largest nonce a CipherState uses before it refuses (2^53 - 1 here instead of 2^64 - 2: JS integers). */
export const MAX_NONCE = Number.MAX_SAFE_INTEGER

/** §5.1: a key (or none) and a 64-bit nonce counter. */
export class CipherState {
  readonly cipher: NoiseCipher
  #k: Uint8Array | undefined
  n = 0

  constructor (cipher: NoiseCipher, key?: Uint8Array) {
    this.cipher = cipher
    this.#k = key
  }

  hasKey (): boolean {
    return this.#k !== undefined
  }

  initializeKey (key: Uint8Array | undefined): void {
    this.#k?.fill(0)
    this.#k = key
    this.n = 0
  }

  /** The raw key (for the session layer, which imports it once into node:crypto). */
  key (): Uint8Array | undefined {
    return this.#k
  }

  setNonce (n: number): void {
    this.n = n
  }

  encryptWithAd (ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.#k === undefined) return plaintext
    if (this.n >= MAX_NONCE) throw new EgtpError('ERR_LIMIT', 'nonce space exhausted')
    const out = this.cipher.encrypt(this.#k, this.cipher.nonce(this.n), ad, plaintext)
    this.n++
    return out
  }

  /** @throws {EgtpError} ERR_AUTH (the nonce is not advanced then) */
  decryptWithAd (ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.#k === undefined) return ciphertext
    if (this.n >= MAX_NONCE) throw new EgtpError('ERR_LIMIT', 'nonce space exhausted')
    const out = this.cipher.decrypt(this.#k, this.cipher.nonce(this.n), ad, ciphertext)
    this.n++
    return out
  }

  /** §4.2 REKEY: k = ENCRYPT(k, 2^64-1, empty, 32 zero bytes)[0..32]. */
  rekey (): void {
    if (this.#k === undefined) return
    const next = this.cipher.encrypt(this.#k, this.cipher.nonce('max'), new Uint8Array(0), new Uint8Array(KEY_LEN)).slice(0, KEY_LEN)
    this.#k.fill(0)
    this.#k = next
  }

  wipe (): void {
    this.#k?.fill(0)
    this.#k = undefined
  }

  /** A copy of the state, for rolling back a message that failed (see HandshakeState.readMessage). */
  snapshot (): { k: Uint8Array | undefined, n: number } {
    return { k: this.#k?.slice(), n: this.n }
  }

  restore (snap: { k: Uint8Array | undefined, n: number }): void {
    this.#k?.fill(0)
    this.#k = snap.k
    this.n = snap.n
  }
}

/** §5.2: chaining key, handshake hash and the current CipherState. */
export class SymmetricState {
  readonly hash: NoiseHash
  readonly cs: CipherState
  ck: Uint8Array
  h: Uint8Array

  constructor (protocolName: string, hash: NoiseHash, cipher: NoiseCipher) {
    this.hash = hash
    this.cs = new CipherState(cipher)
    this.h = initialHash(protocolName, hash).slice()
    this.ck = this.h.slice()
  }

  mixKey (ikm: Uint8Array): void {
    const [ck, tempK] = this.hash.hkdf(this.ck, ikm, 2) as [Uint8Array, Uint8Array]
    this.ck.fill(0)
    this.ck = ck
    this.cs.initializeKey(truncate(tempK))
  }

  mixHash (data: Uint8Array): void {
    this.h = this.hash.hash(this.h, data)
  }

  mixKeyAndHash (ikm: Uint8Array): void {
    const [ck, tempH, tempK] = this.hash.hkdf(this.ck, ikm, 3) as [Uint8Array, Uint8Array, Uint8Array]
    this.ck.fill(0)
    this.ck = ck
    this.mixHash(tempH)
    tempH.fill(0)
    this.cs.initializeKey(truncate(tempK))
  }

  encryptAndHash (plaintext: Uint8Array): Uint8Array {
    const ct = this.cs.encryptWithAd(this.h, plaintext)
    this.mixHash(ct)
    return ct
  }

  decryptAndHash (ciphertext: Uint8Array): Uint8Array {
    const pt = this.cs.decryptWithAd(this.h, ciphertext)
    this.mixHash(ciphertext)
    return pt
  }

  /** §5.2 Split: the two transport CipherStates (initiator → responder, responder → initiator). */
  split (): [CipherState, CipherState] {
    const [k1, k2] = this.hash.hkdf(this.ck, new Uint8Array(0), 2) as [Uint8Array, Uint8Array]
    return [new CipherState(this.cs.cipher, truncate(k1)), new CipherState(this.cs.cipher, truncate(k2))]
  }

  /** Bytes of ciphertext for `plaintextLength` bytes under the current key state. */
  sealedLength (plaintextLength: number): number {
    return plaintextLength + (this.cs.hasKey() ? TAG_LEN : 0)
  }

  wipe (): void {
    this.ck.fill(0)
    this.cs.wipe()
  }

  snapshot (): { ck: Uint8Array, h: Uint8Array, cs: ReturnType<CipherState['snapshot']> } {
    return { ck: this.ck.slice(), h: this.h.slice(), cs: this.cs.snapshot() }
  }

  restore (snap: ReturnType<SymmetricState['snapshot']>): void {
    this.ck.fill(0)
    this.ck = snap.ck
    this.h = snap.h
    this.cs.restore(snap.cs)
  }
}

/** The first h of each protocol name (a hash of the name when longer than HASHLEN), kept: a few names per process. */
const initialHashes = new Map<string, Uint8Array>()
const MAX_INITIAL_HASHES = 16

/** The last one asked for: one protocol per process in practice (no key string built per handshake). */
let lastInitial: { name: string, hash: NoiseHash, h: Uint8Array } | undefined

function initialHash (protocolName: string, hash: NoiseHash): Uint8Array {
  if (lastInitial !== undefined && lastInitial.name === protocolName && lastInitial.hash === hash) return lastInitial.h
  const h = initialHashOf(protocolName, hash)
  lastInitial = { name: protocolName, hash, h }
  return h
}

function initialHashOf (protocolName: string, hash: NoiseHash): Uint8Array {
  const key = `${hash.name} ${protocolName}`
  let h = initialHashes.get(key)
  if (h === undefined) {
    const name = new TextEncoder().encode(protocolName)
    if (name.length <= hash.hashLen) {
      h = new Uint8Array(hash.hashLen)
      h.set(name)
    } else {
      h = hash.hash(name)
    }
    if (initialHashes.size >= MAX_INITIAL_HASHES) initialHashes.clear()
    initialHashes.set(key, h)
  }
  return h
}

/** If HASHLEN is 64, cipher keys are the first 32 bytes (§5.2). */
function truncate (k: Uint8Array): Uint8Array {
  if (k.length === KEY_LEN) return k
  const out = k.slice(0, KEY_LEN)
  k.fill(0)
  return out
}
