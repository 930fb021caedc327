import { EgtpError } from '@egtp/interface'
import {
  DEFAULT_MEMORY_CLOSE_TIMEOUT_MS, DEFAULT_MEMORY_MAX_CONNECTIONS, DEFAULT_MEMORY_MAX_FRAME_BYTES,
  DEFAULT_MEMORY_MAX_QUEUED_BYTES_PER_CONN, DEFAULT_MEMORY_SEND_TIMEOUT_MS, MAX_MEMORY_DELAY_MS, MEMORY_HOST_SUFFIX
} from './constants.ts'
import { MemoryCommstrat } from './commstrat.ts'
import type { MemoryCommstratInit } from './commstrat.ts'
import { MemoryConn } from './conn.ts'
import type { Direction, MemoryConnLimits } from './conn.ts'
import { deriveSeed, seededRandom } from './random.ts'
import type { Random } from './random.ts'

/** How a link treats frames. Every field defaults to a perfect link (0 ms, no loss, in order). */
export interface LinkConditions {
  /** Fixed one-way delay of every frame. */
  latencyMs?: number
  /** Extra delay drawn uniformly from [0, jitterMs) per frame (seeded). */
  jitterMs?: number
  /** Probability in [0, 1] that a frame is lost (seeded). */
  loss?: number
  /** Let jittered frames overtake each other; by default a link keeps order (like a TCP stream). */
  reorder?: boolean
}

export interface MemoryNetworkInit extends LinkConditions {
  /** Seed of every random draw (loss, jitter): the same seed and the same sends give the same fates. Default 1. */
  seed?: number
  maxFrameBytes?: number
  maxQueuedBytesPerConn?: number
  sendTimeoutMs?: number
  closeTimeoutMs?: number
  /** Connections per commstrat. */
  maxConnections?: number
}

/** Frame counters of the whole network. */
export interface MemoryNetworkStats {
  /** Frames handed to a connection (lost ones included). */
  sent: number
  delivered: number
  /** Lost to `loss`. */
  lost: number
  /** Dropped by a partition (at send or while in flight). */
  cut: number
  /** In flight when their connection ended (abort, or the other end closed). */
  discarded: number
  /** Sent and not yet delivered, lost, cut or discarded. */
  inFlight: number
  /** Connections opened so far. */
  connections: number
}

type Resolved = Required<LinkConditions>

let networks = 0

function checkConditions (label: string, c: LinkConditions): void {
  const nonNegative = (name: string, v: number | undefined): void => {
    if (v !== undefined && !(Number.isFinite(v) && v >= 0 && v <= MAX_MEMORY_DELAY_MS)) {
      throw new RangeError(`${label}: ${name} must be a number from 0 to ${MAX_MEMORY_DELAY_MS}`)
    }
  }
  nonNegative('latencyMs', c.latencyMs)
  nonNegative('jitterMs', c.jitterMs)
  if ((c.latencyMs ?? 0) + (c.jitterMs ?? 0) > MAX_MEMORY_DELAY_MS) throw new RangeError(`${label}: latencyMs + jitterMs must not exceed ${MAX_MEMORY_DELAY_MS}`)
  if (c.loss !== undefined && !(c.loss >= 0 && c.loss <= 1)) throw new RangeError(`${label}: loss must be a probability from 0 to 1`)
  if (c.reorder !== undefined && typeof c.reorder !== 'boolean') throw new TypeError(`${label}: reorder must be a boolean`)
}

function positiveInt (label: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback
  if (!(Number.isSafeInteger(v) && v > 0)) throw new RangeError(`${label} must be a positive integer`)
  return v
}

/**
 * An in-process network of {@link MemoryCommstrat}s: every commstrat gets a port on this network's own host,
 * and frames between them pass links whose latency, jitter, loss and order can be set globally or per pair,
 * and which partitions cut. Random draws are seeded per directed link, so a run is repeatable.
 */
