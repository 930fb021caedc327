// A deterministic network simulator for session managers: one fake time line, per-node wall-clock offsets,
// links that delay, reorder, duplicate and drop, and a store-and-forward relay that is one-way unless replies
// are enabled (a real relay lets the recipient answer the authenticated sender). Seeded: every run replays.
import { MemoryStore } from '@egtp/interface'
import type { Clock } from '@egtp/interface'
import type { NodeIdentity } from '@egtp/identity'
import { seededRandom } from '@egtp/testing'
import { SessionManager, refusalReplies } from '../../src/index.ts'
import type { PeerKey, SessionManagerInit } from '../../src/index.ts'
import { inspectSessions } from '../../src/testing.ts'

/** Mulberry32: small, fast, seedable (the one of @egtp/testing). */
export const prng = seededRandom

export interface LinkConfig {
  /** Delay range (ms). Random delays reorder frames. */
  minDelayMs: number
  maxDelayMs: number
  loss: number
  duplicate: number
}

export const RELIABLE: LinkConfig = { minDelayMs: 5, maxDelayMs: 5, loss: 0, duplicate: 0 }

type Path = 'direct' | 'relay'

interface Delivery {
  at: number
  seq: number
  to: string
  from: string
  frame: Uint8Array
  path: Path
}

const MSG = 1
const ACK = 2

/** Application frames: kind, message ID, transmission number (each transmission is a distinct frame). */
function appFrame (kind: number, id: number, attempt: number): Uint8Array {
  const out = new Uint8Array(13)
  out[0] = kind
  new DataView(out.buffer).setFloat64(1, id)
  new DataView(out.buffer).setUint32(9, attempt)
  return out
}

export interface SimNodeInit {
  name: string
  identity: NodeIdentity
  /** Persist replay state across restarts (a store that survives the process). */
  persistent?: boolean
  wallOffsetMs?: number
  options?: Partial<SessionManagerInit>
}

export class SimNode {
  readonly name: string
  readonly identity: NodeIdentity
  readonly peerKey: PeerKey
  readonly sim: Simulator
  readonly persistent: boolean
  options: Partial<SessionManagerInit>
  wallOffsetMs: number
  store: MemoryStore
  manager!: SessionManager
  /** Message IDs delivered to the application, with counts (duplicates are a bug of the test's app layer). */
  readonly delivered = new Map<number, number>()
  readonly deliveredAt = new Map<number, number>()
  /** Deliveries per transmission ("id/attempt"): more than one means the session layer let a replay through. */
  readonly transmissions = new Map<string, number>()
  #attempt = 0
  /** Unacknowledged messages: id → { to, sessionId, sentAt }. */
  readonly unacked = new Map<number, { to: string, sessionId: string | undefined, sentAt: number }>()
  readonly errors = new Map<string, number>()
  readonly events: Array<{ at: number, type: string, reason?: string }> = []
  restarts = 0
  /** Application retransmissions per message before giving up (a one-way path never acknowledges). */
  maxAttempts = Infinity
  readonly #attempts = new Map<number, number>()

  constructor (sim: Simulator, init: SimNodeInit) {
    this.sim = sim
    this.name = init.name
    this.identity = init.identity
    this.peerKey = { nodeId: init.identity.nodeId, publicKey: init.identity.publicKey }
    this.persistent = init.persistent ?? false
    this.wallOffsetMs = init.wallOffsetMs ?? 0
    this.options = init.options ?? {}
    this.store = new MemoryStore()
  }

  get clock (): Clock {
    return { now: () => this.sim.now + this.sim.epochMs + this.wallOffsetMs, monotonic: () => this.sim.now }
  }

  async boot (): Promise<void> {
    if (!this.persistent) this.store = new MemoryStore()
    this.manager = new SessionManager({ identity: this.identity, clock: this.clock, store: this.store, ...this.options })
    await this.manager.start()
    this.manager.addEventListener('session:replaced', (e) => {
      this.events.push({ at: this.sim.now, type: 'replaced', reason: e.detail.reason })
      // Like the node: re-send what was sealed under the old session and is not acknowledged.
      for (const [id, m] of this.unacked) {
        if (m.to === e.detail.peer.nodeId && m.sessionId === e.detail.oldSessionId) this.sim.schedule(0, () => { this.resend(id) })
      }
    })
    this.manager.addEventListener('session:new', () => { this.events.push({ at: this.sim.now, type: 'new' }) })
    this.manager.addEventListener('session:clock-skew', (e) => { this.events.push({ at: this.sim.now, type: 'clock-skew', reason: String(e.detail.skewMs) }) })
  }

