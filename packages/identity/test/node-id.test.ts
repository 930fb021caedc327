import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { base32Decode, base32Encode } from '../src/base32.ts'
import {
  checkPeerKey, generateIdentity, nodeIdFromBytes, nodeIdToBytes, parseNodeId, nodeIdFromPublicKey,
  nodeIdBytesFromPublicKey, NODE_ID_MEMO_SIZE
} from '../src/index.ts'

const enc = new TextEncoder()

describe('base32 (RFC 4648 §10 vectors, lowercase, unpadded)', () => {
  test.each([['', ''], ['f', 'my'], ['fo', 'mzxq'], ['foo', 'mzxw6'], ['foob', 'mzxw6yq'], ['fooba', 'mzxw6ytb'], ['foobar', 'mzxw6ytboi']])(
    '%j <-> %j', (plain, text) => {
      expect(base32Encode(enc.encode(plain))).toBe(text)
      expect(base32Decode(text)).toEqual(enc.encode(plain))
      expect(base32Decode(text.toUpperCase())).toEqual(enc.encode(plain))
    })

  test('non-zero trailing bits and impossible lengths are refused', () => {
    expect(base32Decode('mz')).toEqual({ kind: 'trailing-bits' }) // 'f' is "my"; "mz" sets an unused bit
    expect(base32Decode('m')).toEqual({ kind: 'length' })
    expect(base32Decode('mzx')).toEqual({ kind: 'length' })
    expect(base32Decode('mzxw6y')).toEqual({ kind: 'length' })
  })

  test('every byte string round-trips and has exactly one text form', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const text = base32Encode(bytes)
      expect(base32Decode(text)).toEqual(bytes)
      expect(text).toMatch(/^[a-z2-7]*$/)
    }))
  })

  test('an input longer than one String.fromCharCode chunk (4096 characters) encodes whole', () => {
    const bytes = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 37 + 11) & 0xff)
    const text = base32Encode(bytes)
    expect(text).toHaveLength(16_000)
    expect(text.slice(0, 8)).toBe(base32Encode(bytes.subarray(0, 5)))
    expect(text.slice(8000, 8008)).toBe(base32Encode(bytes.subarray(5000, 5005)))
    expect(base32Decode(text)).toEqual(bytes)
  })
})

describe('node ID text form', () => {
  test('is 32 lowercase base32 characters and round-trips', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), (bytes) => {
      const id = nodeIdFromBytes(bytes)
      expect(id).toMatch(/^[a-z2-7]{32}$/)
      expect(nodeIdToBytes(id)).toEqual(bytes)
      expect(parseNodeId(id)).toBe(id)
      expect(parseNodeId(id.toUpperCase())).toBe(id)
    }))
  })

  test('nodeIdFromPublicKey is the text form of nodeIdBytesFromPublicKey', () => {
    const { publicKey } = generateIdentity()
    expect(nodeIdToBytes(nodeIdFromPublicKey(publicKey))).toEqual(nodeIdBytesFromPublicKey(publicKey))
    expect(() => nodeIdFromPublicKey(new Uint8Array(31))).toThrow(RangeError)
  })

  const valid = generateIdentity().nodeId
  test.each([
    ['too short', valid.slice(0, 31), /is 32 base32 characters, got 31/],
    ['too long', `${valid}a`, /is 32 base32 characters, got 33/],
    ['empty', '', /got 0/],
    ['padded', `${valid.slice(0, 30)}==`, /character "=" at position 30/],
    ['with a digit base32 lacks', `0${valid.slice(1)}`, /character "0" at position 0 .*no 0, 1, 8 or 9/],
    ['with a 1', `${valid.slice(0, 5)}1${valid.slice(6)}`, /character "1" at position 5/],
    ['with a space', ` ${valid.slice(1)}`, /character " " at position 0/],
    ['with a trailing newline', `${valid.slice(0, 31)}\n`, /character "\\n" at position 31/],
    ['with a non-ASCII letter', `é${valid.slice(1)}`, /character "é" at position 0/],
    ['with a hex digest', 'ab'.repeat(20), /got 40/]
  ])('a node ID %s is refused with ERR_BAD_NODE_ID and says why', (_name, text, reason) => {
    expect(() => parseNodeId(text)).toThrow(/^ERR_BAD_NODE_ID: /)
    expect(() => parseNodeId(text)).toThrow(reason)
    expect(() => nodeIdToBytes(text)).toThrow(/^ERR_BAD_NODE_ID: /)
  })

  test('long garbage is quoted only in part', () => {
    expect(() => parseNodeId('x'.repeat(10_000))).toThrow(/"x{40}…"$/)
  })

  test('raw node IDs of the wrong length are refused', () => {
    expect(() => nodeIdFromBytes(new Uint8Array(19))).toThrow(/^ERR_BAD_NODE_ID: a raw node ID is 20 bytes, got 19/)
    expect(() => nodeIdFromBytes(new Uint8Array(32))).toThrow(/^ERR_BAD_NODE_ID/)
  })

  test('non-strings and non-bytes are programmer errors', () => {
    expect(() => parseNodeId(42 as unknown as string)).toThrow(TypeError)
    expect(() => nodeIdToBytes(undefined as unknown as string)).toThrow(TypeError)
    expect(() => nodeIdFromBytes([1, 2] as unknown as Uint8Array)).toThrow(TypeError)
  })
})

