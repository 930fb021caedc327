// HandshakeState of the Noise Protocol Framework, revision 34, §5.3, with the patterns of §7.4 this package
// supports (NK, IK, XX) and the pskN modifiers of §9. DH is always 25519.
import { EgtpError } from '@egtp/interface'
import { CIPHERS, DH_LEN, HASHES, concatBytes, dh, generateKeyPair, importPublicKey, wipeSecret } from './primitives.ts'
import type { KeyPair, NoiseCipher, NoiseHash, PublicKeyCache } from './primitives.ts'
import { SymmetricState } from './state.ts'
import type { CipherState } from './state.ts'

export type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss' | 'psk'

/** A handshake pattern: pre-messages of each side, then the message token lists (initiator first). */
export interface HandshakePattern {
  readonly name: string
  readonly initiatorPre: readonly Token[]
  readonly responderPre: readonly Token[]
  readonly messages: ReadonlyArray<readonly Token[]>
}

const BASE_PATTERNS: Readonly<Record<string, HandshakePattern>> = {
  NK: { name: 'NK', initiatorPre: [], responderPre: ['s'], messages: [['e', 'es'], ['e', 'ee']] },
  IK: { name: 'IK', initiatorPre: [], responderPre: ['s'], messages: [['e', 'es', 's', 'ss'], ['e', 'ee', 'se']] },
  XX: { name: 'XX', initiatorPre: [], responderPre: [], messages: [['e'], ['e', 'ee', 's', 'es'], ['s', 'se']] }
}

/** A parsed protocol name such as `Noise_IK_25519_ChaChaPoly_BLAKE2s`. */
export interface NoiseProtocol {
  readonly name: string
  readonly pattern: HandshakePattern
  readonly cipher: NoiseCipher
  readonly hash: NoiseHash
}

/**
 * Parse a Noise protocol name. Supported: patterns NK, IK, XX with `pskN` modifiers; DH 25519; ciphers
 * ChaChaPoly, AESGCM; hashes BLAKE2s, BLAKE2b, SHA256, SHA512.
 * @throws {RangeError} for anything else
 */
export function parseProtocolName (name: string): NoiseProtocol {
  const known = parsedProtocols.get(name)
  if (known !== undefined) return known
  const m = /^Noise_([A-Z]+)((?:psk\d)(?:\+psk\d)*)?_25519_(ChaChaPoly|AESGCM)_(BLAKE2s|BLAKE2b|SHA256|SHA512)$/.exec(name)
  const base = m === null ? undefined : BASE_PATTERNS[m[1]!]
  if (m === null || base === undefined) throw new RangeError(`unsupported Noise protocol ${JSON.stringify(name)}`)
  const messages = base.messages.map(tokens => [...tokens])
  for (const mod of (m[2] ?? '').split('+').filter(Boolean)) {
    const n = Number(mod.slice(3))
    if (n === 0) messages[0]!.unshift('psk')
    else if (n <= messages.length) messages[n - 1]!.push('psk')
    else throw new RangeError(`unsupported Noise protocol ${JSON.stringify(name)}: ${mod}`)
  }
  const protocol: NoiseProtocol = Object.freeze({
    name,
    pattern: Object.freeze({ name: base.name + (m[2] ?? ''), initiatorPre: base.initiatorPre, responderPre: base.responderPre, messages: Object.freeze(messages.map(t => Object.freeze(t))) }),
    cipher: CIPHERS[m[3] as NoiseCipher['name']],
    hash: HASHES[m[4] as NoiseHash['name']]
  })
  if (parsedProtocols.size < MAX_PARSED_PROTOCOLS) parsedProtocols.set(name, protocol)
  return protocol
}

/**
 * Protocols parsed before, by name (frozen, shared): every session manager parses its protocol name, and the
 * pattern object is also the key of its psk mode (a node's set-up parsed and scanned ~5 µs for it).
 */
const parsedProtocols = new Map<string, NoiseProtocol>()
/** Names remembered: a process uses one or two. */
const MAX_PARSED_PROTOCOLS = 16

