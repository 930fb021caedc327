// `pnpm explore`: the session explorer on demand. Random walks with a seed (longer than CI runs), or the
// exhaustive search to a chosen depth; prints what was explored and, on failure, the shortest schedule found
// as a vitest test to paste into explorer.test.ts. Exit code 1 when a property was violated.
//
//   pnpm explore --seed 7 --steps 5000                    random walks over every configuration
//   pnpm explore --seed 7 --steps 5000 --config crossover --walk 60
//   pnpm explore --exhaustive [--depth 5] [--config restart-two-way]
//   pnpm explore --mutation disableHints --exhaustive      the mutation check by hand
import { parseArgs } from 'node:util'
import { mutations } from '../../src/internal.ts'
import { configs } from './configs.ts'
import { describeReport, exhaustive, randomWalks } from './explore.ts'

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    steps: { type: 'string', default: '2000' },
    walk: { type: 'string', default: '40' },
    config: { type: 'string', multiple: true },
    exhaustive: { type: 'boolean', default: false },
    depth: { type: 'string' },
    mutation: { type: 'string', multiple: true },
    help: { type: 'boolean', default: false }
  }
})

const usage = 'usage: pnpm explore [--seed N] [--steps M] [--walk L] [--config NAME]... [--exhaustive [--depth D]] [--mutation FLAG]...'
if (values.help === true) {
  console.log(`${usage}\nconfigurations: ${Object.keys(configs).join(', ')}\nmutation flags: ${Object.keys(mutations).join(', ')}`)
  process.exit(0)
}
const names = values.config ?? Object.keys(configs)
for (const n of names) {
  if (configs[n] === undefined) {
    console.error(`unknown configuration ${n}; known: ${Object.keys(configs).join(', ')}`)
    process.exit(2)
  }
}
for (const m of values.mutation ?? []) {
  if (!(m in mutations)) {
    console.error(`unknown mutation flag ${m}; known: ${Object.keys(mutations).join(', ')}`)
    process.exit(2)
  }
  (mutations as Record<string, boolean>)[m] = true
}
const positive = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer`)
    process.exit(2)
  }
  return n
}
const seed = positive('seed', values.seed) ?? (Date.now() % 2 ** 31)
const steps = positive('steps', values.steps)!
const walk = Math.max(1, positive('walk', values.walk)!)
const depth = positive('depth', values.depth)

console.log(values.exhaustive
  ? `exhaustive search${depth === undefined ? ' (each configuration\'s CI depth)' : ` to depth ${depth}`}`
  : `random walks: seed ${seed}, ${steps} steps per configuration, walks of ${walk}`)
if ((values.mutation ?? []).length > 0) console.log(`mutations on: ${values.mutation!.join(', ')}`)
let failed = 0
let states = 0
let schedules = 0
const started = performance.now()
for (const name of names) {
  const cfg = configs[name]!
  const r = values.exhaustive
    ? await exhaustive(cfg, { iterative: true, ...(depth === undefined ? {} : { depth }) })
    : await randomWalks(cfg, seed, steps, walk)
  states += r.states
  schedules += r.schedules
  if (r.failure !== undefined) failed++
  console.log(describeReport(r))
}
console.log(`total: ${states} states, ${schedules} schedules, ${Math.round(performance.now() - started)} ms; ${failed} configuration(s) with a violation${values.exhaustive ? '' : ` (seed ${seed})`}`)
process.exitCode = failed > 0 ? 1 : 0