  /** Crash and come back: sessions are lost; the store survives only when persistent. */
  async restart (wallOffsetMs?: number): Promise<void> {
    this.manager.close()
    this.restarts++
    if (wallOffsetMs !== undefined) this.wallOffsetMs = wallOffsetMs
    await this.boot()
  }

  /** Send an application message to `to` (tracked until acknowledged). */
  send (to: SimNode, id: number): void {
    this.unacked.set(id, { to: to.identity.nodeId, sessionId: undefined, sentAt: this.sim.now })
    this.transmit(to.identity.nodeId, id)
  }

  resend (id: number): void {
    const m = this.unacked.get(id)
    if (m !== undefined) this.transmit(m.to, id)
  }

  transmit (to: string, id: number): void {
    const n = (this.#attempts.get(id) ?? 0) + 1
    this.#attempts.set(id, n)
    if (n > this.maxAttempts) {
      this.unacked.delete(id)
      return
    }
    const peer = this.sim.node(to)
    try {
      const { frame, sessionId } = this.manager.seal(peer.peerKey, appFrame(MSG, id, ++this.#attempt))
      const m = this.unacked.get(id)
      if (m !== undefined) { m.sessionId = sessionId; m.sentAt = this.sim.now }
      this.sim.route(this, peer, frame)
    } catch (err) {
      this.count(err)
    }
  }

  receive (frame: Uint8Array, from: string, path: Path): void {
    const sender = this.sim.node(from)
    let res
    try {
      res = this.manager.open(frame, path === 'relay' ? { authenticatedSender: from, authenticatedSenderKey: sender.identity.publicKey } : undefined)
    } catch (err) {
      this.count(err)
      // A refusal may carry a notice for the sender (the clock-window notice), sent back like any reply.
      for (const reply of refusalReplies(err)) this.sim.reply(this, sender, reply, path)
      return
    }
    for (const reply of res.replies) this.sim.reply(this, sender, reply, path)
    const p = res.plaintext
    if (p === undefined || res.peer === undefined) return
    const view = new DataView(p.buffer, p.byteOffset, p.byteLength)
    const id = view.getFloat64(1)
    const tx = `${from}/${view.getUint32(9)}`
    this.transmissions.set(tx, (this.transmissions.get(tx) ?? 0) + 1)
    if (p[0] === MSG) {
      this.delivered.set(id, (this.delivered.get(id) ?? 0) + 1)
      if (!this.deliveredAt.has(id)) this.deliveredAt.set(id, this.sim.now)
      try {
        const ack = this.manager.seal(res.peer, appFrame(ACK, id, ++this.#attempt))
        this.sim.route(this, this.sim.node(res.peer.nodeId), ack.frame)
      } catch (err) {
        this.count(err)
      }
    } else if (p[0] === ACK) {
      this.unacked.delete(id)
    }
  }

  tick (): void {
    for (const { peer, frame } of this.manager.tick()) this.sim.route(this, this.sim.node(peer.nodeId), frame)
    // Application retry: anything unacknowledged for 3 s goes again.
    for (const [id, m] of this.unacked) if (this.sim.now - m.sentAt >= 3_000) this.transmit(m.to, id)
  }

  count (err: unknown): void {
    const code = (err as { code?: string }).code ?? String(err)
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1)
  }

  current (peer: SimNode): ReturnType<typeof inspectSessions>[number] | undefined {
    return inspectSessions(this.manager, peer.identity.nodeId).find(s => s.current)
  }
}

export interface SimInit {
  seed: number
  link?: LinkConfig
  /** Paths between the two nodes. */
  direct?: boolean
  /** Relay from → to pairs, e.g. ['A>B']; replies to the authenticated sender when relayReplies. */
  relay?: string[]
  relayReplies?: boolean
  relayPollMs?: number
  tickMs?: number
}

export class Simulator {
  now = 0
  readonly epochMs = 1_700_000_000_000
  readonly random: () => number
  link: LinkConfig
  direct: boolean
  relay: Set<string>
  relayReplies: boolean
  readonly relayPollMs: number
  readonly tickMs: number
  readonly nodes = new Map<string, SimNode>()
  readonly #queue: Array<{ at: number, seq: number, run: () => void }> = []
  readonly #mailbox = new Map<string, Delivery[]>()
  #seq = 0
  framesSent = 0

  constructor (init: SimInit) {
    this.random = prng(init.seed)
    this.link = init.link ?? RELIABLE
    this.direct = init.direct ?? true
    this.relay = new Set(init.relay ?? [])
    this.relayReplies = init.relayReplies ?? false
    this.relayPollMs = init.relayPollMs ?? 2_000
    this.tickMs = init.tickMs ?? 1_000
  }

  async add (init: SimNodeInit): Promise<SimNode> {
    const n = new SimNode(this, init)
    this.nodes.set(init.identity.nodeId, n)
    await n.boot()
    return n
  }

  node (nodeId: string): SimNode {
    return this.nodes.get(nodeId)!
  }

  schedule (delayMs: number, run: () => void): void {
    const item = { at: this.now + delayMs, seq: this.#seq++, run }
    // Binary insertion keeps the queue ordered by (at, seq): deterministic.
    let lo = 0
    let hi = this.#queue.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      const q = this.#queue[mid]!
      if (q.at < item.at || (q.at === item.at && q.seq < item.seq)) lo = mid + 1
      else hi = mid
    }
    this.#queue.splice(lo, 0, item)
  }

  /** Run `fn` every `periodMs` from now until `until`. */
  every (periodMs: number, until: number, fn: () => void): void {
    const step = (): void => {
      if (this.now > until) return
      fn()
      this.schedule(periodMs, step)
    }
    this.schedule(periodMs, step)
  }

  /** Run until the nodes converge (checked every 10 ms) or `until`; returns the time or undefined. */
  async runUntilConverged (a: SimNode, b: SimNode, until: number): Promise<number | undefined> {
    while (this.now < until) {
      await this.runUntil(Math.min(until, this.now + 10))
      if (this.converged(a, b)) return this.now
    }
    return undefined
  }

  /** A node sends a frame to a peer over the best path it has (direct, else a relay it may use). */
  route (from: SimNode, to: SimNode, frame: Uint8Array): void {
    if (this.direct) this.#transmit(from, to, frame, 'direct')
    else if (this.relay.has(`${from.name}>${to.name}`)) this.#transmit(from, to, frame, 'relay')
  }

  /** A reply goes back the way the frame came: directly, or through the relay only when it carries replies. */
  reply (from: SimNode, to: SimNode, frame: Uint8Array, path: Path): void {
    if (path === 'direct') this.#transmit(from, to, frame, 'direct')
    else if (this.relayReplies) this.#transmit(from, to, frame, 'relay')
  }

  #transmit (from: SimNode, to: SimNode, frame: Uint8Array, path: Path): void {
    this.framesSent++
    const l = this.link
    if (this.random() < l.loss) return
    const copies = this.random() < l.duplicate ? 2 : 1
    for (let i = 0; i < copies; i++) {
      const delay = l.minDelayMs + Math.floor(this.random() * (l.maxDelayMs - l.minDelayMs + 1))
      const d: Delivery = { at: this.now + delay, seq: this.#seq++, to: to.identity.nodeId, from: from.identity.nodeId, frame, path }
      if (path === 'direct') {
        this.schedule(delay, () => { this.node(d.to).receive(d.frame, d.from, 'direct') })
      } else {
        // Store and forward: the relay holds it until the recipient's next poll.
        this.schedule(delay, () => {
          const box = this.#mailbox.get(d.to) ?? []
          box.push(d)
          this.#mailbox.set(d.to, box)
        })
      }
    }
  }

  #poll (nodeId: string): void {
    const box = this.#mailbox.get(nodeId)
    if (box === undefined || box.length === 0) return
    this.#mailbox.set(nodeId, [])
    const n = this.node(nodeId)
    for (const d of box) n.receive(d.frame, d.from, 'relay')
  }

  /** Run until `until` (ms): frames, node ticks and relay polls, in deterministic order. */
  async runUntil (until: number): Promise<void> {
    while (true) {
      const nextTick = Math.ceil((this.now + 1) / this.tickMs) * this.tickMs
      const nextPoll = Math.ceil((this.now + 1) / this.relayPollMs) * this.relayPollMs
      const nextEvent = this.#queue[0]?.at ?? Infinity
      const next = Math.min(nextTick, nextPoll, nextEvent)
      if (next > until) {
        this.now = until
        return
      }
      this.now = Math.max(this.now, next)
      while (this.#queue.length > 0 && this.#queue[0]!.at <= this.now) this.#queue.shift()!.run()
      if (this.now === nextPoll && this.relay.size > 0) for (const id of this.nodes.keys()) this.#poll(id)
      if (this.now === nextTick) for (const n of this.nodes.values()) n.tick()
      // Let the (memory) store's writes land, as a fast disk would.
      await new Promise(resolve => setImmediate(resolve))
    }
  }

  /** The two nodes agree on one current session, both confirmed. */
  converged (a: SimNode, b: SimNode): boolean {
    const x = a.current(b)
    const y = b.current(a)
    return x !== undefined && y !== undefined && x.timestamp === y.timestamp && x.initiator === y.initiator &&
      x.confirmed && y.confirmed && x.established && y.established
  }
}
