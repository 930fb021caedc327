/**
 * @packageDocumentation
 * The EGTP wire codec: length-prefixed framing with a bounded incremental decoder, one safely configured
 * msgpackr, a canonical encoding for hashing and signing, and typed, validated message schemas.
 *
 * @example
 * ```ts
 * import { FrameDecoder, encodeFrame, createMessageCodec, nodeMessages } from '@egtp/codec'
 * const codec = createMessageCodec(nodeMessages)
 * const wire = encodeFrame(codec.encode({ t: 'o', m: new Uint8Array(16), y: 'chat', p: 'hi' }))
 * for (const body of new FrameDecoder().push(wire)) console.log(codec.decode(body))
 * ```
 *
 * The wire of each layer, fast (hand-written encoders and readers byte-identical to these schemas), is in the
 * subpaths `@egtp/codec/node`, `@egtp/codec/relay` and `@egtp/codec/session`.
 */
export {
  PROTOCOL_VERSION, FRAME_HEADER_BYTES, DEFAULT_MAX_FRAME_BYTES, MAX_FRAME_BYTES_LIMIT, DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_ITEMS, DEFAULT_MAX_FIELD_BYTES
} from './constants.ts'
export { CodecError } from './errors.ts'
export type { CodecErrorCode } from './errors.ts'
export { FrameDecoder, encodeFrame, encodeFrames, checkMaxFrameBytes } from './frame.ts'
export type { FrameDecoderInit } from './frame.ts'
export { encodeValue, decodeValue, encodeCanonical, scanValue } from './msgpack.ts'
export { canonicalRecordFields } from './fast/record.ts'
export type { RecordSignedFields } from './fast/record.ts'
export type { DecodeLimits } from './msgpack.ts'
export { f, defineMessage, createMessageCodec } from './schema.ts'
export type { Field, Shape, Infer, FieldType, MessageSchema, MessageOf, MessageCodec, MessageCodecInit } from './schema.ts'
export {
  NODE_ID_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, MESSAGE_ID_BYTES, endpointField, nodeIdField,
  publicKeyField, signatureField, messageIdField, indexField
} from './messages/common.ts'
export {
  SessionInit, SessionResponse, SessionData, SessionUnknownHint, SessionClockRefusal, SessionCookieReply, sessionMessages, MAX_HANDSHAKE_BYTES
} from './messages/session.ts'
export { RelayChallenge, RelayHello, RelayWelcome, RelayClose, RelaySend, RelayAccepted, RelayRefused, RelayLost, RelayDelivered, RelayDeliver, RelayAck, RelayPoll, RelayPollDone, RelayPing, relayMessages, RELAY_NONCE_BYTES, RELAY_EPOCH_BYTES, MAX_RELAY_BATCH, MAX_RELAY_WORK_BITS, MAX_RELAY_WORK_BYTES } from './messages/relay.ts'
export {
  TrackerPublish, TrackerPublishAnswer, TrackerLookup, TrackerLookupAnswer, TrackerDiscover, TrackerDiscoverAnswer,
  TrackerGoodbye, TrackerGoodbyeAnswer, trackerRequestMessages, trackerAnswerMessages, MAX_TRACKER_RECORD_BYTES,
  MAX_LOOKUP_IDS, MAX_DISCOVER_RECORDS
} from './messages/metatracker.ts'
export { ContactRecordMessage, contactRecordFields, recordMessages, MAX_ENDPOINTS, MAX_SERVICES } from './messages/record.ts'
export { BOOTPAGE_FORMAT_VERSION, MAX_BOOTPAGE_RECORDS, bootpageSignedFields, bootpageSignedValue } from './messages/bootpage.ts'
export {
  QueryMessage, ReplyMessage, OnewayMessage, AckMessage, ContactInfoMessage, nodeMessages, MAX_TYPE_CHARS,
  MAX_ACKS_PER_MESSAGE, MAX_ACK_COUNTERS, MAX_BATCH_MESSAGES
} from './messages/node.ts'
