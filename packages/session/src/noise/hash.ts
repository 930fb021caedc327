// HASH, HMAC and HKDF of Noise (rev 34 §4.3) through @noble/hashes (the project's hashing library, by the
// owner's choice). A handshake makes ~6 HKDFs (18 HMACs) and ~8 hashes per side: each Noise hash keeps two noble
// instances for its whole life and resets them by copying a blank one's state in (`_cloneInto`), so that a
// handshake allocates no hash objects, padded keys or views, and an HKDF computes only the outputs asked for.
// Measured (BLAKE2s, warm, loaded 2-core VM): HKDF with two outputs 28.0 -> 22.5 µs paired with noble's hmac;
// the compressions themselves (~1.5 µs each, 12 per HKDF) are what is left.
// The HKDF's second and third HMACs share their key (temp): its two padded key blocks are absorbed once and the
// states reused (RFC 2104 §4's precomputation), 10 compressions per two-output HKDF instead of 12. BLAKE2 holds a
// full block back until more input comes (its last block is flagged), so the padded block is compressed through
// noble's instance method `compress` as its own `update` would; a self-check at load compares the result with
// the plain HMAC and falls back to it should a noble version differ.
import { blake2b, blake2s } from '@noble/hashes/blake2.js'
import { sha256, sha512 } from '@noble/hashes/sha2.js'

/** A Noise hash function with its HMAC and HKDF (§4.3). */
export interface NoiseHash {
  readonly name: 'BLAKE2s' | 'BLAKE2b' | 'SHA256' | 'SHA512'
  readonly hashLen: 32 | 64
  hash: (...parts: Uint8Array[]) => Uint8Array
  /**
   * HKDF(chainingKey, inputKeyMaterial, numOutputs) of Noise §4.3: the first `outputs` outputs of hashLen bytes
   * each (Noise uses two or three; one computes only the first, the same bytes as the first of two).
   */
  hkdf: (chainingKey: Uint8Array, ikm: Uint8Array, outputs: 1 | 2 | 3) => Uint8Array[]
}

type NobleHash = typeof sha256 | typeof sha512 | typeof blake2s | typeof blake2b
/** What is used of a noble hash instance (sha2 and BLAKE2 alike). */
interface Instance {
  readonly blockLen: number
  update: (data: Uint8Array) => unknown
  /** The digest in a new array; the instance is then wiped (destroyed) until a state is copied in again. */
  digest: () => Uint8Array
  _cloneInto: (to: never) => unknown
  /** noble's BLAKE2 internals (not sha2's): the bytes held back, their words, and the block compression. */
  pos?: number
  buffer32?: Uint32Array
  compress?: (msg: Uint32Array, offset: number, isLast: boolean) => void
}

const ONE = Uint8Array.of(1)
const TWO = Uint8Array.of(2)
const THREE = Uint8Array.of(3)
const KEY_STATES = Symbol('keyStates')

/**
 * @internal A Noise hash over one noble hash function (not reentrant: every call finishes before it returns).
 * `reuseKeyStates: false` turns the HKDF's padded-key precomputation off (tests compare both ways).
 */
