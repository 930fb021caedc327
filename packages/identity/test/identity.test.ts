import { createHash, createPrivateKey, createPublicKey, diffieHellman, sign } from 'node:crypto'
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { describe, expect, test } from 'vitest'
import {
  ed25519MapsToX25519, generateIdentity, identityFromSeed, nodeIdFromPublicKey, verifySignature, x25519PublicKeyFromEd25519,
  setPublicKeyCacheSize, publicKeyCacheEntries, DEFAULT_PUBLIC_KEY_CACHE_SIZE, setVerifiedSignatureCacheSize,
  verifiedSignatureCacheEntries, DEFAULT_VERIFIED_SIGNATURE_CACHE_SIZE, MAX_VERIFIED_SIGNATURE_MESSAGE_BYTES
} from '../src/index.ts'
import { importSeedDer, openSslSigningKey, sodiumSigns, sodiumVerifyLoaded, verifySignatureOpenSsl } from '../src/ed25519.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

// RFC 8032 §7.1, TEST 1 and TEST 2.
const RFC8032 = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'
  },
  {
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'
  }
]

// Node IDs of fixed seeds, pinned: changing the derivation is a protocol break.
const GOLDEN = [
  { seed: RFC8032[0]!.seed, nodeId: '5ps5hzpfsrqq4cmnszwixklte3v4nvlv', fingerprint: 'ebe5d3e5' },
  { seed: '00'.repeat(32), nodeId: 'zza2k37zpsedinq73pd7tnmjp6lnsklm', fingerprint: 'ce41a56f' },
  { seed: 'ff'.repeat(32), nodeId: '7pshlc766a45x42pnunq4tdz6dotd57d', fingerprint: 'fbe4758b' }
]

describe('Ed25519 (RFC 8032 known answers)', () => {
  test.each(RFC8032)('seed $seed gives the RFC public key and signature', (v) => {
    const id = identityFromSeed(hex(v.seed))
    expect(toHex(id.publicKey)).toBe(v.publicKey)
    expect(toHex(id.sign(hex(v.message)))).toBe(v.signature)
    expect(verifySignature(hex(v.publicKey), hex(v.message), hex(v.signature))).toBe(true)
  })

  test('signatures agree with @noble/curves', () => {
    const id = generateIdentity()
    const msg = new TextEncoder().encode('cross-check')
    expect(id.sign(msg)).toEqual(ed25519.sign(msg, id.exportSeed()))
    expect(ed25519.verify(id.sign(msg), msg, id.publicKey)).toBe(true)
  })
})

describe('node IDs of fixed seeds (golden)', () => {
  test.each(GOLDEN)('seed $seed', (v) => {
    const id = identityFromSeed(hex(v.seed))
    expect(id.nodeId).toBe(v.nodeId)
    expect(id.fingerprint).toBe(v.fingerprint)
    expect(nodeIdFromPublicKey(id.publicKey)).toBe(v.nodeId)
  })

  test('the node ID is SHA-256("egtp/node-id/v1" || publicKey) truncated to 20 bytes (checked with node:crypto)', () => {
    const id = generateIdentity()
    const digest = createHash('sha256').update('egtp/node-id/v1').update(id.publicKey).digest()
    expect(toHex(id.nodeIdBytes)).toBe(digest.subarray(0, 20).toString('hex'))
    expect(id.fingerprint).toBe(digest.subarray(0, 4).toString('hex'))
  })
})

const X25519_PKCS8 = hex('302e020100300506032b656e04220420')
const X25519_SPKI = hex('302a300506032b656e032100')
function nodeDh (secret: Uint8Array, publicKey: Uint8Array): Uint8Array {
  return diffieHellman({
    privateKey: createPrivateKey({ key: Buffer.concat([X25519_PKCS8, secret]), format: 'der', type: 'pkcs8' }),
    publicKey: createPublicKey({ key: Buffer.concat([X25519_SPKI, publicKey]), format: 'der', type: 'spki' })
  })
}

