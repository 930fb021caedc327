// Tiny benchmark harness: run `fn` in batches until `minMs` has passed (after a warm-up), report ops/s.
// Figures are medians of several rounds, so a single GC pause does not decide them.

/**
 * @param {string} name
 * @param {() => unknown} fn one operation
 * @param {{ minMs?: number, rounds?: number, bytesPerOp?: number }} [opts]
 * @returns {{ name: string, opsPerSec: number, mbPerSec?: number }}
 */
export function measure (name, fn, opts = {}) {
  const minMs = opts.minMs ?? 300
  const rounds = opts.rounds ?? 5
  for (let i = 0; i < 1000; i++) fn()
  const rates = []
  for (let r = 0; r < rounds; r++) {
    let ops = 0
    const start = performance.now()
    let elapsed = 0
    while (elapsed < minMs) {
      for (let i = 0; i < 100; i++) fn()
      ops += 100
      elapsed = performance.now() - start
    }
    rates.push(ops / (elapsed / 1000))
  }
  rates.sort((a, b) => a - b)
  const opsPerSec = rates[Math.floor(rates.length / 2)]
  const result = { name, opsPerSec }
  if (opts.bytesPerOp) result.mbPerSec = opsPerSec * opts.bytesPerOp / 1e6
  return result
}

/** Async variant: `fn` runs `batch` operations and resolves. */
export async function measureAsync (name, fn, opts = {}) {
  const minMs = opts.minMs ?? 500
  const rounds = opts.rounds ?? 3
  await fn()
  const rates = []
  for (let r = 0; r < rounds; r++) {
    let ops = 0
    const start = performance.now()
    let elapsed = 0
    while (elapsed < minMs) {
      ops += await fn()
      elapsed = performance.now() - start
    }
    rates.push(ops / (elapsed / 1000))
  }
  rates.sort((a, b) => a - b)
  const opsPerSec = rates[Math.floor(rates.length / 2)]
  const result = { name, opsPerSec }
  if (opts.bytesPerOp) result.mbPerSec = opsPerSec * opts.bytesPerOp / 1e6
  return result
}

const fmt = (n) => n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2)

/** Print a result, and its ratio to a baseline measured in the same run. */
export function report (result, baseline) {
  const parts = [`${result.name.padEnd(48)} ${fmt(result.opsPerSec).padStart(12)} ops/s`]
  if (result.mbPerSec !== undefined) parts.push(`${fmt(result.mbPerSec).padStart(9)} MB/s`)
  if (baseline) parts.push(`  ${(result.opsPerSec / baseline.opsPerSec).toFixed(2)}x ${baseline.name}`)
  console.log(parts.join(' '))
}

/** A heading for a group of results. */
export function heading (text) {
  console.log(`\n## ${text}`)
}

/**
 * Run `n` operations with at most `window` in flight (a sender keeping its window full); resolves with `n`.
 * @param {number} n
 * @param {number} window
 * @param {() => Promise<unknown>} op
 * @returns {Promise<number>}
 */
export async function pump (n, window, op) {
  await windowed(window, op, (started) => started < n)
  return n
}

/**
 * Run operations with at most `window` in flight until `ms` have passed; resolves with how many completed.
 * @param {number} ms
 * @param {number} window
 * @param {() => Promise<unknown>} op
 * @returns {Promise<number>}
 */
export async function pumpFor (ms, window, op) {
  const end = performance.now() + ms
  return await windowed(window, op, () => performance.now() < end)
}

/** Start operations while `more(started)` holds, at most `window` at a time; resolves with the number done. */
function windowed (window, op, more) {
  let started = 0
  let done = 0
  let inflight = 0
  return new Promise((resolve, reject) => {
    const next = () => {
      while (inflight < window && more(started)) {
        started++
        inflight++
        op().then(() => {
          inflight--
          done++
          if (inflight === 0 && !more(started)) resolve(done)
          else next()
        }, reject)
      }
      if (inflight === 0) resolve(done)
    }
    next()
  })
}
