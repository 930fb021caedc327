import { describe, expect, test } from 'vitest'
import { canonicalSigningBytes, generateIdentity, identityFromSeed, signCanonical, verifyCanonical } from '../src/index.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const rfcIdentity = identityFromSeed(hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'))
const value = { b: 1, a: 'x', c: Uint8Array.of(1, 2) }

describe('signCanonical / verifyCanonical', () => {
  test('signs "egtp/signed/v1\\n" || len(context) || context || canonical msgpack (golden bytes)', () => {
    expect(toHex(canonicalSigningBytes('egtp/test/v1', value))).toBe(
      toHex(new TextEncoder().encode('egtp/signed/v1\n')) + '0c' + toHex(new TextEncoder().encode('egtp/test/v1')) +
      '83a161a178a16201a163c4020102')
    expect(toHex(signCanonical(rfcIdentity, 'egtp/test/v1', value))).toBe(
      '9b7b26eac38e27a542532c6619e9ec4da6558598ccbdafd46f6bf482888ee1bb42c1cc7ef7db1cc9a5f7db400582e05c2810a9f6e831576ec7f9f92ce697ed06')
  })

  test('map key order does not matter; values, context and key do', () => {
    const id = generateIdentity()
    const sig = signCanonical(id, 'egtp/test/v1', value)
    expect(verifyCanonical(id.publicKey, 'egtp/test/v1', { c: Uint8Array.of(1, 2), a: 'x', b: 1 }, sig)).toBe(true)
    expect(verifyCanonical(id.publicKey, 'egtp/test/v1', { ...value, b: 2 }, sig)).toBe(false)
    expect(verifyCanonical(id.publicKey, 'egtp/test/v1', { ...value, d: null }, sig)).toBe(false)
    expect(verifyCanonical(id.publicKey, 'egtp/test/v2', value, sig)).toBe(false)
    expect(verifyCanonical(generateIdentity().publicKey, 'egtp/test/v1', value, sig)).toBe(false)
  })

  test('a signature is bound to its context, whatever the value (the context length is signed)', () => {
    const id = generateIdentity()
    const sig = signCanonical(id, 'ab', 'c')
    expect(verifyCanonical(id.publicKey, 'a', 'bc', sig)).toBe(false)
    expect(canonicalSigningBytes('ab', 'c')).not.toEqual(canonicalSigningBytes('a', 'bc'))
  })

  test('flipping any bit of the signature is rejected', () => {
    const id = generateIdentity()
    const sig = signCanonical(id, 'egtp/test/v1', value)
    for (let bit = 0; bit < 512; bit++) {
      const t = new Uint8Array(sig)
      t[bit >> 3]! ^= 1 << (bit & 7)
      expect(verifyCanonical(id.publicKey, 'egtp/test/v1', value, t)).toBe(false)
    }
  })

  test.each([[''], ['has space'], ['tab\t'], ['ümlaut'], ['x'.repeat(256)]])('context %j is a programmer error', (context) => {
    expect(() => signCanonical(rfcIdentity, context, 1)).toThrow(context.length > 255 ? RangeError : TypeError)
  })
})
