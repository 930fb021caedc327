import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { isEgtpError } from '@egtp/interface'
import { generateIdentity, x25519PublicKeyFromEd25519 } from '@egtp/identity'
import {
  dh, generateKeyPair, importPublicKey, keyPairFromSecret, keyPairFromSecretNode, sodiumX25519Loaded, wipeSecret, x25519OfPeer, PEER_X25519_MEMO_SIZE
} from '../src/noise/x25519.ts'
import type { KeyPair } from '../src/noise/x25519.ts'

// X25519 goes through libsodium (raw secrets) when it loads, else node:crypto (KeyObjects): both must give the
// same public keys and shared secrets, and refuse the same small-order peer keys.
const shared = (a: KeyPair, b: KeyPair): Uint8Array => dh(a.secret, b.publicKey, () => importPublicKey(b.publicKey))

describe('X25519 through libsodium and node:crypto', () => {
  it('libsodium is loaded here (the optional dependency is installed in this workspace)', () => {
    expect(process.env.EGTP_NO_SODIUM === '1' || sodiumX25519Loaded).toBe(true)
  })

  it('same public key from a secret, same shared secret across paths (RFC 7748 §6.1 too)', () => {
    const alice = Uint8Array.from(Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex'))
    const bobPublic = Uint8Array.from(Buffer.from('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f', 'hex'))
    for (const make of [keyPairFromSecret, keyPairFromSecretNode]) {
      const a = make(alice)
      expect(Buffer.from(a.publicKey).toString('hex')).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')
      expect(Buffer.from(dh(a.secret, bobPublic, () => importPublicKey(bobPublic))).toString('hex')).toBe('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742')
    }
    for (let i = 0; i < 16; i++) {
      const secretA = new Uint8Array(randomBytes(32))
      const secretB = new Uint8Array(randomBytes(32))
      const [a1, a2] = [keyPairFromSecret(secretA), keyPairFromSecretNode(secretA)]
      const [b1, b2] = [keyPairFromSecret(secretB), keyPairFromSecretNode(secretB)]
      expect(a1.publicKey).toEqual(a2.publicKey)
      const s = shared(a1, b1)
      for (const [x, y] of [[a2, b2], [a1, b2], [a2, b1], [b1, a1], [b2, a2]] as const) expect(shared(x, y)).toEqual(s)
    }
    const e = generateKeyPair()
    const f = keyPairFromSecretNode(new Uint8Array(randomBytes(32)))
    expect(shared(e, f)).toEqual(shared(f, e))
  })

  it.each([
    ['zero', '00'.repeat(32)],
    ['one (order 4 on the curve)', '01' + '00'.repeat(31)],
    ['p - 1 (order 2)', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f']
  ])('refuses the small-order peer key %s with ERR_HANDSHAKE on both paths', (_name, hex) => {
    const peer = Uint8Array.from(Buffer.from(hex, 'hex'))
    const secret = new Uint8Array(randomBytes(32))
    for (const ours of [keyPairFromSecret(secret), keyPairFromSecretNode(secret)]) {
      let err: unknown
      try {
        dh(ours.secret, peer, () => importPublicKey(peer))
      } catch (e) {
        err = e
      }
      expect(isEgtpError(err, 'ERR_HANDSHAKE')).toBe(true)
    }
  })

  it('a raw secret is copied from its input and zeroed by wipeSecret', () => {
    const secret = new Uint8Array(randomBytes(32))
    const pair = keyPairFromSecret(secret)
    if (!(pair.secret instanceof Uint8Array)) return // node:crypto path: a KeyObject, nothing to zero
    expect(pair.secret).not.toBe(secret)
    wipeSecret(pair)
    expect(pair.secret).toEqual(new Uint8Array(32))
    expect(secret).not.toEqual(new Uint8Array(32))
  })
})

describe("a peer's X25519 key from its Ed25519 key", () => {
  it('equals @egtp/identity\'s conversion for real keys', () => {
    for (let i = 0; i < 32; i++) {
      const { publicKey } = generateIdentity()
      expect(x25519OfPeer(publicKey)).toEqual(x25519PublicKeyFromEd25519(publicKey))
    }
  })

  it('remembers results process-wide: a key seen again gives the same bytes, each caller its own copy', () => {
    const { publicKey } = generateIdentity()
    const first = x25519OfPeer(publicKey)
    const again = x25519OfPeer(publicKey.slice()) // equal bytes in another array
    expect(again).toEqual(first)
    expect(again).not.toBe(first)
    again.fill(0) // a caller spoiling its copy spoils nobody else's
    expect(x25519OfPeer(publicKey)).toEqual(x25519PublicKeyFromEd25519(publicKey))
    // Bounded: more keys than the memo holds, then the first again, still right.
    for (let i = 0; i < PEER_X25519_MEMO_SIZE + 8; i++) x25519OfPeer(generateIdentity().publicKey)
    expect(x25519OfPeer(publicKey)).toEqual(first)
  })

  it.each([
    ['the identity point (small order)', '01' + '00'.repeat(31)],
    ['a point of order 2 (small order)', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'],
    ['a y coordinate not below p (non-canonical)', 'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'],
    ['an x that does not exist for y = 2', '02' + '00'.repeat(31)],
    ['31 bytes', '02' + '00'.repeat(30)]
  ])('refuses %s with ERR_KEY_MISMATCH, as @egtp/identity does', (_name, hex) => {
    const key = Uint8Array.from(Buffer.from(hex, 'hex'))
    for (const convert of [x25519OfPeer, x25519OfPeer, x25519PublicKeyFromEd25519]) { // twice: a refusal is not remembered
      let err: unknown
      try {
        convert(key)
      } catch (e) {
        err = e
      }
      expect(isEgtpError(err, 'ERR_KEY_MISMATCH')).toBe(true)
    }
  })

  it('with libsodium, also refuses a point with a small-order component (no honest key has one)', () => {
    // 12345·B plus a point of order 8 (computed with @noble/curves: not small order, not torsion-free).
    const mixed = Uint8Array.from(Buffer.from('40a4cf5c611d737a2f1c6fcca84d9cabfed80987f186a5a6c57e629bff1af27f', 'hex'))
    expect(x25519PublicKeyFromEd25519(mixed).byteLength).toBe(32) // accepted by the pure-JS decoding
    if (!sodiumX25519Loaded) return
    let err: unknown
    try {
      x25519OfPeer(mixed)
    } catch (e) {
      err = e
    }
    expect(isEgtpError(err, 'ERR_KEY_MISMATCH')).toBe(true)
  })
})
