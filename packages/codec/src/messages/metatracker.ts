import { defineMessage, f } from '../schema.ts'
import { nodeIdField, publicKeyField, signatureField } from './common.ts'

/** Largest encoded contact record (a `cr` message) any metatracker message carries; servers may set less. */
export const MAX_TRACKER_RECORD_BYTES = 8192
/** Most node IDs in one lookup request. */
export const MAX_LOOKUP_IDS = 64
/** Most records one discover answer lists (v1's "≤ 400 relays"). */
export const MAX_DISCOVER_RECORDS = 400

const recordBytesField = f.bytes({ min: 1, max: MAX_TRACKER_RECORD_BYTES })
const codeField = f.optional(f.str({ min: 1, max: 64 }))

/*
 * Metatracker protocol (PROTOCOL.md §Metatracker). Each request is the payload of one node query of type
 * `metatracker` (so it travels inside an authenticated session, directly or through a relay) and each
 * answer is that query's reply. Records travel as encoded `cr` messages, signed by their node: every
 * consumer verifies them, the tracker is never trusted. A refusal is an answer with a code `c`.
 */

/** Node → tracker ("hello"): hold this record. */
export const TrackerPublish = defineMessage('mp', { r: recordBytesField })

/** Tracker → node: held (for `h` ms at most), or refused with code `c`. */
export const TrackerPublishAnswer = defineMessage('mpa', {
  c: codeField,
  /** How long the tracker keeps the record unless it is published again (ms). */
  h: f.optional(f.uint())
})

/** Node → tracker: the records of these node IDs. */
export const TrackerLookup = defineMessage('ml', { ids: f.array(nodeIdField(), { min: 1, max: MAX_LOOKUP_IDS }) })

/** Tracker → node: the records it holds among those asked for (any order; unknown IDs are left out). */
export const TrackerLookupAnswer = defineMessage('mla', {
  c: codeField,
  r: f.array(recordBytesField, { max: MAX_LOOKUP_IDS })
})

/** Node → tracker: up to `n` live records that offer service `s` (e.g. `relay`, `metatracker`), chosen at random. */
export const TrackerDiscover = defineMessage('md', {
  s: f.str({ min: 1, max: 32 }),
  n: f.uint({ max: MAX_DISCOVER_RECORDS })
})

/** Tracker → node: the records found. */
export const TrackerDiscoverAnswer = defineMessage('mda', {
  c: codeField,
  r: f.array(recordBytesField, { max: MAX_DISCOVER_RECORDS })
})

/**
 * Node → tracker: withdraw my records up to sequence number `q`. `g` signs `{ id, q }` with the context
 * `egtp/metatracker/goodbye/v1`; `k` must hash to `id`.
 */
export const TrackerGoodbye = defineMessage('mg', {
  id: nodeIdField(),
  k: publicKeyField(),
  q: f.uint(),
  g: signatureField()
})

/** Tracker → node: `d` true when a record was removed; or refused with code `c`. */
export const TrackerGoodbyeAnswer = defineMessage('mga', { c: codeField, d: f.bool() })

export const trackerRequestMessages = [TrackerPublish, TrackerLookup, TrackerDiscover, TrackerGoodbye] as const
export const trackerAnswerMessages = [TrackerPublishAnswer, TrackerLookupAnswer, TrackerDiscoverAnswer, TrackerGoodbyeAnswer] as const
