import { MAX_FRAME_BYTES_LIMIT } from '../constants.ts'
import { defineMessage, f } from '../schema.ts'
import { nodeIdField, publicKeyField, signatureField } from './common.ts'

/** Bytes of the relay's authentication challenge nonce. */
export const RELAY_NONCE_BYTES = 32
/** Bytes of a relay store epoch (changes when the relay's queue was lost). */
export const RELAY_EPOCH_BYTES = 8
/**
 * Largest proof-of-work difficulty a relay may ask for in its challenge (leading zero bits of a SHA-256): about
 * 16 million hashes, seconds of a client's CPU. A challenge asking for more does not decode.
 */
export const MAX_RELAY_WORK_BITS = 24
/** Most bytes of a proof-of-work solution in a hello. */
export const MAX_RELAY_WORK_BYTES = 16
/** Most entries in one batched relay frame (sends, deliveries, refusals, notices). */
export const MAX_RELAY_BATCH = 1024

const payloadField = f.bytes({ min: 1, max: MAX_FRAME_BYTES_LIMIT })
const codeField = f.str({ min: 1, max: 64 })
const seqField = f.uint()

/*
 * Relay protocol (PROTOCOL.md §Relay). One framed connection between a node and a relay server:
 *   relay → node  rc  challenge {nonce, relay ID}
 *   node  → relay rh  hello {public key, signature over (nonce, relay ID, role), role, push?, notices?}
 *   relay → node  rw  welcome (or rr and close)
 * then, in any order: rs/ry/rx/rl/rv for sending, rd/ra/rp/rq for receiving, ri keepalive.
 */

/** Relay → node, first frame: prove your node ID by signing this. */
export const RelayChallenge = defineMessage('rc', {
  n: f.bytes({ len: RELAY_NONCE_BYTES }),
  /** The relay's own node ID (bound into the signature so it cannot be replayed to another relay). */
  id: nodeIdField(),
  /**
   * Present when the relay is under registration load: a new client registration must carry a proof of work
   * of this many leading zero bits (PROTOCOL.md §Relay, docs/protocol/relay.md).
   */
  w: f.optional(f.uint({ max: MAX_RELAY_WORK_BITS }))
})

/** Node → relay: the answer to the challenge. */
export const RelayHello = defineMessage('rh', {
  k: publicKeyField(),
  /** signCanonical(identity, 'egtp/relay/hello/v1', { n, id, r }). */
  g: signatureField(),
  /** `client`: register and receive messages addressed to this node ID; `sender`: only send. */
  r: f.literal('client', 'sender'),
  /** Clients: false to receive only on explicit polls (default true: pushed at once). */
  w: f.optional(f.bool()),
  /** True to receive delivered notices (rv) for accepted messages. */
  d: f.optional(f.bool()),
  /** The proof of work the challenge asked for (`rc.w`): SHA-256(context, nonce, key, p) has `w` leading zero bits. */
  p: f.optional(f.bytes({ min: 1, max: MAX_RELAY_WORK_BYTES }))
})

/** Relay → node: authenticated. */
export const RelayWelcome = defineMessage('rw', {
  /** The node ID the relay authenticated (the hello's key hashed). */
  id: nodeIdField(),
  /** The relay's store epoch: a new value means messages it had accepted were lost. */
  e: f.bytes({ len: RELAY_EPOCH_BYTES }),
  /** True when the relay's queue survives its restarts. */
  p: f.bool(),
  /** Largest payload the relay accepts. */
  x: f.uint(),
  /** Clients: messages waiting in the queue. */
  q: f.optional(f.uint())
})

/** Relay → node: the connection is refused or closing, with a code; the relay closes it next. */
export const RelayClose = defineMessage('rr', {
  c: codeField,
  s: f.str({ max: 256 })
})

/** Node → relay: messages for other nodes. `m` is chosen by the sender, increasing on the connection. */
export const RelaySend = defineMessage('rs', {
  e: f.array(f.struct({ m: seqField, to: nodeIdField(), p: payloadField }), { min: 1, max: MAX_RELAY_BATCH })
})

/** Relay → sender: every message up to `m` sent on this connection and not refused is in the relay's custody. */
export const RelayAccepted = defineMessage('ry', { m: seqField })

/** Relay → sender: these messages were refused (not accepted), with a code each. */
export const RelayRefused = defineMessage('rx', {
  e: f.array(f.struct({ m: seqField, c: codeField }), { min: 1, max: MAX_RELAY_BATCH })
})

/** Relay → sender: these accepted messages will not be delivered (expired, or the store failed). */
export const RelayLost = defineMessage('rl', {
  e: f.array(f.struct({ m: seqField, c: codeField }), { min: 1, max: MAX_RELAY_BATCH })
})

/** Relay → sender (when asked for notices): the recipient acknowledged these messages. */
export const RelayDelivered = defineMessage('rv', {
  m: f.array(seqField, { min: 1, max: MAX_RELAY_BATCH })
})

/** Relay → client: queued messages, in order; `i` is the queue position, `f` the authenticated sender. */
export const RelayDeliver = defineMessage('rd', {
  e: f.array(f.struct({ i: seqField, f: nodeIdField(), p: payloadField }), { min: 1, max: MAX_RELAY_BATCH })
})

/** Client → relay: every message up to queue position `i` was received; the relay may forget them. */
export const RelayAck = defineMessage('ra', { i: seqField })

/** Client → relay: send up to `n` queued messages that are not already on their way. */
export const RelayPoll = defineMessage('rp', { n: f.uint({ max: MAX_RELAY_BATCH * 64 }) })

/** Relay → client: the answer to a poll, after its deliveries: `q` messages still wait. */
export const RelayPollDone = defineMessage('rq', { q: f.uint() })

/** Keepalive, either way: a ping (`r` false) is answered with the same `n` and `r` true. */
export const RelayPing = defineMessage('ri', { n: f.uint({ max: 0xffff_ffff }), r: f.bool() })

export const relayMessages = [
  RelayChallenge, RelayHello, RelayWelcome, RelayClose, RelaySend, RelayAccepted, RelayRefused, RelayLost,
  RelayDelivered, RelayDeliver, RelayAck, RelayPoll, RelayPollDone, RelayPing
] as const
