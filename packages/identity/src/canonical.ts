import { encodeCanonical } from '@egtp/codec'
import { MAX_CONTEXT_BYTES, SIGNED_MESSAGE_PREFIX } from './constants.ts'
import { verifySignature } from './ed25519.ts'
import type { NodeIdentity } from './identity.ts'
import { checkBytes } from './util.ts'

const encoder = new TextEncoder()
const PREFIX = encoder.encode(SIGNED_MESSAGE_PREFIX)

/**
 * The exact bytes `signCanonical` signs: `"egtp/signed/v1\n" ‖ u8(len(context)) ‖ context ‖ canonical(value)`.
 * The length byte makes the context/value boundary unambiguous, so no value signed under one context can be
 * presented as another context's value. Exported for other implementations and test vectors.
 * @throws {TypeError | RangeError} for an empty, non-ASCII-printable or oversized context
 */
export function canonicalSigningBytes (context: string, value: unknown): Uint8Array {
  checkContext(context)
  const body = encodeCanonical(value)
  const out = new Uint8Array(PREFIX.length + 1 + context.length + body.length)
  out.set(PREFIX)
  out[PREFIX.length] = context.length
  out.set(encoder.encode(context), PREFIX.length + 1)
  out.set(body, PREFIX.length + 1 + context.length)
  return out
}

function checkContext (context: string): void {
  if (typeof context !== 'string' || !/^[\x21-\x7e]+$/.test(context)) {
    throw new TypeError('context must be a non-empty string of printable ASCII without spaces, e.g. "egtp/contact-record/v1"')
  }
  if (context.length > MAX_CONTEXT_BYTES) throw new RangeError(`context must be at most ${MAX_CONTEXT_BYTES} characters`)
}

/** @internal The bytes {@link canonicalSigningBytes} puts before the canonical value, for a writer of its own. */
export function signingHead (context: string): Uint8Array {
  checkContext(context)
  const out = new Uint8Array(PREFIX.length + 1 + context.length)
  out.set(PREFIX)
  out[PREFIX.length] = context.length
  out.set(encoder.encode(context), PREFIX.length + 1)
  return out
}

/**
 * Sign `value` (anything the codec's canonical msgpack encodes) under a context string naming what it is.
 * @returns a 64-byte Ed25519 signature
 * @example
 * ```ts
 * const sig = signCanonical(identity, 'myapp/profile/v1', { name: 'ada', seq: 3 })
 * verifyCanonical(identity.publicKey, 'myapp/profile/v1', { seq: 3, name: 'ada' }, sig) // true: key order is irrelevant
 * ```
 */
export function signCanonical (identity: NodeIdentity, context: string, value: unknown): Uint8Array {
  return identity.sign(canonicalSigningBytes(context, value))
}

/** Check a {@link signCanonical} signature; `false` for any mismatch (value, context, key or signature). */
export function verifyCanonical (publicKey: Uint8Array, context: string, value: unknown, signature: Uint8Array): boolean {
  checkBytes('verifyCanonical: publicKey', publicKey)
  checkBytes('verifyCanonical: signature', signature)
  return verifySignature(publicKey, canonicalSigningBytes(context, value), signature)
}
