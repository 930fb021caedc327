#!/usr/bin/env node
// pnpm test:soak [--long] [--seed N] [--duration S] [--keep]: the chaos soak. Needs root (network namespaces,
// iptables); without it, it says so and exits 1. Everything it creates carries a per-run prefix and is torn
// down on exit, SIGINT, SIGTERM and uncaught errors; leftovers of a run killed -9 are removed by the next.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { removeLeftovers } from './netns.ts'
import { formatReport } from './report.ts'
import { runSoak } from './run.ts'
import type { SoakConfig } from './run.ts'
import { World } from './world.ts'

export const SHORT_DURATION_S = 60
export const LONG_DURATION_S = 900
export const DEFAULT_RECOVERY_BOUND_MS = 60_000
export const DEFAULT_MAX_RSS_BYTES = 256 * 2 ** 20

const usage = `usage: pnpm test:soak [--long] [--seed N] [--duration SECONDS] [--keep]
  (default: a short run of ${SHORT_DURATION_S} s with a random seed; --long: ${LONG_DURATION_S} s)
  --seed      replay a run: the same seed gives the same fault schedule and traffic pattern
  --keep      keep the work directory (node data, handled logs) even when the run passes
  --in-suite  as part of \`pnpm test\`: without root (or ip/iptables) outside CI, say SKIPPED and exit 0; under CI=true fail`

let args
try {
  args = parseArgs({
    options: {
      long: { type: 'boolean', default: false },
      seed: { type: 'string' },
      duration: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'in-suite': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false }
    },
    strict: true
  }).values
} catch (err) {
  process.stderr.write(`soak: ${(err as Error).message}\n${usage}\n`)
  process.exit(2)
}
if (args.help) { process.stdout.write(`${usage}\n`); process.exit(0) }
const seed = args.seed !== undefined ? Number(args.seed) : Math.floor(Math.random() * 2 ** 31)
const durationS = args.duration !== undefined ? Number(args.duration) : args.long ? LONG_DURATION_S : SHORT_DURATION_S
if (!Number.isSafeInteger(seed) || seed < 0) { process.stderr.write(`soak: --seed must be a non-negative integer\n${usage}\n`); process.exit(2) }
if (!Number.isFinite(durationS) || durationS < 20) { process.stderr.write(`soak: --duration must be at least 20 seconds\n${usage}\n`); process.exit(2) }

const inSuite = args['in-suite']
/** In `pnpm test` on a developer's machine without root, a visible skip; everywhere else, a failure. */
function cannotRun (why: string): never {
  if (inSuite && process.env.CI !== 'true') {
    process.stdout.write(`soak: SKIPPED in this test run: ${why} (CI runs it as root; \`sudo pnpm test:soak\` runs it here)\n`)
    process.exit(0)
  }
  process.stderr.write(`soak: FAILED TO RUN: ${why}; nothing was tested.\n`)
  process.exit(1)
}

if (process.platform !== 'linux' || process.getuid?.() !== 0) {
  if (inSuite) cannotRun('the chaos soak needs root on Linux')
  process.stderr.write('soak: FAILED TO RUN: the chaos soak needs root on Linux (it creates network namespaces, veth pairs, a bridge and iptables NAT rules). Run it as root (CI does); nothing was tested.\n')
  process.exit(1)
}
for (const tool of [['ip', '-V'], ['iptables', '--version']] as const) {
  try {
    execFileSync(tool[0], [tool[1]], { stdio: 'ignore' })
  } catch {
    if (inSuite) cannotRun(`\`${tool[0]}\` is missing (apt-get install -y iproute2 iptables)`)
    process.stderr.write(`soak: FAILED TO RUN: \`${tool[0]}\` is missing (apt-get install -y iproute2 iptables); nothing was tested.\n`)
    process.exit(1)
  }
}

const removed = removeLeftovers()
const log = (line: string): void => { process.stdout.write(`${line}\n`) }
if (removed.length > 0) log(`removed ${removed.length} namespaces left by earlier runs`)
// Work directories of runs killed before they could clean up (their pid is in the name and gone). Those of
// failed runs are kept on purpose (named egtp-soak-failed-… or egtp-soak-kept-…) for the replay.
for (const name of readdirSync(tmpdir())) {
  const m = /^egtp-soak-(\d+)-/.exec(name)
  if (m === null) continue
  let alive = true
  try { process.kill(Number(m[1]), 0) } catch { alive = false }
  if (!alive) rmSync(join(tmpdir(), name), { recursive: true, force: true })
}
const workDir = mkdtempSync(join(tmpdir(), `egtp-soak-${process.pid}-`))
/** Nodes that run egtp-node (apps/node) rather than the soak's node: one with a public address, one behind NAT. */
export const APP_NODES = [3, 7]
const world = new World({ workDir, directNodes: 4, natNodes: 4, appNodes: APP_NODES, log })

let tornDown = false
function teardown (): void {
  if (tornDown) return
  tornDown = true
  for (const p of world.processes()) p.kill9()
  world.net.teardown()
}
process.on('exit', teardown)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    log(`soak: ${signal}: tearing down`)
    teardown()
    process.exit(signal === 'SIGINT' ? 130 : 143)
  })
}
process.on('uncaughtException', (err) => {
  process.stderr.write(`soak: uncaught error: ${err.stack ?? err.message}\n`)
  teardown()
  process.exit(1)
})

const long = durationS > SHORT_DURATION_S * 2
const cfg: SoakConfig = {
  seed,
  durationMs: durationS * 1000,
  warmupMs: 5_000,
  meanFaultGapMs: long ? 10_000 : 4_500,
  trafficIntervalMs: 150,
  messageTimeoutMs: 15_000,
  recoveryBoundMs: DEFAULT_RECOVERY_BOUND_MS,
  maxRssBytes: DEFAULT_MAX_RSS_BYTES,
  directNodes: 4,
  natNodes: 4,
  appNodes: APP_NODES,
  workDir,
  log
}
log(`EGTP chaos soak: seed ${seed}, ${durationS} s of faults and traffic (replay: pnpm test:soak --seed ${seed} --duration ${durationS})`)
const startedAt = Date.now()
let failed = true
try {
  const report = await runSoak(cfg, world)
  const { text, violations } = formatReport(report, Date.now() - startedAt)
  log(text)
  failed = violations.length > 0
} catch (err) {
  process.stderr.write(`soak: the run itself failed: ${(err as Error).stack ?? String(err)}\n`)
  for (const p of world.processes()) if (p.stderrTail.length > 0) process.stderr.write(`--- ${p.label} stderr tail ---\n${p.stderrTail.join('\n')}\n`)
} finally {
  teardown()
}
if (failed || args.keep) {
  const kept = workDir.replace(/egtp-soak-\d+-/, failed ? 'egtp-soak-failed-' : 'egtp-soak-kept-')
  renameSync(workDir, kept)
  log(`work directory kept: ${kept}`)
} else {
  rmSync(workDir, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)
