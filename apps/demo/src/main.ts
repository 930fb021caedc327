#!/usr/bin/env node
// The EGTP demo, on 127.0.0.1 with real child processes: by default the full network (network.ts), or one of
// the issue-10 restart scenarios (scenarios.ts). Exits 0 only if every check passed, 1 naming the failed
// step(s) otherwise, 2 on bad usage. The children log errors only, so the timeline stays readable;
// DEBUG=egtp:* shows their logs as well.
import { parseArgs } from 'node:util'
import { DemoContext } from './context.ts'
import { runNetwork } from './network.ts'
import { SCENARIOS, runScenario } from './scenarios.ts'
import type { Scenario } from './scenarios.ts'
import { Timeline } from './timeline.ts'

/** The whole run must end within this, or it fails naming the step it was in (CI must never hang). */
export const DEMO_DEADLINE_MS = 120_000

const USAGE = `usage: pnpm demo [--keep] [--scenario NAME]      (after a build: node apps/demo/dist/main.js …)
Starts an EGTP network on 127.0.0.1 in real child processes and prints a timeline of what happens:
  1. bootstrap: a bootpage signed with egtp-bootpage, served over HTTP; two metatrackers, two relays and
     nodes A (directly reachable), B (listening nowhere: reached only through a relay, as behind NAT) and C,
     every one started from the bootpage URL and its key alone
  2. publish and lookup: A finds C by node ID through the trackers; A and C talk directly
  3. A and B through a relay
  4. B killed with SIGKILL and restarted with its state while A keeps sending: the mechanisms named as they
     happen (stale session, hint through the relay, new initiation, re-sends, de-duplication), how long B was
     down, how long queued messages waited, and the count delivered / reported failed / lost (must be 0)
  5. the relay B advertises killed: B moves to the other relay
  6. a metatracker killed: lookups still answered
Options:
  --keep           leave the network up after the checks (until Ctrl-C) and print the egtp-node commands
                   to join it and chat
  --scenario NAME  run one of the issue-10 restart checks instead (A, B and one relay; no trackers):
                   ${SCENARIOS.join(', ')}
  -h, --help       this text
Exit status: 0 when every check passed; 1 when one failed (the failed steps are named last); 2 on bad usage.
Environment: DEBUG=egtp:* shows the children's logs; EGTP_DEMO_SKEW_MS sets B's clock offset for clock-skew.`

let values: { keep?: boolean, scenario?: string, help?: boolean }
try {
  values = parseArgs({ options: { keep: { type: 'boolean' }, scenario: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }).values
} catch (err) {
  process.stderr.write(`demo: ${(err as Error).message.split('\n')[0]!}\n${USAGE}\n`)
  process.exit(2)
}
if (values.help === true) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}
if (values.scenario !== undefined && !SCENARIOS.includes(values.scenario as Scenario)) {
  process.stderr.write(`demo: --scenario must be one of ${SCENARIOS.join(', ')}, got ${JSON.stringify(values.scenario)}\n`)
  process.exit(2)
}

const ctx = new DemoContext()
const tl = new Timeline()
process.on('exit', () => { ctx.cleanup() })
const deadline = setTimeout(() => {
  tl.abort(new Error(`the demo did not finish within ${DEMO_DEADLINE_MS / 1000} s`))
  tl.verdict()
  process.stdout.write(`${ctx.stderrReport()}\n`)
  ctx.cleanup()
  process.exit(1)
}, DEMO_DEADLINE_MS)
deadline.unref()
// --keep waits for Ctrl-C after the checks: no deadline then.
if (values.keep === true) clearTimeout(deadline)

const scenario = values.scenario as Scenario | undefined
tl.say(`EGTP demo ${scenario === undefined ? 'network' : `scenario ${scenario}`} on 127.0.0.1 (work directory ${ctx.work})`)
try {
  if (scenario !== undefined) await runScenario(scenario, ctx, tl)
  else await runNetwork(ctx, tl, values.keep === true)
} catch (err) {
  tl.abort(err)
}
clearTimeout(deadline)
const passed = tl.verdict()
if (!passed && (process.env.DEBUG ?? '') === '') {
  const report = ctx.stderrReport()
  if (report !== '') process.stdout.write(`${report}\n`)
}
process.exitCode = passed ? 0 : 1
ctx.cleanup()
// Children are gone; nothing should keep the loop alive, but never hang CI.
setTimeout(() => process.exit(), 1_000).unref()
