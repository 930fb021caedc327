// The explorer's search: exhaustive depth-first search to a stated depth (each schedule replayed from the
// start: managers cannot be cloned), with state hashing to prune repeats; seeded random walks for longer runs;
// a shrinker that turns a failing schedule into a short one; and the pasteable vitest test that replays it.
import { mutations } from '../../src/internal.ts'
import { prng } from '../helpers/sim.ts'
import { World } from './model.ts'
import type { Config, Violation } from './model.ts'

/** Marks the end of a schedule: faults stop and the calm phase checks liveness (see World.settle). */
export const SETTLE = 'settle'

export interface Failure {
  config: string
  violation: Violation
  /** The schedule that reproduces it (after the config's setup), shrunk until no single action can go. */
  schedule: string[]
  /** True when found by iterative deepening: no shorter schedule (to the searched depth) fails. */
  shortest?: boolean
  trace: string[]
  seed?: number
}

export interface Report {
  config: string
  depth: number
  /** Distinct states (by hash) visited. */
  states: number
  /** Schedules run to their end and settled (each a liveness check). */
  schedules: number
  /** Schedules cut short because they reached a state already explored (state hashing). */
  pruned?: number
  /** Actions applied in all (replays included). */
  actions: number
  /** Iterative deepening: states and schedules of the last (deepest) pass alone; the totals add up every pass. */
  last?: { states: number, schedules: number, pruned: number }
  ms: number
  failure?: Failure
}

/** Replay a schedule from the start; `settle` (a SETTLE entry) runs the calm phase. */
export async function replay (cfg: Config, schedule: readonly string[]): Promise<{ world: World, valid: boolean }> {
  const world = await World.create(cfg)
  for (const a of schedule) {
    if (world.violation !== undefined) break
    if (a === SETTLE) await world.settle()
    else if (!await world.apply(a)) return { world, valid: false }
  }
  return { world, valid: true }
}

/**
 * Every schedule of up to `depth` actions (default `cfg.depth`), with a calm phase from every state reached.
 * `iterative`: depth 1, 2, … in turn, stopping at the first failure, so the failure found is a shortest one.
 */
export async function exhaustive (cfg: Config, opts: { depth?: number, maxStates?: number, iterative?: boolean } = {}): Promise<Report> {
  if (opts.iterative !== true) return await search(cfg, opts.depth ?? cfg.depth, opts.maxStates)
  const total: Report = { config: cfg.name, depth: 0, states: 0, schedules: 0, actions: 0, ms: 0 }
  for (let d = 0; d <= (opts.depth ?? cfg.depth); d++) {
    const r = await search(cfg, d, opts.maxStates)
    Object.assign(total, {
      depth: d, states: total.states + r.states, schedules: total.schedules + r.schedules, actions: total.actions + r.actions,
      pruned: (total.pruned ?? 0) + (r.pruned ?? 0),
      ms: total.ms + r.ms, last: { states: r.states, schedules: r.schedules, pruned: r.pruned ?? 0 }
    })
    if (r.failure !== undefined) return { ...total, failure: { ...r.failure, shortest: true } }
  }
  return total
}

async function search (cfg: Config, depth: number, maxStates = Infinity): Promise<Report> {
  const started = performance.now()
  const seen = new Map<string, number>()
  const stack: string[][] = [[]]
  let states = 0
  let schedules = 0
  let actions = 0
  let pruned = 0
  let failure: Failure | undefined
  while (stack.length > 0 && failure === undefined && states < maxStates) {
    const path = stack.pop()!
    const last = path[path.length - 1]
    const { world } = await replay(cfg, path)
    actions += path.length
    if (last === SETTLE) {
      schedules++
      if (world.violation !== undefined) failure = await shrink(cfg, path, world.violation)
      continue
    }
    while (true) {
      if (world.violation !== undefined) {
        failure = await shrink(cfg, path, world.violation)
        break
      }
      const h = world.hash()
      const prev = seen.get(h)
      if (prev !== undefined && prev <= path.length) {
        pruned++
        break
      }
      // Met again closer to the root: explored again, for the depth it has left (counted once).
      if (prev === undefined) states++
      seen.set(h, path.length)
      if (path.length >= depth) {
        await world.settle()
        schedules++
        if (world.violation !== undefined) failure = await shrink(cfg, [...path, SETTLE], world.violation)
        break
      }
      stack.push([...path, SETTLE])
      const next = world.enabled()
      for (let i = next.length - 1; i >= 1; i--) stack.push([...path, next[i]!])
      await world.apply(next[0]!)
      actions++
      path.push(next[0]!)
    }
  }
  return { config: cfg.name, depth, states, schedules, pruned, actions, ms: Math.round(performance.now() - started), ...(failure === undefined ? {} : { failure }) }
}