/** Whether a pattern has psk tokens (§9), by pattern (a few per process): not scanned per handshake. */
const pskModes = new WeakMap<HandshakePattern, boolean>()
function pskMode (pattern: HandshakePattern): boolean {
  let mode = pskModes.get(pattern)
  if (mode === undefined) {
    mode = pattern.messages.some(m => m.includes('psk'))
    pskModes.set(pattern, mode)
  }
  return mode
}

/** What a HandshakeState starts from (§5.3 Initialize). */
export interface HandshakeInit {
  protocol: NoiseProtocol | string
  initiator: boolean
  prologue?: Uint8Array
  /** Our static key pair, when the pattern sends or pre-shares it. */
  s?: KeyPair
  /** The peer's static public key, when pre-shared (IK, NK on the initiator side). */
  rs?: Uint8Array
  /** Pre-shared symmetric keys (32 bytes each), one per `psk` token. */
  psks?: Uint8Array[]
  /** Cache for imported static public keys. */
  keyCache?: PublicKeyCache
  /** Injected ephemeral key pair: for test vectors only (see `@egtp/session/testing`). */
  e?: KeyPair | undefined
  /**
   * Where this handshake's ephemeral key pair comes from when it writes one and none was injected (default: a
   * new one, `generateKeyPair`); called at most once. The pair is the handshake's own: its secret is zeroed once
   * the handshake no longer needs it, so the source must never give the same pair twice.
   */
  generateEphemeral?: (() => KeyPair) | undefined
  /**
   * h after the prologue and the pre-messages, as {@link HandshakeState.handshakeHash} read it right after an
   * earlier construction with the same protocol, role, prologue and pre-message keys (§5.3 Initialize is
   * deterministic in them): those hashes are then not computed again. The caller keeps it per key, e.g. a
   * responder's own (the same for every initiator). ck is the protocol's, as always.
   */
  preMessageHash?: Uint8Array | undefined
  /**
   * DH(s, rs) as computed earlier for the same two static keys (it depends on them alone): used for the `ss`
   * token instead of a new DH, the same bytes. Read only (the caller keeps and zeroes it).
   */
  staticShared?: Uint8Array | undefined
}

/** §5.3: runs one side of a handshake, message by message. */
export class HandshakeState {
  readonly protocol: NoiseProtocol
  readonly initiator: boolean
  readonly ss: SymmetricState
  #s: KeyPair | undefined
  #e: KeyPair | undefined
  #rs: Uint8Array | undefined
  #re: Uint8Array | undefined
  #rsKey: ReturnType<typeof importPublicKey> | undefined
  #reKey: ReturnType<typeof importPublicKey> | undefined
  readonly #psks: Uint8Array[]
  readonly #pskMode: boolean
  readonly #keyCache: PublicKeyCache | undefined
  readonly #generateEphemeral: () => KeyPair
  readonly #staticShared: Uint8Array | undefined
  /** True when #e was generated here (not injected): its raw secret is ours to zero. */
  #ownE = false
  #index = 0

