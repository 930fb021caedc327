import { defineMessage, f } from '../schema.ts'
import { messageIdField } from './common.ts'
import { ContactRecordMessage } from './record.ts'

/** Message types are short names chosen by applications. */
export const MAX_TYPE_CHARS = 64
export const MAX_ACKS_PER_MESSAGE = 512

const typeField = f.str({ min: 1, max: MAX_TYPE_CHARS })

/** Node messages travel inside sessions (encrypted). PROTOCOL.md §Messages. */
export const QueryMessage = defineMessage('q', {
  m: messageIdField(),
  y: typeField,
  p: f.value(),
  /** Milliseconds the sender will wait: the handler may give up after it. */
  d: f.optional(f.uint())
})

export const ReplyMessage = defineMessage('a', {
  /** The ID of the query this answers. */
  m: messageIdField(),
  p: f.optional(f.value()),
  /** Set when the handler failed: a code and a message. */
  e: f.optional(f.struct({ c: f.str({ max: 64 }), s: f.str({ max: 1024 }) }))
})

export const OnewayMessage = defineMessage('o', {
  m: messageIdField(),
  y: typeField,
  p: f.value()
})

/** End-to-end acknowledgement of delivered message IDs. */
export const AckMessage = defineMessage('k', {
  m: f.array(messageIdField(), { min: 1, max: MAX_ACKS_PER_MESSAGE })
})

/** The sender's contact record, piggybacked on first contact and after it changes. */
export const ContactInfoMessage = defineMessage('ci', {
  r: f.struct(ContactRecordMessage.shape)
})

export const nodeMessages = [QueryMessage, ReplyMessage, OnewayMessage, AckMessage, ContactInfoMessage] as const