/** Seeded random walks of `walkLength` actions each, ended by a calm phase, until `steps` actions are spent. */
export async function randomWalks (cfg: Config, seed: number, steps: number, walkLength = 40): Promise<Report> {
  const started = performance.now()
  const rnd = prng(seed)
  const seen = new Set<string>()
  let spent = 0
  let schedules = 0
  let failure: Failure | undefined
  while (spent < steps && failure === undefined) {
    const world = await World.create(cfg)
    const path: string[] = []
    for (let i = 0; i < walkLength && spent < steps && world.violation === undefined; i++) {
      const next = world.enabled()
      // Deliveries are likelier than faults and clock moves, so walks get somewhere.
      const deliveries = next.filter(a => a.startsWith('deliver'))
      const pool = deliveries.length > 0 && rnd() < 0.6 ? deliveries : next
      const a = pool[Math.floor(rnd() * pool.length)]!
      await world.apply(a)
      path.push(a)
      spent++
      seen.add(world.hash())
    }
    if (world.violation === undefined) await world.settle()
    schedules++
    if (world.violation !== undefined) failure = { ...await shrink(cfg, [...path, SETTLE], world.violation), seed }
  }
  return { config: cfg.name, depth: walkLength, states: seen.size, schedules, actions: spent, ms: Math.round(performance.now() - started), ...(failure === undefined ? {} : { failure }) }
}

/** Greedy one-at-a-time removal until no single action can go: a short schedule that still fails the same way. */
export async function shrink (cfg: Config, schedule: string[], violation: Violation): Promise<Failure> {
  let best = schedule.includes(SETTLE) ? schedule : [...schedule]
  const fails = async (s: string[]): Promise<World | undefined> => {
    const { world, valid } = await replay(cfg, s)
    return valid && world.violation?.kind === violation.kind ? world : undefined
  }
  let changed = true
  while (changed) {
    changed = false
    for (let i = best.length - 1; i >= 0; i--) {
      if (best[i] === SETTLE) continue
      const candidate = [...best.slice(0, i), ...best.slice(i + 1)]
      if (await fails(candidate) !== undefined) {
        best = candidate
        changed = true
      }
    }
  }
  const world = await fails(best)
  return { config: cfg.name, violation: world?.violation ?? violation, schedule: best, trace: world?.trace ?? [] }
}

/** A vitest test that replays the failure (paste it into test/explorer/explorer.test.ts and fix the code). */
export function pasteable (f: Failure): string {
  const flags = Object.entries(mutations).filter(([, v]) => v).map(([k]) => `    mutations.${k} = true\n`).join('')
  return [
    `  it('explorer: ${f.config} — ${f.violation.kind}${f.seed === undefined ? '' : ` (seed ${f.seed})`}', async () => {`,
    flags.length > 0 ? flags.trimEnd() : undefined,
    `    const { world } = await replay(configs[${JSON.stringify(f.config)}]!, ${JSON.stringify(f.schedule)})`,
    '    expect(world.violation).toBeUndefined()',
    '  })'
  ].filter(l => l !== undefined).join('\n')
}

/** The start (how it went wrong) and the end (what it looks like) of a long trace. */
function trim (trace: string[]): string[] {
  return trace.length <= 50 ? trace : [...trace.slice(0, 30), `… ${trace.length - 45} more`, ...trace.slice(-15)]
}

export function describeReport (r: Report): string {
  const last = r.last === undefined ? '' : ` (depth ${r.depth} alone: ${r.last.states} states, ${r.last.schedules} schedules, ${r.last.pruned} pruned)`
  const pruned = r.pruned === undefined ? '' : `, ${r.pruned} pruned as repeats`
  const head = `${r.config}: ${r.states} states, ${r.schedules} schedules${pruned}, depth ${r.depth}${last}, ${r.actions} actions, ${r.ms} ms`
  if (r.failure === undefined) return `${head}: no violation`
  return [
    `${head}: VIOLATION ${r.failure.violation.kind}: ${r.failure.violation.detail}`,
    `${r.failure.shortest === true ? 'shortest schedule' : 'minimal schedule (no single action can be dropped)'} (${r.failure.schedule.length} actions): ${r.failure.schedule.join(', ')}`,
    'trace:', ...trim(r.failure.trace).map(l => `  ${l}`),
    'as a test:', pasteable(r.failure)
  ].join('\n')
}
