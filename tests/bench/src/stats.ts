// Medians, percentiles and number formatting.

export function median (xs: readonly number[]): number {
  return percentile(xs, 0.5)
}

/** The nearest-rank percentile (`p` in 0..1); NaN for no samples. */
export function percentile (xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN
  const sorted = [...xs].sort((a, b) => a - b)
  if (p === 0.5 && sorted.length % 2 === 0) return (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!
}

/** 1,234,567 for large figures, three significant digits for small ones. */
export function formatNumber (n: number): string {
  if (!Number.isFinite(n)) return '—'
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US')
  if (Math.abs(n) >= 100) return n.toFixed(0)
  if (Math.abs(n) >= 10) return n.toFixed(1)
  return n.toFixed(2)
}

export function formatRatio (r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}x` : ''
}
