// The explorer's node layer: one real SessionManager per node under a thin model of @egtp/node (application
// messages with IDs, acknowledgements, re-sends, a deadline), and the per-frame safety checks. The model's
// assumptions are listed at the top of model.ts.
import { createHash } from 'node:crypto'
import { MemoryStore } from '@egtp/interface'
import type { NodeIdentity } from '@egtp/identity'
import { SessionManager, refusalReplies } from '../../src/index.ts'
import type { PeerKey, SessionManagerInit } from '../../src/index.ts'
import { injectEphemerals, inspectSessions, keyPairFromSecret } from '../../src/testing.ts'
import { messageId } from '../../src/ik.ts'
import { readDataFrame, sessionCodec } from '@egtp/codec/session'
import { identity, seededRandom } from '../helpers/fixtures.ts'
import type { World } from './model.ts'

/** @egtp/node's DEFAULT_TIMEOUT_MS: an unacknowledged message is reported failed this long after it was sent. */
export const MESSAGE_DEADLINE_MS = 30_000
export const RETRY_INITIAL_MS = 1_000
const RETRY_MAX_MS = 4_000
const EPOCH_MS = 1_700_000_000_000

export type NodeName = 'A' | 'B' | 'C'

export interface NodeConfig {
  name: NodeName
  persistent: boolean
  wallOffsetMs?: number
  options?: Partial<SessionManagerInit>
}

export interface Config {
  name: string
  nodes: NodeConfig[]
  /** Two-way direct path between every pair (default true). */
  direct?: boolean
  /** One-way relayed paths, e.g. ['A>B']. */
  relay?: string[]
  relayReplies?: boolean
  tickMs?: number
  /** Actions run before exploring (not explored, not counted in the depth). */
  setup: string[]
  /** Application messages the explorer may send: [from, to, how many]. */
  sends: Array<[NodeName, NodeName, number]>
  /** Fault actions, each usable once: 'restart B store', 'restart B wipe', 'clock B 120000'. */
  events?: string[]
  /** Drops and duplications allowed in one schedule. */
  faultBudget?: number
  /** Exhaustive depth (actions after the setup). */
  depth: number
}

/** A frame in flight; `boot` is its sender's run that made it (a later run never sealed it). */
export interface Frame { id: number, from: NodeName, to: NodeName, bytes: Uint8Array, hash: string, relayed: boolean, boot: number }

interface Outgoing { to: NodeName, sessionId: string | undefined, sentAt: number, nextRetryAt: number, retryMs: number }

export const hashOf = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex').slice(0, 16)
const errCode = (err: unknown): string => (err as { code?: string }).code ?? (err instanceof Error ? err.message : String(err))

const LABEL: Record<NodeName, number> = { A: 1, B: 2, C: 3 }
export const MSG = 1
const ACK = 2

function appFrame (kind: number, id: number, tx: number): Uint8Array {
  const out = new Uint8Array(9)
  out[0] = kind
  const v = new DataView(out.buffer)
  v.setUint32(1, id)
  v.setUint32(5, tx)
  return out
}

const identities = new Map<NodeName, NodeIdentity>()
/** Identities are derived once per process (an Ed25519 key pair each): every replay reuses them. */
function identityOf (name: NodeName): NodeIdentity {
  let id = identities.get(name)
  if (id === undefined) identities.set(name, id = identity(LABEL[name]))
  return id
}

export class ModelNode {
  readonly name: NodeName
  readonly identity: NodeIdentity
  readonly peerKey: PeerKey
  readonly cfg: NodeConfig
  readonly world: World
  store = new MemoryStore()
  manager!: SessionManager
  boot = 0
  wallOffsetMs: number
  readonly outbox = new Map<number, Outgoing>()
  /** Application delivery (durable dedup): message ID → time. */
  readonly deliveredAt = new Map<number, number>()
  /** Per boot (or for good with a store): transmissions opened, initiations accepted, highest accepted timestamp. */
  opened = new Set<number>()
  acceptedInits = new Set<string>()
  seenBytes = new Set<string>()
  maxAcceptedTs = new Map<string, number>()
  knownResponder = new Set<string>()
  /**
   * Timers the hash cannot see inside the manager, approximated from outside: when this run last opened a
   * frame from each peer (idle expiry, the recovery quiet period) and last started a handshake (token buckets).
   */
  readonly lastHeard = new Map<NodeName, number>()
  lastHandshakeAt = -1
  /** Counters sent per session of this boot (nonce reuse check). */
  sentCounters = new Map<string, Set<number>>()

