import { CodecError, DEFAULT_MAX_DEPTH, PROTOCOL_VERSION, createMessageCodec, nodeMessages, scanValue } from '@egtp/codec'
import type { MessageOf } from '@egtp/codec'

/** Most messages in one batch (codec's MAX_BATCH_MESSAGES). */
export const BATCH_MESSAGES_LIMIT = 4096
/** Deepest payload nesting a sender may use: the batch adds two levels (batch → list → message). */
export const MESSAGE_DEPTH_LIMIT = DEFAULT_MAX_DEPTH

type AnyNodeMessage = MessageOf<typeof nodeMessages[number]>
/** A node message inside a batch (never a nested batch). */
export type NodeMessage = Exclude<AnyNodeMessage, { t: 'b' }>
export type QueryMsg = Extract<NodeMessage, { t: 'q' }>
export type ReplyMsg = Extract<NodeMessage, { t: 'a' }>
export type OnewayMsg = Extract<NodeMessage, { t: 'o' }>

// Items are bounded by the frame size (every item costs at least one byte), so the item limit is not the
// binding one here; depth is.
const codec = createMessageCodec(nodeMessages, { maxDepth: MESSAGE_DEPTH_LIMIT, maxItems: 1 << 24 })

/** Encode one node message (canonical bytes). */
export function encodeMessage (message: NodeMessage): Uint8Array {
  return codec.encode(message)
}

/**
 * Encode a message carrying an application payload, checking the payload will decode at the receiver
 * (nesting depth). Scalars and byte strings need no check.
 */
export function encodePayloadMessage (message: NodeMessage, payload: unknown): Uint8Array {
  const bytes = codec.encode(message)
  if (payload !== null && typeof payload === 'object' && !(payload instanceof Uint8Array)) {
    scanValue(bytes, { maxDepth: MESSAGE_DEPTH_LIMIT, maxItems: 1 << 24 })
  }
  return bytes
}

const KEY_T = [0xa1, 0x74, 0xa1, 0x62] // "t": "b"
const KEY_V = [0xa1, 0x76, PROTOCOL_VERSION]
const KEY_F = [0xa1, 0x66, 0xc4, 0x10]
const KEY_X = [0xa1, 0x78]

/**
 * The plaintext of one session frame: `{ t: 'b', v, f?, x: [bin, …] }` with the already encoded messages
 * spliced in as byte strings. Byte-identical to `codec.encode({ t: 'b', f, x })`.
 */
export function encodeBatch (floor: Uint8Array | undefined, parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length > BATCH_MESSAGES_LIMIT) throw new RangeError(`a batch holds at most ${BATCH_MESSAGES_LIMIT} messages`)
  if (PROTOCOL_VERSION > 127) throw new RangeError('PROTOCOL_VERSION no longer fits a fixint')
  const n = parts.length
  const arrayHeader = n < 16 ? 1 : 3
  let size = 1 + KEY_T.length + KEY_V.length + (floor !== undefined ? KEY_F.length + 16 : 0) + KEY_X.length + arrayHeader
  for (const p of parts) size += binHeaderBytes(p.byteLength) + p.byteLength
  const out = new Uint8Array(size)
  let pos = 0
  out[pos++] = floor !== undefined ? 0x84 : 0x83
  out.set(KEY_T, pos); pos += KEY_T.length
  out.set(KEY_V, pos); pos += KEY_V.length
  if (floor !== undefined) {
    out.set(KEY_F, pos); pos += KEY_F.length
    out.set(floor, pos); pos += 16
  }
  out.set(KEY_X, pos); pos += KEY_X.length
  if (n < 16) {
    out[pos++] = 0x90 | n
  } else {
    out[pos++] = 0xdc
    out[pos++] = n >>> 8
    out[pos++] = n & 0xff
  }
  for (const p of parts) {
    const len = p.byteLength
    if (len < 256) {
      out[pos++] = 0xc4
      out[pos++] = len
    } else if (len < 65_536) {
      out[pos++] = 0xc5
      out[pos++] = len >>> 8
      out[pos++] = len & 0xff
    } else {
      out[pos++] = 0xc6
      out[pos++] = len >>> 24
      out[pos++] = (len >>> 16) & 0xff
      out[pos++] = (len >>> 8) & 0xff
      out[pos++] = len & 0xff
    }
    out.set(p, pos)
    pos += len
  }
  return out
}

