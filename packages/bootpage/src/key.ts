import { EgtpError, bytesEqual } from '@egtp/interface'
import { MAX_BOOTPAGE_URLS } from './constants.ts'
import { parsePageUrl } from './http.ts'
import { NODE_ID_TEXT_LENGTH, PUBLIC_KEY_BYTES, checkPeerKey, nodeIdFromPublicKey, parseNodeId } from '@egtp/identity'

/** Who must have signed a page: a node ID (the page then carries the key that hashes to it) or the key itself. */
export type BootpageSigner =
  | { kind: 'node-id', nodeId: string }
  | { kind: 'public-key', nodeId: string, publicKey: Uint8Array }

const HEX_KEY = /^[0-9a-fA-F]{64}$/

/**
 * Parse the configured signer: a node ID (32 base32 characters), an Ed25519 public key as 64 hex digits, or
 * the 32 key bytes.
 * @throws {EgtpError} ERR_BAD_NODE_ID for text that is neither form
 */
export function parseBootpageKey (key: string | Uint8Array): BootpageSigner {
  if (key instanceof Uint8Array) {
    if (key.length !== PUBLIC_KEY_BYTES) throw new RangeError(`bootpage key: a public key is ${PUBLIC_KEY_BYTES} bytes, got ${key.length}`)
    const publicKey = key.slice()
    return { kind: 'public-key', nodeId: nodeIdFromPublicKey(publicKey), publicKey }
  }
  if (typeof key !== 'string') throw new TypeError('bootpage key: expected a node ID, a hex public key or 32 bytes')
  if (HEX_KEY.test(key)) {
    const publicKey = Uint8Array.from(Buffer.from(key, 'hex'))
    return { kind: 'public-key', nodeId: nodeIdFromPublicKey(publicKey), publicKey }
  }
  if (key.length !== NODE_ID_TEXT_LENGTH) {
    throw new EgtpError('ERR_BAD_NODE_ID', `a bootpage key is a node ID (${NODE_ID_TEXT_LENGTH} base32 characters) or a public key (64 hex digits), got ${key.length} characters`)
  }
  return { kind: 'node-id', nodeId: parseNodeId(key) }
}

/**
 * Check that `publicKey` (the one a page names) is the configured signer's.
 * @throws {EgtpError} ERR_KEY_MISMATCH
 */
export function checkSigner (signer: BootpageSigner, publicKey: Uint8Array): void {
  if (signer.kind === 'node-id') {
    try {
      checkPeerKey(signer.nodeId, publicKey)
    } catch (err) {
      throw new EgtpError('ERR_KEY_MISMATCH', `the page is signed by ${nodeIdFromPublicKey(publicKey)}, not by the configured key ${signer.nodeId}`, { cause: err })
    }
    return
  }
  // Public keys are not secret: any comparison would do (this one is the shared constant-time helper).
  if (!bytesEqual(signer.publicKey, publicKey)) {
    throw new EgtpError('ERR_KEY_MISMATCH', `the page is signed by ${nodeIdFromPublicKey(publicKey)}, not by the configured key ${signer.nodeId}`)
  }
}

/**
 * Check where a bootpage comes from before anything is fetched (e.g. command-line options): 1..
 * {@link MAX_BOOTPAGE_URLS} http(s) URLs and a signer key, which is required (an unsigned page is worthless).
 * @throws {TypeError|RangeError|EgtpError} naming what is wrong, as {@link createBootpageLoader} would
 */
export function checkBootpageSource (source: { urls: ReadonlyArray<string | URL>, key: string | Uint8Array | undefined }): { urls: URL[], signer: BootpageSigner } {
  if (source.key === undefined) throw new TypeError('a bootpage needs its signer key (the node ID or hex public key that signs the page)')
  if (source.urls.length === 0 || source.urls.length > MAX_BOOTPAGE_URLS) throw new RangeError(`a bootpage needs 1..${MAX_BOOTPAGE_URLS} URLs, got ${source.urls.length}`)
  return { urls: source.urls.map(parsePageUrl), signer: parseBootpageKey(source.key) }
}
