// One session with one peer: its handshake leftovers, keys, counters and replay window. The manager owns the
// state machine; this file owns the per-frame cryptography (PROTOCOL.md §Sessions, "Transport").
import { EgtpError } from '@egtp/interface'
import type { PeerKey } from './types.ts'
import type { SessionKey } from './ik.ts'
import type { HandshakeState } from './noise/handshake.ts'
import { CIPHERS, SODIUM_AEAD_MAX_BYTES, TAG_LEN } from './noise/primitives.ts'
import { ReplayWindow } from './replay-window.ts'
import { dataFrame, dataFrameHead } from '@egtp/codec/session'

const cipher = CIPHERS.ChaChaPoly
/**
 * A frame of up to this many plaintext bytes given in parts is sealed as one buffer
 * ({@link Session.sealDataFramePieces}): copying small parts together costs less than a piece each (libsodium
 * seals one buffer, and a stream transport copies small pieces together anyway); larger ones go to node:crypto
 * part by part, uncopied.
 */
export const JOINED_SEAL_MAX_BYTES = SODIUM_AEAD_MAX_BYTES
const EMPTY = new Uint8Array(0)
/**
 * Scratch nonce for the transport hot path (node:crypto copies the IV, so one buffer serves every call):
 * ChaChaPoly's 32 zero bits ‖ little-endian 64-bit counter (PROTOCOL.md §2.7).
 */
const NONCE = new Uint8Array(12)
function nonce (n: number): Uint8Array {
  const lo = n >>> 0
  const hi = Math.floor(n / 0x1_0000_0000)
  NONCE[4] = lo; NONCE[5] = lo >>> 8; NONCE[6] = lo >>> 16; NONCE[7] = lo >>> 24
  NONCE[8] = hi; NONCE[9] = hi >>> 8; NONCE[10] = hi >>> 16; NONCE[11] = hi >>> 24
  return NONCE
}

/** Zero a raw key (a KeyObject cannot be zeroed from JS: it is dropped for GC). */
function zero (key: SessionKey | undefined): void {
  if (key instanceof Uint8Array) key.fill(0)
}

/** Ordering key of a session: its initiation's timestamp, then the initiator's raw node ID. */
export interface SessionRank {
  readonly timestamp: number
  readonly initiator: Uint8Array
}

export type SessionRole = 'initiator' | 'responder'

const INITIATOR = 1
const LOSER = 2
const CONFIRMED = 4
const WIPED = 8
/** The receive key follows the send key in one buffer (and the early key follows it: EARLY_PACKED). */
const RECV_PACKED = 16
/**
 * Receiver indices (0 … 2^32-1) are kept less this, within the small-integer range (exact: integers), so that
 * a session holds no heap number for them.
 */
const INDEX_BIAS = 2 ** 31

/**
 * A receiver index as a small integer (less 2^31; `| 0` makes V8 keep it as one, where a subtraction's result
 * would stay a heap number): for a map key or a field. Anything but a 32-bit index (-1, a loser's) is only
 * shifted, so {@link fromIndexKey} gives back every value.
 */
export function indexKey (index: number): number {
  return Number.isInteger(index) && index >= 0 && index < 2 ** 32 ? (index - INDEX_BIAS) | 0 : index - INDEX_BIAS
}

/** The receiver index an {@link indexKey} stands for. */
export function fromIndexKey (key: number): number {
  return key + INDEX_BIAS
}
const EARLY_PACKED = 32

/**
 * The last view made of a packed key ({@link Session}'s receive and early keys are read through its send key):
 * the frames of a peer in a row reuse it, with no view per frame and no field per session. It may outlive its
 * session until the next view replaces it; a wiped session's keys are zeroed in place, the view with them.
 */
const lastPacked: { send: Uint8Array | undefined, index: number, view: Uint8Array | undefined } = { send: undefined, index: 0, view: undefined }

/**
 * A session is its own replay window (a subclass rather than a field: one object per session instead of two;
 * `check`/`update` are the window's, used only by {@link Session.open}).
 */
