#!/usr/bin/env node
// egtp-node: a sample node. config → compose → run.
// Reachable directly (--listen) and/or through relays (--relay). Answers `echo` queries and counts `seq`
// one-way messages. Prints `{"event":"ready",…}` (with its signed contact record) on stdout.
// When started with an IPC channel (child_process.fork), it also takes commands from its parent — the demo
// and the end-to-end tests drive nodes that way (see ./control.ts).
// Exit codes: 0 after SIGINT/SIGTERM or a `stop` command, 1 on a runtime failure, 2 on invalid configuration.
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { FileKeystore, FileStore, MemoryKeystore, decodeContactRecord, encodeContactRecord, loadOrCreateIdentity, parseNodeId } from '@egtp/identity'
import { createComponentLogger } from '@egtp/interface'
import type { Commstrat, RelayEndpoint } from '@egtp/interface'
import { createNode, memoryDirectory } from '@egtp/node'
import { relayClient } from '@egtp/relay/client'
import { tcp } from '@egtp/tcp'
import { attachControl } from './control.ts'

const usage = `usage: egtp-node [--listen host:port] [--relay NODEID@host:port]... [--key-file FILE] [--data-dir DIR]
                 [--peer-record FILE]... [--clock-window-ms N]
  --listen        accept direct TCP connections there (omit for a relay-only node behind NAT)
  --relay         register with this relay and advertise it (repeatable)
  --key-file      the node's identity (created mode 0600 if missing; default: a new identity per run)
  --data-dir      persist session replay state and the de-duplication journal (default: nothing on disk)
  --peer-record   a file holding a peer's signed contact record (base64), as printed in its ready line
  --clock-window-ms  paranoid sessions: refuse initiations whose clock differs by more than this
Environment: DEBUG (log namespaces, default "egtp:app-node"), EGTP_NODE_* equivalents of the options.`

function fail (message: string): never {
  process.stderr.write(`egtp-node: ${message}\n${usage}\n`)
  process.exit(2)
}

function hostPort (name: string, value: string): { host: string, port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value)
  if (m === null || Number(m[2]) > 65_535) fail(`${name} must be host:port, got ${JSON.stringify(value)}`)
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) }
}

function relayArg (value: string): RelayEndpoint {
  const at = value.indexOf('@')
  if (at < 1) fail(`--relay must be NODEID@host:port, got ${JSON.stringify(value)}`)
  let relay: string
  try {
    relay = parseNodeId(value.slice(0, at))
  } catch (err) {
    fail(`--relay: ${(err as Error).message}`)
  }
  return { kind: 'relay', relay, ...hostPort('--relay', value.slice(at + 1)) }
}

const env = process.env
const list = (v: string | undefined): string[] => v === undefined || v === '' ? [] : v.split(',')
let args
try {
  args = parseArgs({
    options: {
      listen: { type: 'string', default: env.EGTP_NODE_LISTEN },
      relay: { type: 'string', multiple: true, default: list(env.EGTP_NODE_RELAYS) },
      'key-file': { type: 'string', default: env.EGTP_NODE_KEY_FILE },
      'data-dir': { type: 'string', default: env.EGTP_NODE_DATA_DIR },
      'peer-record': { type: 'string', multiple: true, default: list(env.EGTP_NODE_PEER_RECORDS) },
      'clock-window-ms': { type: 'string', default: env.EGTP_NODE_CLOCK_WINDOW_MS },
      help: { type: 'boolean', default: false }
    },
    strict: true
  }).values
} catch (err) {
  fail((err as Error).message)
}
if (args.help === true) {
  process.stdout.write(`${usage}\n`)
  process.exit(0)
}
const listen = args.listen !== undefined ? hostPort('--listen', args.listen) : undefined
const relays = (args.relay ?? []).map(relayArg)
if (listen === undefined && relays.length === 0) fail('give --listen, --relay, or both: otherwise nobody can reach this node')
let clockWindowMs: number | undefined
if (args['clock-window-ms'] !== undefined) {
  clockWindowMs = Number(args['clock-window-ms'])
  if (!Number.isSafeInteger(clockWindowMs) || clockWindowMs < 1) fail('--clock-window-ms must be a positive integer')
}

const logger = createComponentLogger(env.DEBUG ?? 'egtp:app-node', ({ namespace, level, message }) => {
  process.stderr.write(`${new Date().toISOString()} ${process.pid} ${level === 'error' ? 'ERROR ' : ''}${namespace} ${message}\n`)
})
const log = logger.forComponent('app-node')

const keystore = args['key-file'] !== undefined ? new FileKeystore(args['key-file']) : new MemoryKeystore()
let store: FileStore | undefined
if (args['data-dir'] !== undefined) {
  mkdirSync(args['data-dir'], { recursive: true, mode: 0o700 })
  store = new FileStore(join(args['data-dir'], 'state'))
}
const directory = memoryDirectory()
const commstrats: Commstrat[] = []
// One tcp instance serves direct peers and is the relay client's transport.
const transport = tcp({ ...(listen !== undefined ? { listen: [{ kind: 'tcp', ...listen }] } : {}) })({ logger })
commstrats.push(transport)

const identity = await loadOrCreateIdentity(keystore).catch((err: unknown) => {
  log.error('could not load the identity: %e', err)
  process.exit(1)
})
// Always able to send through a peer's relay; registers (to receive through relays) only when given some.
commstrats.push(relayClient({ relays, register: relays.length > 0 })({ transport, identity, logger }))

const node = await createNode({
  identity,
  commstrats,
  lookup: directory,
  announcer: directory,
  ...(store !== undefined ? { store } : {}),
  ...(clockWindowMs !== undefined ? { clockWindowMs } : {}),
  logger
})

const received = { seq: 0 }
node.handle('echo', (payload) => payload)
node.handle('seq', (payload, ctx) => {
  received.seq++
  process.send?.({ op: 'received', type: 'seq', from: ctx.peerId, payload })
  return null
})

for (const file of args['peer-record'] ?? []) {
  try {
    const record = decodeContactRecord(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'))
    await directory.announce(record)
  } catch (err) {
    fail(`--peer-record ${file}: ${(err as Error).message}`)
  }
}

try {
  await node.start()
} catch (err) {
  log.error('could not start: %e', err)
  process.exit(1)
}

const recordText = (): string => Buffer.from(encodeContactRecord(node.contactRecord()!)).toString('base64')
log('config %o', { listen: listen ?? null, relays, keyFile: args['key-file'] ?? null, dataDir: args['data-dir'] ?? null, clockWindowMs: clockWindowMs ?? null })
process.stdout.write(`${JSON.stringify({ event: 'ready', nodeId: node.nodeId, pid: process.pid, record: recordText() })}\n`)
node.addEventListener('contact:change', () => {
  process.send?.({ op: 'record', nodeId: node.nodeId, record: recordText() })
})

let stopping = false
async function shutdown (why: string): Promise<void> {
  if (stopping) return
  stopping = true
  log('%s: stopping', why)
  const timer = setTimeout(() => { log.error('stop took over 5 s; exiting'); process.exit(1) }, 5_000)
  timer.unref()
  await node.stop()
  process.exit(0)
}
process.on('SIGINT', () => { void shutdown('SIGINT') })
process.on('SIGTERM', () => { void shutdown('SIGTERM') })
if (process.send !== undefined) attachControl(node, directory, () => { void shutdown('stop command') }, recordText)
