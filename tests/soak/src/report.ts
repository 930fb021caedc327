// The figures block printed at the end of a run, and the list of violations that make it fail.
import { describeFault } from './schedule.ts'
import type { SoakReport } from './run.ts'

const MAX_LISTED = 20

export function formatReport (r: SoakReport, wallMs: number): { text: string, violations: string[] } {
  const v = r.verdict
  const violations: string[] = []
  if (v.lost > 0) violations.push(`${v.lost} message(s) lost`)
  if (v.duplicated > 0) violations.push(`${v.duplicated} message(s) duplicated`)
  const other = v.violations.filter(x => x.kind !== 'lost' && x.kind !== 'duplicated')
  if (other.length > 0) violations.push(`${other.length} other ledger violation(s) (${[...new Set(other.map(x => x.kind))].join(', ')})`)
  if (r.recovery.stuck.length > 0) violations.push(`${r.recovery.stuck.length} pair(s) stuck after faults stopped: ${r.recovery.stuck.join(' ')}`)
  if (r.selfCheck !== undefined) violations.push(`ledger self-check failed: ${r.selfCheck}`)
  violations.push(...r.problems)

  const byKind: Record<string, number> = {}
  for (const f of r.faults) byKind[f.fault.kind] = (byKind[f.fault.kind] ?? 0) + 1
  const mib = (b: number | undefined): string => b === undefined ? '-' : `${(b / 2 ** 20).toFixed(0)} MiB`
  const lines = [
    '',
    '================ EGTP chaos soak: figures ================',
    `seed                 ${r.config.seed}   (replay: pnpm test:soak --seed ${r.config.seed} --duration ${r.config.durationMs / 1000})`,
    `fault phase          ${r.config.durationMs / 1000} s, wall ${(wallMs / 1000).toFixed(0)} s`,
    `faults               ${r.faults.length}  (${Object.entries(byKind).map(([k, n]) => `${k} ${n}`).join(', ')})`,
    `messages             ${v.messages}`,
    `delivered            ${v.delivered}`,
    `reported failed      ${v.reportedFailed}   (+ ${v.failedButHandled} reported failed but handled once: allowed)`,
    `abandoned            ${v.abandoned}   (sender killed -9 before it learnt the outcome; none handled twice)`,
    `lost                 ${v.lost}`,
    `duplicates           ${v.duplicated}`,
    `overtaken            ${r.overtaken}   (handled after a later message of the same pair: ordering is not promised)`,
    `worst recovery       ${r.recovery.worstMs} ms   (bound ${r.config.recoveryBoundMs} ms; stuck pairs ${r.recovery.stuck.length})`,
    `peak RSS             ${Object.entries(r.peakRss).map(([role, b]) => `${role} ${mib(b)}`).join(', ')}   (bound ${mib(r.config.maxRssBytes)})`,
    `failure codes        ${Object.entries(v.failureCodes).map(([c, n]) => `${c} ${n}`).join(', ') || '-'}`,
    `ledger self-check    ${r.selfCheck === undefined ? 'a planted loss and a planted duplicate were both caught' : `FAILED: ${r.selfCheck}`}`,
    '=========================================================='
  ]
  if (r.faults.length > 0 && process.env.SOAK_LIST_FAULTS !== undefined) lines.push(...r.faults.map(f => `  +${(f.atMs / 1000).toFixed(1)}s ${describeFault(f.fault)}`))
  for (const x of v.violations.slice(0, MAX_LISTED)) lines.push(`  ${x.kind}: ${x.id}: ${x.detail}`)
  if (v.violations.length > MAX_LISTED) lines.push(`  … and ${v.violations.length - MAX_LISTED} more`)
  lines.push(violations.length === 0 ? 'VERDICT: PASS' : `VERDICT: FAIL: ${violations.join('; ')}`)
  return { text: lines.join('\n'), violations }
}