export class Session extends ReplayWindow {
  readonly id: string
  readonly peerId: string
  /**
   * Its initiation's timestamp: with the initiator's node ID (ours for an initiator, the peer's for a
   * responder, so not stored here) the session's {@link SessionRank}.
   */
  readonly timestamp: number
  /**
   * Our receiver index ({@link localIndex}) as its {@link indexKey}: a 32-bit index kept as is is a heap number
   * half the time. Undefined for a loser (local index -1).
   */
  readonly #localIndex: number | undefined
  /** The peer's receiver index ({@link remoteIndex}) less 2^31, as {@link #localIndex}. */
  #remoteIndex: number | undefined
  /** Responder: hash of message 1 (its initiation cache key); empty for an initiator (nothing caches its own). */
  readonly initiationId: string
  /** Initiator, until message 2: the handshake to finish and message 1 to repeat on every frame. */
  hs: HandshakeState | undefined
  /** Message 1 (initiator) or message 2 (responder): one field, as a session only ever repeats its own role's. */
  #msg: Uint8Array | undefined
  /** Initiator: hash of the message 2 it accepted (a repeated response is recognised, a different one refused). */
  responseId: string | undefined
  /** Next counter to send (early data and transport data share one counter space per direction). */
  sendCounter = 0
  readonly createdAt: number
  lastReceiveAt: number
  lastSendAt: number
  /**
   * When a handshake message was last sent on it (reply pacing and retransmission); undefined: never (not
   * -Infinity: a field that held one keeps every session's value in a heap number of its own).
   */
  lastHandshakeAt: number | undefined = undefined
  handshakeRetries = 0
  /** Set when replaced: from then on receive only, until archiveKeepMs later. */
  archivedAt: number | undefined
  /**
   * The keys. Raw keys share one buffer, send ‖ recv (‖ early): only the send key (the hot path) is kept as a
   * view, the others are read through it when needed ({@link #recvKey}, {@link #earlyKey}), as each view costs
   * ~100 bytes for as long as the session lives. `#recv`/`#early` hold keys that are not packed (KeyObjects,
   * and the early key before transport keys).
   */
  #early: SessionKey | undefined
  #send: SessionKey | undefined
  #recv: SessionKey | undefined
  /** @internal The session table's order of activity (activity-list.ts): its neighbours there, if listed. */
  activityPrev: Session | undefined = undefined
  activityNext: Session | undefined = undefined
  /** Role, loser, confirmed, wiped and where the packed keys are, in one small integer (one field instead of six). */
  #flags: number

  constructor (init: {
    id: string, peerId: string, role: SessionRole, timestamp: number, localIndex: number, initiationId: string,
    now: number, early: SessionKey, loser?: boolean
  }) {
    super()
    this.id = init.id
    this.peerId = init.peerId
    this.timestamp = init.timestamp
    this.#localIndex = init.localIndex < 0 ? undefined : indexKey(init.localIndex)
    this.initiationId = init.initiationId
    this.#flags = (init.role === 'initiator' ? INITIATOR : 0) | (init.loser === true ? LOSER : 0)
    this.createdAt = init.now
    this.lastReceiveAt = init.now
    this.lastSendAt = init.now
    this.#early = init.early
  }

  /** Our receiver index (the peer's frames name the session by it; -1 for a loser, which has none). */
  get localIndex (): number {
    return this.#localIndex === undefined ? -1 : fromIndexKey(this.#localIndex)
  }

  /** {@link localIndex} as its {@link indexKey} (the session table's key); undefined for a loser. */
  get localIndexKey (): number | undefined {
    return this.#localIndex
  }

  /** The peer's receiver index (the initiator learns it from message 2). */
  get remoteIndex (): number | undefined {
    return this.#remoteIndex === undefined ? undefined : fromIndexKey(this.#remoteIndex)
  }

  set remoteIndex (index: number | undefined) {
    this.#remoteIndex = index === undefined ? undefined : indexKey(index)
  }

  /** Monotonic ms since a handshake message was last sent on it (Infinity: never). */
  msSinceHandshake (now: number): number {
    return this.lastHandshakeAt === undefined ? Infinity : now - this.lastHandshakeAt
  }

  /** Transport keys are in place (initiator after message 2, responder after writing it). */
  get established (): boolean {
    return this.#send !== undefined
  }

