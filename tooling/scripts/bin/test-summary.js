#!/usr/bin/env node
// Prints the test counts of the last `pnpm test`: one line per workspace package from the JSON report its
// vitest run wrote (.test-results/vitest.json, restored by turbo on a cache hit), then the totals as
// "N passed, N failed, N skipped". Reports older than this run's start (argv[2], ms) are ignored.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = resolve(process.argv[3] ?? '.')
const since = Number(process.argv[2] ?? 0)
const rows = []
const total = { passed: 0, failed: 0, skipped: 0 }
for (const group of ['packages', 'apps', 'tooling', 'tests']) {
  const dir = join(root, group)
  if (!existsSync(dir)) continue
  for (const name of readdirSync(dir).sort()) {
    const file = join(dir, name, '.test-results', 'vitest.json')
    if (!existsSync(file) || statSync(file).mtimeMs < since) continue
    let report
    try {
      report = JSON.parse(readFileSync(file, 'utf8'))
    } catch {
      rows.push(`${group}/${name}: unreadable report`)
      continue
    }
    const passed = report.numPassedTests ?? 0
    const failed = report.numFailedTests ?? 0
    const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0)
    total.passed += passed
    total.failed += failed
    total.skipped += skipped
    rows.push(`${`${group}/${name}`.padEnd(28)} ${String(passed).padStart(5)} passed, ${failed} failed, ${skipped} skipped`)
  }
}
process.stdout.write(`\nTest counts (vitest, per workspace package):\n${rows.map(r => `  ${r}`).join('\n')}\n`)
process.stdout.write(`tests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped\n`)
