/**
 * Raw node ID length (the first 20 bytes of the domain-separated SHA-256 of the Ed25519 public key) and the
 * Ed25519 key and signature sizes: wire sizes, defined once in @egtp/codec.
 */
export { NODE_ID_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '@egtp/codec'
/** Text form length: unpadded lowercase RFC 4648 base32 of the 20 bytes (160 bits = 32 characters exactly). */
export const NODE_ID_TEXT_LENGTH = 32
/** Domain separator hashed before the public key to derive a node ID. */
export const NODE_ID_DOMAIN = 'egtp/node-id/v1'
/** Ed25519 seed size. */
export const SEED_BYTES = 32
/** Prefix of every message signed by `signCanonical`, so EGTP signatures never verify in another protocol. */
export const SIGNED_MESSAGE_PREFIX = 'egtp/signed/v1\n'
/** Longest context string `signCanonical` accepts (bytes of UTF-8; the length is written in one byte). */
export const MAX_CONTEXT_BYTES = 255
/**
 * How long after its `expiresAt` a contact record is still accepted: the tolerance for clocks that differ
 * between its issuer and its reader. A record's expiry is the issuer's clock; a node whose clock is an hour off
 * would otherwise refuse every fresh record (or see its own refused) and be cut off, while the session layer
 * tolerates any skew. Freshness between records is the sequence number's job (a higher `seq` always wins), and
 * trackers expire what they hold by their own clock; the expiry only bounds how long a record lives at all.
 */
export const RECORD_EXPIRY_GRACE_MS = 24 * 3_600_000
/** The context under which contact records are signed. */
export const CONTACT_RECORD_CONTEXT = 'egtp/contact-record/v1'
/** How many imported public keys `verifySignature` keeps (a miss costs a ~10 µs JWK import, a hit a Map lookup). */
export const DEFAULT_PUBLIC_KEY_CACHE_SIZE = 1024
/** Hard upper bound for the public key cache size. */
export const MAX_PUBLIC_KEY_CACHE_SIZE = 1_000_000
/**
 * How many signatures `verifySignature` remembers as valid, each with the key and message it was checked over
 * (a repeat costs a lookup and a comparison, ~1 µs, instead of a ~40–80 µs verification).
 */
export const DEFAULT_VERIFIED_SIGNATURE_CACHE_SIZE = 256
/** Hard upper bound for the verified-signature cache size. */
export const MAX_VERIFIED_SIGNATURE_CACHE_SIZE = 100_000
/** Longest message whose valid signature is remembered (a contact record's signed bytes are a few hundred). */
export const MAX_VERIFIED_SIGNATURE_MESSAGE_BYTES = 4096
/**
 * How many public keys' node IDs are remembered per process, the least recently used forgotten first (a hit costs a lookup, ~0.3 µs, instead of a SHA-256,
 * ~2–7 µs): a peer's key is hashed when its handshake is checked and again when its record is.
 */
export const NODE_ID_MEMO_SIZE = 256
/** Keystore file format version (see docs/protocol/identity.md). */
export const KEYSTORE_FORMAT_VERSION = 1
/** A keystore file larger than this is corrupt (a valid one is ~150 bytes). */
export const MAX_KEYSTORE_FILE_BYTES = 4096
/** FileStore: longest key, in UTF-8 bytes (escaped file names must stay under 255 bytes). */
export const MAX_FILE_STORE_KEY_BYTES = 80
/** FileStore: default largest value. */
export const DEFAULT_FILE_STORE_MAX_VALUE_BYTES = 1024 * 1024
/** FileStore: hard upper bound for `maxValueBytes`. */
export const MAX_FILE_STORE_VALUE_BYTES = 64 * 1024 * 1024
/**
 * Bytes `randomBytesPooled` draws from the OS CSPRNG at a time (one `randomFillSync` costs ~10 µs here whatever
 * its size up to a few KiB); requests above a quarter of it are filled on their own.
 */
export const RANDOM_POOL_BYTES = 1024
