// The EGTP use of Noise IK (PROTOCOL.md §Sessions): prologue, payloads, the early-data key, and the keys each
// side ends with. Pure functions over HandshakeState; the manager decides what to do with the results.
import * as nodeCrypto from 'node:crypto'
import { createHash, createSecretKey } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { DEFAULT_PEER_KEY_CACHE_SIZE, SESSION_PROLOGUE } from './constants.ts'
import { HandshakeState, parseProtocolName } from './noise/handshake.ts'
import type { NoiseProtocol } from './noise/handshake.ts'
import { KEY_LEN, dh, latin1Of, sodiumLoaded } from './noise/primitives.ts'
import type { KeyPair, PublicKeyCache } from './noise/primitives.ts'
import type { CipherState } from './noise/state.ts'
import { decodeInitiationPayload, decodeResponsePayload, encodeInitiationPayload, encodeResponsePayload } from '@egtp/codec/session'
import type { InitiationPayload } from '@egtp/codec/session'

const encoder = new TextEncoder()
const PROLOGUE = encoder.encode(SESSION_PROLOGUE)
const EARLY_LABEL = encoder.encode('egtp/early-data/v1')

/**
 * A symmetric key: its raw bytes when libsodium seals small frames (zeroed by `Session.wipe`), else a
 * node:crypto KeyObject (the raw bytes are zeroed as soon as it holds them; JavaScript cannot zero a KeyObject:
 * it is dropped for GC).
 */
export type SessionKey = KeyObject | Uint8Array

function toSessionKey (raw: Uint8Array): SessionKey {
  // `raw` may be the handshake's own key (wiped with it): the session gets a copy either way.
  const key = sodiumLoaded ? raw.slice() : createSecretKey(raw)
  raw.fill(0)
  return key
}

function takeKey (cs: CipherState): SessionKey {
  const raw = cs.key()
  if (raw === undefined) throw new Error('split produced no key')
  return toSessionKey(raw)
}

/**
 * The early-data key: HKDF(ck, "egtp/early-data/v1" ‖ h)[0] after message 1, on both sides. Its inputs differ
 * from every later Noise derivation (MixKey takes DH outputs, Split an empty input), so its key is independent
 * of the transport keys; it carries the initiator's counters before message 2, never reused afterwards.
 */
function earlyKey (hs: HandshakeState): SessionKey {
  const ikm = new Uint8Array(EARLY_LABEL.length + hs.ss.h.length)
  ikm.set(EARLY_LABEL)
  ikm.set(hs.ss.h, EARLY_LABEL.length)
  const [k] = hs.ss.hash.hkdf(hs.ss.ck, ikm, 1) as [Uint8Array]
  const raw = k.slice(0, KEY_LEN)
  k.fill(0)
  return toSessionKey(raw)
}

/**
 * Node's one-shot `crypto.hash` (Node >= 20.12) when present: no Hash object per call. Each handshake message
 * is hashed once, in code V8 never optimises (once per peer), where a Hash object costs ~40 µs sampled against a
 * few for the one-shot call; `createHash` otherwise. The same digest either way.
 */
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer }).hash
const sha256: (data: Uint8Array) => Buffer = typeof oneShot === 'function'
  ? (data) => oneShot('sha256', data, 'buffer')
  : (data) => createHash('sha256').update(data).digest()

/**
 * Hash of a handshake message: the cache key of an initiation and the identity of a response. 136 bits of
 * SHA-256, encoded straight into a flat 23-character string (a slice of the whole digest's text would keep that
 * longer string alive for as long as the session holds the ID).
 */
export function messageId (message: Uint8Array): string {
  return sha256(message).toString('base64url', 0, 17)
}

/** SHA-256 of a Noise message 1: how a clock-window notice (`hc`) names the initiation it refuses. */
export function initiationDigest (message: Uint8Array): Uint8Array {
  return new Uint8Array(sha256(message))
}

export interface IkContext {
  readonly protocol: NoiseProtocol
  readonly staticKey: KeyPair
  readonly keyCache: PublicKeyCache
  /** Test hook (set only through `@egtp/session/testing`): ephemeral keys to use instead of fresh ones. */
  ephemeral?: () => KeyPair | undefined
  /** Where a handshake's own ephemeral comes from (the manager's spare, ephemeral.ts); default a new key pair. */
  freshEphemeral?: () => KeyPair
  /** h after the prologue and our static key (the IK pre-message): every initiation we read starts from it. */
  responderStart?: Uint8Array
  /**
   * What every initiation we write to a responder starts from, by its static key (latin1): at most
   * DEFAULT_PEER_KEY_CACHE_SIZE, oldest out (zeroed), all zeroed by {@link forgetInitiatorStarts}.
   */
  readonly initiatorStarts: Map<string, InitiatorStart>
}

/**
 * What an initiation to one responder starts from, the same for every initiation to it: h after the prologue and
 * its static key (the IK pre-message), and DH(our static, its static), the `ss` token's DH. WireGuard keeps the
 * latter per peer too: it depends on the two static keys alone, so one DH of the four an initiator computes is
 * done once per peer, not per handshake (a secret, as the static key it comes from: zeroed when forgotten).
 */
