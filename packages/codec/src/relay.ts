/**
 * @packageDocumentation
 * `@egtp/codec/relay`: the relay's wire. The codec of every relay frame, and fast encoders and readers of the bulk
 * frames (`rs` sends, `rd` deliveries, `rv` notices), byte-identical to the schema codec, which decodes whatever
 * the fast readers do not recognise.
 */
export {
  relayCodec, encodeSend, encodeSendOne, encodeDeliver, encodeDeliverOne, deliverInPlace, decodeRelay
} from './fast/relay.ts'
export type { RelayMessage, SendEntry, DeliverEntry, Sendable, Deliverable } from './fast/relay.ts'
