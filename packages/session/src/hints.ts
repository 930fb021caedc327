// Unknown-session hints (PROTOCOL.md §Sessions, "Hints"): a signed "I do not know this session" for a frame
// on an index we do not hold (plus a fresh initiation when the path named its sender), and acting on a
// verified hint about one of ours.
import { TokenBucket } from '@egtp/interface'
import type { Logger } from '@egtp/interface'
import { signCanonical, verifyCanonical } from '@egtp/identity'
import type { NodeIdentity } from '@egtp/identity'
import { HINT_CONTEXT } from './constants.ts'
import { authFailed } from './errors.ts'
import type { Initiator } from './initiator.ts'
import { mutations } from './internal.ts'
import type { Lifetime } from './lifetime.ts'
import type { PartInit, PeerState } from './peer-table.ts'
import type { FrameOrigin, OpenResult } from './types.ts'
import { hintValue, sessionCodec } from '@egtp/codec/session'
import type { SessionFrame } from '@egtp/codec/session'

export interface HintsInit extends PartInit {
  identity: NodeIdentity
  log: Logger
  lifetime: Lifetime
  initiator: Initiator
}

export class Hints {
  readonly #i: HintsInit
  /** Signed hints produced per second (each costs a signature). */
  readonly #budget: TokenBucket

  constructor (init: HintsInit) {
    this.#i = init
    this.#budget = new TokenBucket(init.limits.maxHintsPerSecond, init.limits.maxHintsPerSecond, init.clock.monotonic())
  }

  /** A frame for a session we do not know: sign a hint the sender can check, and initiate when we know who sent it. */
  unknown (r: number, n: number | undefined, now: number, from: FrameOrigin | undefined): OpenResult {
    const { identity, table } = this.#i
    const replies: Uint8Array[] = []
    if (mutations.disableHints) return { replies }
    if (this.#budget.tryTake(1, now)) {
      const g = signCanonical(identity, HINT_CONTEXT, hintValue(r, n))
      replies.push(sessionCodec.encode(n === undefined ? { t: 'hu', r, k: identity.publicKey, g } : { t: 'hu', r, n, k: identity.publicKey, g }))
      this.#i.stats.hintsSent++
    }
    const sender = from?.authenticatedSender
    if (sender !== undefined && sender !== identity.nodeId) {
      let ps: PeerState | undefined = table.peer(sender)
      if (ps === undefined && from?.authenticatedSenderKey !== undefined) {
        try {
          ps = table.peerFor({ nodeId: sender, publicKey: from.authenticatedSenderKey })
        } catch {
          ps = undefined
        }
      }
      if (ps !== undefined && !this.#i.lifetime.working(ps.current, now) && ps.tryTake(1, now)) {
        const cur = ps.current
        const s = cur !== undefined && cur.role === 'initiator' && !cur.established ? cur : this.#i.initiator.initiate(ps, now, 'restart')
        replies.push(table.frame(s, undefined, now))
      }
    }
    this.#i.log.trace('frame for unknown session index; %d replies', replies.length)
    return { replies }
  }

  /** A peer says it does not know one of our sessions with it: drop that session (a current one ends). */
  open (msg: SessionFrame & { t: 'hu' }, now: number): OpenResult {
    const { table } = this.#i
    const ps = table.signer(msg.k)
    const s = ps.sessions().find(x => !x.loser && x.remoteIndex === msg.r)
    // The hint must name a frame we really sent on that session, and carry the peer's signature.
    if (s === undefined || (msg.n !== undefined && msg.n >= s.sendCounter)) throw authFailed()
    if (!verifyCanonical(msg.k, HINT_CONTEXT, hintValue(msg.r, msg.n), msg.g)) throw authFailed()
    this.#i.stats.hintsAccepted++
    this.#i.log('session %s: %k says it does not know it', s.id, ps.key.nodeId)
    if (ps.current === s) {
      table.demote(ps, 'hint', undefined, now)
      table.discard(ps, s)
    } else {
      table.discard(ps, s)
      this.#i.emit('session:replaced', { peer: ps.key, oldSessionId: s.id, ...(ps.current === undefined ? {} : { newSessionId: ps.current.id }), reason: 'hint' })
    }
    return { peer: ps.key, replies: [] }
  }
}
