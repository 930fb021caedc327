// The responder's side of a handshake: reading an initiation (one DH set, then cached by hash so its repeats
// cost none), refusing replays and out-of-window timestamps (cached verdicts), settling a crossover by rank, and
// owing a fresh initiation of ours to a peer whose initiation we refused (PROTOCOL.md §Sessions).
import { EgtpError, TokenBucket } from '@egtp/interface'
import { nodeIdToBytes } from '@egtp/identity'
import type { ClockRefusals } from './clock-refusal.ts'
import type { CookieResponder } from './cookie.ts'
import { authFailed, rateLimited, refusal } from './errors.ts'
import { messageId, readInitiation, writeResponse } from './ik.ts'
import type { IkContext } from './ik.ts'
import type { HandshakeState } from './noise/handshake.ts'
import type { Initiator } from './initiator.ts'
import { mutations } from './internal.ts'
import type { Lifetime } from './lifetime.ts'
import type { Limits } from './options.ts'
import type { PartInit, PeerIdentity, PeerState } from './peer-table.ts'
import type { ReplayState } from './replay-state.ts'
import { Session, compareRank } from './session.ts'
import type { OpenResult, PeerKey } from './types.ts'

import type { SessionFrame } from '@egtp/codec/session'

/** A cached verdict on an initiation that was refused, so a replayed burst costs one DH set per period. */
interface Rejection {
  readonly code: 'ERR_REPLAY' | 'ERR_CLOCK_WINDOW' | 'ERR_SELF'
  readonly peerId: string | undefined
  readonly until: number
  /** The error first thrown for it: repeats throw a new one with this as cause (never rebuilt from its text). */
  readonly first: EgtpError
  /** ERR_CLOCK_WINDOW: the signed notice sent back, repeated (paced) for repeats of the initiation. */
  readonly notice?: Uint8Array
  noticeAt?: number
}

export interface ResponderInit extends PartInit {
  selfId: string
  ctx: IkContext
  replay: ReplayState
  lifetime: Lifetime
  initiator: Initiator
  clockRefusals: ClockRefusals
  /** Runs after the cache and before any DH work: the cookie check of a responder under load (cookie.ts). */
  admission: CookieResponder
  log: (formatter: string, ...args: unknown[]) => void
}

export class Responder {
  readonly #i: ResponderInit
  readonly #o: Limits
  /** Initiations by hash: the session an accepted one made, or the verdict on a refused one. */
  readonly #initiations = new Map<string, Session | Rejection>()
  /** Peers owed a fresh initiation of ours (their initiation was stale or outside the clock window). */
  readonly #recover = new Set<string>()
  /** Initiations parsed per second from all peers (bounds the DH work anyone can cause). */
  readonly #handshakes: TokenBucket

  constructor (init: ResponderInit) {
    this.#i = init
    this.#o = init.limits
    this.#handshakes = new TokenBucket(init.limits.maxHandshakesPerSecond, init.limits.maxHandshakesPerSecond, init.clock.monotonic())
  }

  get cachedInitiations (): number {
    return this.#initiations.size
  }

  /** Whether fresh initiations are owed to peers whose initiation we refused ({@link owedInitiations}). */
  get owesInitiations (): boolean {
    return this.#recover.size > 0
  }