  constructor (init: HandshakeInit) {
    this.protocol = typeof init.protocol === 'string' ? parseProtocolName(init.protocol) : init.protocol
    this.initiator = init.initiator
    this.ss = new SymmetricState(this.protocol.name, this.protocol.hash, this.protocol.cipher)
    this.#s = init.s
    this.#e = init.e
    this.#rs = init.rs
    this.#keyCache = init.keyCache
    this.#generateEphemeral = init.generateEphemeral ?? generateKeyPair
    this.#staticShared = init.staticShared
    // Written for the interpreter (one construction per handshake, never optimised): no spread, no closure.
    this.#psks = init.psks === undefined ? [] : init.psks.slice()
    this.#pskMode = pskMode(this.protocol.pattern)
    for (const psk of this.#psks) if (psk.length !== 32) throw new RangeError('a Noise PSK is 32 bytes')
    const known = init.preMessageHash
    if (known !== undefined && known.length !== this.protocol.hash.hashLen) throw new RangeError('HandshakeState: preMessageHash is not HASHLEN bytes')
    if (known === undefined) this.ss.mixHash(init.prologue ?? new Uint8Array(0))
    // Pre-messages: the initiator's keys first, then the responder's (§7.1).
    this.#preMessage(this.protocol.pattern.initiatorPre, this.initiator, known === undefined)
    this.#preMessage(this.protocol.pattern.responderPre, !this.initiator, known === undefined)
    if (known !== undefined) this.ss.h = known.slice()
  }

  /** One side's pre-message keys (`ours`: our own), mixed into h unless a known h after them is given. */
  #preMessage (tokens: readonly Token[], ours: boolean, mix: boolean): void {
    for (const t of tokens) {
      const key = t === 's' ? (ours ? this.#s?.publicKey : this.#rs) : (ours ? this.#e?.publicKey : this.#re)
      if (key === undefined) throw new TypeError(`HandshakeState: pattern ${this.protocol.pattern.name} needs the pre-message key ${t}`)
      if (mix) this.ss.mixHash(key)
    }
  }

  /** True once every handshake message has been written or read. */
  get complete (): boolean {
    return this.#index >= this.protocol.pattern.messages.length
  }

  /** Whose turn it is: true when the next message is ours to write. */
  get myTurn (): boolean {
    return (this.#index % 2 === 0) === this.initiator
  }

  /** The handshake hash h (the channel binding after completion). */
  get handshakeHash (): Uint8Array {
    return this.ss.h
  }

  /** The peer's static public key, once known. */
  get remoteStatic (): Uint8Array | undefined {
    return this.#rs
  }

  /** The peer's ephemeral public key, once known. */
  get remoteEphemeral (): Uint8Array | undefined {
    return this.#re
  }

  #rsObject (): ReturnType<typeof importPublicKey> {
    if (this.#rs === undefined) throw new EgtpError('ERR_HANDSHAKE', 'no remote static key')
    this.#rsKey ??= this.#keyCache?.get(this.#rs) ?? importPublicKey(this.#rs)
    return this.#rsKey
  }

  #reObject (): ReturnType<typeof importPublicKey> {
    if (this.#re === undefined) throw new EgtpError('ERR_HANDSHAKE', 'no remote ephemeral key')
    this.#reKey ??= importPublicKey(this.#re)
    return this.#reKey
  }

  #dh (token: 'ee' | 'es' | 'se' | 'ss'): Uint8Array {
    // es: initiator's e with responder's s; se: initiator's s with responder's e (§5.3).
    const local = token === 'ee' ? this.#e : token === 'ss' ? this.#s
      : (token === 'es') === this.initiator ? this.#e : this.#s
    const remoteIsE = token === 'ee' ? true : token === 'ss' ? false : (token === 'es') !== this.initiator
    if (local === undefined) throw new EgtpError('ERR_HANDSHAKE', `missing local key for ${token}`)
    const remote = remoteIsE ? this.#re : this.#rs
    if (remote === undefined) throw new EgtpError('ERR_HANDSHAKE', `no remote key for ${token}`)
    return dh(local.secret, remote, remoteIsE ? () => this.#reObject() : () => this.#rsObject())
  }

  #mixDh (token: 'ee' | 'es' | 'se' | 'ss'): void {
    if (token === 'ss' && this.#staticShared !== undefined) {
      this.ss.mixKey(this.#staticShared) // not zeroed here: its owner keeps it
      return
    }
    const shared = this.#dh(token)
    this.ss.mixKey(shared)
    shared.fill(0)
  }

  #nextPsk (): Uint8Array {
    const psk = this.#psks.shift()
    if (psk === undefined) throw new EgtpError('ERR_HANDSHAKE', 'the pattern needs a PSK that was not given')
    return psk
  }

  /**
   * §5.3 WriteMessage: the next handshake message carrying `payload` (encrypted once a key is established).
   * @throws {TypeError} when it is not our turn
   */
  writeMessage (payload: Uint8Array = new Uint8Array(0)): Uint8Array {
    if (this.complete || !this.myTurn) throw new TypeError('HandshakeState: not our turn to write')
    const parts: Uint8Array[] = []
    for (const token of this.protocol.pattern.messages[this.#index]!) {
      switch (token) {
        case 'e':
          if (this.#e === undefined) {
            this.#e = this.#generateEphemeral()
            this.#ownE = true
          }
          parts.push(this.#e.publicKey)
          this.ss.mixHash(this.#e.publicKey)
          if (this.#pskMode) this.ss.mixKey(this.#e.publicKey)
          break
        case 's':
          if (this.#s === undefined) throw new TypeError('HandshakeState: the pattern sends a static key that was not given')
          parts.push(this.ss.encryptAndHash(this.#s.publicKey))
          break
        case 'psk':
          this.ss.mixKeyAndHash(this.#nextPsk())
          break
        default:
          this.#mixDh(token)
      }
    }
    parts.push(this.ss.encryptAndHash(payload))
    this.#index++
    this.#afterMessage()
    return concatBytes(parts)
  }

  /**
   * §5.3 ReadMessage: process the peer's next handshake message and return its payload. A message that fails
   * leaves the state as it was (rolled back), so a forged message cannot spoil the handshake.
   * @throws {EgtpError} ERR_HANDSHAKE for a short message or a bad key, ERR_AUTH when decryption fails
   */
  readMessage (message: Uint8Array): Uint8Array {
    if (this.complete || this.myTurn) throw new TypeError('HandshakeState: not our turn to read')
    // A forged or corrupted message must not spoil the state for the genuine one that may follow: roll back.
    const snap = { ss: this.ss.snapshot(), re: this.#re, rs: this.#rs, reKey: this.#reKey, rsKey: this.#rsKey, psks: this.#psks.slice() }
    try {
      const payload = this.#read(message)
      // The rollback copies hold the chaining key and cipher key of before: wipe them like any key.
      snap.ss.ck.fill(0)
      snap.ss.cs.k?.fill(0)
      return payload
    } catch (err) {
      this.ss.restore(snap.ss)
      this.#re = snap.re
      this.#rs = snap.rs
      this.#reKey = snap.reKey
      this.#rsKey = snap.rsKey
      this.#psks.splice(0, this.#psks.length, ...snap.psks)
      throw err
    }
  }

  #read (message: Uint8Array): Uint8Array {
    let off = 0
    const take = (n: number): Uint8Array => {
      if (off + n > message.length) throw new EgtpError('ERR_HANDSHAKE', 'handshake message too short')
      const out = message.subarray(off, off + n)
      off += n
      return out
    }
    for (const token of this.protocol.pattern.messages[this.#index]!) {
      switch (token) {
        case 'e':
          this.#re = take(DH_LEN).slice()
          this.ss.mixHash(this.#re)
          if (this.#pskMode) this.ss.mixKey(this.#re)
          break
        case 's':
          this.#rs = this.ss.decryptAndHash(take(this.ss.sealedLength(DH_LEN))).slice()
          break
        case 'psk':
          this.ss.mixKeyAndHash(this.#nextPsk())
          break
        default:
          this.#mixDh(token)
      }
    }
    const payload = this.ss.decryptAndHash(message.subarray(off))
    this.#index++
    this.#afterMessage()
    return payload
  }

  #afterMessage (): void {
    // The ephemeral secret is only needed until the last DH that uses it: zeroed (when raw and ours: an injected
    // test key stays its owner's) and dropped (a KeyObject cannot be zeroed).
    if (this.complete) this.#dropEphemeral()
  }

  #dropEphemeral (): void {
    if (this.#ownE) wipeSecret(this.#e)
    this.#e = undefined
  }

  /**
   * §5.2 Split, after the last message: [initiator → responder, responder → initiator].
   * @throws {TypeError} before the handshake is complete
   */
  split (): [CipherState, CipherState] {
    if (!this.complete) throw new TypeError('HandshakeState: split before the handshake is complete')
    return this.ss.split()
  }

  /** Forget every secret. */
  wipe (): void {
    this.ss.wipe()
    this.#dropEphemeral()
    this.#s = undefined
  }
}