export class MemoryNetwork {
  /** The host of every endpoint on this network (`<n>.memory.invalid`). */
  readonly host: string
  readonly #seed: number
  readonly #limits: MemoryConnLimits
  readonly #maxConnections: number
  #global: Resolved
  readonly #links = new Map<string, Resolved>()
  readonly #randoms = new Map<string, Random>()
  readonly #listening = new Map<number, MemoryCommstrat>()
  #partitions: Array<{ a: Set<number>, b: Set<number> | undefined }> = []
  #nextPort = 1
  #nextConn = 1
  #idleWaiters = new Set<() => void>()
  readonly #stats: MemoryNetworkStats = { sent: 0, delivered: 0, lost: 0, cut: 0, discarded: 0, inFlight: 0, connections: 0 }

  constructor (init: MemoryNetworkInit = {}) {
    checkConditions('memoryNetwork', init)
    if (init.seed !== undefined && !Number.isSafeInteger(init.seed)) throw new RangeError('memoryNetwork: seed must be an integer')
    this.host = `n${++networks}${MEMORY_HOST_SUFFIX}`
    this.#seed = init.seed ?? 1
    this.#global = { latencyMs: init.latencyMs ?? 0, jitterMs: init.jitterMs ?? 0, loss: init.loss ?? 0, reorder: init.reorder ?? false }
    this.#limits = {
      maxFrameBytes: positiveInt('memoryNetwork: maxFrameBytes', init.maxFrameBytes, DEFAULT_MEMORY_MAX_FRAME_BYTES),
      maxQueuedBytesPerConn: positiveInt('memoryNetwork: maxQueuedBytesPerConn', init.maxQueuedBytesPerConn, DEFAULT_MEMORY_MAX_QUEUED_BYTES_PER_CONN),
      sendTimeoutMs: positiveInt('memoryNetwork: sendTimeoutMs', init.sendTimeoutMs, DEFAULT_MEMORY_SEND_TIMEOUT_MS),
      closeTimeoutMs: positiveInt('memoryNetwork: closeTimeoutMs', init.closeTimeoutMs, DEFAULT_MEMORY_CLOSE_TIMEOUT_MS)
    }
    this.#maxConnections = positiveInt('memoryNetwork: maxConnections', init.maxConnections, DEFAULT_MEMORY_MAX_CONNECTIONS)
  }

  /** A new commstrat on this network, with its own port (kept across stop/start). */
  commstrat (init: MemoryCommstratInit = {}): MemoryCommstrat {
    if (this.#nextPort > 65_535) throw new EgtpError('ERR_LIMIT', `memory network ${this.host} has no port left`)
    return new MemoryCommstrat(this, this.#nextPort++, { maxConnections: this.#maxConnections, ...init })
  }

  /** Replace the conditions of every link that has none of its own. */
  setConditions (conditions: LinkConditions): void {
    checkConditions('setConditions', conditions)
    this.#global = { ...this.#global, ...conditions }
  }

  /** Conditions of the link between `a` and `b` (both ways, or only a → b with `oneWay`), over the global ones. */
  setLink (a: MemoryCommstrat, b: MemoryCommstrat, conditions: LinkConditions, options: { oneWay?: boolean } = {}): void {
    checkConditions('setLink', conditions)
    this.#links.set(`${a.port}>${b.port}`, { ...this.#global, ...this.#links.get(`${a.port}>${b.port}`), ...conditions })
    if (options.oneWay !== true) this.#links.set(`${b.port}>${a.port}`, { ...this.#global, ...this.#links.get(`${b.port}>${a.port}`), ...conditions })
  }

  /** Drop the per-link conditions of `a` ↔ `b` (the global ones apply again). */
  clearLink (a: MemoryCommstrat, b: MemoryCommstrat): void {
    this.#links.delete(`${a.port}>${b.port}`)
    this.#links.delete(`${b.port}>${a.port}`)
  }

  /**
   * Cut every link between `side` and `other` (default: everyone else). Frames across the cut are dropped, in
   * flight too; new connections across it fail with `ERR_UNREACHABLE`. Connections stay open, as a cable pulled
   * between two routers leaves sockets open. {@link heal} removes every cut.
   */
  partition (side: readonly MemoryCommstrat[], other?: readonly MemoryCommstrat[]): void {
    this.#partitions.push({ a: new Set(side.map(s => s.port)), b: other === undefined ? undefined : new Set(other.map(s => s.port)) })
  }

  heal (): void {
    this.#partitions = []
  }

  /** Whether frames from port `from` reach port `to` now. */
  reachable (from: number, to: number): boolean {
    for (const { a, b } of this.#partitions) {
      const inA = (p: number): boolean => a.has(p)
      const inB = (p: number): boolean => b === undefined ? !a.has(p) : b.has(p)
      if ((inA(from) && inB(to)) || (inB(from) && inA(to))) return false
    }
    return true
  }

  stats (): MemoryNetworkStats {
    return { ...this.#stats }
  }

  // ---- used by MemoryCommstrat ----

  /** @internal */
  bind (strat: MemoryCommstrat): void {
    this.#listening.set(strat.port, strat)
  }

  /** @internal */
  unbind (strat: MemoryCommstrat): void {
    if (this.#listening.get(strat.port) === strat) this.#listening.delete(strat.port)
  }

  /**
   * Open a connection from `from` to whoever listens on `port`; the listener gets the inbound end.
   * @internal
   * @throws {EgtpError} ERR_UNREACHABLE (nobody listens, or a partition is in the way)
   */
  connect (from: MemoryCommstrat, port: number): MemoryConn {
    const target = this.#listening.get(port)
    if (target === undefined) throw new EgtpError('ERR_UNREACHABLE', `nothing listens on ${this.host}:${port}`)
    if (!this.reachable(from.port, port)) throw new EgtpError('ERR_UNREACHABLE', `${this.host}:${port} is across a partition`)
    const n = this.#nextConn++
    this.#stats.connections++
    const outbound = new MemoryConn(`m${n}o`, 'outbound', `${this.host}:${port}`, this.#direction(from.port, port), this.#limits)
    const inbound = new MemoryConn(`m${n}i`, 'inbound', `${this.host}:${from.port}`, this.#direction(port, from.port), this.#limits)
    MemoryConn.pair(outbound, inbound)
    target.accept(inbound)
    return outbound
  }

  #direction (from: number, to: number): Direction {
    const key = `${from}>${to}`
    const conditions = (): Resolved => this.#links.get(key) ?? this.#global
    return {
      fate: () => {
        this.#stats.sent++
        if (!this.reachable(from, to)) {
          this.#stats.cut++
          return undefined
        }
        const c = conditions()
        const random = c.loss === 0 && c.jitterMs === 0 ? undefined : this.#random(key)
        if (random !== undefined && c.loss > 0 && random() < c.loss) {
          this.#stats.lost++
          return undefined
        }
        this.#stats.inFlight++
        return c.latencyMs + (random !== undefined && c.jitterMs > 0 ? random() * c.jitterMs : 0)
      },
      reorder: () => conditions().reorder,
      arrive: () => {
        const passes = this.reachable(from, to)
        if (passes) this.#stats.delivered++
        else this.#stats.cut++
        this.#landed(1)
        return passes
      },
      discard: (frames) => {
        this.#stats.discarded += frames
        this.#landed(frames)
      }
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
    if (this.#stats.inFlight === 0) return
    await new Promise<void>((resolve, reject) => {
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

  #random (key: string): Random {
    let r = this.#randoms.get(key)
    if (r === undefined) this.#randoms.set(key, r = seededRandom(deriveSeed(this.#seed, key)))
    return r
  }
}

/** A new in-memory network (see {@link MemoryNetwork}). */
export function memoryNetwork (init: MemoryNetworkInit = {}): MemoryNetwork {
  return new MemoryNetwork(init)
}