  /**
   * An initiation frame from transport `source`. A known one (cached by hash) costs no DH and needs no
   * admission; a new one is admitted (cookie.ts) before any DH work.
   */
  open (msg: SessionFrame & { t: 'hi' }, now: number, source: string | undefined): OpenResult {
    const { table, replay, stats, clockRefusals } = this.#i
    const id = messageId(msg.h)
    const cached = this.#initiations.get(id)
    if (cached instanceof Session) return this.#repeated(cached, msg, now)
    if (cached !== undefined && cached.until > now) {
      if (cached.peerId !== undefined) this.#maybeRecover(cached.peerId, cached.code, now)
      let replies: Uint8Array[] | undefined
      if (cached.notice !== undefined && now - (cached.noticeAt ?? 0) >= this.#o.handshakeRetryMs) {
        cached.noticeAt = now
        replies = [cached.notice]
      }
      throw refusal(cached.code, 'initiation refused (cached verdict)', replies, cached.first)
    }
    this.#i.admission.admit(msg, source, now)
    if (!this.#handshakes.tryTake(1, now)) throw rateLimited()
    let read
    try {
      read = readInitiation(this.#i.ctx, msg.h)
    } catch (err) {
      throw authFailed(err)
    }
    const { payload } = read
    let peerId: PeerIdentity
    try {
      const known = table.authenticatedIdentity(payload.publicKey, read.remoteStatic)
      if (known === undefined) throw authFailed()
      peerId = known
    } catch (err) {
      read.hs.wipe()
      throw authFailed(err)
    }
    if (peerId.nodeId === this.#i.selfId) {
      read.hs.wipe()
      const err = new EgtpError('ERR_SELF', 'the initiation comes from our own identity')
      this.#cache(id, { code: 'ERR_SELF', peerId: undefined, until: now + this.#o.rejectedInitiationCacheMs, first: err })
      throw err
    }
    const ps = table.peerState({ nodeId: peerId.nodeId, publicKey: payload.publicKey })
    const wallClock = this.#i.clock.now()
    const offset = payload.timestamp - wallClock
    if (clockRefusals.outside(offset)) {
      clockRefusals.logRefusal(ps, offset)
      this.#refuse(read.hs, id, ps, now, 'ERR_CLOCK_WINDOW', `initiation from ${ps.key.nodeId} is ${Math.round(offset)} ms from our clock (window ${clockRefusals.windowMs} ms)`,
        clockRefusals.notice(msg.h, wallClock, now))
    }
    if (payload.timestamp <= replay.acceptedFloor(ps.key.nodeId)) {
      // The repeat of an initiation we accepted but no longer cache by hash (the cache is bounded): the same
      // session, found by its initiation ID, not a replay.
      const known = mutations.disableInitiationRecognition ? undefined : ps.sessions().find(x => x.initiationId === id)
      if (known !== undefined) {
        read.hs.wipe()
        this.#cache(id, known)
        return this.#repeated(known, msg, now)
      }
      this.#refuse(read.hs, id, ps, now, 'ERR_REPLAY', 'initiation is not newer than the last one accepted from this peer')
    }
    if (!ps.tryTake(1, now)) {
      read.hs.wipe()
      throw rateLimited()
    }
    const durable = replay.markAccepted(ps.key.nodeId, payload.timestamp)
    stats.handshakesAccepted++
    const timestamp = payload.timestamp
    const cur = ps.current
    let s: Session
    let replies: Uint8Array[]
    if (cur === undefined || (compareRank({ timestamp, initiator: nodeIdToBytes(ps.key.nodeId) }, table.rank(cur)) > 0 &&
      !(mutations.disableWinnerRule && cur.role === 'initiator'))) {
      const localIndex = table.allocateIndex()
      const { message, keys } = writeResponse(read.hs, localIndex)
      s = new Session({ id: table.nextId(), peerId: ps.key.nodeId, role: 'responder', timestamp, localIndex, initiationId: id, now, early: read.early })
      s.remoteIndex = payload.index
      s.msg2 = message
      s.setTransportKeys(keys.send, keys.recv)
      table.register(s)
      table.install(ps, s, cur?.confirmed === true ? 'restart' : 'crossover', now)
      this.#i.log('session %s: accepted initiation from %k', s.id, ps.key.nodeId)
      replies = [table.frame(s, undefined, now)]
    } else {
      // It lost to a better session: keep it only to open the early data it (and its repeats) carry.
      read.hs.wipe()
      s = new Session({ id: table.nextId(), peerId: ps.key.nodeId, role: 'responder', timestamp, localIndex: -1, initiationId: id, now, early: read.early, loser: true })
      table.register(s)
      table.archive(ps, s, now)
      this.#i.log('session %s: initiation from %k lost to session %s', s.id, ps.key.nodeId, cur.id)
      replies = this.#handshakeReplies(ps, s, now, true)
    }
    this.#cache(id, s)
    const res = table.deliver(s, this.#early(s, msg), now, replies, false, durable)
    if (ps.current === s && replies.length > 0) res.responseOnly = true
    return res
  }

  /**
   * Refuse the initiation `id` from `ps` (its handshake wiped, the verdict cached). A method, not a closure made
   * on every initiation (this path runs once per new peer, in the interpreter).
   */
  #refuse (hs: HandshakeState, id: string, ps: PeerState, now: number, code: 'ERR_REPLAY' | 'ERR_CLOCK_WINDOW', text: string, notice?: Uint8Array): never {
    hs.wipe()
    this.#i.stats.handshakesRejected++
    const err = refusal(code, text, notice === undefined ? undefined : [notice])
    this.#cache(id, { code, peerId: ps.key.nodeId, until: now + this.#o.rejectedInitiationCacheMs, first: err, ...(notice === undefined ? {} : { notice, noticeAt: now }) })
    this.#maybeRecover(ps.key.nodeId, code, now)
    throw err
  }

  /** A known initiation (repeated on every frame until confirmed): no DH, just the early data. */
  #repeated (s: Session, msg: SessionFrame & { t: 'hi' }, now: number): OpenResult {
    const ps = this.#i.table.owner(s)
    const plaintext = this.#early(s, msg)
    // A bare repeat to a confirmed session is old news (possibly a replay): it must not count as traffic,
    // or a replayed initiation could hold the session open past the idle timeout.
    if (plaintext === undefined && s.confirmed) return { peer: ps.key, sessionId: s.id, replies: [] }
    return this.#i.table.deliver(s, plaintext, now, this.#handshakeReplies(ps, s, now, false), false)
  }

