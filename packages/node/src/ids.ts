/** Bytes of a message ID: the sender's epoch ‖ a big-endian u64 counter (PROTOCOL.md §Node messages). */
export const EPOCH_BYTES = 8
const MESSAGE_ID_LENGTH = 16

/** A fresh random epoch: identifies one run of a node as a sender. */
export function newEpoch (random: (n: number) => Uint8Array): Uint8Array {
  const e = random(EPOCH_BYTES)
  if (e.length !== EPOCH_BYTES) throw new TypeError('random() returned the wrong length')
  return e
}

/** `epoch ‖ counter` (counter < 2^53). */
export function makeMessageId (epoch: Uint8Array, counter: number): Uint8Array {
  return writeMessageId(new Uint8Array(MESSAGE_ID_LENGTH), epoch, counter)
}

/** Write `epoch ‖ counter` (counter < 2^53) into `id` (16 bytes); returns `id`. */
export function writeMessageId (id: Uint8Array, epoch: Uint8Array, counter: number): Uint8Array {
  for (let i = 0; i < EPOCH_BYTES; i++) id[i] = epoch[i]!
  const hi = Math.floor(counter / 0x1_0000_0000)
  const lo = counter >>> 0
  id[8] = hi >>> 24; id[9] = hi >>> 16; id[10] = hi >>> 8; id[11] = hi
  id[12] = lo >>> 24; id[13] = lo >>> 16; id[14] = lo >>> 8; id[15] = lo
  return id
}

/** The counter part of a message ID. */
export function counterOf (id: Uint8Array): number {
  const hi = ((id[8]! << 24) >>> 0) + (id[9]! << 16) + (id[10]! << 8) + id[11]!
  const lo = ((id[12]! << 24) >>> 0) + (id[13]! << 16) + (id[14]! << 8) + id[15]!
  // Below 2^32 the sum alone: a small integer, where the product would make V8 keep a heap number (and a
  // counter field that ever held one, e.g. a dedup stream's low-water mark, a heap number per stream).
  return hi === 0 ? lo : hi * 0x1_0000_0000 + lo
}

/**
 * A compact map key for 8 or 16 bytes (one UTF-16 unit per byte). A message ID's 16 bytes as arguments spelled
 * out: ~3x faster than `apply` over a typed array (a key is made several times per round trip).
 */
export function bytesKey (b: Uint8Array): string {
  if (b.length !== 16) return String.fromCharCode.apply(null, b as unknown as number[])
  return String.fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!, b[12]!, b[13]!, b[14]!, b[15]!)
}


/** Lowercase hex, for message IDs shown to applications and logs (the one shared helper). */
export { toHex } from '@egtp/interface'

/** Whether two message IDs are the same bytes (IDs are public: not constant-time). */
export function sameId (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Whether the first 8 bytes of `id` equal `epoch`. */
export function isEpoch (id: Uint8Array, epoch: Uint8Array): boolean {
  for (let i = 0; i < EPOCH_BYTES; i++) if (id[i] !== epoch[i]) return false
  return true
}
