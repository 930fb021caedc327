// The explorer's world: real SessionManagers under a thin node layer, driven one action at a time by a
// scheduler that owns every nondeterministic choice, and the properties checked after every action.
//
// Model assumptions (what the explorer can and cannot see):
// - Time is one integer line (ms) that moves only on a `tick` action (by `tickMs`); every node's monotonic clock
//   is that line, its wall clock is the line + a per-node offset (`clock` actions step it). Frames take no time:
//   when a frame lands is the choice of which action comes next.
// - The network is a multiset of frames in flight. `deliver` hands one to its recipient (in any order: reordering
//   and delay), `drop` loses one, `dup` copies one (both draw on a fault budget). Paths: `direct` (two-way,
//   between every pair) or relayed `X>Y` (one-way unless `relayReplies`: replies to a relayed frame go back only
//   then). A relay names the authenticated sender to the recipient, as a real relay does.
// - The node layer models @egtp/node: application messages with unique IDs, sealed one per frame, acknowledged
//   by an ACK frame (not itself retried), re-sent when `session:replaced` names the session they were sealed
//   under and on a retry timer (1 s doubling to 4 s, DEFAULT_RETRY_*_MS of @egtp/node), reported failed after
//   MESSAGE_DEADLINE_MS (its DEFAULT_TIMEOUT_MS). The receiver delivers each ID once (its dedup state is assumed
//   durable); a restart loses the sender's outbox (those messages are reported failed at the crash).
// - A restart closes the manager and boots a new one, keeping or wiping its KeyValueStore; the store's writes
//   land before the next action (a fast disk). Ephemeral keys and receiver indices are derived from (node, boot),
//   so every schedule replays bit for bit.
// - State hashing (to prune repeats) abstracts the managers through `inspectSessions` and the gauges of
//   `stats()`, plus when each node last heard from each peer and last started a handshake; other hidden state
//   (exact token counts, the owed-recovery set, cached verdicts' expiry) is covered only through those times
//   and the clock. Two states that differ only there are merged: a stated source of incompleteness.
import { createHash } from 'node:crypto'
import { DEFAULT_IDLE_RECEIVE_TIMEOUT_MS } from '../../src/defaults.ts'
import { RECOVERY_BOUND_MS } from '../../src/index.ts'
import { inspectSessions } from '../../src/testing.ts'
import { ModelNode, MESSAGE_DEADLINE_MS, RETRY_INITIAL_MS, hashOf } from './node.ts'
import type { Config, Frame, NodeName } from './node.ts'

export { MESSAGE_DEADLINE_MS }
export type { Config, NodeConfig, NodeName } from './node.ts'

/** Deliveries in one instant of the calm phase beyond which the pair is declared in a frame storm. */
const STORM_FRAMES = 2_000

export interface Violation { kind: string, detail: string }

export interface SentMessage { id: number, from: NodeName, to: NodeName, at: number, probe: boolean }

export class World {
  readonly cfg: Config
  now = 1_000
  tx = 0
  readonly nodes = new Map<NodeName, ModelNode>()
  pending: Frame[] = []
  #frameSeq = 0
  faultsUsed = 0
  readonly usedEvents = new Set<string>()
  readonly sendsLeft = new Map<string, number>()
  readonly sent: SentMessage[] = []
  readonly failedAt = new Map<number, number>()
  readonly resends: Array<[ModelNode, number]> = []
  violation: Violation | undefined
  readonly trace: string[] = []
  readonly tickMs: number

  private constructor (cfg: Config) {
    this.cfg = cfg
    this.tickMs = cfg.tickMs ?? 1_000
    for (const [from, to, n] of cfg.sends) this.sendsLeft.set(`${from} ${to}`, (this.sendsLeft.get(`${from} ${to}`) ?? 0) + n)
  }

  static async create (cfg: Config): Promise<World> {
    const w = new World(cfg)
    for (const n of cfg.nodes) w.nodes.set(n.name, new ModelNode(w, n))
    for (const n of w.nodes.values()) await n.start()
    for (const a of cfg.setup) await w.apply(a, true)
    return w
  }

  note (line: string): void {
    if (this.trace.length < 10_000) this.trace.push(`t=${this.now} ${line}`)
  }

  violate (kind: string, detail: string): void {
    this.violation ??= { kind, detail }
  }

  hasPath (from: NodeName, to: NodeName): boolean {
    return this.cfg.direct !== false || (this.cfg.relay ?? []).includes(`${from}>${to}`)
  }

  /** Frames go direct when there is a direct path, else through a relay the sender may use, else nowhere. */
  route (from: ModelNode, to: ModelNode, bytes: Uint8Array): void {
    if (this.cfg.direct !== false) this.#push(from, to, bytes, false)
    else if ((this.cfg.relay ?? []).includes(`${from.name}>${to.name}`)) this.#push(from, to, bytes, true)
  }

