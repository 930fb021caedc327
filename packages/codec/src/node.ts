/**
 * @packageDocumentation
 * `@egtp/codec/node`: the node's wire, fast. Query and one-way messages with byte payloads and the batch that is
 * the plaintext of every session frame, written into exact-size buffers and read without the generic decoder;
 * byte-identical to {@link nodeMessages} encoded by the schema codec, which decodes whatever the fast readers do
 * not recognise.
 */
export {
  nodeCodec, encodeMessage, encodePayloadMessage, encodeBytesMessage, encodeOwnBytesMessage, encodeBatch,
  encodeBatchParts, BYTES_MESSAGE_ID_OFFSET, SPLICE_BYTES
} from './fast/node.ts'
export { decodeBatch, decodeContactInfo, peekContactInfo } from './fast/node-decode.ts'
export type { DecodedBatch } from './fast/node-decode.ts'
export { MESSAGE_DEPTH_LIMIT, MESSAGE_ITEMS_LIMIT } from './fast/node-types.ts'
export type {
  NodeMessage, QueryMsg, ReplyMsg, OnewayMsg, AckMsg, ContactInfoMsg, ContactInfoEntry, BatchEntry, SplitMessage, MessageBytes
} from './fast/node-types.ts'
