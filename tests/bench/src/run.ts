// Paired, interleaved rounds: in each round every scenario runs every selected implementation back to back
// (the order rotating from round to round), so that slow drifts of a shared 2-core machine hit all alike.
import type { Context, Scenario, Settings } from './scenarios.ts'
import type { EgtpSources } from './impl/index.ts'

export interface Results {
  settings: Settings
  /** impl → metric → value per round (undefined where that round failed or did not measure it). */
  values: Record<string, Record<string, Array<number | undefined>>>
  notes: Record<string, string[]>
  errors: string[]
  elapsedMs: number
}

export interface Plan {
  scenarios: readonly Scenario[]
  /** Implementations selected (a scenario runs those of them it applies to). */
  impls: readonly string[]
  settings: Settings
  sources: EgtpSources
  progress?: (line: string) => void
}

export async function runPlan (plan: Plan): Promise<Results> {
  const results: Results = { settings: plan.settings, values: {}, notes: {}, errors: [], elapsedMs: 0 }
  const start = performance.now()
  const ctx: Context = {
    settings: plan.settings,
    sources: plan.sources,
    note: (impl, text) => {
      const notes = results.notes[impl] ??= []
      if (!notes.includes(text)) notes.push(text)
    }
  }
  for (let round = 0; round < plan.settings.rounds; round++) {
    for (const scenario of plan.scenarios) {
      if (round >= (scenario.rounds?.(plan.settings) ?? Infinity)) continue
      const impls = scenario.impls.filter(i => plan.impls.includes(i))
      const rotated = impls.map((_, k) => impls[(k + round) % impls.length]!)
      for (const impl of rotated) {
        const t = performance.now()
        try {
          const figures = await scenario.run(impl, ctx)
          for (const [metric, value] of Object.entries(figures)) {
            const perRound = (results.values[impl] ??= {})[metric] ??= []
            perRound[round] = value
          }
          plan.progress?.(`round ${round + 1}/${plan.settings.rounds} ${scenario.name} ${impl}: ${Object.entries(figures).map(([k, v]) => `${k}=${v.toPrecision(4)}`).join(' ')} (${((performance.now() - t) / 1000).toFixed(1)} s)`)
        } catch (err) {
          const message = `round ${round + 1} ${scenario.name} ${impl}: ${err instanceof Error ? err.message : String(err)}`
          results.errors.push(message)
          plan.progress?.(`FAILED ${message}`)
        }
      }
    }
  }
  results.elapsedMs = performance.now() - start
  return results
}