interface InitiatorStart {
  readonly h: Uint8Array
  readonly ss: Uint8Array
}

export function ikContext (protocolName: string, staticKey: KeyPair, keyCache: PublicKeyCache): IkContext {
  return { protocol: parseProtocolName(protocolName), staticKey, keyCache, initiatorStarts: new Map() }
}

/** Compute and keep (bounded, oldest out and zeroed) what an initiation to `responderStatic` (latin1 `id`) starts from. */
function initiatorStart (ctx: IkContext, id: string, responderStatic: Uint8Array): InitiatorStart {
  // Both as the handshake would compute them: h by a construction without a known h, ss by the same DH.
  const h = new HandshakeState({ protocol: ctx.protocol, initiator: true, prologue: PROLOGUE, s: ctx.staticKey, rs: responderStatic }).handshakeHash.slice()
  const ss = dh(ctx.staticKey.secret, responderStatic, () => ctx.keyCache.get(responderStatic))
  const starts = ctx.initiatorStarts
  if (starts.size >= DEFAULT_PEER_KEY_CACHE_SIZE) {
    const oldest = starts.keys().next().value!
    starts.get(oldest)!.ss.fill(0)
    starts.delete(oldest)
  }
  const start = { h, ss }
  starts.set(id, start)
  return start
}

/** Zero and forget every {@link InitiatorStart} (the manager closes). */
export function forgetInitiatorStarts (ctx: IkContext): void {
  for (const start of ctx.initiatorStarts.values()) start.ss.fill(0)
  ctx.initiatorStarts.clear()
}

export interface Initiation {
  hs: HandshakeState
  message: Uint8Array
  early: SessionKey
}

/**
 * Initiator, ahead of a first initiation to the responder whose static key is `responderStatic`: compute and keep
 * what it starts from ({@link InitiatorStart}), as the first {@link writeInitiation} would.
 */
export function prepareInitiation (ctx: IkContext, responderStatic: Uint8Array): void {
  const id = latin1Of(responderStatic)
  if (!ctx.initiatorStarts.has(id)) initiatorStart(ctx, id, responderStatic)
}

/** Initiator: write message 1 to a responder whose static key we know (from its node ID's public key). */
export function writeInitiation (ctx: IkContext, responderStatic: Uint8Array, payload: InitiationPayload): Initiation {
  const id = latin1Of(responderStatic)
  const start = ctx.initiatorStarts.get(id) ?? initiatorStart(ctx, id, responderStatic)
  const hs = new HandshakeState({
    protocol: ctx.protocol, initiator: true, prologue: PROLOGUE, s: ctx.staticKey, rs: responderStatic, keyCache: ctx.keyCache,
    preMessageHash: start.h, staticShared: start.ss, e: ctx.ephemeral?.(), generateEphemeral: ctx.freshEphemeral
  })
  const message = hs.writeMessage(encodeInitiationPayload(payload))
  return { hs, message, early: earlyKey(hs) }
}

export interface ReadInitiation {
  hs: HandshakeState
  payload: InitiationPayload
  /** The initiator's Noise static key (authenticated by the ss DH). */
  remoteStatic: Uint8Array
  early: SessionKey
}

/**
 * Responder: read message 1.
 * @throws {EgtpError} ERR_AUTH (not for us, or tampered), ERR_HANDSHAKE (malformed)
 */
export function readInitiation (ctx: IkContext, message: Uint8Array): ReadInitiation {
  const start = ctx.responderStart
  // The responder's ephemeral is taken only when it writes message 2 (an initiation refused after reading it
  // uses none).
  const hs = new HandshakeState({
    protocol: ctx.protocol, initiator: false, prologue: PROLOGUE, s: ctx.staticKey, keyCache: ctx.keyCache,
    preMessageHash: start, e: ctx.ephemeral?.(), generateEphemeral: ctx.freshEphemeral
  })
  ctx.responderStart ??= hs.handshakeHash.slice()
  const payload = decodeInitiationPayload(hs.readMessage(message))
  return { hs, payload, remoteStatic: hs.remoteStatic!, early: earlyKey(hs) }
}

export interface TransportKeys {
  send: SessionKey
  recv: SessionKey
}

/** Responder: write message 2 carrying our receiver index; returns the transport keys. */
export function writeResponse (hs: HandshakeState, index: number): { message: Uint8Array, keys: TransportKeys } {
  const message = hs.writeMessage(encodeResponsePayload(index))
  const [c1, c2] = hs.split()
  const keys = { send: takeKey(c2), recv: takeKey(c1) }
  hs.wipe()
  return { message, keys }
}

/**
 * Initiator: read message 2 (rolled back on failure, so a forged response cannot spoil the handshake).
 * @throws {EgtpError} ERR_AUTH, ERR_HANDSHAKE
 */
export function readResponse (hs: HandshakeState, message: Uint8Array): { index: number, keys: TransportKeys } {
  const payload = hs.readMessage(message)
  let index: number
  try {
    index = decodeResponsePayload(payload)
  } finally {
    payload.fill(0)
  }
  const [c1, c2] = hs.split()
  const keys = { send: takeKey(c1), recv: takeKey(c2) }
  hs.wipe()
  return { index, keys }
}