  /** A reply goes back the way its frame came: direct, or through the relay only when it carries replies. */
  reply (from: ModelNode, to: ModelNode, bytes: Uint8Array, relayed: boolean): void {
    if (!relayed) this.#push(from, to, bytes, false)
    else if (this.cfg.relayReplies === true) this.#push(from, to, bytes, true)
  }

  #push (from: ModelNode, to: ModelNode, bytes: Uint8Array, relayed: boolean): void {
    this.pending.push({ id: ++this.#frameSeq, from: from.name, to: to.name, bytes, hash: hashOf(bytes), relayed, boot: from.boot })
  }

  /** The actions enabled now, in exploration order (deliveries of identical frames count once). */
  enabled (): string[] {
    const out: string[] = []
    const same = new Set<string>()
    for (const f of this.pending) {
      const k = `${f.to}/${String(f.relayed)}/${f.hash}`
      if (same.has(k)) continue
      same.add(k)
      out.push(`deliver ${f.id}`)
    }
    for (const [k, n] of this.sendsLeft) if (n > 0) out.push(`send ${k}`)
    out.push('tick')
    for (const e of this.cfg.events ?? []) if (!this.usedEvents.has(e)) out.push(e)
    if (this.faultsUsed < (this.cfg.faultBudget ?? 0)) {
      for (const f of this.pending) out.push(`drop ${f.id}`, `dup ${f.id}`)
    }
    return out
  }

  /** Apply one action; false when it is not enabled here (a shrunk schedule that lost its frame). */
  async apply (action: string, setup = false): Promise<boolean> {
    const [k, x, y] = action.split(' ')
    const frame = (): Frame | undefined => this.pending.find(f => f.id === Number(x))
    switch (k) {
      case 'deliver': {
        const f = frame()
        if (f === undefined) return false
        this.pending.splice(this.pending.indexOf(f), 1)
        this.nodes.get(f.to)!.receive(f)
        break
      }
      case 'drop': case 'dup': {
        const f = frame()
        if (f === undefined) return false
        if (!setup) this.faultsUsed++
        if (k === 'drop') this.pending.splice(this.pending.indexOf(f), 1)
        else this.pending.push({ ...f, id: ++this.#frameSeq })
        break
      }
      case 'send': {
        const key = `${x} ${y}`
        if (!setup) {
          const left = this.sendsLeft.get(key) ?? 0
          if (left <= 0) return false
          this.sendsLeft.set(key, left - 1)
        }
        this.send(x as NodeName, y as NodeName, false)
        break
      }
      case 'flush':
        // Setup only: every frame in flight lands, oldest first.
        while (this.pending.length > 0 && this.violation === undefined) await this.apply(`deliver ${this.pending[0]!.id}`, true)
        break
      case 'tick':
        this.now += this.tickMs
        for (const n of this.nodes.values()) n.tick()
        break
      case 'restart': case 'clock': {
        if (!setup) {
          if (this.usedEvents.has(action)) return false
          this.usedEvents.add(action)
        }
        const n = this.nodes.get(x as NodeName)!
        if (k === 'restart') await n.restart(y === 'store')
        else n.wallOffsetMs += Number(y)
        break
      }
      default:
        throw new Error(`unknown action ${action}`)
    }
    this.#drainResends()
    for (const n of this.nodes.values()) if (n.cfg.persistent) await n.manager.flush()
    return true
  }

  send (from: NodeName, to: NodeName, probe: boolean): number {
    const id = this.sent.length + 1
    this.sent.push({ id, from, to, at: this.now, probe })
    const n = this.nodes.get(from)!
    n.outbox.set(id, { to, sessionId: undefined, sentAt: this.now, nextRetryAt: this.now + RETRY_INITIAL_MS, retryMs: RETRY_INITIAL_MS * 2 })
    n.transmit(id)
    this.#drainResends()
    return id
  }

  #drainResends (): void {
    for (let i = 0; i < 10_000 && this.resends.length > 0; i++) {
      const [n, id] = this.resends.shift()!
      n.transmit(id)
    }
  }

  /** A canonical digest of the state: frame IDs and history left out, so commuting actions meet again. */
  hash (): string {
    const parts: unknown[] = [this.now, this.faultsUsed, [...this.usedEvents].sort(), [...this.sendsLeft]]
    for (const n of this.nodes.values()) {
      const peers = [...this.nodes.values()].filter(p => p !== n)
      const st = n.manager.stats()
      parts.push(n.boot, n.wallOffsetMs, st.sessions, st.currentSessions, st.cachedInitiations, st.replayRecords,
        peers.map(p => inspectSessions(n.manager, p.identity.nodeId).map(s =>
          [s.role, s.current, s.loser, s.established, s.confirmed, s.timestamp, s.localIndex, s.remoteIndex, s.sendCounter])),
        [...n.outbox].map(([id, m]) => [id, m.sessionId, m.nextRetryAt]), [...n.deliveredAt.keys()].sort(),
        [...n.lastHeard].sort(), n.lastHandshakeAt)
    }
    parts.push(this.pending.map(f => `${f.to}${String(f.relayed)}${f.hash}`).sort(), [...this.failedAt.keys()].sort())
    return createHash('sha1').update(JSON.stringify(parts)).digest('base64')
  }

  /** The recovery bound of this configuration: RECOVERY_BOUND_MS, plus the idle timeout on a one-way path. */
  boundMs (): number {
    const oneWay = this.cfg.direct === false && this.cfg.relayReplies !== true
    const idle = Math.max(...this.cfg.nodes.map(n => n.options?.idleReceiveTimeoutMs ?? DEFAULT_IDLE_RECEIVE_TIMEOUT_MS))
    return RECOVERY_BOUND_MS + (oneWay ? idle : 0)
  }

  /**
   * Faults stop: every frame in flight lands (oldest first), time moves by ticks. At calm + bound each pair
   * with a path sends a probe. Liveness: a message unresolved at calm is delivered by calm + bound (or its
   * deadline expired first); a probe is delivered within RECOVERY_BOUND_MS; both ends of a two-way pair agree
   * on one confirmed current session; nothing hangs past its deadline.
   */
  async settle (): Promise<void> {
    if (this.violation !== undefined) return
    const calm = this.now
    const bound = this.boundMs()
    const open = this.sent.filter(m => !this.nodes.get(m.to)!.deliveredAt.has(m.id) && !this.failedAt.has(m.id))
    const pairs = this.#pairs()
    let probes: SentMessage[] = []
    const drain = async (): Promise<boolean> => {
      for (let i = 0; this.pending.length > 0; i++) {
        if (i >= STORM_FRAMES) {
          this.violate('frame storm', `more than ${STORM_FRAMES} frames in one instant at t=${this.now}`)
          return false
        }
        await this.apply(`deliver ${this.pending[0]!.id}`, true)
        if (this.violation !== undefined) return false
      }
      return true
    }
    const late = (m: SentMessage, by: number): boolean => {
      const d = this.nodes.get(m.to)!.deliveredAt.get(m.id) ?? Infinity
      const failed = this.failedAt.get(m.id) ?? Infinity
      return d > by && !(failed <= by && failed - m.at >= MESSAGE_DEADLINE_MS)
    }
    const end = calm + bound + RECOVERY_BOUND_MS
    while (this.now <= end) {
      if (!await drain()) return
      if (this.now >= calm + bound && probes.length === 0) {
        // Owed messages are judged before the probes go out (a probe's handshake must not rescue them).
        for (const m of open) {
          if (this.hasPath(m.from, m.to) && late(m, calm + bound)) {
            return this.violate('liveness', `message ${m.id} ${m.from}→${m.to} (sent t=${m.at}) not delivered by calm t=${calm} + ${bound} ms`)
          }
        }
        probes = pairs.map(([a, b]) => this.sent[this.send(a, b, true) - 1]!)
        if (!await drain()) return
      }
      await this.apply('tick', true)
    }
    if (!await drain()) return
    for (const p of probes) {
      if ((this.nodes.get(p.to)!.deliveredAt.get(p.id) ?? Infinity) > p.at + RECOVERY_BOUND_MS) {
        return this.violate('liveness', `probe ${p.from}→${p.to} sent at calm + ${p.at - calm} ms not delivered within ${RECOVERY_BOUND_MS} ms`)
      }
    }
    for (const [a, b] of pairs) {
      // At most one current session per pair: when both ends hold one, it is the same, and confirmed on a
      // two-way path (either end may have none: idle expiry is allowed to end it).
      const twoWay = this.hasPath(b, a) || this.cfg.relayReplies === true
      const x = this.nodes.get(a)!.current(this.nodes.get(b)!)
      const y = this.nodes.get(b)!.current(this.nodes.get(a)!)
      if (x === undefined || y === undefined) continue
      const agree = x.timestamp === y.timestamp && x.initiator === y.initiator &&
        (!twoWay || (x.confirmed && y.confirmed && x.established && y.established))
      if (!agree) return this.violate('no single session', `${a} and ${b} hold different or unconfirmed current sessions after calm + ${bound + RECOVERY_BOUND_MS} ms`)
    }
    for (const m of this.sent) {
      const resolved = this.nodes.get(m.to)!.deliveredAt.has(m.id) || this.failedAt.has(m.id) || this.now - m.at < MESSAGE_DEADLINE_MS
      if (!resolved) return this.violate('hang', `message ${m.id} ${m.from}→${m.to} neither delivered nor reported failed`)
    }
  }

  /** Ordered pairs that exchange messages in this configuration and have a path that way. */
  #pairs (): Array<[NodeName, NodeName]> {
    const out: Array<[NodeName, NodeName]> = []
    for (const [a, b] of this.cfg.sends) {
      if (this.hasPath(a, b) && !out.some(([x, y]) => x === a && y === b)) out.push([a, b])
    }
    return out
  }
}
