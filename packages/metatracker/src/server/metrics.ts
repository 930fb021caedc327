/** Counters and gauges of a metatracker server, for operators. */
export interface MetatrackerStats {
  /** Records held (an upper bound where the store expires lazily). */
  records: number
  /** `memory` or `redis`. */
  store: string
  durable: boolean
  /** Requests by type (`publish`, `lookup`, `discover`, `goodbye`, `invalid`) and outcome (`ok` or a code). */
  requests: Record<string, Record<string, number>>
  /** Refusals by code. */
  refused: Record<string, number>
  /** Records found by lookups (several per request). */
  found: number
}

const escape = (v: string): string => v.replace(/[\\"\n]/g, c => c === '\n' ? '\\n' : `\\${c}`)

/**
 * Render stats in the Prometheus text exposition format (version 0.0.4), for an HTTP `/metrics` endpoint.
 * @example
 * ```ts
 * http.createServer(async (req, res) => { res.end(renderPrometheus(await server.stats())) })
 * ```
 */
export function renderPrometheus (stats: MetatrackerStats, prefix = 'egtp_metatracker'): string {
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) throw new TypeError('prefix must be a valid Prometheus metric name')
  const lines = [
    `# HELP ${prefix}_records Records held`, `# TYPE ${prefix}_records gauge`, `${prefix}_records ${stats.records}`,
    `# HELP ${prefix}_durable 1 when records survive a restart`, `# TYPE ${prefix}_durable gauge`, `${prefix}_durable ${stats.durable ? 1 : 0}`,
    `# HELP ${prefix}_found_total Records returned by lookups`, `# TYPE ${prefix}_found_total counter`, `${prefix}_found_total ${stats.found}`,
    `# HELP ${prefix}_requests_total Requests by type and outcome`, `# TYPE ${prefix}_requests_total counter`
  ]
  for (const [type, outcomes] of Object.entries(stats.requests).sort(([a], [b]) => a.localeCompare(b))) {
    for (const [outcome, n] of Object.entries(outcomes).sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`${prefix}_requests_total{type="${escape(type)}",outcome="${escape(outcome)}"} ${n}`)
    }
  }
  lines.push(`# HELP ${prefix}_refused_total Refusals by code`, `# TYPE ${prefix}_refused_total counter`)
  for (const [code, n] of Object.entries(stats.refused).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`${prefix}_refused_total{code="${escape(code)}"} ${n}`)
  }
  return lines.join('\n') + '\n'
}