describe('X25519 keys derived from the Ed25519 identity', () => {
  test('RFC 7748 §6.1 Diffie-Hellman vector holds for node:crypto and noble (the primitives the session uses)', () => {
    const aliceSecret = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')
    const bobPublic = hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f')
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'
    expect(toHex(x25519.getPublicKey(aliceSecret))).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')
    expect(toHex(x25519.getSharedSecret(aliceSecret, bobPublic))).toBe(shared)
    expect(toHex(nodeDh(aliceSecret, bobPublic))).toBe(shared)
  })

  test('the derived secret and public keys are a pair, and two identities agree on a shared secret', () => {
    const a = generateIdentity()
    const b = generateIdentity()
    expect(x25519.getPublicKey(a.x25519SecretKey())).toEqual(a.x25519PublicKey)
    expect(x25519PublicKeyFromEd25519(a.publicKey)).toEqual(a.x25519PublicKey)
    expect(nodeDh(a.x25519SecretKey(), b.x25519PublicKey)).toEqual(nodeDh(b.x25519SecretKey(), x25519PublicKeyFromEd25519(a.publicKey)))
  })

  test('the X25519 secret key is the clamped first half of SHA-512(seed) (RFC 8032 §5.1.5), whichever route derived it', () => {
    for (let i = 0; i < 32; i++) {
      const seed = Uint8Array.from(createHash('sha256').update(`seed ${i}`).digest())
      const h = createHash('sha512').update(seed).digest()
      h[0]! &= 248
      h[31]! &= 127
      h[31]! |= 64
      expect(toHex(identityFromSeed(seed).x25519SecretKey())).toBe(toHex(h.subarray(0, 32)))
      expect(identityFromSeed(seed).x25519SecretKey()).toEqual(ed25519.utils.toMontgomerySecret(seed))
    }
  })

  test('the conversion equals @noble/curves ed25519.utils.toMontgomery', () => {
    for (let i = 0; i < 32; i++) {
      const { publicKey } = generateIdentity()
      expect(x25519PublicKeyFromEd25519(publicKey)).toEqual(ed25519.utils.toMontgomery(publicKey))
    }
  })

  test('the RFC 8032 test 1 key maps to a pinned X25519 public key', () => {
    expect(toHex(x25519PublicKeyFromEd25519(hex(RFC8032[0]!.publicKey)))).toBe('d85e07ec22b0ad881537c2f44d662d1a143cf830c57aca4305d85c7a90f6b62e')
  })

  test.each([
    ['the identity point (small order)', '01' + '00'.repeat(31)],
    ['a point of order 2 (small order)', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'],
    ['a y coordinate not below p (non-canonical)', 'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'],
    ['an x that does not exist for y = 2', '02' + '00'.repeat(31)]
  ])('refuses %s with ERR_KEY_MISMATCH', (_name, key) => {
    expect(() => x25519PublicKeyFromEd25519(hex(key))).toThrow(/^ERR_KEY_MISMATCH/)
  })

  test('refuses a key of the wrong length with ERR_KEY_MISMATCH', () => {
    expect(() => x25519PublicKeyFromEd25519(new Uint8Array(31))).toThrow(/^ERR_KEY_MISMATCH/)
  })

  test('ed25519MapsToX25519 agrees with the conversion on real keys (either sign of x) and refuses every other key', () => {
    for (let i = 0; i < 32; i++) {
      const a = generateIdentity()
      const b = generateIdentity()
      expect(ed25519MapsToX25519(a.publicKey, a.x25519PublicKey)).toBe(true)
      expect(ed25519MapsToX25519(a.publicKey, b.x25519PublicKey)).toBe(false)
      // The sign bit of x does not change u: -P maps to the same X25519 key, as in the full conversion.
      const negated = a.publicKey.slice()
      negated[31]! ^= 0x80
      expect(ed25519MapsToX25519(negated, a.x25519PublicKey)).toBe(true)
      expect(x25519PublicKeyFromEd25519(negated)).toEqual(a.x25519PublicKey)
      const flipped = a.x25519PublicKey.slice()
      flipped[i]! ^= 1
      expect(ed25519MapsToX25519(a.publicKey, flipped)).toBe(false)
    }
    expect(ed25519MapsToX25519(hex(RFC8032[0]!.publicKey), hex('d85e07ec22b0ad881537c2f44d662d1a143cf830c57aca4305d85c7a90f6b62e'))).toBe(true)
  })

  test.each([
    ['the identity point (y = 1: no u)', '01' + '00'.repeat(31)],
    ['a y coordinate not below p (non-canonical)', 'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f']
  ])('ed25519MapsToX25519 refuses %s whatever the X25519 key', (_name, key) => {
    for (const x of [new Uint8Array(32), hex('ec' + 'ff'.repeat(30) + '7f'), generateIdentity().x25519PublicKey]) {
      expect(ed25519MapsToX25519(hex(key), x)).toBe(false)
    }
  })

  test('ed25519MapsToX25519 refuses wrong lengths', () => {
    const a = generateIdentity()
    expect(ed25519MapsToX25519(a.publicKey.subarray(0, 31), a.x25519PublicKey)).toBe(false)
    expect(ed25519MapsToX25519(a.publicKey, a.x25519PublicKey.subarray(0, 31))).toBe(false)
  })
})

describe('verifySignature', () => {
  const id = identityFromSeed(hex(RFC8032[1]!.seed))
  const msg = new TextEncoder().encode('verify me')
  const sig = id.sign(msg)

  test('flipping any bit of the signature, the message or the key makes it fail', () => {
    for (const [which, bytes] of [['sig', sig], ['msg', msg], ['key', id.publicKey]] as const) {
      for (let bit = 0; bit < bytes.length * 8; bit++) {
        const t = new Uint8Array(bytes)
        t[bit >> 3]! ^= 1 << (bit & 7)
        const ok = which === 'sig' ? verifySignature(id.publicKey, msg, t) : which === 'msg' ? verifySignature(id.publicKey, t, sig) : verifySignature(t, msg, sig)
        expect(ok, `${which} bit ${bit}`).toBe(false)
      }
    }
    expect(verifySignature(id.publicKey, msg, sig)).toBe(true)
  })

  test('wrong lengths and garbage keys give false, not exceptions', () => {
    expect(verifySignature(id.publicKey, msg, sig.subarray(0, 63))).toBe(false)
    expect(verifySignature(id.publicKey.subarray(0, 31), msg, sig)).toBe(false)
    expect(verifySignature(new Uint8Array(32).fill(0xff), msg, sig)).toBe(false)
    expect(verifySignature(new Uint8Array(32), msg, new Uint8Array(64))).toBe(false)
  })

  test('a signature with S not reduced modulo the group order is refused (no malleability)', () => {
    // S + L is the same signature in a non-canonical form; RFC 8032 §5.1.7 requires rejecting it.
    const L = 2n ** 252n + 27742317777372353535851937790883648493n
    let s = 0n
    for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]!)
    const forged = new Uint8Array(sig)
    let t = s + L
    for (let i = 0; i < 32; i++) { forged[32 + i] = Number(t & 0xffn); t >>= 8n }
    expect(ed25519.verify(forged, msg, id.publicKey, { zip215: true })).toBe(false)
    expect(verifySignature(id.publicKey, msg, forged)).toBe(false)
  })

  test('non-bytes arguments are programmer errors (TypeError)', () => {
    expect(() => verifySignature('key' as unknown as Uint8Array, msg, sig)).toThrow(TypeError)
  })

  test('libsodium verifies first here (the optional dependency is installed in this workspace)', () => {
    expect(process.env.EGTP_NO_SODIUM === '1' || sodiumVerifyLoaded).toBe(true)
  })

  test('identities sign through libsodium here, with the same keys and signatures as OpenSSL', () => {
    expect(sodiumSigns()).toBe(process.env.EGTP_NO_SODIUM !== '1')
    for (let i = 0; i < 16; i++) {
      const seed = new Uint8Array(32).map((_, j) => (i * 37 + j * 11) & 0xff)
      const who = identityFromSeed(seed)
      const openSsl = openSslSigningKey(seed)
      expect(toHex(who.publicKey)).toBe(toHex(openSsl.publicKey))
      const message = new Uint8Array(i * 13).fill(i)
      expect(toHex(who.sign(message))).toBe(toHex(openSsl.sign(message)))
      // A view into a larger buffer signs its own bytes only.
      const framed = new Uint8Array(message.length + 8).fill(0xee)
      framed.set(message, 4)
      expect(toHex(who.sign(framed.subarray(4, 4 + message.length)))).toBe(toHex(openSsl.sign(message)))
    }
  })

  test('the verdict is always OpenSSL\'s, on valid, tampered and degenerate inputs', () => {
    const cases: Array<[Uint8Array, Uint8Array, Uint8Array]> = []
    for (let i = 0; i < 8; i++) {
      const who = generateIdentity()
      const m = new TextEncoder().encode(`message ${i}`)
      const s = who.sign(m)
      cases.push([who.publicKey, m, s])
      const bad = new Uint8Array(s)
      bad[i * 7]! ^= 1
      cases.push([who.publicKey, m, bad])
    }
    // A small-order key (the identity point) with R = identity and S = 0 satisfies OpenSSL's cofactorless
    // equation: OpenSSL accepts it, libsodium refuses small-order keys. verifySignature must say what OpenSSL says.
    const identityPoint = new Uint8Array(32)
    identityPoint[0] = 1
    const degenerate = new Uint8Array(64)
    degenerate[0] = 1
    cases.push([identityPoint, msg, degenerate])
    expect(verifySignatureOpenSsl(identityPoint, msg, degenerate)).toBe(true)
    // Non-canonical y (all ones above p) and S + L: refused by both.
    cases.push([new Uint8Array(32).fill(0xff), msg, sig])
    for (const [k, m, s] of cases) expect(verifySignature(k, m, s)).toBe(verifySignatureOpenSsl(k, m, s))
  })

  test('the imported-key cache is a bounded LRU', () => {
    try {
      setPublicKeyCacheSize(2)
      const ids = [generateIdentity(), generateIdentity(), generateIdentity()]
      // The cache serves OpenSSL's path (libsodium, when it loaded, needs no imported key).
      for (const i of ids) expect(verifySignatureOpenSsl(i.publicKey, msg, i.sign(msg))).toBe(true)
      expect(publicKeyCacheEntries()).toBe(2)
      setPublicKeyCacheSize(0)
      expect(publicKeyCacheEntries()).toBe(0)
      expect(verifySignatureOpenSsl(ids[0]!.publicKey, msg, ids[0]!.sign(msg))).toBe(true)
      expect(publicKeyCacheEntries()).toBe(0)
      expect(() => { setPublicKeyCacheSize(-1) }).toThrow(RangeError)
    } finally {
      setPublicKeyCacheSize(DEFAULT_PUBLIC_KEY_CACHE_SIZE)
    }
  })
})