  #early (s: Session, msg: SessionFrame & { t: 'hi' }): Uint8Array | undefined {
    if (msg.c === undefined && msg.n === undefined) return undefined
    if (msg.c === undefined || msg.n === undefined) throw authFailed()
    if (msg.n >= this.#o.maxEarlyDataMessages) throw new EgtpError('ERR_AUTH', 'early data beyond the limit')
    return s.open('early', msg.n, msg.c)
  }

  /**
   * What to answer a frame carrying a known initiation with: our response while the initiator has not
   * confirmed, or — when it lost to our own pending initiation — that initiation again, so the peer learns
   * which session won. Paced by handshakeRetryMs.
   */
  #handshakeReplies (ps: PeerState, s: Session, now: number, first: boolean): Uint8Array[] {
    const cur = ps.current
    if (cur === undefined) return []
    const due = first || cur.msSinceHandshake(now) >= this.#o.handshakeRetryMs
    if (!due) return []
    if (cur === s && s.role === 'responder' && !s.confirmed) return [this.#i.table.frame(s, undefined, now)]
    if (cur !== s && cur.role === 'initiator' && !cur.established) return [this.#i.table.frame(cur, undefined, now)]
    return []
  }

  #cache (id: string, v: Session | Rejection): void {
    if (!this.#initiations.has(id) && this.#initiations.size >= this.#o.maxCachedInitiations) {
      // Drop the oldest entry; a dropped session stays reachable by index and by its peer's sessions (a repeat
      // of its initiation costs a DH again, then finds it by initiation ID).
      this.#initiations.delete(this.#initiations.keys().next().value!)
    }
    this.#initiations.set(id, v)
  }

  /**
   * A refused initiation from a peer we have no working session with: owe it a fresh initiation of ours —
   * unless that peer is itself refusing ours as outside its clock window (then neither side can initiate, and
   * answering each refusal with an initiation would only trade refusals every tick).
   */
  #maybeRecover (peerId: string, code: Rejection['code'], now: number): void {
    if (code === 'ERR_SELF') return
    const ps = this.#i.table.peer(peerId)
    if (ps === undefined || this.#i.lifetime.working(ps.current, now) || now < ps.yieldUntil) return
    this.#recover.add(peerId)
  }

  /** The fresh initiations owed (tick): one per peer still without a working session, within its budget. */
  owedInitiations (now: number): Array<{ peer: PeerKey, frame: Uint8Array }> {
    const { table, lifetime, initiator } = this.#i
    const out: Array<{ peer: PeerKey, frame: Uint8Array }> = []
    for (const peerId of [...this.#recover]) {
      this.#recover.delete(peerId)
      const ps = table.peer(peerId)
      if (ps === undefined || lifetime.working(ps.current, now) || !ps.tryTake(1, now)) continue
      const s = initiator.initiate(ps, now, 'restart')
      out.push({ peer: ps.key, frame: table.frame(s, undefined, now) })
    }
    return out
  }

  /** Forget refusal verdicts past their time (tick). */
  expireVerdicts (now: number): void {
    for (const [id, v] of this.#initiations) if (!(v instanceof Session) && v.until <= now) this.#initiations.delete(id)
  }

  /** A session left the table: its initiation is no longer recognised by hash. */
  forget (s: Session): void {
    if (this.#initiations.get(s.initiationId) === s) this.#initiations.delete(s.initiationId)
  }

  forgetPeer (peerId: string): void {
    this.#recover.delete(peerId)
  }

  clear (): void {
    this.#initiations.clear()
    this.#recover.clear()
  }
}
