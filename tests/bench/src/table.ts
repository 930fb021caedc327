// The report: one markdown table of medians with EGTP's paired ratios beside each figure, the AEAD table,
// how each implementation sent, and what failed.
import { availableParallelism, cpus } from 'node:os'
import type { Results } from './run.ts'
import { formatNumber, formatRatio, median } from './stats.ts'

interface Row {
  metric: string
  label: string
  unit: string
  lowerIsBetter?: boolean
  /** Also print EGTP relayed / EGTP direct (the direct metric). */
  direct?: string
}

export const ROWS: readonly Row[] = [
  { metric: 'fresh_median_ms', label: 'fresh peer: connect + handshake + first 64 B reply, median', unit: 'ms', lowerIsBetter: true },
  { metric: 'fresh_p99_ms', label: 'fresh peer, p99', unit: 'ms', lowerIsBetter: true },
  { metric: 'fresh_server_cpu_ms', label: 'fresh peer: server CPU per peer', unit: 'ms', lowerIsBetter: true },
  { metric: 'echo1_rtps', label: 'echo 64 B, 1 in flight', unit: 'rt/s' },
  { metric: 'echo1_p99_us', label: 'echo 64 B, 1 in flight, p99 latency', unit: 'µs', lowerIsBetter: true },
  { metric: 'echo1_client_cpu_us_per_rt', label: 'echo 64 B, 1 in flight: client process CPU per round trip', unit: 'µs', lowerIsBetter: true },
  { metric: 'echo1_server_cpu_us_per_rt', label: 'echo 64 B, 1 in flight: server process CPU per round trip', unit: 'µs', lowerIsBetter: true },
  { metric: 'echo64_rtps', label: 'echo 64 B, 64 in flight', unit: 'rt/s' },
  { metric: 'echo64_p99_us', label: 'echo 64 B, 64 in flight, p99 latency', unit: 'µs', lowerIsBetter: true },
  { metric: 'oneway', label: 'one-way 64 B (delivered)', unit: 'msgs/s' },
  { metric: 'oneway_batched', label: 'one-way 64 B, batched 256 per call (raw: one write; EGTP: one send of 256 payloads)', unit: 'msgs/s' },
  { metric: 'oneway_sender_cpu_us_per_msg', label: 'one-way 64 B: sender (client process) CPU per message', unit: 'µs', lowerIsBetter: true },
  { metric: 'oneway_receiver_cpu_us_per_msg', label: 'one-way 64 B: receiver (server process) CPU per message', unit: 'µs', lowerIsBetter: true },
  { metric: 'bulk_mbps', label: 'bulk 64 KiB (delivered)', unit: 'MB/s' },
  { metric: 'bulk_sender_cpu_ms_per_mb', label: 'bulk 64 KiB: sender (client process) CPU per MB', unit: 'ms', lowerIsBetter: true },
  { metric: 'bulk_receiver_cpu_ms_per_mb', label: 'bulk 64 KiB: receiver (server process) CPU per MB', unit: 'ms', lowerIsBetter: true },
  { metric: 'relay_oneway', label: 'relayed one-way 64 B (EGTP via 1 relay process)', unit: 'msgs/s', direct: 'oneway' },
  { metric: 'relay_bulk_mbps', label: 'relayed bulk 64 KiB (EGTP via 1 relay process)', unit: 'MB/s', direct: 'bulk_mbps' },
  { metric: 'idle_heap_kib', label: 'idle peers: server heap per peer', unit: 'KiB', lowerIsBetter: true },
  { metric: 'idle_rss_kib', label: 'idle peers: server RSS per peer', unit: 'KiB', lowerIsBetter: true },
  { metric: 'idle_eld_p99_ms', label: 'idle peers: server event-loop delay p99 while echo flows', unit: 'ms', lowerIsBetter: true },
  { metric: 'idle_echo1_rtps', label: 'idle peers: echo 64 B, 1 in flight, meanwhile', unit: 'rt/s' },
  { metric: 'idle_setup_per_s', label: 'idle peers: connected per second (16 at a time)', unit: 'peers/s' },
  { metric: 'idle_setup_client_cpu_ms', label: 'idle peers: connecting side CPU per peer set up', unit: 'ms', lowerIsBetter: true },
  { metric: 'idle_setup_server_cpu_ms', label: 'idle peers: server CPU per peer set up', unit: 'ms', lowerIsBetter: true }
]

type Values = Results['values']

const at = (values: Values, impl: string, metric: string): Array<number | undefined> => values[impl]?.[metric] ?? []
const present = (xs: Array<number | undefined>): number[] => xs.filter((x): x is number => x !== undefined)