describe('the verified-signature cache', () => {
  const fresh = (): void => { setVerifiedSignatureCacheSize(0); setVerifiedSignatureCacheSize(DEFAULT_VERIFIED_SIGNATURE_CACHE_SIZE) }

  test('remembers a valid signature with a copy of what it was verified over, and nothing else', () => {
    fresh()
    const who = generateIdentity()
    const other = generateIdentity()
    const message = new TextEncoder().encode('a contact record, say')
    const sig = who.sign(message)
    expect(verifySignature(who.publicKey, message, sig)).toBe(true)
    expect(verifiedSignatureCacheEntries()).toBe(1)
    expect(verifySignature(who.publicKey, message, sig)).toBe(true)
    expect(verifiedSignatureCacheEntries()).toBe(1)
    // The same signature over other bytes or under another key is verified, not looked up.
    const altered = message.slice()
    altered[0]! ^= 1
    expect(verifySignature(who.publicKey, altered, sig)).toBe(false)
    expect(verifySignature(who.publicKey, message.subarray(1), sig)).toBe(false)
    expect(verifySignature(other.publicKey, message, sig)).toBe(false)
    // The caller's bytes changed after the verification: the cache kept its own copy.
    message[3]! ^= 0x40
    expect(verifySignature(who.publicKey, message, sig)).toBe(false)
    message[3]! ^= 0x40
    expect(verifySignature(who.publicKey, message, sig)).toBe(true)
    // Invalid verdicts are never remembered.
    const bad = sig.slice()
    bad[10]! ^= 1
    expect(verifySignature(who.publicKey, message, bad)).toBe(false)
    expect(verifySignature(who.publicKey, message, bad)).toBe(false)
    expect(verifiedSignatureCacheEntries()).toBe(1)
  })

  test('is bounded, can be turned off, and skips long messages', () => {
    try {
      fresh()
      setVerifiedSignatureCacheSize(2)
      const who = generateIdentity()
      const messages = ['one', 'two', 'three'].map(m => new TextEncoder().encode(m))
      for (const m of messages) expect(verifySignature(who.publicKey, m, who.sign(m))).toBe(true)
      expect(verifiedSignatureCacheEntries()).toBe(2)
      const long = new Uint8Array(MAX_VERIFIED_SIGNATURE_MESSAGE_BYTES + 1)
      expect(verifySignature(who.publicKey, long, who.sign(long))).toBe(true)
      expect(verifiedSignatureCacheEntries()).toBe(2)
      setVerifiedSignatureCacheSize(0)
      expect(verifiedSignatureCacheEntries()).toBe(0)
      expect(verifySignature(who.publicKey, messages[0]!, who.sign(messages[0]!))).toBe(true)
      expect(verifiedSignatureCacheEntries()).toBe(0)
      expect(() => { setVerifiedSignatureCacheSize(-1) }).toThrow(RangeError)
      expect(() => { setVerifiedSignatureCacheSize(1.5) }).toThrow(RangeError)
    } finally {
      setVerifiedSignatureCacheSize(DEFAULT_VERIFIED_SIGNATURE_CACHE_SIZE)
    }
  })
})

