import { EgtpError } from '@egtp/interface'
import type { EgtpErrorCode } from '@egtp/interface'
import { signCanonical, verifyCanonical } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'

/** Encoder and validating decoder of every relay frame, and the frame type (both owned by @egtp/codec/relay). */
export { relayCodec } from '@egtp/codec/relay'
export type { RelayMessage } from '@egtp/codec/relay'

/** Domain separation of the hello signature: never valid as any other EGTP signature. */
export const HELLO_CONTEXT = 'egtp/relay/hello/v1'

/**
 * The first message number (`rs` `m`) a client uses on a connection (PROTOCOL.md §4.2, "Numbering"). From 2^16 up
 * to 2^32 every number encodes in 5 bytes, at least as long as any queue position (`rd` `i`) below 2^32. That lets
 * the relay turn a one-entry `rs` frame carrying a large message into the `rd` frame that delivers it, in place,
 * writing the `rd` head over the `rs` head (server: `deliverInPlace` of `@egtp/codec/relay`). A client numbering otherwise is
 * still served: the relay then copies the message (checked by test/numbering.test.ts).
 */
export const FIRST_MESSAGE_NUMBER = 0x10000

/** What a node registers as: `client` receives its own messages; `sender` only sends. */
export type RelayRole = 'client' | 'sender'

/**
 * Sign the relay's challenge: the nonce (freshness), the relay's node ID (the signature is useless at any
 * other relay) and the role.
 */
export function signHello (identity: NodeIdentity, nonce: Uint8Array, relayId: Uint8Array, role: RelayRole): Uint8Array {
  return signCanonical(identity, HELLO_CONTEXT, { n: nonce, id: relayId, r: role })
}

/** Check a hello signature. The caller also checks that the key hashes to the node ID it will use. */
export function verifyHello (publicKey: Uint8Array, signature: Uint8Array, nonce: Uint8Array, relayId: Uint8Array, role: RelayRole): boolean {
  try {
    return verifyCanonical(publicKey, HELLO_CONTEXT, { n: nonce, id: relayId, r: role }, signature)
  } catch {
    return false
  }
}

/** The codes a relay puts on the wire (refusals, losses, connection close). Others read as ERR_RELAY_REFUSED. */
const WIRE_CODES = new Set<EgtpErrorCode>([
  'ERR_RELAY_FULL', 'ERR_RELAY_UNKNOWN_RECIPIENT', 'ERR_RELAY_REFUSED', 'ERR_RELAY_STORE', 'ERR_RATE_LIMITED',
  'ERR_FRAME_TOO_LARGE', 'ERR_TIMEOUT', 'ERR_AUTH', 'ERR_CLOSED', 'ERR_BACKPRESSURE'
])

/** Map a code received from a relay to a known {@link EgtpErrorCode} (never trusts arbitrary strings). */
export function codeFromWire (code: string): EgtpErrorCode {
  return WIRE_CODES.has(code as EgtpErrorCode) ? code as EgtpErrorCode : 'ERR_RELAY_REFUSED'
}

/**
 * An error for a code a relay sent. It is about this relay as a way to the peer (`scope: 'endpoint'`), and
 * temporary except for a message too large for it.
 */
export function relayError (code: string, what: string): EgtpError {
  const c = codeFromWire(code)
  return new EgtpError(c, what, { scope: 'endpoint', retryable: c !== 'ERR_FRAME_TOO_LARGE' })
}
