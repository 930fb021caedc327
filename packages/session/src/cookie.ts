// Proof of address under load: WireGuard's cookie reply (whitepaper §5.4.4 and §5.4.7), on EGTP frames.
//
// A responder is under load once more than `handshakeLoadThresholdPerSecond` new initiations (not known by hash)
// arrived within a second, and for UNDER_LOAD_HOLD_MS after. Under load, an initiation from transport source A is processed
// only when it carries mac2 = MAC(τ, h ‖ mac1), where τ = MAC(Rm, A) is the cookie for A under a secret Rm
// replaced every COOKIE_SECRET_ROTATION_MS, and mac1 = MAC(HASH(COOKIE_MAC1_LABEL ‖ Sr), h) binds it to this
// responder's static key Sr and to the initiation's Noise message h. Without a valid mac2 the responder does no
// DH: it answers with `hk`, τ sealed by XChaCha20-Poly1305 under HASH(COOKIE_KEY_LABEL ‖ Sr) with mac1 as
// associated data — so only who receives at A learns τ, and only for the initiation it sent. With a valid mac2,
// initiations are limited per proven source, so a flood from one source cannot starve the others.
// MAC is keyed BLAKE2s-128 and HASH is BLAKE2s-256, as in WireGuard; mac1 is computed by both sides rather than
// carried (EGTP keys are public: it would filter nothing), so `hi` frames are unchanged unless a cookie is held.
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { blake2s } from '@noble/hashes/blake2.js'
import { SourceWarnings, bytesEqual, TokenBucket } from '@egtp/interface'
import type { Clock, Logger } from '@egtp/interface'
import {
  COOKIE_KEY_LABEL, COOKIE_MAC1_LABEL, COOKIE_SECRET_LATENCY_MS, COOKIE_SECRET_ROTATION_MS, MAX_SOURCE_LABEL_LENGTH,
  UNDER_LOAD_HOLD_MS
} from './constants.ts'
import { authFailed, refusal } from './errors.ts'
import { mutations } from './internal.ts'
import type { Limits } from './options.ts'
import type { SessionTable } from './peer-table.ts'
import type { Session } from './session.ts'
import type { Counters } from './stats.ts'
import type { OpenResult } from './types.ts'
import { sessionCodec } from '@egtp/codec/session'
import type { SessionFrame } from '@egtp/codec/session'

const encoder = new TextEncoder()
const MAC1_LABEL = encoder.encode(COOKIE_MAC1_LABEL)
const KEY_LABEL = encoder.encode(COOKIE_KEY_LABEL)
const MAC_BYTES = 16
const NONCE_BYTES = 24
const SECRET_BYTES = 32
/** How long an initiator uses a cookie after it arrived. */
const COOKIE_LIFETIME_MS = COOKIE_SECRET_ROTATION_MS - COOKIE_SECRET_LATENCY_MS

/** HASH(label ‖ static key): BLAKE2s-256. */
function labelledKey (label: Uint8Array, staticKey: Uint8Array): Uint8Array {
  return blake2s.create().update(label).update(staticKey).digest()
}

/** MAC(key, parts…): keyed BLAKE2s with a 16-byte output. */
function mac (key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = blake2s.create({ key, dkLen: MAC_BYTES })
  for (const p of parts) h.update(p)
  return h.digest()
}

export interface CookieResponderInit {
  /** Our static X25519 key (the Noise `s`) and Ed25519 key (named in `hk` so the initiator finds its peer). */
  staticKey: Uint8Array
  identityKey: Uint8Array
  clock: Clock
  random: (n: number) => Uint8Array
  log: Logger
  limits: Limits
  stats: Counters
}

/** The responder's side: the load meter, the rotating secret, cookie replies and the per-source budgets. */
export class CookieResponder {
  readonly #i: CookieResponderInit
  // The keys, budgets and warnings are made when first under load: most nodes (a client per peer) never are,
  // and two BLAKE2s hashes plus two maps per node are then work and memory for nothing.
  #mac1Key: Uint8Array | undefined
  #sealKey: Uint8Array | undefined
  /** New initiations (not known by hash) arriving: empty means under load. */
  readonly #load: TokenBucket
  #sources: Map<string, TokenBucket> | undefined
  #warnings: SourceWarnings | undefined
  #underLoadUntil = -Infinity
  #secret: Uint8Array | undefined
  #secretAt = -Infinity

  constructor (init: CookieResponderInit) {
    this.#i = init
    this.#load = new TokenBucket(init.limits.handshakeLoadThresholdPerSecond, init.limits.handshakeLoadThresholdPerSecond, init.clock.monotonic())
  }

