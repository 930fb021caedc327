#!/usr/bin/env node
// pnpm bench: EGTP beside raw node:net, raw AEAD, js-libp2p and Hyperswarm's secret-stream, in one run.
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { AEAD_IMPLS } from './aead.ts'
import { NETWORK_IMPLS } from './impl/index.ts'
import type { EgtpSources } from './impl/index.ts'
import { runPlan } from './run.ts'
import { FULL, QUICK, SCENARIOS } from './scenarios.ts'
import type { Settings } from './scenarios.ts'
import { machine, renderReport } from './table.ts'

export const HELP = `Usage: pnpm bench:suite [options]   (or: node tests/bench/dist/cli.js [options])

EGTP beside raw node:net framing, raw AEAD (node:crypto, sodium-native), js-libp2p (TCP + Noise + yamux) and
Hyperswarm's secret-stream over TCP. Same topology for all: the client in this process, the server in a forked
child, 127.0.0.1 only. Each figure is the median of paired, interleaved rounds; EGTP/libp2p, EGTP/Hyperswarm
and EGTP/raw print beside it.

Options:
  --quick               a smoke run (under a minute): 1 round, short figures, ${QUICK.idlePeers} idle peers
  --rounds N            paired rounds (default 3, or 1 with --quick)
  --only NAME[,NAME]    scenarios and/or implementations (repeatable)
                          scenarios: ${SCENARIOS.map(s => s.name).join(', ')}
                          implementations: raw, libp2p, hyperswarm, egtp, egtp@base, aead-node, aead-sodium
  --idle-peers N        idle peers on one server (default ${FULL.idlePeers}, or ${QUICK.idlePeers} with --quick)
  --idle-rounds N       rounds of the idle scenario (default 1: setting up thousands of peers takes minutes)
  --json FILE           also write every figure (each round's) as JSON
  --egtp-from DIR       load EGTP from the built checkout at DIR instead of this workspace
  --compare-egtp DIR    add an EGTP@base column loaded from DIR (before/after, interleaved in one run)
  -h, --help            this text

A base checkout for --compare-egtp (e.g. main, beside your branch):
  git worktree add ../egtp-base main && (cd ../egtp-base && pnpm install && pnpm build)
  pnpm bench:suite --compare-egtp ../egtp-base
`

function fail (message: string): never {
  process.stderr.write(`${message}\n\n${HELP}`)
  process.exit(2)
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        rounds: { type: 'string' },
        only: { type: 'string', multiple: true },
        json: { type: 'string' },
        'idle-peers': { type: 'string' },
        'idle-rounds': { type: 'string' },
        'egtp-from': { type: 'string' },
        'compare-egtp': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false }
      },
      strict: true
    })
  } catch (err) {
    return fail((err as Error).message)
  }
})()

if (values.help) {
  process.stdout.write(HELP)
  process.exit(0)
}

const rounds = values.rounds === undefined ? (values.quick ? 1 : 3) : Number(values.rounds)
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 99) fail(`--rounds must be an integer from 1 to 99, not ${values.rounds}`)

const sources: EgtpSources = {}
if (values['egtp-from'] !== undefined) sources.egtp = resolve(values['egtp-from'])
if (values['compare-egtp'] !== undefined) sources.base = resolve(values['compare-egtp'])

const scenarioNames = new Set(SCENARIOS.map(s => s.name))
const implNames = new Set<string>([...NETWORK_IMPLS, ...AEAD_IMPLS])
const only = (values.only ?? []).flatMap(o => o.split(',')).map(o => o.trim()).filter(o => o !== '')
for (const name of only) {
  if (!scenarioNames.has(name) && !implNames.has(name)) fail(`--only: no scenario or implementation named ${name}`)
}
const onlyScenarios = only.filter(o => scenarioNames.has(o))
const onlyImpls = only.filter(o => implNames.has(o))
// EGTP and EGTP@base are a pair: selecting one with --compare-egtp selects both.
if (sources.base !== undefined && (onlyImpls.includes('egtp') || onlyImpls.includes('egtp@base'))) onlyImpls.push('egtp', 'egtp@base')
if (onlyImpls.includes('egtp@base') && sources.base === undefined) fail('--only egtp@base needs --compare-egtp DIR')

const scenarios = SCENARIOS.filter(s => onlyScenarios.length === 0 || onlyScenarios.includes(s.name))
const impls = [...implNames].filter(i => (onlyImpls.length === 0 || onlyImpls.includes(i)) && (i !== 'egtp@base' || sources.base !== undefined))
const count = (name: 'idle-peers' | 'idle-rounds', fallback: number, max: number): number => {
  const text = values[name]
  const n = text === undefined ? fallback : Number(text)
  if (!Number.isInteger(n) || n < 1 || n > max) fail(`--${name} must be an integer from 1 to ${max}, not ${text}`)
  return n
}
const base = values.quick ? QUICK : FULL
const settings: Settings = {
  ...base,
  quick: values.quick,
  rounds,
  idlePeers: count('idle-peers', base.idlePeers, 20_000),
  idleRounds: Math.min(rounds, count('idle-rounds', 1, 99))
}

const results = await runPlan({ scenarios, impls, settings, sources, progress: line => { process.stderr.write(`${line}\n`) } })
process.stdout.write(`\n${renderReport(results, { egtp: sources.egtp ?? 'this workspace', ...(sources.base === undefined ? {} : { base: sources.base }) })}\n`)
if (values.json !== undefined) {
  writeFileSync(values.json, JSON.stringify({ date: new Date().toISOString(), machine: machine(), sources, ...results }, null, 2))
}
process.exit(results.errors.length > 0 ? 1 : 0)
