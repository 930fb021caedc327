import { EgtpError } from '@egtp/interface'
import {
  DEFAULT_MEMORY_CLOSE_TIMEOUT_MS, DEFAULT_MEMORY_MAX_CONNECTIONS, DEFAULT_MEMORY_MAX_FRAME_BYTES,
  DEFAULT_MEMORY_MAX_QUEUED_BYTES_PER_CONN, DEFAULT_MEMORY_SEND_TIMEOUT_MS, MEMORY_HOST_SUFFIX,
  DEFAULT_MEMORY_CONNECT_TIMEOUT_MS, DEFAULT_MEMORY_RETRANSMIT_MS, MAX_MEMORY_RETRANSMITS
} from './constants.ts'
import { MemoryCommstrat } from './commstrat.ts'
import type { MemoryCommstratInit } from './commstrat.ts'
import { MemoryConn } from './conn.ts'
import type { Direction, MemoryConnLimits } from './conn.ts'
import { LinkTable, checkConditions } from './links.ts'
import type { LinkConditions, ResolvedConditions } from './links.ts'
import { MemoryTransport } from './transport.ts'
import type { MemoryTransportInit } from './transport.ts'

export interface MemoryNetworkInit extends LinkConditions {
  /** Seed of every random draw (loss, jitter): the same seed and the same sends give the same fates. Default 1. */
  seed?: number
  maxFrameBytes?: number
  maxQueuedBytesPerConn?: number
  sendTimeoutMs?: number
  closeTimeoutMs?: number
  /** Connections per commstrat or transport. */
  maxConnections?: number
  /**
   * The retransmission delay of a transport's connections (streams): a loss draw delays a frame by it instead
   * of dropping it, and a frame held by a partition is tried again this often.
   */
  retransmitMs?: number
}

/** Frame counters of the whole network. */
export interface MemoryNetworkStats {
  /** Frames handed to a connection (lost ones included). */
  sent: number
  delivered: number
  /** Lost to `loss` (frames of commstrat connections). */
  lost: number
  /** Loss draws that delayed a frame of a transport's connection (a stream) by a retransmission. */
  retransmitted: number
  /** Dropped by a partition (at send or while in flight; commstrat connections). */
  cut: number
  /** Times a due frame of a transport's connection waited for a partition to heal. */
  held: number
  /** In flight when their connection ended (abort, or the other end closed). */
  discarded: number
  /** Sent and not yet delivered, lost, cut or discarded. */
  inFlight: number
  /** Connections opened so far. */
  connections: number
}

/**
 * What links join and partitions cut: a commstrat, or a transport (one process that dials and listens).
 * Conditions and cuts belong to participants, not to addresses: a transport's listeners and the connections it
 * dials all pass its links.
 */
export type MemoryParticipant = MemoryCommstrat | MemoryTransport

/** Who takes the connections of a bound port; links and partitions apply to `owner`. */
interface Binding {
  owner: MemoryParticipant
  accept: (conn: MemoryConn) => void
}

/**
 * Names a transport may use for the network's one simulated host besides `network.host`, so that a service
 * configured for loopback (`127.0.0.1`, port 0) or every interface runs unchanged: they are names only, no real
 * socket is ever opened. Listeners report `network.host` as their address, so an address that leaks to a real
 * tcp transport fails fast (`.invalid`) instead of reaching a stranger on the real loopback.
 */
const HOST_ALIASES = new Set(['127.0.0.1', 'localhost', '::1', '[::1]', '0.0.0.0', '::', '[::]'])

/** Source ports of dialed connections are named from the IANA ephemeral range, as a kernel would pick them. */
const EPHEMERAL_FIRST = 49_152
const EPHEMERAL_COUNT = 65_536 - EPHEMERAL_FIRST

let networks = 0

/** The key of a participant in link conditions, seeds and cuts (a commstrat's is its port, as it always was). */
const keyOf = (p: MemoryParticipant): string => p instanceof MemoryCommstrat ? String(p.port) : p.id

function positiveInt (label: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback
  if (!(Number.isSafeInteger(v) && v > 0)) throw new RangeError(`${label} must be a positive integer`)
  return v
}

