import { defineMessage, f } from '../schema.ts'
import { indexField, publicKeyField, signatureField } from './common.ts'

/** Largest handshake message (Noise message plus its payload). */
export const MAX_HANDSHAKE_BYTES = 4096

/**
 * Session frames: the outer wire between two nodes, carried by any commstrat (PROTOCOL.md §Sessions, owned by
 * @egtp/session). `hi` carries the initiator's Noise IK message 1 — whose encrypted payload holds the
 * initiator's Ed25519 key, receiver index and timestamp — plus optional early data, and is repeated on every
 * frame until the responder confirms; `hr` carries message 2 (and data) until the initiator confirms; `hd` is a
 * transport frame; `hu` is the signed "I do not know this session" hint; `hc` is the signed "your initiation is
 * outside my clock window" notice (paranoid mode), so the initiator learns why and by how much.
 */
export const SessionInit = defineMessage('hi', {
  /** Noise IK message 1 (e, s, payload). */
  h: f.bytes({ min: 96, max: MAX_HANDSHAKE_BYTES }),
  /** Counter (the AEAD nonce) and ciphertext of early data under the early-data key; absent on a bare initiation. */
  n: f.optional(f.uint()),
  c: f.optional(f.bytes({ min: 16 })),
  /**
   * The cookie MAC ("mac2", WireGuard §5.4.4): keyed BLAKE2s-128 under the cookie a responder under load gave
   * this initiator (an `hk` frame), over `h` and its mac1. Absent unless the initiator holds a fresh cookie.
   */
  m: f.optional(f.bytes({ len: 16 }))
})

export const SessionResponse = defineMessage('hr', {
  /** The initiator's receiver index. */
  r: indexField(),
  /** Noise IK message 2 (e, payload: the responder's receiver index). */
  h: f.bytes({ min: 48, max: MAX_HANDSHAKE_BYTES }),
  /** Counter and ciphertext of data under the responder's transport key; absent on a bare response. */
  n: f.optional(f.uint()),
  c: f.optional(f.bytes({ min: 16 }))
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
  /** The counter of the frame that could not be opened (absent when it had none). */
  n: f.optional(f.uint()),
  /** The hint signer's Ed25519 public key, so the receiver can check it against the peer it expects. */
  k: publicKeyField(),
  /** Ed25519 signature over the canonical bytes of { r, n } under the context "egtp/session-hint/v1". */
  g: signatureField()
})

export const SessionClockRefusal = defineMessage('hc', {
  /** SHA-256 of the refused Noise message 1: names the initiation, so the notice cannot apply to any other. */
  i: f.bytes({ len: 32 }),
  /** The refuser's wall clock when it refused (Unix ms). */
  w: f.uint(),
  /** The refuser's Ed25519 public key. */
  k: publicKeyField(),
  /** Ed25519 signature over the canonical bytes of { i, w } under the context "egtp/session-clock/v1". */
  g: signatureField()
})

/**
 * The cookie reply of a responder under load (WireGuard §5.4.7): instead of doing DH work for an initiation
 * that carries no valid cookie MAC, it sends the initiator a cookie — a MAC of the initiation's transport
 * source under a rotating secret — sealed with XChaCha20-Poly1305 under a key derived from the responder's
 * static key, with the initiation's mac1 as associated data (so it answers that initiation only).
 */
export const SessionCookieReply = defineMessage('hk', {
  /** The responder's Ed25519 public key: names the peer whose pending initiation this answers. */
  k: publicKeyField(),
  /** Random 24-byte XChaCha20 nonce. */
  x: f.bytes({ len: 24 }),
  /** The sealed 16-byte cookie and its 16-byte tag. */
  c: f.bytes({ len: 32 })
})

export const sessionMessages = [SessionInit, SessionResponse, SessionData, SessionUnknownHint, SessionClockRefusal, SessionCookieReply] as const
