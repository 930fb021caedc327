import { createSecretKey, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { CIPHERS, MAX_SLAB_PLAINTEXT_BYTES, OPEN_SLAB_BYTES, SODIUM_AEAD_MAX_BYTES, TAG_LEN, sodiumLoaded } from '../src/noise/primitives.ts'

// ChaChaPoly goes through libsodium for small inputs with a raw key, through node:crypto otherwise (a KeyObject
// key, or a large input): both must give the same bytes and refuse the same forgeries.
const cipher = CIPHERS.ChaChaPoly
const SIZES = [0, 1, 15, 16, 64, 1000, SODIUM_AEAD_MAX_BYTES, SODIUM_AEAD_MAX_BYTES + 1, 64 * 1024]

describe('ChaChaPoly through libsodium and node:crypto', () => {
  it('libsodium is loaded here (the optional dependency is installed in this workspace)', () => {
    expect(process.env.EGTP_NO_SODIUM === '1' || sodiumLoaded).toBe(true)
  })

  it.each(SIZES)('%i bytes: same ciphertext, with and without associated data, whole and in parts, into a frame', (size) => {
    const raw = randomBytes(32)
    const key = new Uint8Array(raw)
    const object = createSecretKey(raw)
    const nonce = cipher.nonce(7)
    const plaintext = new Uint8Array(randomBytes(size))
    const ad = new Uint8Array(randomBytes(32))
    for (const a of [new Uint8Array(0), ad]) {
      const viaRaw = cipher.encrypt(key, nonce, a, plaintext)
      const viaObject = cipher.encrypt(object, nonce, a, plaintext)
      expect(Buffer.from(viaRaw).equals(Buffer.from(viaObject))).toBe(true)
      expect(Buffer.from(cipher.decrypt(key, nonce, a, viaObject)).equals(Buffer.from(plaintext))).toBe(true)
      expect(Buffer.from(cipher.decrypt(object, nonce, a, viaRaw)).equals(Buffer.from(plaintext))).toBe(true)
      const forged = viaRaw.slice()
      forged[0]! ^= 1
      expect(() => cipher.decrypt(key, nonce, a, forged)).toThrow(expect.objectContaining({ code: 'ERR_AUTH' }))
      expect(() => cipher.decrypt(object, nonce, a, forged)).toThrow(expect.objectContaining({ code: 'ERR_AUTH' }))
    }
    const expected = Buffer.from(cipher.encrypt(object, nonce, new Uint8Array(0), plaintext))
    const half = Math.floor(size / 2)
    const parts = [plaintext.subarray(0, half), plaintext.subarray(half)]
    expect(Buffer.concat(cipher.encryptParts(key, nonce, parts)).equals(expected)).toBe(true)
    expect(Buffer.concat(cipher.encryptParts(object, nonce, parts)).equals(expected)).toBe(true)
    const frame = new Uint8Array(size + TAG_LEN + 5)
    cipher.encryptInto(key, nonce, plaintext, frame, 5)
    expect(Buffer.from(frame.subarray(5)).equals(expected)).toBe(true)
    // In place: the plaintext is the frame's own bytes (how a session seals a small batch).
    for (const k of [key, object]) {
      const inPlace = new Uint8Array(size + TAG_LEN + 5)
      inPlace.set(plaintext, 5)
      cipher.encryptInto(k, nonce, inPlace.subarray(5, 5 + size), inPlace, 5)
      expect(Buffer.from(inPlace.subarray(5)).equals(expected)).toBe(true)
    }
  })

  it('plaintexts opened into the shared slab stay intact through later opens and refused forgeries', () => {
    const key = new Uint8Array(randomBytes(32))
    const nonce = cipher.nonce(1)
    const sizes = [1, 64, 100, MAX_SLAB_PLAINTEXT_BYTES, MAX_SLAB_PLAINTEXT_BYTES + 1]
    const sent: Uint8Array[] = []
    const opened: Uint8Array[] = []
    // Enough opens to fill several slabs.
    for (let i = 0; opened.length * 64 < 3 * OPEN_SLAB_BYTES; i++) {
      const plaintext = new Uint8Array(randomBytes(sizes[i % sizes.length]!))
      const sealed = cipher.encrypt(key, nonce, new Uint8Array(0), plaintext)
      const forged = sealed.slice()
      forged[forged.byteLength - 1]! ^= 1
      expect(() => cipher.decrypt(key, nonce, new Uint8Array(0), forged)).toThrow(expect.objectContaining({ code: 'ERR_AUTH' }))
      sent.push(plaintext)
      opened.push(cipher.decrypt(key, nonce, new Uint8Array(0), sealed))
    }
    for (let i = 0; i < sent.length; i++) expect(Buffer.from(opened[i]!).equals(Buffer.from(sent[i]!))).toBe(true)
  })
})

describe('ChaChaPoly opened in place', () => {
  it.each(SIZES)('%i bytes: the plaintext is a view of the ciphertext\'s memory; a forgery throws ERR_AUTH', (size) => {
    const key = new Uint8Array(randomBytes(32))
    const object = createSecretKey(Buffer.from(key))
    const nonce = cipher.nonce(3)
    const plaintext = new Uint8Array(randomBytes(size))
    const sealed = cipher.encrypt(key, nonce, new Uint8Array(0), plaintext)
    // A KeyObject cannot be used by libsodium: nothing is done in place, the caller decrypts as usual.
    const untouched = sealed.slice()
    expect(cipher.decryptInPlace(object, nonce, untouched)).toBeUndefined()
    expect(Buffer.from(untouched).equals(Buffer.from(sealed))).toBe(true)
    const forged = sealed.slice()
    forged[forged.byteLength - 1]! ^= 1
    const frame = sealed.slice()
    const opened = cipher.decryptInPlace(key, nonce, frame)
    if (!sodiumLoaded) {
      expect(opened).toBeUndefined()
      return
    }
    expect(() => cipher.decryptInPlace(key, nonce, forged)).toThrow(expect.objectContaining({ code: 'ERR_AUTH' }))
    expect(opened!.buffer).toBe(frame.buffer)
    expect(opened!.byteOffset).toBe(frame.byteOffset)
    expect(Buffer.from(opened!).equals(Buffer.from(plaintext))).toBe(true)
    expect(() => cipher.decryptInPlace(key, nonce, new Uint8Array(TAG_LEN - 1))).toThrow(expect.objectContaining({ code: 'ERR_AUTH' }))
  })

  it('AES-GCM does nothing in place', () => {
    const key = new Uint8Array(randomBytes(32))
    const sealed = CIPHERS.AESGCM.encrypt(key, CIPHERS.AESGCM.nonce(1), new Uint8Array(0), new Uint8Array(100))
    expect(CIPHERS.AESGCM.decryptInPlace(key, CIPHERS.AESGCM.nonce(1), sealed)).toBeUndefined()
  })
})