  #warn (source: string, kind: string, formatter: string, ...args: unknown[]): void {
    const clock = this.#i.clock
    this.#warnings ??= new SourceWarnings(this.#i.log, { now: () => clock.monotonic() })
    this.#warnings.warn(source, kind, formatter, ...args)
  }

  underLoad (now: number): boolean {
    return now < this.#underLoadUntil
  }

  /**
   * Admit an initiation to DH work, or refuse it: under load, one from `source` without a valid cookie MAC
   * gets a cookie reply (a MAC and a seal, no DH), and one with a valid MAC is limited per source.
   * @throws {EgtpError} ERR_RATE_LIMITED (with the cookie reply as its {@link refusalReplies})
   */
  admit (msg: SessionFrame & { t: 'hi' }, source: string | undefined, now: number): void {
    if (source !== undefined && (typeof source !== 'string' || source.length > MAX_SOURCE_LABEL_LENGTH)) {
      throw new RangeError(`open: from.source must be a string of at most ${MAX_SOURCE_LABEL_LENGTH} characters`)
    }
    // Every new initiation counts, proven or not (WireGuard counts its queue of handshake packets): a flood
    // keeps us under load for as long as it lasts, even though it causes no DH work.
    if (!this.#load.tryTake(1, now)) this.#underLoadUntil = now + UNDER_LOAD_HOLD_MS
    if (source !== undefined && this.underLoad(now)) this.#prove(msg, source, now)
  }

  #prove (msg: SessionFrame & { t: 'hi' }, source: string, now: number): void {
    const { stats } = this.#i
    const mac1 = mac(this.#mac1Key ??= labelledKey(MAC1_LABEL, this.#i.staticKey), msg.h)
    const cookie = mac(this.#secretFor(now), encoder.encode(source))
    if (msg.m === undefined || !bytesEqual(msg.m, mac(cookie, msg.h, mac1))) {
      stats.cookieRepliesSent++
      this.#warn(source, 'cookie', 'under load: initiations from %s get a cookie reply until they prove the address', source)
      throw refusal('ERR_RATE_LIMITED', 'under load: the initiation carries no valid cookie MAC (answered with a cookie reply)', [this.#reply(cookie, mac1)])
    }
    const sources = this.#sources ??= new Map()
    let budget = sources.get(source)
    if (budget === undefined) {
      if (sources.size >= this.#i.limits.maxHandshakeSources) sources.delete(sources.keys().next().value!)
      sources.set(source, budget = new TokenBucket(this.#i.limits.maxHandshakesPerSourcePerSecond, this.#i.limits.maxHandshakesPerSourcePerSecond, now))
    }
    if (!budget.tryTake(1, now)) {
      stats.sourceRateLimited++
      this.#warn(source, 'source-budget', 'under load: refusing initiations from %s beyond %d per second', source, this.#i.limits.maxHandshakesPerSourcePerSecond)
      throw refusal('ERR_RATE_LIMITED', 'under load: too many handshakes from this source')
    }
  }

  /** Rm: random, replaced every COOKIE_SECRET_ROTATION_MS (so every cookie expires with it). */
  #secretFor (now: number): Uint8Array {
    if (this.#secret === undefined || now - this.#secretAt >= COOKIE_SECRET_ROTATION_MS) {
      this.#secret?.fill(0)
      this.#secret = this.#i.random(SECRET_BYTES)
      this.#secretAt = now
    }
    return this.#secret
  }

  #reply (cookie: Uint8Array, mac1: Uint8Array): Uint8Array {
    const x = this.#i.random(NONCE_BYTES)
    const c = xchacha20poly1305(this.#sealKey ??= labelledKey(KEY_LABEL, this.#i.staticKey), x, mac1).encrypt(cookie)
    return sessionCodec.encode({ t: 'hk', k: this.#i.identityKey, x, c })
  }

  clear (): void {
    this.#secret?.fill(0)
    this.#secret = undefined
    this.#sources = undefined
  }
}

/** The initiator's side: taking a cookie from a cookie reply, and the cookie MAC on our initiations while it lasts. */
export class CookieJar {
  readonly #table: SessionTable
  readonly #stats: Counters

  constructor (table: SessionTable, stats: Counters) {
    this.#table = table
    this.#stats = stats
  }

  /**
   * A cookie reply: it must open under the peer's cookie key with the mac1 of our pending initiation to it.
   * Answered with that initiation again, now with the cookie MAC (only when the cookie is news: a replayed
   * reply makes us send nothing).
   * @throws {EgtpError} ERR_AUTH
   */
  open (msg: SessionFrame & { t: 'hk' }, now: number): OpenResult {
    if (mutations.ignoreCookieReplies) return { replies: [] }
    const ps = this.#table.signer(msg.k)
    const s = ps.current
    if (s === undefined || s.role !== 'initiator' || s.established || s.msg1 === undefined) throw authFailed()
    const staticKey = this.#table.identity(ps.key.publicKey).x25519
    const mac1 = mac(labelledKey(MAC1_LABEL, staticKey), s.msg1)
    let cookie: Uint8Array
    try {
      cookie = xchacha20poly1305(labelledKey(KEY_LABEL, staticKey), msg.x, mac1).decrypt(msg.c)
    } catch (err) {
      throw authFailed(err)
    }
    this.#stats.cookieRepliesReceived++
    const held = ps.cookie
    ps.cookie = { value: cookie, at: now }
    if (held !== undefined && now - held.at < COOKIE_LIFETIME_MS && bytesEqual(held.value, cookie)) return { replies: [] }
    return { replies: [this.#table.frame(s, undefined, now)] }
  }

  /** The cookie MAC for an initiation frame of `s`, while we hold a fresh cookie from its peer. */
  macFor (s: Session, now: number): { m: Uint8Array } | undefined {
    const ps = this.#table.owner(s)
    const held = ps.cookie
    if (held === undefined || s.msg1 === undefined) return undefined
    if (now - held.at >= COOKIE_LIFETIME_MS) {
      ps.cookie = undefined
      return undefined
    }
    const mac1 = mac(labelledKey(MAC1_LABEL, this.#table.identity(ps.key.publicKey).x25519), s.msg1)
    return { m: mac(held.value, s.msg1, mac1) }
  }
}