describe('identity objects', () => {
  test('the DER import fallback signs exactly like the JWK path', () => {
    for (const v of RFC8032) {
      expect(toHex(sign(null, hex(v.message), importSeedDer(hex(v.seed))))).toBe(v.signature)
    }
  })

  test('the same seed always gives the same identity; byte properties are copies', () => {
    const a = identityFromSeed(hex(RFC8032[0]!.seed))
    const b = identityFromSeed(hex(RFC8032[0]!.seed))
    expect(a.nodeId).toBe(b.nodeId)
    a.publicKey.fill(0)
    a.nodeIdBytes.fill(0)
    a.x25519PublicKey.fill(0)
    a.exportSeed().fill(0)
    a.x25519SecretKey().fill(0)
    expect(a.publicKey).toEqual(b.publicKey)
    expect(a.nodeIdBytes).toEqual(b.nodeIdBytes)
    expect(a.x25519PublicKey).toEqual(b.x25519PublicKey)
    expect(a.exportSeed()).toEqual(b.exportSeed())
    expect(a.x25519SecretKey()).toEqual(b.x25519SecretKey())
  })

  test('a seed passed as a Buffer is copied, not viewed', () => {
    const seed = Buffer.from(RFC8032[0]!.seed, 'hex')
    const id = identityFromSeed(seed)
    seed.fill(0)
    expect(toHex(id.exportSeed())).toBe(RFC8032[0]!.seed)
  })

  test('generated identities are distinct and their seed reproduces them', () => {
    const a = generateIdentity()
    expect(a.nodeId).not.toBe(generateIdentity().nodeId)
    expect(identityFromSeed(a.exportSeed()).nodeId).toBe(a.nodeId)
  })

  test('a seed of the wrong size is a RangeError', () => {
    expect(() => identityFromSeed(new Uint8Array(31))).toThrow(RangeError)
    expect(() => identityFromSeed('seed' as unknown as Uint8Array)).toThrow(TypeError)
  })
})
