import { createMessageCodec, trackerAnswerMessages, trackerRequestMessages } from '@egtp/codec'
import type { MessageOf } from '@egtp/codec'
import { signCanonical, verifyCanonical } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import type { EgtpErrorCode } from '@egtp/interface'

/** The node query type every metatracker request travels as (PROTOCOL.md §Metatracker). */
export const TRACKER_QUERY_TYPE = 'metatracker'
/** Domain separation of the goodbye signature: never valid as any other EGTP signature. */
export const GOODBYE_CONTEXT = 'egtp/metatracker/goodbye/v1'
/** The service a tracker advertises in its own contact record. */
export const TRACKER_SERVICE = 'metatracker'
/** The service a relay advertises in its contact record. */
export const RELAY_SERVICE = 'relay'

/** Encoder and validating decoder of requests (node → tracker). */
export const requestCodec = createMessageCodec(trackerRequestMessages)
/** Encoder and validating decoder of answers (tracker → node). */
export const answerCodec = createMessageCodec(trackerAnswerMessages)

export type TrackerRequest = MessageOf<(typeof trackerRequestMessages)[number]>
export type TrackerAnswer = MessageOf<(typeof trackerAnswerMessages)[number]>

/** Sign the withdrawal of every record of `identity` up to `seq`. */
export function signGoodbye (identity: NodeIdentity, seq: number): Uint8Array {
  return signCanonical(identity, GOODBYE_CONTEXT, { id: identity.nodeIdBytes, q: seq })
}

/** Check a goodbye signature (the caller checks that the key hashes to the node ID). */
export function verifyGoodbye (publicKey: Uint8Array, nodeIdBytes: Uint8Array, seq: number, signature: Uint8Array): boolean {
  try {
    return verifyCanonical(publicKey, GOODBYE_CONTEXT, { id: nodeIdBytes, q: seq }, signature)
  } catch {
    return false
  }
}

/** The codes a tracker puts in its answers; anything else reads as ERR_REMOTE. */
const WIRE_CODES = new Set<EgtpErrorCode>([
  'ERR_SIGNATURE', 'ERR_KEY_MISMATCH', 'ERR_BAD_NODE_ID', 'ERR_STALE_RECORD', 'ERR_RECORD_EXPIRED',
  'ERR_RECORD_TOO_LARGE', 'ERR_RATE_LIMITED', 'ERR_LIMIT', 'ERR_TRACKER_STORE', 'ERR_FIELD', 'ERR_MALFORMED'
])

/** Map a code received from a tracker to a known {@link EgtpErrorCode} (never trusts arbitrary strings). */
export function codeFromWire (code: string): EgtpErrorCode {
  return WIRE_CODES.has(code as EgtpErrorCode) ? code as EgtpErrorCode : 'ERR_REMOTE'
}
