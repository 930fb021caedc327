// Just what the bench uses of two untyped packages.
declare module '@hyperswarm/secret-stream' {
  import type { Duplex } from 'node:stream'
  interface KeyPair { publicKey: Buffer, secretKey: Buffer }
  class NoiseSecretStream extends Duplex {
    constructor (isInitiator: boolean, rawStream: Duplex, opts?: { keyPair?: KeyPair })
    static keyPair (seed?: Buffer): KeyPair
    opened: Promise<boolean>
    override write (data: Uint8Array): boolean
  }
  export default NoiseSecretStream
}

declare module 'sodium-native' {
  export const crypto_aead_chacha20poly1305_ietf_ABYTES: number
  export const crypto_aead_chacha20poly1305_ietf_KEYBYTES: number
  export const crypto_aead_chacha20poly1305_ietf_NPUBBYTES: number
  export function crypto_aead_chacha20poly1305_ietf_encrypt (c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array): number
  export function crypto_aead_chacha20poly1305_ietf_decrypt (m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array): number
  export function randombytes_buf (buf: Uint8Array): void
}
