import { MAX_FRAME_BYTES_LIMIT } from '../constants.ts'
import { defineMessage, f } from '../schema.ts'
import { messageIdField } from './common.ts'
import { ContactRecordMessage } from './record.ts'

/** Message types are short names chosen by applications. */
export const MAX_TYPE_CHARS = 64
/** Most message IDs in one acknowledgement (or uncertainty notice). */
export const MAX_ACKS_PER_MESSAGE = 512
/** Most counters in one compact acknowledgement. */
export const MAX_ACK_COUNTERS = 8192
/** Most node messages in one batch (one session frame). */
export const MAX_BATCH_MESSAGES = 4096

const typeField = f.str({ min: 1, max: MAX_TYPE_CHARS })

/*
 * Node messages travel inside sessions (encrypted and authenticated). PROTOCOL.md §Node messages.
 * The plaintext of every session frame is one batch `b` holding node messages. A message ID `m` is 16
 * bytes: the sender's 8-byte epoch (random per process start) ‖ a big-endian u64 counter that increases
 * by one per reliable message to that recipient. Queries and one-way messages are acknowledged (`k`) once
 * the recipient's handler has them; replies are acknowledged with their query's ID.
 */

/** A request expecting one reply (`a`) with the same `m`. */
export const QueryMessage = defineMessage('q', {
  m: messageIdField(),
  y: typeField,
  p: f.value(),
  /** Milliseconds the sender keeps waiting and re-sending: the handler may give up after it. */
  d: f.optional(f.uint())
})

/** The answer to query `m`: a payload, or an error `e` when the handler failed. */
export const ReplyMessage = defineMessage('a', {
  /** The ID of the query this answers. */
  m: messageIdField(),
  p: f.optional(f.value()),
  /** Set when the handler failed: a code and a message. */
  e: f.optional(f.struct({ c: f.str({ max: 64 }), s: f.str({ max: 1024 }) }))
})

/** A one-way message: delivered to the handler once, acknowledged, never answered. */
export const OnewayMessage = defineMessage('o', {
  m: messageIdField(),
  y: typeField,
  p: f.value(),
  /** Milliseconds the sender keeps re-sending until acknowledged. */
  d: f.optional(f.uint())
})

/**
 * End-to-end acknowledgement: these messages reached the recipient's handler (or, for replies, the caller).
 * Full IDs in `m`, and/or the compact form: the IDs `e ‖ c[i]` (one epoch, many counters).
 */
export const AckMessage = defineMessage('k', {
  m: f.optional(f.array(messageIdField(), { min: 1, max: MAX_ACKS_PER_MESSAGE })),
  e: f.optional(f.bytes({ len: 8 })),
  c: f.optional(f.array(f.uint(), { min: 1, max: MAX_ACK_COUNTERS }))
})

/**
 * "I may or may not have delivered these": the recipient lost track of them (it crashed between recording
 * and handing them over). The sender reports them as failed with ERR_DELIVERY_UNCERTAIN and never re-sends.
 */
export const UncertainMessage = defineMessage('u', {
  m: f.array(messageIdField(), { min: 1, max: MAX_ACKS_PER_MESSAGE })
})

/** The sender's contact record, piggybacked on first contact and after it changes. */
export const ContactInfoMessage = defineMessage('ci', {
  r: f.struct(ContactRecordMessage.shape)
})

/**
 * The plaintext of one session frame: node messages `x`, each an encoded message (decoded and validated on
 * its own, so one bad message spoils only itself; never a nested batch), and the sender's floor `f`: every
 * message the sender sent this recipient in `f`'s epoch with a counter below `f`'s is settled
 * (acknowledged or reported failed) and will never be sent again.
 */
export const BatchMessage = defineMessage('b', {
  f: f.optional(messageIdField()),
  x: f.array(f.bytes({ min: 1, max: MAX_FRAME_BYTES_LIMIT }), { max: MAX_BATCH_MESSAGES })
})

export const nodeMessages = [
  QueryMessage, ReplyMessage, OnewayMessage, AckMessage, ContactInfoMessage, UncertainMessage, BatchMessage
] as const
