// Raw AEAD in this process, no network: ChaCha20-Poly1305 (IETF, 12-byte nonce) seal + open, through
// node:crypto (a fresh output buffer per call) and through sodium-native (into buffers allocated once).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { measure } from '@egtp/scripts/bench'
import sodium from 'sodium-native'

export const AEAD_IMPLS = ['aead-node', 'aead-sodium'] as const

type SealOpen = () => void

function nodeCrypto (size: number): SealOpen {
  const key = randomBytes(32)
  const nonce = Buffer.alloc(12)
  const message = randomBytes(size)
  let counter = 0
  return () => {
    nonce.writeUInt32LE(counter++, 4)
    const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 })
    const sealed = Buffer.concat([cipher.update(message), cipher.final()])
    const tag = cipher.getAuthTag()
    const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 })
    decipher.setAuthTag(tag)
    const opened = Buffer.concat([decipher.update(sealed), decipher.final()])
    if (opened.length !== size) throw new Error('open failed')
  }
}

function sodiumNative (size: number): SealOpen {
  const key = Buffer.alloc(sodium.crypto_aead_chacha20poly1305_ietf_KEYBYTES)
  sodium.randombytes_buf(key)
  const nonce = Buffer.alloc(sodium.crypto_aead_chacha20poly1305_ietf_NPUBBYTES)
  const message = Buffer.alloc(size)
  sodium.randombytes_buf(message)
  const sealed = Buffer.alloc(size + sodium.crypto_aead_chacha20poly1305_ietf_ABYTES)
  const opened = Buffer.alloc(size)
  let counter = 0
  return () => {
    nonce.writeUInt32LE(counter++, 4)
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(sealed, message, null, null, nonce, key)
    if (sodium.crypto_aead_chacha20poly1305_ietf_decrypt(opened, null, sealed, null, nonce, key) !== size) throw new Error('open failed')
  }
}

/** Seal + open operations per second of `size`-byte messages, measured for `ms` after a warm-up. */
export function measureAead (impl: string, size: number, ms: number): number {
  return measure(`${impl} ${size} B`, impl === 'aead-node' ? nodeCrypto(size) : sodiumNative(size), { minMs: ms, rounds: 1 }).opsPerSec
}
