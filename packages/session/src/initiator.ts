// Our side of a handshake: which session a send goes on, starting an initiation (and its timestamp), reading
// the response that establishes it, and retransmitting it until it is confirmed (PROTOCOL.md §Sessions).
import { EgtpError } from '@egtp/interface'
import { authFailed, rateLimited } from './errors.ts'
import { messageId, readResponse, writeInitiation } from './ik.ts'
import type { IkContext } from './ik.ts'
import { mutations } from './internal.ts'
import type { Lifetime } from './lifetime.ts'
import type { PartInit, PeerState } from './peer-table.ts'
import type { ReplayState } from './replay-state.ts'
import { Session } from './session.ts'
import type { OpenResult, ReplaceReason } from './types.ts'
import type { SessionFrame } from '@egtp/codec/session'

export interface InitiatorInit extends PartInit {
  selfKey: Uint8Array
  ctx: IkContext
  replay: ReplayState
  lifetime: Lifetime
  log: (formatter: string, ...args: unknown[]) => void
}


export class Initiator {
  readonly #i: InitiatorInit

  constructor (init: InitiatorInit) {
    this.#i = init
  }

  /** The session a send to `ps` goes on: the current one, or a new initiation (rekey, expiry, first contact). */
  sendSession (ps: PeerState, now: number): Session {
    const { lifetime } = this.#i
    const cur = ps.current
    if (now < ps.yieldUntil && (cur === undefined || lifetime.verdict(cur, now) === 'expired')) {
      throw new EgtpError('ERR_CLOCK_SKEW', `${ps.key.nodeId} refused our session setup as outside its clock window; waiting for its own (retry later)`)
    }
    if (cur !== undefined) {
      const verdict = lifetime.verdict(cur, now)
      if (verdict === 'ok') return cur
      // A session due for rekey stays usable while the handshake budget is spent; an expired one does not,
      // nor a pending initiation whose early data is used up (the responder would refuse more: ERR_AUTH).
      if (!ps.tryTake(1, now)) {
        if (verdict === 'rekey' || (verdict === 'exhausted' && mutations.legacyEarlyDataBudget)) return cur
        throw rateLimited()
      }
      return this.initiate(ps, now, verdict === 'exhausted' ? 'rekey' : verdict)
    }
    if (!ps.tryTake(1, now)) throw rateLimited()
    return this.initiate(ps, now, undefined)
  }

  /** Start a new session as initiator; it outranks every session with this peer (see #timestamp). */
  initiate (ps: PeerState, now: number, reason: ReplaceReason | undefined): Session {
    const { table, replay } = this.#i
    const wallClock = Math.floor(this.#i.clock.now())
    const timestamp = this.#timestamp(ps, wallClock)
    const localIndex = table.allocateIndex()
    // The peer's X25519 key comes from the bounded cache (recomputed after eviction): a peer state does not keep it.
    const init = writeInitiation(this.#i.ctx, table.identity(ps.key.publicKey).x25519, { publicKey: this.#i.selfKey, index: localIndex, timestamp })
    const s = new Session({
      id: table.nextId(), peerId: ps.key.nodeId, role: 'initiator', timestamp,
      // Only accepted initiations are cached by ID (the responder's side): ours needs none.
      localIndex, initiationId: '', now, early: init.early
    })
    s.hs = init.hs
    s.msg1 = init.message
    table.register(s)
    replay.markIssued(ps.key.nodeId, timestamp, wallClock)
    this.#i.stats.handshakesInitiated++
    table.install(ps, s, reason ?? 'crossover', now)
    this.#i.log('session %s: initiating with %k', s.id, ps.key.nodeId)
    return s
  }

  /**
   * The timestamp of a new initiation to `ps`: a logical clock. At least our wall clock, above everything an
   * earlier run issued (the persisted lease), above what we last issued to this peer, and above the peer's last
   * initiation we accepted — so a new initiation of ours always outranks every session with this peer, even
   * when our clock is behind the peer's (PROTOCOL.md §Sessions, "Timestamps").
   */
  #timestamp (ps: PeerState, wallClock: number): number {
    const { replay } = this.#i
    const ts = Math.max(wallClock, replay.bootFloor, replay.issued(ps.key.nodeId) + 1,
      replay.acceptedFloor(ps.key.nodeId) + 1, ps.current === undefined ? -Infinity : ps.current.timestamp + 1)
    if (ts >= Number.MAX_SAFE_INTEGER) throw new EgtpError('ERR_LIMIT', 'timestamp space exhausted')
    return ts
  }

  /** The bare initiation (or response) `tick` repeats on the unconfirmed current session of `ps`, when due. */
  retransmission (ps: PeerState, now: number): Uint8Array | undefined {
    const cur = ps.current
    const o = this.#i.limits
    if (cur === undefined || (cur.role === 'initiator' ? cur.established : cur.confirmed)) return undefined
    if (cur.msSinceHandshake(now) < o.handshakeRetryMs || cur.handshakeRetries >= o.maxHandshakeRetries) return undefined
    cur.handshakeRetries++
    return this.#i.table.frame(cur, undefined, now)
  }

  /** A handshake response (repeated until we confirm): establishes our initiation, or is a known repeat. */
  openResponse (msg: SessionFrame & { t: 'hr' }, s: Session, now: number): OpenResult {
    const { table } = this.#i
    if (s.role !== 'initiator') throw authFailed()
    const ps = table.owner(s)
    let replies: Uint8Array[] = []
    const responseId = messageId(msg.h)
    if (!s.established) {
      if (s.hs === undefined) throw authFailed()
      let res
      try {
        res = readResponse(s.hs, msg.h)
      } catch (err) {
        throw authFailed(err)
      }
      s.remoteIndex = res.index
      s.setTransportKeys(res.keys.send, res.keys.recv)
      s.responseId = responseId
      s.hs = undefined
      s.msg1 = undefined
      s.confirmed = true
      this.#i.emit('session:confirmed', { peer: ps.key, sessionId: s.id })
      this.#i.log('session %s: confirmed by %k', s.id, ps.key.nodeId)
      if (ps.current === s) replies = [table.frame(s, undefined, now)]
    } else {
      if (s.responseId !== responseId) throw authFailed()
      if (ps.current === s && s.msSinceHandshake(now) >= this.#i.limits.handshakeRetryMs) {
        s.lastHandshakeAt = now
        replies = [table.frame(s, undefined, now)]
      }
    }
    let plaintext: Uint8Array | undefined
    if (msg.c !== undefined || msg.n !== undefined) {
      if (msg.c === undefined || msg.n === undefined) throw authFailed()
      plaintext = s.open('transport', msg.n, msg.c)
    }
    if (replies.length > 0) s.lastHandshakeAt = now
    const res = table.deliver(s, plaintext, now, replies, true)
    if (replies.length > 0) res.confirmationOnly = true
    return res
  }
}
