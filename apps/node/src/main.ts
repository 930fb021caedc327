#!/usr/bin/env -S node --initial-heap-size=128
// egtp-node: a sample node and its command line. config → compose → run.
//   egtp-node run …        serve (also the legacy form without a command: `egtp-node --relay … --key-file …`)
//   egtp-node id|ping|send|query|chat|status …   talk to the node running with --state-dir (control socket)
// Exit status: 0 on success (and after SIGINT/SIGTERM), 1 on a runtime failure, 2 on invalid configuration;
// every error is one line on stderr. Node runs with EGTP_NODE_FLAGS (node-flags.ts: in the shebang and `pnpm start`).
import { isEgtpError } from '@egtp/interface'
import { ConfigError } from './args.ts'
import { runClient } from './clients.ts'
import { RUN_USAGE, run } from './run.ts'

const USAGE = `usage: egtp-node COMMAND [options]   (egtp-node COMMAND --help for its options)
  run                        serve: answer echo queries, print text messages that arrive
  id                         print this node's ID (or, with --record, its signed contact record)
  ping NODE_ID               round-trip an echo through the running node
  send NODE_ID TEXT          send a one-way text message
  query NODE_ID HANDLER [JSON]  query a handler, print its reply
  chat NODE_ID               interactive: lines typed are sent, what arrives is shown
  status                     sessions, peers, relays, trackers and counters of the running node
Every command but run talks to the node that \`egtp-node run --state-dir DIR\` started, over its control
socket DIR/control.sock (mode 0600): give them the same --state-dir.
Two people on one machine:
  A: egtp-node run --state-dir ~/.egtp-a --listen 127.0.0.1:7001
  B: egtp-node run --state-dir ~/.egtp-b --listen 127.0.0.1:7002 --peer-record ~/.egtp-a/record
  B: egtp-node chat $(egtp-node id --state-dir ~/.egtp-a) --state-dir ~/.egtp-b
  A: egtp-node chat $(egtp-node id --state-dir ~/.egtp-b) --state-dir ~/.egtp-a`

const COMMANDS = ['run', 'id', 'ping', 'send', 'query', 'chat', 'status']

function exitWith (err: unknown): never {
  const config = err instanceof ConfigError
  const message = isEgtpError(err) || config ? (err as Error).message : `${(err as Error).name}: ${(err as Error).message}`
  process.stderr.write(`egtp-node: ${message}\n`)
  if (!config && (process.env.DEBUG ?? '') !== '' && err instanceof Error && err.stack !== undefined) process.stderr.write(`${err.stack}\n`)
  if (config) process.stderr.write('(egtp-node --help for usage)\n')
  process.exit(config ? 2 : 1)
}

async function main (argv: string[]): Promise<void> {
  const [first, ...rest] = argv
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    process.stdout.write(`${USAGE}\n\n${RUN_USAGE}\n`)
    if (first === undefined) process.exitCode = 2
    return
  }
  if (first === 'run') { await run(rest); return }
  if (COMMANDS.includes(first)) { await runClient(first, rest); process.exitCode ??= 0; return }
  // No command: the flag-only form of `run` that the demo and scripts use.
  if (first.startsWith('-')) { await run(argv, {}, true); return }
  throw new ConfigError(`unknown command ${JSON.stringify(first)}; commands: ${COMMANDS.join(', ')}`)
}

process.on('uncaughtException', exitWith)
process.on('unhandledRejection', exitWith)
main(process.argv.slice(2)).catch(exitWith)
