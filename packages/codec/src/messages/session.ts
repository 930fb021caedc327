import { defineMessage, f } from '../schema.ts'
import { indexField, publicKeyField, signatureField } from './common.ts'

/** Largest handshake message (Noise message plus its payload). */
export const MAX_HANDSHAKE_BYTES = 4096

/**
 * Session frames: the outer wire between two nodes, carried by any commstrat. PROTOCOL.md §Sessions.
 * `hi` carries the initiator's Noise IK message 1 (and early data under the early key), repeated on every
 * frame until the responder confirms; `hr` carries message 2 (and data) until the initiator confirms;
 * `hd` is a transport frame; `hu` is the signed "I do not know this session" hint.
 */
export const SessionInit = defineMessage('hi', {
  /** The initiator's receiver index for this session. */
  s: indexField(),
  /** Noise IK message 1. */
  h: f.bytes({ min: 32, max: MAX_HANDSHAKE_BYTES }),
  /** Early-data counter and ciphertext (absent on a bare initiation). */
  n: f.optional(f.uint()),
  c: f.optional(f.bytes())
})

export const SessionResponse = defineMessage('hr', {
  s: indexField(),
  r: indexField(),
  h: f.bytes({ min: 32, max: MAX_HANDSHAKE_BYTES }),
  n: f.optional(f.uint()),
  c: f.optional(f.bytes())
})

export const SessionData = defineMessage('hd', {
  /** The receiver's index. */
  r: indexField(),
  /** 64-bit counter (bounded to 2^53 here), the AEAD nonce. */
  n: f.uint(),
  c: f.bytes({ min: 16 })
})

export const SessionUnknownHint = defineMessage('hu', {
  /** The receiver index that was not recognised. */
  r: indexField(),
  /** The hint signer's Ed25519 public key, so the receiver can check it against the peer it expects. */
  k: publicKeyField(),
  /** The signer's clock (ms) when it signed, to bound replays of hints. */
  ts: f.uint(),
  g: signatureField()
})

export const sessionMessages = [SessionInit, SessionResponse, SessionData, SessionUnknownHint] as const
