/**
 * @packageDocumentation
 * EGTP identity: a node's Ed25519 key pair, its node ID (a domain-separated hash of the public key, written as
 * 32 lowercase base32 characters), signatures over the codec's canonical bytes, signed contact records, and
 * keystores. Persistence is optional: nothing writes to disk unless given a {@link FileKeystore} or
 * {@link FileStore}.
 *
 * @example
 * ```ts
 * import { loadOrCreateIdentity, FileKeystore, checkPeerKey, signCanonical, verifyCanonical } from '@egtp/identity'
 * const me = await loadOrCreateIdentity(new FileKeystore('/var/lib/egtp/identity.json'))
 * const sig = signCanonical(me, 'myapp/hello/v1', { hello: 'world' })
 * checkPeerKey(me.nodeId, me.publicKey) // a key is accepted for a node ID only if it hashes to it
 * verifyCanonical(me.publicKey, 'myapp/hello/v1', { hello: 'world' }, sig) // true
 * ```
 */
export {
  NODE_ID_BYTES, NODE_ID_TEXT_LENGTH, NODE_ID_DOMAIN, PUBLIC_KEY_BYTES, SEED_BYTES, SIGNATURE_BYTES,
  SIGNED_MESSAGE_PREFIX, MAX_CONTEXT_BYTES, CONTACT_RECORD_CONTEXT, RECORD_EXPIRY_GRACE_MS, DEFAULT_PUBLIC_KEY_CACHE_SIZE,
  MAX_PUBLIC_KEY_CACHE_SIZE, DEFAULT_VERIFIED_SIGNATURE_CACHE_SIZE, MAX_VERIFIED_SIGNATURE_CACHE_SIZE,
  MAX_VERIFIED_SIGNATURE_MESSAGE_BYTES, KEYSTORE_FORMAT_VERSION, MAX_KEYSTORE_FILE_BYTES, MAX_FILE_STORE_KEY_BYTES,
  DEFAULT_FILE_STORE_MAX_VALUE_BYTES, MAX_FILE_STORE_VALUE_BYTES, RANDOM_POOL_BYTES, NODE_ID_MEMO_SIZE
} from './constants.ts'
export { randomBytesPooled } from './random.ts'
export { ed25519MapsToX25519, generateIdentity, identityFromSeed, x25519PublicKeyFromEd25519 } from './identity.ts'
export type { NodeIdentity } from './identity.ts'
export {
  nodeIdFromPublicKey, nodeIdBytesFromPublicKey, nodeIdToBytes, nodeIdFromBytes, parseNodeId, checkPeerKey
} from './node-id.ts'
export {
  verifySignature, setPublicKeyCacheSize, publicKeyCacheEntries, setVerifiedSignatureCacheSize, verifiedSignatureCacheEntries
} from './ed25519.ts'
export { signCanonical, verifyCanonical, canonicalSigningBytes } from './canonical.ts'
export {
  createContactRecord, verifyContactRecord, contactRecordToWire, contactRecordFromWire, encodeContactRecord,
  decodeContactRecord
} from './contact-record.ts'
export type { ContactRecordWire, ContactRecordFields, VerifyContactRecordOptions } from './contact-record.ts'
export { MemoryKeystore, FileKeystore, loadOrCreateIdentity } from './keystore.ts'
export type { Keystore, KeystoreSaveOptions } from './keystore.ts'
export { FileStore, fileStoreFileName } from './file-store.ts'
export type { FileStoreInit } from './file-store.ts'