/** Median of the per-round ratios a[r] / b[r] over rounds where both were measured. */
export function pairedRatio (a: Array<number | undefined>, b: Array<number | undefined>): number {
  const ratios: number[] = []
  for (let r = 0; r < Math.max(a.length, b.length); r++) {
    const x = a[r]
    const y = b[r]
    if (x !== undefined && y !== undefined && y !== 0) ratios.push(x / y)
  }
  return median(ratios)
}

export function renderTable (results: Results): string {
  const values = results.values
  const hasBase = values['egtp@base'] !== undefined
  const columns = ['raw', 'libp2p', 'hyperswarm', 'egtp', ...(hasBase ? ['egtp@base'] : [])]
  const heads = ['case', 'unit', 'raw', 'libp2p', 'Hyperswarm', 'EGTP', ...(hasBase ? ['EGTP@base'] : []),
    'EGTP/libp2p', 'EGTP/Hyperswarm', 'EGTP/raw', ...(hasBase ? ['EGTP/EGTP@base'] : []), 'note']
  const lines = [`| ${heads.join(' | ')} |`, `|${heads.map((_, i) => i < 2 ? '---' : '---:').join('|')}|`]
  for (const row of ROWS) {
    const cells = columns.map(impl => formatNumber(median(present(at(values, impl, row.metric)))))
    if (cells.every(c => c === '—')) continue
    const egtp = at(values, 'egtp', row.metric)
    const ratios = ['libp2p', 'hyperswarm', 'raw', ...(hasBase ? ['egtp@base'] : [])]
      .map(other => formatRatio(pairedRatio(egtp, at(values, other, row.metric))))
    const notes: string[] = []
    if (row.direct !== undefined) {
      const r = pairedRatio(egtp, at(values, 'egtp', row.direct))
      if (Number.isFinite(r)) notes.push(`relayed/direct ${formatRatio(r)}`)
      if (hasBase) {
        const rb = pairedRatio(at(values, 'egtp@base', row.metric), at(values, 'egtp@base', row.direct))
        if (Number.isFinite(rb)) notes.push(`base relayed/direct ${formatRatio(rb)}`)
      }
    }
    lines.push(`| ${[row.label, `${row.unit} ${row.lowerIsBetter === true ? '↓' : '↑'}`, ...cells, ...ratios, notes.join(', ')].join(' | ')} |`)
  }
  return lines.join('\n')
}

export function renderAead (results: Results): string | undefined {
  const node = results.values['aead-node']
  const sodium = results.values['aead-sodium']
  if (node === undefined && sodium === undefined) return undefined
  const lines = ['| ChaCha20-Poly1305 seal + open | unit | node:crypto | sodium-native | sodium-native/node:crypto |', '|---|---|---:|---:|---:|']
  for (const [metric, label, unit] of [['aead64_ops', '64 B', 'ops/s ↑'], ['aead64k_mbps', '64 KiB', 'MB/s ↑']] as const) {
    const a = node?.[metric] ?? []
    const b = sodium?.[metric] ?? []
    lines.push(`| ${label} | ${unit} | ${formatNumber(median(present(a)))} | ${formatNumber(median(present(b)))} | ${formatRatio(pairedRatio(b, a))} |`)
  }
  return lines.join('\n')
}

export function machine (): { nproc: number, cpu: string, node: string, platform: string } {
  return { nproc: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform} ${process.arch}` }
}

export function renderReport (results: Results, egtpFrom: { egtp: string, base?: string }): string {
  const m = machine()
  const s = results.settings
  const out = [
    `EGTP beside raw node:net, js-libp2p and Hyperswarm secret-stream — ${new Date().toISOString()}`,
    `machine: ${m.nproc} CPUs (${m.cpu}), Node ${m.node}, ${m.platform}`,
    `run: ${s.quick ? 'quick' : 'full'}, ${s.rounds} paired interleaved round(s), median shown; ${s.measureMs} ms per figure after ${s.warmUpMs} ms of warm-up; ` +
      `${s.freshPeers} fresh peers; ${s.idlePeers} idle peers (${s.idleRounds} round(s)); EGTP from ${egtpFrom.egtp}${egtpFrom.base === undefined ? '' : `, EGTP@base from ${egtpFrom.base}`}; ${(results.elapsedMs / 1000).toFixed(0)} s`,
    'ratios: EGTP ÷ the other, the median of per-round ratios (↑ higher is better, ↓ lower is better)',
    '',
    renderTable(results)
  ]
  const aead = renderAead(results)
  if (aead !== undefined) out.push('', aead)
  const notes = Object.entries(results.notes).flatMap(([impl, texts]) => texts.map(t => `- ${impl}: ${t}`))
  if (notes.length > 0) out.push('', 'how each sent:', ...notes)
  if (results.errors.length > 0) out.push('', 'FAILED:', ...results.errors.map(e => `- ${e}`))
  return out.join('\n')
}
