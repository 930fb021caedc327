import { EgtpError, bytesEqual } from '@egtp/interface'
import { sha256 } from '@noble/hashes/sha2.js'
import { base32Decode, base32Encode } from './base32.ts'
import { NODE_ID_BYTES, NODE_ID_DOMAIN, NODE_ID_MEMO_SIZE, NODE_ID_TEXT_LENGTH, PUBLIC_KEY_BYTES } from './constants.ts'
import { LruCache } from './lru.ts'
import { checkBytes } from './util.ts'

const DOMAIN = new TextEncoder().encode(NODE_ID_DOMAIN)

function bad (message: string): EgtpError {
  return new EgtpError('ERR_BAD_NODE_ID', message)
}

/** A short, escaped excerpt of untrusted text for an error message (node IDs are public, never secret). */
function excerpt (text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)
}

/**
 * The raw node ID of an Ed25519 public key: `SHA-256("egtp/node-id/v1" ‖ publicKey)[0..20]`.
 * @throws {TypeError | RangeError} unless `publicKey` is 32 bytes
 */
export function nodeIdBytesFromPublicKey (publicKey: Uint8Array): Uint8Array {
  return rememberedNodeId(publicKey).slice()
}

/** @internal {@link nodeIdBytesFromPublicKey} without the memo: a new identity's own key (never a peer's). */
export function hashNodeId (publicKey: Uint8Array): Uint8Array {
  checkBytes('publicKey', publicKey, PUBLIC_KEY_BYTES)
  const input = new Uint8Array(DOMAIN.length + PUBLIC_KEY_BYTES)
  input.set(DOMAIN)
  input.set(publicKey, DOMAIN.length)
  return sha256(input).slice(0, NODE_ID_BYTES)
}

/** Node IDs of recently used public keys, by the key's bytes. */
const nodeIdMemo = new LruCache<Uint8Array>(NODE_ID_MEMO_SIZE)

/** The raw node ID of `publicKey`, remembered per process: the caller must not alter it. */
function rememberedNodeId (publicKey: Uint8Array): Uint8Array {
  checkBytes('publicKey', publicKey, PUBLIC_KEY_BYTES)
  return nodeIdMemo.derived(publicKey, hashNodeId)
}

/** The node ID (text form) of an Ed25519 public key. */
export function nodeIdFromPublicKey (publicKey: Uint8Array): string {
  return base32Encode(rememberedNodeId(publicKey))
}

/**
 * Text form of 20 raw node ID bytes.
 * @throws {EgtpError} ERR_BAD_NODE_ID on a wrong length
 */
export function nodeIdFromBytes (bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('nodeIdFromBytes: bytes must be a Uint8Array')
  if (bytes.length !== NODE_ID_BYTES) throw bad(`a raw node ID is ${NODE_ID_BYTES} bytes, got ${bytes.length}`)
  return base32Encode(bytes)
}

/**
 * The 20 raw bytes of a node ID's text form (either case accepted).
 * @throws {EgtpError} ERR_BAD_NODE_ID with the reason: wrong length, a character outside base32, trailing bits
 */
export function nodeIdToBytes (nodeId: string): Uint8Array {
  if (typeof nodeId !== 'string') throw new TypeError('nodeIdToBytes: nodeId must be a string')
  if (nodeId.length !== NODE_ID_TEXT_LENGTH) {
    throw bad(`a node ID is ${NODE_ID_TEXT_LENGTH} base32 characters, got ${nodeId.length}: ${excerpt(nodeId)}`)
  }
  const out = base32Decode(nodeId)
  if (out instanceof Uint8Array) return out
  switch (out.kind) {
    case 'character':
      throw bad(`character ${JSON.stringify(out.char)} at position ${out.index} of ${excerpt(nodeId)} is not base32 (a-z and 2-7; there is no 0, 1, 8 or 9)`)
    case 'trailing-bits':
      throw bad(`${excerpt(nodeId)} is not canonical base32: its unused trailing bits are not zero`)
    default:
      throw bad(`${excerpt(nodeId)} has an impossible base32 length`)
  }
}

/**
 * Validate a node ID typed or pasted by a person or read from config, and return its canonical (lowercase)
 * form. Whitespace, padding (`=`), prefixes and any other character are refused, never silently dropped.
 * @throws {EgtpError} ERR_BAD_NODE_ID
 */
export function parseNodeId (text: string): string {
  if (typeof text !== 'string') throw new TypeError('parseNodeId: text must be a string')
  return base32Encode(nodeIdToBytes(text))
}

/**
 * "Unify designation and public key": a public key is accepted for a node ID only if it hashes to it.
 * @throws {EgtpError} ERR_BAD_NODE_ID when `nodeId` is not a node ID; ERR_KEY_MISMATCH otherwise
 */
export function checkPeerKey (nodeId: string, publicKey: Uint8Array): void {
  const expected = nodeIdToBytes(nodeId)
  if (!(publicKey instanceof Uint8Array)) throw new TypeError('checkPeerKey: publicKey must be a Uint8Array')
  if (publicKey.length !== PUBLIC_KEY_BYTES) {
    throw new EgtpError('ERR_KEY_MISMATCH', `public key for ${nodeId} has ${publicKey.length} bytes, not ${PUBLIC_KEY_BYTES}`)
  }
  if (!bytesEqual(rememberedNodeId(publicKey), expected)) {
    throw new EgtpError('ERR_KEY_MISMATCH', `the public key does not belong to node ${nodeId}`)
  }
}
