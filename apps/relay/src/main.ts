#!/usr/bin/env -S node --initial-heap-size=128
// egtp-relay: config → compose → run. Prints one JSON line `{"event":"ready",…}` on stdout when serving;
// logs go to stderr (DEBUG=egtp:* for more). Exit codes: 0 after SIGINT/SIGTERM, 1 on a runtime failure,
// 2 on invalid configuration. Node runs with RELAY_NODE_FLAGS (in the shebang and `pnpm start`; see its doc).
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { parseArgs } from 'node:util'
import { FileKeystore, MemoryKeystore, loadOrCreateIdentity } from '@egtp/identity'
import { createComponentLogger } from '@egtp/interface'
import { relayServer, renderPrometheus } from '@egtp/relay/server'
import { tcp } from '@egtp/tcp'

const usage = `usage: egtp-relay [--listen host:port] [--announce host:port] [--data-dir DIR] [--key-file FILE]
                  [--metrics host:port] [--max-queued-per-client N] [--message-ttl-ms N]
  --listen      where relay clients and senders connect (default 127.0.0.1:0, a free port)
  --data-dir    keep queued messages in an fsync'd log there, so a restart loses none (default: memory)
  --key-file    the relay's identity (created mode 0600 if missing; default: a new identity per run)
  --metrics     serve Prometheus text on http://host:port/metrics (default: off)
Environment: DEBUG (log namespaces, default "egtp:relay*"), EGTP_RELAY_* equivalents of the options.`

function fail (message: string): never {
  process.stderr.write(`egtp-relay: ${message}\n${usage}\n`)
  process.exit(2)
}

function hostPort (name: string, value: string | undefined): { host: string, port: number } | undefined {
  if (value === undefined) return undefined
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value)
  if (m === null || Number(m[2]) > 65_535) fail(`${name} must be host:port, got ${JSON.stringify(value)}`)
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) }
}

function positiveInt (name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < 1) fail(`${name} must be a positive integer, got ${JSON.stringify(value)}`)
  return n
}

const env = process.env
let args
try {
  args = parseArgs({
    options: {
      listen: { type: 'string', default: env.EGTP_RELAY_LISTEN ?? '127.0.0.1:0' },
      announce: { type: 'string', default: env.EGTP_RELAY_ANNOUNCE },
      'data-dir': { type: 'string', default: env.EGTP_RELAY_DATA_DIR },
      'key-file': { type: 'string', default: env.EGTP_RELAY_KEY_FILE },
      metrics: { type: 'string', default: env.EGTP_RELAY_METRICS },
      'max-queued-per-client': { type: 'string', default: env.EGTP_RELAY_MAX_QUEUED_PER_CLIENT },
      'message-ttl-ms': { type: 'string', default: env.EGTP_RELAY_MESSAGE_TTL_MS },
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

const listen = hostPort('--listen', args.listen)!
const announce = hostPort('--announce', args.announce)
const metricsAt = hostPort('--metrics', args.metrics)
const maxQueued = positiveInt('--max-queued-per-client', args['max-queued-per-client'])
const ttl = positiveInt('--message-ttl-ms', args['message-ttl-ms'])

const logger = createComponentLogger(env.DEBUG ?? 'egtp:relay*', ({ namespace, level, message }) => {
  process.stderr.write(`${new Date().toISOString()} ${level === 'error' ? 'ERROR ' : ''}${namespace} ${message}\n`)
})
const log = logger.forComponent('app-relay')

const identity = await loadOrCreateIdentity(args['key-file'] !== undefined ? new FileKeystore(args['key-file']) : new MemoryKeystore())
const transport = tcp({ idleTimeoutMs: 120_000 })({ logger })
const server = relayServer({
  listen: { kind: 'tcp', ...listen },
  ...(announce !== undefined ? { announce } : {}),
  ...(args['data-dir'] !== undefined ? { dataDir: args['data-dir'] } : {}),
  ...(maxQueued !== undefined ? { maxQueuedMessagesPerClient: maxQueued } : {}),
  ...(ttl !== undefined ? { messageTtlMs: ttl } : {})
})({ transport, identity, logger })

// The effective configuration, secrets left out.
log('config %o', { listen, announce, dataDir: args['data-dir'] ?? null, keyFile: args['key-file'] ?? null, metrics: metricsAt ?? null, nodeId: identity.nodeId })

let metrics: Server | undefined
try {
  await server.start()
  if (metricsAt !== undefined) {
    metrics = createServer((req, res) => {
      if (req.url !== '/metrics') { res.writeHead(404).end(); return }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(renderPrometheus(server.stats()))
    })
    await new Promise<void>((resolve, reject) => {
      metrics!.once('error', reject).listen(metricsAt.port, metricsAt.host, () => { resolve() })
    })
  }
} catch (err) {
  log.error('could not start: %e', err)
  await server.stop().catch(() => {})
  process.exit(1)
}

const address = server.address()
const metricsAddress = metrics?.address()
process.stdout.write(`${JSON.stringify({
  event: 'ready',
  nodeId: identity.nodeId,
  host: address.host,
  port: address.port,
  endpoint: server.endpoint(),
  metricsPort: typeof metricsAddress === 'object' && metricsAddress !== null ? metricsAddress.port : null
})}\n`)

let stopping = false
async function shutdown (signal: string): Promise<void> {
  if (stopping) return
  stopping = true
  log('%s: stopping', signal)
  const timer = setTimeout(() => { log.error('stop took over 5 s; exiting'); process.exit(1) }, 5_000)
  timer.unref()
  metrics?.close()
  await server.stop()
  process.exit(0)
}
process.on('SIGINT', () => { void shutdown('SIGINT') })
process.on('SIGTERM', () => { void shutdown('SIGTERM') })
