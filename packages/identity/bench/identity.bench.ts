// pnpm bench: Ed25519 through node:crypto beside @noble/curves in the same run, node ID derivation beside a
// raw node:crypto SHA-256, and the record helpers built on them.
import { createHash, createPrivateKey } from 'node:crypto'
import { heading, measure, report } from '@egtp/scripts/bench'
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256 } from '@noble/hashes/sha2.js'
import {
  createContactRecord, generateIdentity, identityFromSeed, nodeIdFromPublicKey, setPublicKeyCacheSize,
  setVerifiedSignatureCacheSize, verifyContactRecord, verifySignature, x25519PublicKeyFromEd25519, DEFAULT_PUBLIC_KEY_CACHE_SIZE,
  DEFAULT_VERIFIED_SIGNATURE_CACHE_SIZE, NODE_ID_MEMO_SIZE
} from '../src/index.ts'
import { openSslSigningKey } from '../src/ed25519.ts'

const id = generateIdentity()
const seed = id.exportSeed()
const msg = new Uint8Array(64).fill(7)
const sig = id.sign(msg)
const slow = { minMs: 200, rounds: 3 }

heading('Ed25519 sign (64 B message)')
const nobleSign = measure('@noble/curves ed25519.sign', () => ed25519.sign(msg, seed), slow)
report(nobleSign)
const openSslKey = openSslSigningKey(seed)
const openSslSign = measure('node:crypto sign (OpenSSL, key imported once)', () => openSslKey.sign(msg))
report(openSslSign, nobleSign)
report(measure('identity.sign (libsodium when it loads)', () => id.sign(msg)), openSslSign)

heading('Ed25519 verify (64 B message)')
const nobleVerify = measure('@noble/curves ed25519.verify', () => ed25519.verify(sig, msg, id.publicKey), slow)
report(nobleVerify)
// Each call verifies (the same signature would otherwise be found in the verified-signature cache).
setVerifiedSignatureCacheSize(0)
const cached = measure('verifySignature (OpenSSL key cached)', () => verifySignature(id.publicKey, msg, sig))
report(cached, nobleVerify)
setPublicKeyCacheSize(0)
report(measure('verifySignature (OpenSSL key imported each time)', () => verifySignature(id.publicKey, msg, sig)), cached)
setPublicKeyCacheSize(DEFAULT_PUBLIC_KEY_CACHE_SIZE)
setVerifiedSignatureCacheSize(DEFAULT_VERIFIED_SIGNATURE_CACHE_SIZE)
report(measure('verifySignature, verified before (cache hit)', () => verifySignature(id.publicKey, msg, sig)), cached)

heading('node ID derivation')
const prefix = new TextEncoder().encode('egtp/node-id/v1')
const nodeHash = measure('node:crypto SHA-256 of the same 47 bytes', () => createHash('sha256').update(prefix).update(id.publicKey).digest())
report(nodeHash)
report(measure('@noble/hashes sha256 of the same 47 bytes', () => sha256(new Uint8Array([...prefix, ...id.publicKey]))), nodeHash)
// More distinct keys than the memo holds, in turn: every call hashes (a new peer's key).
const manyKeys = Array.from({ length: 4 * NODE_ID_MEMO_SIZE }, () => generateIdentity().publicKey)
let nextKey = 0
report(measure('nodeIdFromPublicKey, a key not seen before (hash + base32)', () => nodeIdFromPublicKey(manyKeys[nextKey++ % manyKeys.length]!)), nodeHash)
report(measure('nodeIdFromPublicKey, a key seen before (memo hit + base32)', () => nodeIdFromPublicKey(id.publicKey)), nodeHash)

heading('key setup')
const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed])
const viaDer = measure('baseline: node:crypto createPrivateKey from PKCS#8 DER', () => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }), slow)
report(viaDer)
report(measure('node:crypto signing key (JWK import, public key exported)', () => openSslSigningKey(seed)), viaDer)
const imported = measure('identityFromSeed (libsodium key pair when it loads, node ID)', () => identityFromSeed(seed))
report(imported, viaDer)
report(measure('x25519PublicKeyFromEd25519 (point decode + map, @noble)', () => x25519PublicKeyFromEd25519(id.publicKey), slow), imported)

heading('contact records (2 endpoints)')
const fields = { seq: 1, expiresAt: Number.MAX_SAFE_INTEGER, endpoints: [{ kind: 'tcp' as const, host: '127.0.0.1', port: 4000 }, { kind: 'relay' as const, relay: id.nodeId, host: 'relay.example', port: 4001 }] }
const record = createContactRecord(id, fields)
const create = measure('createContactRecord', () => createContactRecord(id, fields))
report(create)
setVerifiedSignatureCacheSize(0)
const verifyRecord = measure('verifyContactRecord', () => verifyContactRecord(record))
setVerifiedSignatureCacheSize(DEFAULT_VERIFIED_SIGNATURE_CACHE_SIZE)
report(verifyRecord, create)
report(measure('verifyContactRecord, verified before (cache hit)', () => verifyContactRecord(record)), verifyRecord)