  setTransportKeys (send: SessionKey, recv: SessionKey): void {
    let early = this.#earlyKey()
    // A view of an earlier packed buffer is copied out before that buffer is zeroed (keys are set once, though).
    if ((this.#flags & EARLY_PACKED) !== 0) early = (early as Uint8Array).slice()
    this.#early = undefined
    this.#wipeKeys()
    // The initiator never sends early data again once it has transport keys.
    if (this.role === 'initiator') {
      zero(early)
      early = undefined
    }
    if (send instanceof Uint8Array && recv instanceof Uint8Array && recv.length === send.length &&
      (early === undefined || (early instanceof Uint8Array && early.length === send.length))) {
      // Raw keys share one buffer: a small typed array of its own costs an ArrayBuffer and a native store
      // each, ~250 bytes per key for as long as the session lives.
      const n = send.length
      const packed = new Uint8Array(n * (early === undefined ? 2 : 3))
      packed.set(send)
      packed.set(recv, n)
      zero(send)
      zero(recv)
      this.#send = packed.subarray(0, n)
      this.#flags |= RECV_PACKED
      if (early !== undefined) {
        packed.set(early as Uint8Array, 2 * n)
        zero(early)
        this.#flags |= EARLY_PACKED
      }
      return
    }
    this.#send = send
    this.#recv = recv
    this.#early = early
  }

  /** The `i`th key of the packed buffer that starts with the send key. */
  #packed (i: number): Uint8Array {
    const send = this.#send as Uint8Array
    if (send === lastPacked.send && i === lastPacked.index) return lastPacked.view!
    // (`buffer` and `byteOffset` are getter calls on Node 20: read only when a view is made.)
    const view = new Uint8Array(send.buffer, send.byteOffset + i * send.length, send.length)
    lastPacked.send = send
    lastPacked.index = i
    lastPacked.view = view
    return view
  }

  #recvKey (): SessionKey | undefined {
    return (this.#flags & RECV_PACKED) !== 0 ? this.#packed(1) : this.#recv
  }

  #earlyKey (): SessionKey | undefined {
    return (this.#flags & EARLY_PACKED) !== 0 ? this.#packed(2) : this.#early
  }

  /** Zero and forget every key. */
  #wipeKeys (): void {
    if ((this.#flags & RECV_PACKED) !== 0) {
      const send = this.#send as Uint8Array
      new Uint8Array(send.buffer, send.byteOffset, send.length * ((this.#flags & EARLY_PACKED) !== 0 ? 3 : 2)).fill(0)
    }
    zero(this.#early)
    zero(this.#send)
    zero(this.#recv)
    this.#early = this.#send = this.#recv = undefined
    this.#flags &= ~(RECV_PACKED | EARLY_PACKED)
  }

  /** Seal under the early key (initiator before message 2) or the transport key. */
  seal (plaintext: Uint8Array): { n: number, c: Uint8Array } {
    const key = this.#send ?? (this.role === 'initiator' ? this.#earlyKey() : undefined)
    if (key === undefined) throw new EgtpError('ERR_SESSION_EXPIRED', 'the session has no send key')
    const n = this.sendCounter++
    return { n, c: cipher.encrypt(key, nonce(n), EMPTY, plaintext) }
  }

  /**
   * Seal a whole `hd` frame under the transport key (PROTOCOL.md §2.6–2.7): the ciphertext is written straight
   * into the frame's bytes.
   */
  sealDataFrame (plaintext: Uint8Array): Uint8Array {
    const key = this.#send
    const r = this.#remoteIndex
    if (key === undefined || r === undefined) throw new EgtpError('ERR_SESSION_EXPIRED', 'the session has no send key')
    const n = this.sendCounter++
    const { frame, cOffset } = dataFrame(fromIndexKey(r), n, plaintext.length + TAG_LEN)
    cipher.encryptInto(key, nonce(n), plaintext, frame, cOffset)
    return frame
  }

  /**
   * {@link sealDataFrame} of the concatenation of `parts` (`total` bytes) as pieces whose concatenation is the
   * same frame. Up to {@link JOINED_SEAL_MAX_BYTES} one piece: the parts are copied into the frame and encrypted
   * there (one allocation, and a stream transport frames it without a copy: see `dataFrame`). Larger, the parts
   * are encrypted one by one and neither they nor the ciphertext are copied together.
   */
  sealDataFramePieces (parts: readonly Uint8Array[], total: number): Uint8Array[] {
    const key = this.#send
    const r = this.#remoteIndex
    if (key === undefined || r === undefined) throw new EgtpError('ERR_SESSION_EXPIRED', 'the session has no send key')
    const n = this.sendCounter++
    if (total <= JOINED_SEAL_MAX_BYTES) {
      const { frame, cOffset } = dataFrame(fromIndexKey(r), n, total + TAG_LEN)
      let at = cOffset
      for (const p of parts) {
        frame.set(p, at)
        at += p.length
      }
      cipher.encryptInto(key, nonce(n), frame.subarray(cOffset, at), frame, cOffset) // in place
      return [frame]
    }
    const pieces = cipher.encryptParts(key, nonce(n), parts)
    pieces.unshift(dataFrameHead(fromIndexKey(r), n, total + TAG_LEN))
    return pieces
  }

  /**
   * Open a frame's ciphertext under the early key or the receive key; the window is updated only after the
   * tag verified. `inPlace`: into `c`'s own memory when the cipher can (see `NoiseCipher.decryptInPlace`).
   * @throws {EgtpError} ERR_REPLAY (seen or older than the window), ERR_AUTH
   */
  open (which: 'early' | 'transport', n: number, c: Uint8Array, inPlace = false): Uint8Array {
    const key = which === 'early' ? (this.role === 'responder' ? this.#earlyKey() : undefined) : this.#recvKey()
    if (key === undefined) throw new EgtpError('ERR_AUTH', 'message authentication failed')
    if (!this.check(n)) throw new EgtpError('ERR_REPLAY', 'frame counter already seen or outside the replay window')
    const plaintext = (inPlace ? cipher.decryptInPlace(key, nonce(n), c) : undefined) ?? cipher.decrypt(key, nonce(n), EMPTY, c)
    this.update(n)
    return plaintext
  }

  /** Forget every key (raw ones zeroed; KeyObjects cannot be zeroed from JS: they are dropped for GC) and the handshake. */
  wipe (): void {
    this.#wipeKeys()
    this.hs?.wipe()
    this.hs = undefined
    this.#msg = undefined
    this.#flags |= WIPED
  }

  /** True once wiped: the session is gone for good. */
  get wiped (): boolean {
    return (this.#flags & WIPED) !== 0
  }

  /** Initiator, until message 2: message 1 to repeat on every frame. */
  get msg1 (): Uint8Array | undefined {
    return (this.#flags & INITIATOR) !== 0 ? this.#msg : undefined
  }

  set msg1 (m: Uint8Array | undefined) {
    if ((this.#flags & INITIATOR) !== 0) this.#msg = m
    else if (m !== undefined) throw new Error('msg1 on a responder session')
  }

  /** Responder, until confirmed: message 2 to repeat on every frame. */
  get msg2 (): Uint8Array | undefined {
    return (this.#flags & INITIATOR) === 0 ? this.#msg : undefined
  }

  set msg2 (m: Uint8Array | undefined) {
    if ((this.#flags & INITIATOR) === 0) this.#msg = m
    else if (m !== undefined) throw new Error('msg2 on an initiator session')
  }

  get role (): SessionRole {
    return (this.#flags & INITIATOR) !== 0 ? 'initiator' : 'responder'
  }

  /** A loser: an initiation that lost to a better session on arrival; kept only to open its early data. */
  get loser (): boolean {
    return (this.#flags & LOSER) !== 0
  }

  /** The peer proved it holds the session (initiator: got message 2; responder: got a transport frame). */
  get confirmed (): boolean {
    return (this.#flags & CONFIRMED) !== 0
  }

  set confirmed (v: boolean) {
    this.#flags = v ? this.#flags | CONFIRMED : this.#flags & ~CONFIRMED
  }
}

/** Total order of sessions for the one-winner rule: higher timestamp wins, then higher initiator node ID. */
export function compareRank (a: SessionRank, b: SessionRank): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1
  for (let i = 0; i < a.initiator.length; i++) {
    if (a.initiator[i] !== b.initiator[i]) return a.initiator[i]! < b.initiator[i]! ? -1 : 1
  }
  return 0
}

export type { PeerKey }