  constructor (world: World, cfg: NodeConfig) {
    this.world = world
    this.cfg = cfg
    this.name = cfg.name
    this.identity = identityOf(cfg.name)
    this.peerKey = { nodeId: this.identity.nodeId, publicKey: this.identity.publicKey }
    this.wallOffsetMs = cfg.wallOffsetMs ?? 0
  }

  async start (): Promise<void> {
    const w = this.world
    this.manager = new SessionManager({
      identity: this.identity,
      clock: { now: () => EPOCH_MS + w.now + this.wallOffsetMs, monotonic: () => w.now },
      store: this.store,
      random: seededRandom(LABEL[this.name] * 1_000 + this.boot + 1),
      ...this.cfg.options
    })
    let n = 0
    const prefix = `${this.name}/${this.boot}/`
    injectEphemerals(this.manager, () => keyPairFromSecret(createHash('sha256').update(prefix + String(n++)).digest()))
    this.manager.addEventListener('session:new', () => { this.lastHandshakeAt = w.now })
    this.manager.addEventListener('session:replaced', ({ detail }) => {
      for (const [id, m] of this.outbox) {
        if (m.sessionId === detail.oldSessionId && w.nodes.get(m.to)!.identity.nodeId === detail.peer.nodeId) w.resends.push([this, id])
      }
    })
    await this.manager.start()
  }

  async restart (keepStore: boolean): Promise<void> {
    this.manager.close()
    for (const id of this.outbox.keys()) this.world.failedAt.set(id, this.world.now)
    this.outbox.clear()
    if (!keepStore) this.store = new MemoryStore()
    this.boot++
    if (!keepStore || !this.cfg.persistent) {
      this.opened = new Set()
      this.maxAcceptedTs = new Map()
    }
    this.acceptedInits = new Set()
    this.seenBytes = new Set()
    this.knownResponder = new Set()
    this.lastHeard.clear()
    this.lastHandshakeAt = -1
    this.sentCounters = new Map()
    await this.start()
  }

  /** Seal one application frame for `to` and put it on the network; false when the manager refused. */
  seal (to: ModelNode, kind: number, id: number): string | undefined {
    const w = this.world
    let res
    try {
      res = this.manager.seal(to.peerKey, appFrame(kind, id, ++w.tx))
    } catch (err) {
      w.note(`${this.name} seal ${kind === MSG ? 'msg' : 'ack'} ${id}: ${errCode(err)}`)
      return undefined
    }
    const msg = readDataFrame(res.frame) ?? sessionCodec.decode(res.frame)
    if (msg.t !== 'hu' && msg.t !== 'hc' && msg.t !== 'hk' && msg.n !== undefined) {
      const key = res.sessionId
      const seen = this.sentCounters.get(key) ?? new Set<number>()
      if (seen.has(msg.n)) w.violate('nonce reuse', `${this.name} sealed counter ${msg.n} twice under session ${key}`)
      seen.add(msg.n)
      this.sentCounters.set(key, seen)
    }
    w.route(this, to, res.frame)
    return res.sessionId
  }

  transmit (id: number): void {
    const m = this.outbox.get(id)
    if (m === undefined) return
    const sessionId = this.seal(this.world.nodes.get(m.to)!, MSG, id)
    if (sessionId !== undefined) m.sessionId = sessionId
  }

