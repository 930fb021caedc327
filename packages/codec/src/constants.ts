/** The wire protocol version carried as `v` in every message. Bumped by any breaking wire change. */
export const PROTOCOL_VERSION = 1

/** Bytes of the big-endian length prefix of a frame. */
export const FRAME_HEADER_BYTES = 4
/** Default largest frame body accepted (1 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024
/** Hard upper bound for `maxFrameBytes` (16 MiB): no configuration may exceed it. */
export const MAX_FRAME_BYTES_LIMIT = 16 * 1024 * 1024

/** Default deepest nesting of arrays/maps in a decoded value. */
export const DEFAULT_MAX_DEPTH = 16
/** Default largest number of array items + map entries in one decoded value. */
export const DEFAULT_MAX_ITEMS = 65_536

/** Default longest byte-string field of a message schema (`f.bytes()` without `max`), 1 MiB. */
export const DEFAULT_MAX_FIELD_BYTES = 1024 * 1024
