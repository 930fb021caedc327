import type { MessageOf } from '../schema.ts'
import type { nodeMessages } from '../messages/node.ts'
import { DEFAULT_MAX_DEPTH } from '../constants.ts'

type AnyNodeMessage = MessageOf<typeof nodeMessages[number]>
/** A node message inside a batch (never a nested batch). */
export type NodeMessage = Exclude<AnyNodeMessage, { t: 'b' }>
export type QueryMsg = Extract<NodeMessage, { t: 'q' }>
export type ReplyMsg = Extract<NodeMessage, { t: 'a' }>
export type OnewayMsg = Extract<NodeMessage, { t: 'o' }>
export type AckMsg = Extract<NodeMessage, { t: 'k' }>
export type ContactInfoMsg = Extract<NodeMessage, { t: 'ci' }>

/**
 * A contact-info (`ci`) entry of a batch as `decodeBatch` hands it over: its encoded bytes (a view of the
 * plaintext), not decoded. A peer piggybacks its record on every new session, and a receiver that holds it
 * already needs none of it: `peekContactInfo` tells whose it is and its `seq` from its first bytes,
 * `decodeContactInfo` validates it when it is worth keeping.
 */
export interface ContactInfoEntry {
  readonly t: 'ci'
  readonly bytes: Uint8Array
}

/** An entry of a decoded batch: a validated node message, or an undecoded {@link ContactInfoEntry}. */
export type BatchEntry = Exclude<NodeMessage, { t: 'ci' }> | ContactInfoEntry

/** Deepest payload nesting a sender may use: the batch adds two levels (batch → list → message). */
export const MESSAGE_DEPTH_LIMIT = DEFAULT_MAX_DEPTH
/**
 * Items are bounded by the frame size (every item costs at least one byte), so the item limit is not the binding
 * one for node messages; depth is.
 */
export const MESSAGE_ITEMS_LIMIT = 1 << 24

/** An encoded message whose byte payload is referenced: its bytes are `head ‖ payload ‖ tail`. */
export interface SplitMessage {
  readonly head: Uint8Array
  readonly payload: Uint8Array
  readonly tail: Uint8Array
  readonly length: number
}

/** One encoded message: its bytes, or a {@link SplitMessage}. */
export type MessageBytes = Uint8Array | SplitMessage