  receive (f: Frame): void {
    const w = this.world
    const from = w.nodes.get(f.from)!
    // A first delivery from a sender still in the run that sealed it: refusing it loses live data.
    const fresh = !this.seenBytes.has(f.hash) && from.boot === f.boot
    this.seenBytes.add(f.hash)
    let msg
    try {
      msg = readDataFrame(f.bytes) ?? sessionCodec.decode(f.bytes)
    } catch (err) {
      w.violate('malformed frame', `${this.name} cannot decode a frame from ${f.from}: ${errCode(err)}`)
      return
    }
    const init = msg.t === 'hi' ? messageId(msg.h) : undefined
    let res
    try {
      // The transport source, as @egtp/node labels it: the sender's address, or the relay and the sender it names.
      res = this.manager.open(f.bytes, f.relayed
        ? { authenticatedSender: from.identity.nodeId, authenticatedSenderKey: from.identity.publicKey, source: `relay:R:${from.identity.nodeId}` }
        : { source: `addr:${from.name}` })
    } catch (err) {
      const code = errCode(err)
      w.note(`${this.name} open ${msg.t} from ${f.from}: ${code}`)
      if (fresh && init !== undefined && this.acceptedInits.has(init) && code !== 'ERR_RATE_LIMITED') {
        w.violate('accepted initiation refused', `${this.name} accepted ${f.from}'s initiation, then refused a new frame carrying it (${code})`)
      }
      if (fresh && (msg.t === 'hr' || msg.t === 'hd') && msg.n !== undefined && code === 'ERR_REPLAY') {
        w.violate('fresh frame refused as a replay', `${this.name} refused a first delivery of ${f.from}'s ${msg.t} counter ${msg.n}`)
      }
      // A refusal's notice (the signed clock-window notice, a cookie reply) goes back like any reply.
      for (const reply of refusalReplies(err)) w.reply(this, from, reply, f.relayed)
      return
    }
    this.lastHeard.set(from.name, w.now)
    w.note(`${this.name} opened ${msg.t} from ${f.from}${res.plaintext === undefined ? '' : ' +data'}, ${res.replies.length} replies`)
    if (init !== undefined && res.sessionId !== undefined) this.acceptedInits.add(init)
    this.checkAccepted(from)
    for (const reply of res.replies) w.reply(this, from, reply, f.relayed)
    const p = res.plaintext
    if (p === undefined || res.peer === undefined) return
    const v = new DataView(p.buffer, p.byteOffset, p.byteLength)
    const id = v.getUint32(1)
    const tx = v.getUint32(5)
    if (this.opened.has(tx)) w.violate('replay accepted', `${this.name} opened transmission ${tx} from ${f.from} twice`)
    this.opened.add(tx)
    if (p[0] === MSG) {
      if (!this.deliveredAt.has(id)) this.deliveredAt.set(id, w.now)
      this.seal(from, ACK, id)
    } else {
      this.outbox.delete(id)
    }
  }

  /** Every initiation a node accepts from a peer (winner or loser) has a higher timestamp than the last one. */
  checkAccepted (from: ModelNode): void {
    for (const s of inspectSessions(this.manager, from.identity.nodeId)) {
      if (s.role !== 'responder' || this.knownResponder.has(s.id)) continue
      this.knownResponder.add(s.id)
      const last = this.maxAcceptedTs.get(from.name) ?? -Infinity
      if (s.timestamp <= last) this.world.violate('replayed initiation accepted', `${this.name} accepted ${from.name}'s initiation ${s.timestamp} after ${last}`)
      this.maxAcceptedTs.set(from.name, Math.max(last, s.timestamp))
    }
  }

  tick (): void {
    const w = this.world
    for (const { peer, frame } of this.manager.tick()) {
      const to = [...w.nodes.values()].find(n => n.identity.nodeId === peer.nodeId)!
      w.route(this, to, frame)
    }
    for (const [id, m] of [...this.outbox]) {
      if (w.now - m.sentAt >= MESSAGE_DEADLINE_MS) {
        this.outbox.delete(id)
        w.failedAt.set(id, w.now)
      } else if (w.now >= m.nextRetryAt) {
        m.nextRetryAt = w.now + m.retryMs
        m.retryMs = Math.min(RETRY_MAX_MS, m.retryMs * 2)
        this.transmit(id)
      }
    }
  }

  current (peer: ModelNode): ReturnType<typeof inspectSessions>[number] | undefined {
    return inspectSessions(this.manager, peer.identity.nodeId).find(s => s.current)
  }
}