/** Messages at least this large are not copied into the batch: they are sealed from their own bytes. */
export const SPLICE_BYTES = 4096

/**
 * {@link encodeBatch} as pieces whose concatenation is the batch: headers and small messages are packed into
 * one buffer, messages of at least {@link SPLICE_BYTES} are referenced, not copied (the session seals the pieces
 * straight into the frame).
 */
export function encodeBatchParts (floor: Uint8Array | undefined, parts: readonly Uint8Array[]): Uint8Array[] {
  let large = 0
  for (const p of parts) if (p.byteLength >= SPLICE_BYTES) large++
  if (large === 0) return [encodeBatch(floor, parts)]
  if (parts.length > BATCH_MESSAGES_LIMIT) throw new RangeError(`a batch holds at most ${BATCH_MESSAGES_LIMIT} messages`)
  const n = parts.length
  let size = 1 + KEY_T.length + KEY_V.length + (floor !== undefined ? KEY_F.length + 16 : 0) + KEY_X.length + (n < 16 ? 1 : 3)
  for (const p of parts) size += binHeaderBytes(p.byteLength) + (p.byteLength >= SPLICE_BYTES ? 0 : p.byteLength)
  const out = new Uint8Array(size)
  const pieces: Uint8Array[] = []
  let pos = 0
  out[pos++] = floor !== undefined ? 0x84 : 0x83
  out.set(KEY_T, pos); pos += KEY_T.length
  out.set(KEY_V, pos); pos += KEY_V.length
  if (floor !== undefined) {
    out.set(KEY_F, pos); pos += KEY_F.length
    out.set(floor, pos); pos += 16
  }
  out.set(KEY_X, pos); pos += KEY_X.length
  if (n < 16) {
    out[pos++] = 0x90 | n
  } else {
    out[pos++] = 0xdc
    out[pos++] = n >>> 8
    out[pos++] = n & 0xff
  }
  let runStart = 0
  for (const p of parts) {
    pos = writeBinHeader(out, pos, p.byteLength)
    if (p.byteLength >= SPLICE_BYTES) {
      pieces.push(out.subarray(runStart, pos), p)
      runStart = pos
    } else {
      out.set(p, pos)
      pos += p.byteLength
    }
  }
  if (pos > runStart) pieces.push(out.subarray(runStart, pos))
  return pieces
}

function writeBinHeader (out: Uint8Array, pos: number, len: number): number {
  if (len < 256) {
    out[pos++] = 0xc4
    out[pos++] = len
  } else if (len < 65_536) {
    out[pos++] = 0xc5
    out[pos++] = len >>> 8
    out[pos++] = len & 0xff
  } else {
    out[pos++] = 0xc6
    out[pos++] = len >>> 24
    out[pos++] = (len >>> 16) & 0xff
    out[pos++] = (len >>> 8) & 0xff
    out[pos++] = len & 0xff
  }
  return pos
}

const binHeaderBytes = (len: number): number => (len < 256 ? 2 : len < 65_536 ? 3 : 5)

export interface DecodedBatch {
  floor: Uint8Array | undefined
  /** Each entry is a validated message or the error that rejected it (one bad message spoils only itself). */
  messages: Array<NodeMessage | CodecError>
}

/**
 * Decode untrusted plaintext: a batch whose entries are validated one by one.
 * @throws {CodecError} when the plaintext is not a batch at all
 */
export function decodeBatch (plaintext: Uint8Array): DecodedBatch {
  const batch = codec.decode(plaintext)
  if (batch.t !== 'b') throw new CodecError('ERR_UNKNOWN_TYPE', `expected a batch, got ${batch.t}`)
  const messages: Array<NodeMessage | CodecError> = []
  for (const bytes of batch.x) {
    try {
      const m = codec.decode(bytes)
      if (m.t === 'b') throw new CodecError('ERR_FIELD', 'nested batch')
      messages.push(m)
    } catch (err) {
      messages.push(err instanceof CodecError ? err : new CodecError('ERR_FIELD', 'invalid message', { cause: err }))
    }
  }
  return { floor: batch.f, messages }
}
