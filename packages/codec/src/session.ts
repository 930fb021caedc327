/**
 * @packageDocumentation
 * `@egtp/codec/session`: the session wire. The codec of session frames, the fixed binary payloads inside the
 * Noise messages, the values hints and clock notices sign, and fast writers and readers of `hd` transport frames
 * and of `hi` / `hr` handshake frames, byte-identical to the schema codec.
 */
export {
  sessionCodec, encodeInitiationPayload, decodeInitiationPayload, encodeResponsePayload, decodeResponsePayload,
  hintValue, clockRefusalValue, dataFrame, dataFrameHead, readDataFrame, isDataFrame, INITIATION_PAYLOAD_BYTES,
  RESPONSE_PAYLOAD_BYTES
} from './fast/session.ts'
export type { SessionFrame, InitiationPayload } from './fast/session.ts'
export { initiationFrame, responseFrame, readHandshakeFrame } from './fast/handshake.ts'
export type { InitiationFrame, ResponseFrame } from './fast/handshake.ts'