export function makeHash (name: NoiseHash['name'], fn: NobleHash, hashLen: 32 | 64, reuseKeyStates = true): NoiseHash {
  const blank = fn.create() as unknown as Instance
  const work = fn.create() as unknown as Instance
  const blockLen = blank.blockLen
  /** HMAC's padded key (ipad, then opad): key material, zeroed after every use. */
  const pad = new Uint8Array(blockLen)

  // `digest()` rather than `digestInto(out)`: noble makes a Uint32Array view of a foreign output array on every
  // call, and digest() wipes the working state (key-derived in an HMAC) as it finishes.
  const digest = (parts: readonly Uint8Array[]): Uint8Array => {
    blank._cloneInto(work as never)
    for (const p of parts) work.update(p)
    return work.digest()
  }

  /** HMAC(key, a ‖ b) (RFC 2104). */
  const mac = (key: Uint8Array, a: Uint8Array, b: Uint8Array | undefined): Uint8Array => {
    // RFC 2104: a key longer than a block is hashed first (never in Noise: its keys are HASHLEN bytes).
    const k = key.byteLength > blockLen ? digest([key]) : key
    pad.fill(0x36)
    for (let i = 0; i < k.byteLength; i++) pad[i] = k[i]! ^ 0x36
    if (k !== key) k.fill(0)
    blank._cloneInto(work as never)
    work.update(pad)
    work.update(a)
    if (b !== undefined) work.update(b)
    const inner = work.digest()
    for (let i = 0; i < blockLen; i++) pad[i]! ^= 0x36 ^ 0x5c
    blank._cloneInto(work as never)
    work.update(pad)
    work.update(inner)
    pad.fill(0)
    inner.fill(0)
    return work.digest()
  }

  // The inner and outer states of one HMAC key, each after its padded key block (key material: wiped after use).
  const inner = fn.create() as unknown as Instance
  const outer = fn.create() as unknown as Instance
  /** Whether `update` of one block leaves it held back (BLAKE2), so that it must be compressed here. */
  const holdsBlock = ((): boolean => {
    blank._cloneInto(work as never)
    work.update(new Uint8Array(blockLen))
    return work.pos === blockLen
  })()

  /** `state` := blank absorbing `block` now (a held-back block is compressed as `update` would before more input). */
  const absorb = (state: Instance, block: Uint8Array): void => {
    blank._cloneInto(state as never)
    state.update(block)
    if (holdsBlock) {
      state.compress!(state.buffer32!, 0, false)
      state.pos = 0
    }
  }

  /** Set `inner` and `outer` to the padded-key states of `key` (a hash output: never longer than a block). */
  const keyStates = (key: Uint8Array): void => {
    pad.fill(0x36)
    for (let i = 0; i < key.byteLength; i++) pad[i] = key[i]! ^ 0x36
    absorb(inner, pad)
    for (let i = 0; i < blockLen; i++) pad[i]! ^= 0x36 ^ 0x5c
    absorb(outer, pad)
    pad.fill(0)
  }

  /** HMAC(key of {@link keyStates}, a ‖ b). */
  const keyedMac = (a: Uint8Array, b: Uint8Array | undefined): Uint8Array => {
    inner._cloneInto(work as never)
    work.update(a)
    if (b !== undefined) work.update(b)
    const innerHash = work.digest()
    outer._cloneInto(work as never)
    work.update(innerHash)
    innerHash.fill(0)
    return work.digest()
  }

  const wipeKeyStates = (): void => {
    blank._cloneInto(inner as never)
    blank._cloneInto(outer as never)
  }

  /** Whether the precomputed states give the plain HMAC's bytes with this noble (checked once, at load). */
  const statesWork = reuseKeyStates && ((): boolean => {
    if (holdsBlock && (typeof work.compress !== 'function' || !(work.buffer32 instanceof Uint32Array))) return false
    try {
      const key = new Uint8Array(hashLen).map((_, i) => i * 7 + 1)
      const data = new Uint8Array(blockLen + 3).map((_, i) => i * 13 + 5)
      const want = mac(key, data, ONE)
      keyStates(key)
      const got = keyedMac(data, ONE)
      wipeKeyStates()
      return got.byteLength === want.byteLength && got.every((v, i) => v === want[i])
    } catch {
      return false
    }
  })()

  const noiseHash: NoiseHash = {
    name,
    hashLen,
    hash: (...parts) => digest(parts),
    hkdf: (chainingKey, ikm, outputs) => {
      const temp = mac(chainingKey, ikm, undefined)
      if (outputs === 1 || !statesWork) {
        // One output (or no precomputation): each HMAC absorbs the key itself.
        const out1 = mac(temp, ONE, undefined)
        const out2 = outputs === 1 ? undefined : mac(temp, out1, TWO)
        const out3 = outputs === 3 ? mac(temp, out2!, THREE) : undefined
        temp.fill(0)
        return outputs === 1 ? [out1] : outputs === 2 ? [out1, out2!] : [out1, out2!, out3!]
      }
      keyStates(temp)
      temp.fill(0)
      const out1 = keyedMac(ONE, undefined)
      const out2 = keyedMac(out1, TWO)
      const out3 = outputs === 3 ? keyedMac(out2, THREE) : undefined
      wipeKeyStates()
      return out3 === undefined ? [out1, out2] : [out1, out2, out3]
    }
  }
  Object.defineProperty(noiseHash, KEY_STATES, { value: statesWork })
  return noiseHash
}

/** @internal Whether a hash's HKDF reuses its padded-key states (the load-time self-check passed; tests). */
export function keyStatesInUse (hash: NoiseHash): boolean {
  return (hash as NoiseHash & { [KEY_STATES]?: boolean })[KEY_STATES] === true
}

export const HASHES: Readonly<Record<NoiseHash['name'], NoiseHash>> = {
  BLAKE2s: makeHash('BLAKE2s', blake2s, 32),
  BLAKE2b: makeHash('BLAKE2b', blake2b, 64),
  SHA256: makeHash('SHA256', sha256, 32),
  SHA512: makeHash('SHA512', sha512, 64)
}
