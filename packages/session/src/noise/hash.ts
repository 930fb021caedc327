// HASH, HMAC and HKDF of Noise (rev 34 §4.3) through @noble/hashes (the project's hashing library, by the
// owner's choice). A handshake makes ~6 HKDFs (18 HMACs) and ~8 hashes per side: each Noise hash keeps two noble
// instances for its whole life and resets them by copying a blank one's state in (`_cloneInto`), so that a
// handshake allocates no hash objects, padded keys or views, and an HKDF computes only the outputs asked for.
// Measured (BLAKE2s, warm, loaded 2-core VM): HKDF with two outputs 23.6 -> 16.5 µs, a 64-byte hash 2.5 -> 1.8 µs;
// the compressions themselves (~1.5 µs each, 12 per HKDF) are what is left.
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
  digestInto: (out: Uint8Array) => void
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
  const reset = (): void => { blank._cloneInto(work as never) }
  /** HMAC's padded key (ipad, then opad) and inner digest: key material, zeroed after every use. */
  const pad = new Uint8Array(blockLen)
  const inner = new Uint8Array(hashLen)

  const digest = (parts: readonly Uint8Array[]): Uint8Array => {
    reset()
    for (const p of parts) work.update(p)
    const out = new Uint8Array(hashLen)
    work.digestInto(out)
    return out
  }

  /** HMAC(key, a ‖ b) (RFC 2104) into `out`. */
  const mac = (key: Uint8Array, a: Uint8Array, b: Uint8Array | undefined, out: Uint8Array): void => {
    // RFC 2104: a key longer than a block is hashed first (never in Noise: its keys are HASHLEN bytes).
    const k = key.byteLength > blockLen ? digest([key]) : key
    pad.fill(0x36)
    for (let i = 0; i < k.byteLength; i++) pad[i] = k[i]! ^ 0x36
    if (k !== key) k.fill(0)
    reset()
    work.update(pad)
    work.update(a)
    if (b !== undefined) work.update(b)
    work.digestInto(inner)
    for (let i = 0; i < blockLen; i++) pad[i]! ^= 0x36 ^ 0x5c
    reset()
    work.update(pad)
    work.update(inner)
    work.digestInto(out)
    pad.fill(0)
    inner.fill(0)
    reset() // the working state held key-derived bytes
  }

  return {
    name,
    hashLen,
    hash: (...parts) => digest(parts),
    hkdf: (chainingKey, ikm, outputs) => {
      const temp = new Uint8Array(hashLen)
      mac(chainingKey, ikm, undefined, temp)
      const out1 = new Uint8Array(hashLen)
      mac(temp, ONE, undefined, out1)
      if (outputs === 1) {
        temp.fill(0)
        return [out1]
      }
      const out2 = new Uint8Array(hashLen)
      mac(temp, out1, TWO, out2)
      if (outputs === 2) {
        temp.fill(0)
        return [out1, out2]
      }
      const out3 = new Uint8Array(hashLen)
      mac(temp, out2, THREE, out3)
      temp.fill(0)
      return [out1, out2, out3]
    }
  }
}

export const HASHES: Readonly<Record<NoiseHash['name'], NoiseHash>> = {
  BLAKE2s: makeHash('BLAKE2s', blake2s, 32),
  BLAKE2b: makeHash('BLAKE2b', blake2b, 64),
  SHA256: makeHash('SHA256', sha256, 32),
  SHA512: makeHash('SHA512', sha512, 64)
}