describe('checkPeerKey: a public key is accepted only for the node ID it hashes to', () => {
  const a = generateIdentity()
  const b = generateIdentity()

  test('accepts the matching key, in either case of the ID', () => {
    expect(() => { checkPeerKey(a.nodeId, a.publicKey) }).not.toThrow()
    expect(() => { checkPeerKey(a.nodeId.toUpperCase(), a.publicKey) }).not.toThrow()
  })

  test('refuses another node\'s key, a flipped bit, and a wrong length with ERR_KEY_MISMATCH', () => {
    expect(() => { checkPeerKey(a.nodeId, b.publicKey) }).toThrow(/^ERR_KEY_MISMATCH/)
    const flipped = a.publicKey
    flipped[7]! ^= 0x10
    expect(() => { checkPeerKey(a.nodeId, flipped) }).toThrow(/^ERR_KEY_MISMATCH/)
    expect(() => { checkPeerKey(a.nodeId, a.publicKey.subarray(0, 31)) }).toThrow(/^ERR_KEY_MISMATCH/)
  })

  test('refuses a malformed node ID with ERR_BAD_NODE_ID', () => {
    expect(() => { checkPeerKey('not-a-node-id', a.publicKey) }).toThrow(/^ERR_BAD_NODE_ID/)
  })
})

describe('the node ID memo (NODE_ID_MEMO_SIZE keys per process)', () => {
  // What the memo must never change: the SHA-256 of the domain and the key, whatever was asked before.
  const sha256NodeId = (publicKey: Uint8Array): Uint8Array =>
    Uint8Array.from(createHash('sha256').update('egtp/node-id/v1').update(publicKey).digest().subarray(0, 20))

  test('a returned node ID is a copy: altering it alters no later answer', () => {
    const { publicKey } = generateIdentity()
    const first = nodeIdBytesFromPublicKey(publicKey)
    first.fill(0)
    expect(nodeIdBytesFromPublicKey(publicKey)).toEqual(sha256NodeId(publicKey))
    expect(() => { checkPeerKey(nodeIdFromBytes(sha256NodeId(publicKey)), publicKey) }).not.toThrow()
  })

  test('a key altered after it was hashed is hashed anew (the memo is keyed by the bytes, not the array)', () => {
    const { publicKey, nodeId } = generateIdentity()
    checkPeerKey(nodeId, publicKey)
    publicKey[0]! ^= 1
    expect(() => { checkPeerKey(nodeId, publicKey) }).toThrow(/^ERR_KEY_MISMATCH/)
    expect(nodeIdBytesFromPublicKey(publicKey)).toEqual(sha256NodeId(publicKey))
  })

  test('more keys than the memo holds, each asked twice and out of order, all hash right', () => {
    const keys = Array.from({ length: NODE_ID_MEMO_SIZE * 2 + 3 }, () => generateIdentity().publicKey)
    for (const k of keys) expect(nodeIdBytesFromPublicKey(k)).toEqual(sha256NodeId(k))
    for (const k of keys.reverse()) expect(nodeIdFromPublicKey(k)).toBe(nodeIdFromBytes(sha256NodeId(k)))
  })
})