/**
 * An in-process network of {@link MemoryCommstrat}s and {@link MemoryTransport}s on one simulated host: every
 * commstrat gets a port of this network's own host, transports bind theirs with `listen`, and frames between
 * participants pass links whose latency, jitter, loss and order can be set globally or per pair, and which
 * partitions cut. Random draws are seeded per directed link, so a run is repeatable.
 */
export class MemoryNetwork {
  /** The host of every endpoint on this network (`<n>.memory.invalid`). */
  readonly host: string
  readonly #limits: MemoryConnLimits
  readonly #maxConnections: number
  readonly #links: LinkTable
  readonly #listening = new Map<number, Binding>()
  /** Ports given to commstrats: theirs for life, listening or not. */
  readonly #commstratPorts = new Set<number>()
  #nextPort = 1
  #nextConn = 1
  #transports = 0
  #idleWaiters = new Set<() => void>()
  readonly #stats: MemoryNetworkStats = { sent: 0, delivered: 0, lost: 0, retransmitted: 0, cut: 0, held: 0, discarded: 0, inFlight: 0, connections: 0 }

  constructor (init: MemoryNetworkInit = {}) {
    checkConditions('memoryNetwork', init)
    if (init.seed !== undefined && !Number.isSafeInteger(init.seed)) throw new RangeError('memoryNetwork: seed must be an integer')
    this.host = `n${++networks}${MEMORY_HOST_SUFFIX}`
    this.#links = new LinkTable(init.seed ?? 1, init)
    this.#limits = {
      maxFrameBytes: positiveInt('memoryNetwork: maxFrameBytes', init.maxFrameBytes, DEFAULT_MEMORY_MAX_FRAME_BYTES),
      maxQueuedBytesPerConn: positiveInt('memoryNetwork: maxQueuedBytesPerConn', init.maxQueuedBytesPerConn, DEFAULT_MEMORY_MAX_QUEUED_BYTES_PER_CONN),
      sendTimeoutMs: positiveInt('memoryNetwork: sendTimeoutMs', init.sendTimeoutMs, DEFAULT_MEMORY_SEND_TIMEOUT_MS),
      closeTimeoutMs: positiveInt('memoryNetwork: closeTimeoutMs', init.closeTimeoutMs, DEFAULT_MEMORY_CLOSE_TIMEOUT_MS),
      retransmitMs: positiveInt('memoryNetwork: retransmitMs', init.retransmitMs, DEFAULT_MEMORY_RETRANSMIT_MS)
    }
    this.#maxConnections = positiveInt('memoryNetwork: maxConnections', init.maxConnections, DEFAULT_MEMORY_MAX_CONNECTIONS)
  }

  /** A new commstrat on this network, with its own port (kept across stop/start). */
  commstrat (init: MemoryCommstratInit = {}): MemoryCommstrat {
    const port = this.#freePort()
    this.#commstratPorts.add(port)
    return new MemoryCommstrat(this, port, { maxConnections: this.#maxConnections, ...init })
  }

  /**
   * A new `Transport` on this network (a process that dials and listens: give it to a relay server or client).
   * Its connections are the network's: link conditions, partitions and limits apply to them.
   */
  transport (init: MemoryTransportInit = {}): MemoryTransport {
    return new MemoryTransport(this, `t${++this.#transports}`, {
      maxConnections: this.#maxConnections, connectTimeoutMs: DEFAULT_MEMORY_CONNECT_TIMEOUT_MS, ...init
    })
  }

  /** Replace the conditions of every link that has none of its own. */
  setConditions (conditions: LinkConditions): void {
    checkConditions('setConditions', conditions)
    this.#links.setGlobal(conditions)
  }

  /** Conditions of the link between `a` and `b` (both ways, or only a → b with `oneWay`), over the global ones. */
  setLink (a: MemoryParticipant, b: MemoryParticipant, conditions: LinkConditions, options: { oneWay?: boolean } = {}): void {
    checkConditions('setLink', conditions)
    this.#links.set(`${keyOf(a)}>${keyOf(b)}`, conditions)
    if (options.oneWay !== true) this.#links.set(`${keyOf(b)}>${keyOf(a)}`, conditions)
  }

  /** Drop the per-link conditions of `a` ↔ `b` (the global ones apply again). */
  clearLink (a: MemoryParticipant, b: MemoryParticipant): void {
    this.#links.clear(`${keyOf(a)}>${keyOf(b)}`)
    this.#links.clear(`${keyOf(b)}>${keyOf(a)}`)
  }

  /**
   * Cut every link between `side` and `other` (default: everyone else). New connections across the cut fail
   * with `ERR_UNREACHABLE`. Open connections stay open, as a cable pulled between two routers leaves sockets
   * open: a commstrat's drop the frames across the cut (in flight too); a transport's, being streams, hold them
   * and deliver them in order once healed, and a close or reset of one end reaches the other only then (an end
   * learns of the cut by its own keepalive, as over TCP). {@link heal} removes every cut.
   */
  partition (side: readonly MemoryParticipant[], other?: readonly MemoryParticipant[]): void {
    this.#links.cut(new Set(side.map(keyOf)), other === undefined ? undefined : new Set(other.map(keyOf)))
  }

  heal (): void {
    this.#links.heal()
  }

  /** Whether frames from `from` reach `to` now (a number is a port: the commstrat or listener bound there). */
  reachable (from: MemoryParticipant | number, to: MemoryParticipant | number): boolean {
    return this.#links.passes(this.#keyAt(from), this.#keyAt(to))
  }

  #keyAt (p: MemoryParticipant | number): string {
    if (typeof p !== 'number') return keyOf(p)
    const bound = this.#listening.get(p)
    return bound === undefined ? String(p) : keyOf(bound.owner)
  }

  stats (): MemoryNetworkStats {
    return { ...this.#stats }
  }

  #freePort (): number {
    while (this.#listening.has(this.#nextPort) || this.#commstratPorts.has(this.#nextPort)) this.#nextPort++
    if (this.#nextPort > 65_535) throw new EgtpError('ERR_LIMIT', `memory network ${this.host} has no port left`)
    return this.#nextPort++
  }

  // ---- used by MemoryCommstrat and MemoryTransport ----

  /** @internal */
  bind (strat: MemoryCommstrat): void {
    this.#listening.set(strat.port, { owner: strat, accept: conn => { strat.accept(conn) } })
  }

  /** @internal */
  unbind (strat: MemoryParticipant, port: number): void {
    if (this.#listening.get(port)?.owner === strat) this.#listening.delete(port)
  }

  /**
   * Bind `port` (0: a free one) for a transport's listener; returns the port.
   * @internal
   * @throws {EgtpError} ERR_ADDRESS_IN_USE (bound, or a commstrat's), ERR_LIMIT (no free port)
   */
  bindPort (owner: MemoryTransport, port: number, accept: (conn: MemoryConn) => void): number {
    if (port === 0) port = this.#freePort()
    else if (this.#listening.has(port) || this.#commstratPorts.has(port)) throw new EgtpError('ERR_ADDRESS_IN_USE', `${this.host}:${port} is taken`)
    this.#listening.set(port, { owner, accept })
    return port
  }

  /** Whether `host` names this network's host (its own name, or a loopback or wildcard alias). @internal */
  names (host: string): boolean {
    return host === this.host || HOST_ALIASES.has(host)
  }

  /**
   * The round trip a dial from `from` to `port` takes (the links' fixed latency both ways; jitter is not drawn,
   * so a dial leaves every link's random stream as it was).
   * @internal
   * @throws {EgtpError} ERR_UNREACHABLE (nobody listens, or a partition is in the way)
   */
  dialDelayMs (from: MemoryParticipant, port: number): number {
    const to = keyOf(this.#target(from, port).owner)
    const key = keyOf(from)
    return this.#links.conditions(`${key}>${to}`).latencyMs + this.#links.conditions(`${to}>${key}`).latencyMs
  }

  #target (from: MemoryParticipant, port: number): Binding {
    const target = this.#listening.get(port)
    if (target === undefined) throw new EgtpError('ERR_UNREACHABLE', `nothing listens on ${this.host}:${port}`)
    if (!this.#links.passes(keyOf(from), keyOf(target.owner))) throw new EgtpError('ERR_UNREACHABLE', `${this.host}:${port} is across a partition`)
    return target
  }

  /**
   * Open a connection from `from` to whoever listens on `port`; the listener gets the inbound end. Its remote
   * address names `from`'s port, or for a transport a fresh ephemeral port (a name only: nothing binds it).
   * @internal
   * @throws {EgtpError} ERR_UNREACHABLE (nobody listens, or a partition is in the way)
   */
  connect (from: MemoryParticipant, port: number): MemoryConn {
    const target = this.#target(from, port)
    const n = this.#nextConn++
    this.#stats.connections++
    const sourcePort = from instanceof MemoryCommstrat ? from.port : EPHEMERAL_FIRST + (n % EPHEMERAL_COUNT)
    const fromKey = keyOf(from)
    const toKey = keyOf(target.owner)
    // Between two commstrats frames may vanish (what a node sees of a lossy path); a transport's connection is
    // a socket's stream: it loses nothing, reorders nothing, and stalls instead.
    const stream = !(from instanceof MemoryCommstrat && target.owner instanceof MemoryCommstrat)
    const outbound = new MemoryConn(`m${n}o`, 'outbound', `${this.host}:${port}`, this.#direction(fromKey, toKey, stream), this.#limits)
    const inbound = new MemoryConn(`m${n}i`, 'inbound', `${this.host}:${sourcePort}`, this.#direction(toKey, fromKey, stream), this.#limits)
    MemoryConn.pair(outbound, inbound)
    target.accept(inbound)
    return outbound
  }

  #direction (from: string, to: string, stream: boolean): Direction {
    const key = `${from}>${to}`
    const conditions = (): ResolvedConditions => this.#links.conditions(key)
    return {
      fate: () => {
        this.#stats.sent++
        if (!stream && !this.#links.passes(from, to)) {
          this.#stats.cut++
          return undefined
        }
        const c = conditions()
        const random = c.loss === 0 && c.jitterMs === 0 ? undefined : this.#links.random(key)
        let delay = c.latencyMs
        if (random !== undefined && c.loss > 0) {
          if (!stream && random() < c.loss) {
            this.#stats.lost++
            return undefined
          }
          for (let tries = 0; stream && tries < MAX_MEMORY_RETRANSMITS && random() < c.loss; tries++) {
            this.#stats.retransmitted++
            delay += this.#limits.retransmitMs
          }
        }
        this.#stats.inFlight++
        return delay + (random !== undefined && c.jitterMs > 0 ? random() * c.jitterMs : 0)
      },
      reorder: () => !stream && conditions().reorder,
      arrive: () => {
        const passes = this.#links.passes(from, to)
        if (!passes && stream) {
          this.#stats.held++
          return 'hold'
        }
        if (passes) this.#stats.delivered++
        else this.#stats.cut++
        this.#landed(1)
        return passes ? 'deliver' : 'drop'
      },
      discard: (frames) => {
        this.#stats.discarded += frames
        this.#landed(frames)
      },
      passes: () => !stream || this.#links.passes(from, to)
    }
  }

  #landed (frames: number): void {
    this.#stats.inFlight -= frames
    if (this.#stats.inFlight === 0) for (const wake of [...this.#idleWaiters]) wake()
  }

  /**
   * Resolves once no frame is in flight anywhere on this network (every frame sent has arrived or been
   * dropped). A frame sent synchronously from the `frame` event of one that arrived counts as in flight
   * before that one lands (an echo keeps the network unsettled); an answer sent later may not.
   * @throws rethrows `signal.reason` on abort
   */
  async settled (options: { signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = options
    signal?.throwIfAborted()
    // Checked again after each wake: the wake comes as a frame lands, before its listeners run, and this
    // resumes only after them, so a frame they sent at once (an echo) is counted by then.
    while (this.#stats.inFlight > 0) {
      await this.#idle(signal)
      signal?.throwIfAborted()
    }
  }

  #idle (signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        this.#idleWaiters.delete(wake)
        signal?.removeEventListener('abort', onAbort)
      }
      const wake = (): void => { done(); resolve() }
      const onAbort = (): void => { done(); reject(signal?.reason) }
      this.#idleWaiters.add(wake)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

}

/** A new in-memory network (see {@link MemoryNetwork}). */
export function memoryNetwork (init: MemoryNetworkInit = {}): MemoryNetwork {
  return new MemoryNetwork(init)
}
