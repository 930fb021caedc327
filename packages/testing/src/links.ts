import { MAX_MEMORY_DELAY_MS } from './constants.ts'
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

export type ResolvedConditions = Required<LinkConditions>

export function checkConditions (label: string, c: LinkConditions): void {
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

/**
 * The conditions of every directed link (`from>to`, by participant key) over the global ones, the cuts of
 * partitions, and one seeded random stream per link.
 */
export class LinkTable {
  readonly #seed: number
  #global: ResolvedConditions
  readonly #links = new Map<string, ResolvedConditions>()
  readonly #randoms = new Map<string, Random>()
  #cuts: Array<{ a: Set<string>, b: Set<string> | undefined }> = []

  constructor (seed: number, global: LinkConditions) {
    this.#seed = seed
    this.#global = { latencyMs: global.latencyMs ?? 0, jitterMs: global.jitterMs ?? 0, loss: global.loss ?? 0, reorder: global.reorder ?? false }
  }

  setGlobal (conditions: LinkConditions): void {
    this.#global = { ...this.#global, ...conditions }
  }

  set (link: string, conditions: LinkConditions): void {
    this.#links.set(link, { ...this.#global, ...this.#links.get(link), ...conditions })
  }

  clear (link: string): void {
    this.#links.delete(link)
  }

  conditions (link: string): ResolvedConditions {
    return this.#links.get(link) ?? this.#global
  }

  /** Cut `a` from `b` (`undefined`: from everyone not in `a`). */
  cut (a: Set<string>, b: Set<string> | undefined): void {
    this.#cuts.push({ a, b })
  }

  heal (): void {
    this.#cuts = []
  }

  passes (from: string, to: string): boolean {
    for (const { a, b } of this.#cuts) {
      const inA = (p: string): boolean => a.has(p)
      const inB = (p: string): boolean => b === undefined ? !a.has(p) : b.has(p)
      if ((inA(from) && inB(to)) || (inB(from) && inA(to))) return false
    }
    return true
  }

  random (link: string): Random {
    let r = this.#randoms.get(link)
    if (r === undefined) this.#randoms.set(link, r = seededRandom(deriveSeed(this.#seed, link)))
    return r
  }
}
