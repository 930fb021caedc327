// HASH, HMAC and HKDF of Noise (rev 34 §4.3) through @noble/hashes (the project's hashing library, by the
// owner's choice). A handshake makes ~6 HKDFs (18 HMACs) and ~8 hashes per side: each Noise hash keeps two noble
// instances for its whole life and resets them by copying a blank one's state in (`_cloneInto`), so that a
// handshake allocates no hash objects, padded keys or views, and an HKDF computes only the outputs asked for,
// its outputs from the temp key's keyed states (two compressions each, not four).
// Measured (BLAKE2s, warm, loaded 2-core VM): HKDF with two outputs 28.0 -> 22.5 µs paired with noble's hmac;
// the compressions themselves (~1.5 µs each, 12 per HKDF) are what is left. EGTP's sessions use SHA-256, whose
// compressions take ~0.8 µs in noble and allocate nothing (constants.ts, NOISE_PROTOCOL).
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
}

const ONE = Uint8Array.of(1)
const TWO = Uint8Array.of(2)
const THREE = Uint8Array.of(3)

/** @internal A Noise hash over one noble hash function (not reentrant: every call finishes before it returns). */
export function makeHash (name: NoiseHash['name'], fn: NobleHash, hashLen: 32 | 64): NoiseHash {
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

  /**
   * HMAC's two keyed states (RFC 2104: the hash after the ipad block, after the opad block), made once per key
   * that MACs more than one message: HKDF's outputs all use the same temp key, so its second and third outputs
   * cost two compressions each instead of four (~1.6 µs each with SHA-256). Key material: reset to the blank
   * state (`unkey`) before the HKDF returns.
   */
  const keyedInner = fn.create() as unknown as Instance
  const keyedOuter = fn.create() as unknown as Instance

  const key = (k: Uint8Array): void => {
    // RFC 2104: a key longer than a block is hashed first (never in Noise: its keys are HASHLEN bytes).
    const short = k.length > blockLen ? digest([k]) : k
    pad.fill(0x36)
    for (let i = 0; i < short.length; i++) pad[i] = short[i]! ^ 0x36
    blank._cloneInto(keyedInner as never)
    keyedInner.update(pad)
    for (let i = 0; i < blockLen; i++) pad[i]! ^= 0x36 ^ 0x5c
    blank._cloneInto(keyedOuter as never)
    keyedOuter.update(pad)
    pad.fill(0)
    if (short !== k) short.fill(0)
  }

  const unkey = (): void => {
    blank._cloneInto(keyedInner as never)
    blank._cloneInto(keyedOuter as never)
  }

  /** HMAC(the key given to `key`, a ‖ b). */
  const keyedMac = (a: Uint8Array, b: Uint8Array | undefined): Uint8Array => {
    keyedInner._cloneInto(work as never)
    work.update(a)
    if (b !== undefined) work.update(b)
    const inner = work.digest()
    keyedOuter._cloneInto(work as never)
    work.update(inner)
    inner.fill(0)
    return work.digest()
  }

  /** HMAC(key, a) (RFC 2104) for a key used once. */
  const mac = (k: Uint8Array, a: Uint8Array): Uint8Array => {
    const short = k.length > blockLen ? digest([k]) : k
    pad.fill(0x36)
    for (let i = 0; i < short.length; i++) pad[i] = short[i]! ^ 0x36
    if (short !== k) short.fill(0)
    blank._cloneInto(work as never)
    work.update(pad)
    work.update(a)
    const inner = work.digest()
    for (let i = 0; i < blockLen; i++) pad[i]! ^= 0x36 ^ 0x5c
    blank._cloneInto(work as never)
    work.update(pad)
    work.update(inner)
    pad.fill(0)
    inner.fill(0)
    return work.digest()
  }

  return {
    name,
    hashLen,
    hash: (...parts) => digest(parts),
    hkdf: (chainingKey, ikm, outputs) => {
      const temp = mac(chainingKey, ikm)
      if (outputs === 1) {
        const out1 = mac(temp, ONE)
        temp.fill(0)
        return [out1]
      }
      key(temp)
      temp.fill(0)
      try {
        const out1 = keyedMac(ONE, undefined)
        const out2 = keyedMac(out1, TWO)
        return outputs === 2 ? [out1, out2] : [out1, out2, keyedMac(out2, THREE)]
      } finally {
        unkey()
      }
    }
  }
}

export const HASHES: Readonly<Record<NoiseHash['name'], NoiseHash>> = {
  BLAKE2s: makeHash('BLAKE2s', blake2s, 32),
  BLAKE2b: makeHash('BLAKE2b', blake2b, 64),
  SHA256: makeHash('SHA256', sha256, 32),
  SHA512: makeHash('SHA512', sha512, 64)
}
