#!/usr/bin/env node
// egtp-metatracker: config → compose → run. Prints one JSON line `{"event":"ready",…}` on stdout when serving
// (with the tracker's signed contact record, base64, for clients to bootstrap from); logs go to stderr
// (DEBUG=egtp:* for more). Exit codes: 0 after SIGINT/SIGTERM, 1 on a runtime failure, 2 on invalid configuration.
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { readFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { checkBootpageSource, createBootpageLoader, parseBootpageKey } from '@egtp/bootpage'
import type { BootpageLoader } from '@egtp/bootpage'
import { FileKeystore, MemoryKeystore, encodeContactRecord, loadOrCreateIdentity } from '@egtp/identity'
import type { ContactRecord } from '@egtp/interface'
import { createComponentLogger } from '@egtp/interface'
import { TRACKER_SERVICE, contactRecordFromText } from '@egtp/metatracker'
import { trackers } from '@egtp/metatracker/client'
import type { MetatrackerClient } from '@egtp/metatracker/client'
import { memoryRecordStore, metatrackerServer, renderPrometheus } from '@egtp/metatracker/server'
import type { RecordStore } from '@egtp/metatracker/server'
import { createNode } from '@egtp/node'
import { tcp } from '@egtp/tcp'

const usage = `usage: egtp-metatracker [--listen host:port] [--state-dir DIR] [--redis URL] [--metrics host:port]
                        [--record-ttl-ms N] [--max-records N] [--max-record-bytes N]
                        [--publishes-per-second N] [--lookups-per-second N]
                        [--tracker RECORD]... [--bootpage URL... --bootpage-key KEY]
  --listen      where nodes connect (default 127.0.0.1:0, a free port)
  --state-dir   the tracker's identity (identity.json, mode 0600) and, without --redis, its records (records/),
                kept across restarts (default: a new identity and memory only)
  --redis       share records with other trackers through Redis/Valkey (redis://host:port[/db], rediss:// for TLS)
  --redis-prefix  key prefix shared by the fleet (default egtp:mt:{fleet}:)
  --metrics     serve Prometheus text on http://host:port/metrics and JSON health on /health (default: off)
  --record-ttl-ms, --max-records, --max-record-bytes, --publishes-per-second, --lookups-per-second
                the server's limits (defaults: 1800000, 1000000, 2048, 5, 50)
  --tracker     a peer tracker's signed contact record: a file (base64, or another egtp-metatracker's JSON
                ready line) or the base64 itself (repeatable). This tracker publishes its own record
                (service metatracker) there, so clients find it with discoverTrackers(); withdrawn on exit.
                Its own record is always held in its own store (discoverable there) with or without this
  --bootpage    a bootpage mirror (repeatable): the peer trackers come from the signed page
  --bootpage-key  the node ID or hex public key that signs the bootpage (required with --bootpage)
Environment: DEBUG (log namespaces, default "egtp:metatracker*"), EGTP_METATRACKER_* equivalents of the options.`

function fail (message: string): never {
  process.stderr.write(`egtp-metatracker: ${message}\n${usage}\n`)
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
const e = (name: string): string | undefined => env[`EGTP_METATRACKER_${name}`]
let args
try {
  args = parseArgs({
    options: {
      listen: { type: 'string', default: e('LISTEN') ?? '127.0.0.1:0' },
      'state-dir': { type: 'string', default: e('STATE_DIR') },
      redis: { type: 'string', default: e('REDIS') },
      'redis-prefix': { type: 'string', default: e('REDIS_PREFIX') },
      metrics: { type: 'string', default: e('METRICS') },
      'record-ttl-ms': { type: 'string', default: e('RECORD_TTL_MS') },
      'max-records': { type: 'string', default: e('MAX_RECORDS') },
      'max-record-bytes': { type: 'string', default: e('MAX_RECORD_BYTES') },
      'publishes-per-second': { type: 'string', default: e('PUBLISHES_PER_SECOND') },
      'lookups-per-second': { type: 'string', default: e('LOOKUPS_PER_SECOND') },
      tracker: { type: 'string', multiple: true, default: (e('TRACKERS') ?? '').split(',').filter(v => v !== '') },
      bootpage: { type: 'string', multiple: true, default: (e('BOOTPAGES') ?? '').split(',').filter(v => v !== '') },
      'bootpage-key': { type: 'string', default: e('BOOTPAGE_KEY') },
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
const metricsAt = hostPort('--metrics', args.metrics)
const stateDir = args['state-dir']
const redisUrl = args.redis
if (redisUrl !== undefined && !/^rediss?:\/\/[^\s]+$/.test(redisUrl)) fail(`--redis must be a redis:// or rediss:// URL, got ${JSON.stringify(redisUrl)}`)
const maxRecords = positiveInt('--max-records', args['max-records'])
const limits = {
  recordTtlMs: positiveInt('--record-ttl-ms', args['record-ttl-ms']),
  maxRecordBytes: positiveInt('--max-record-bytes', args['max-record-bytes']),
  publishesPerSecond: positiveInt('--publishes-per-second', args['publishes-per-second']),
  lookupsPerSecond: positiveInt('--lookups-per-second', args['lookups-per-second'])
}
const serverInit = Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined))
try {
  metatrackerServer(serverInit) // validate the limits before anything starts
} catch (err) {
  fail((err as Error).message)
}

/** A `--tracker` value: a file (base64 record, or a tracker's JSON ready line) or the base64 itself. */
function trackerRecordArg (value: string): ContactRecord {
  let text = value
  try { text = readFileSync(value, 'utf8') } catch { /* not a file: the value itself */ }
  try {
    return contactRecordFromText(text)
  } catch (err) {
    fail(`--tracker ${value.slice(0, 64)}: ${(err as Error).message}`)
  }
}
const peerTrackers = (args.tracker ?? []).map(trackerRecordArg)
const bootpageUrls = args.bootpage ?? []
const bootpageKey = args['bootpage-key']
if (bootpageUrls.length === 0 && bootpageKey !== undefined) fail('--bootpage-key needs --bootpage URL')
if (bootpageUrls.length > 0) {
  if (bootpageKey === undefined) fail('--bootpage needs --bootpage-key KEY (the node ID or hex public key that signs the page)')
  try { parseBootpageKey(bootpageKey) } catch (err) { fail(`--bootpage-key: ${(err as Error).message}`) }
  try { checkBootpageSource({ urls: bootpageUrls, key: bootpageKey }) } catch (err) { fail(`--bootpage: ${(err as Error).message}`) }
}

const logger = createComponentLogger(env.DEBUG ?? 'egtp:metatracker*', ({ namespace, level, message }) => {
  process.stderr.write(`${new Date().toISOString()} ${level === 'error' ? 'ERROR ' : ''}${namespace} ${message}\n`)
})
const log = logger.forComponent('app-metatracker')

// The effective configuration, secrets (a Redis password) left out.
const redactedRedis = redisUrl?.replace(/\/\/[^@/]*@/, '//***@') ?? null
log('config %o', { listen, stateDir: stateDir ?? null, redis: redactedRedis, metrics: metricsAt ?? null, maxRecords: maxRecords ?? null, ...serverInit })

let store: RecordStore
let openStore: () => Promise<void>
if (redisUrl !== undefined) {
  const { redisRecordStore } = await import('@egtp/metatracker/redis')
  const redis = redisRecordStore({ url: redisUrl, ...(maxRecords !== undefined ? { maxRecords } : {}), ...(args['redis-prefix'] !== undefined ? { keyPrefix: args['redis-prefix'] } : {}) })
  store = redis
  openStore = async () => { await redis.open() }
} else {
  const memory = memoryRecordStore({ ...(maxRecords !== undefined ? { maxRecords } : {}), ...(stateDir !== undefined ? { dataDir: join(stateDir, 'records') } : {}) })
  store = memory
  openStore = async () => { await memory.open(Date.now()) }
}

if (stateDir !== undefined) await mkdir(stateDir, { recursive: true, mode: 0o700 })
const identity = await loadOrCreateIdentity(stateDir !== undefined ? new FileKeystore(join(stateDir, 'identity.json')) : new MemoryKeystore())
// With peer trackers (or a bootpage), this tracker publishes its own record (service metatracker) to them
// through a metatracker client, the node's announcer: the node re-signs and re-announces it on its schedule.
let loader: BootpageLoader | undefined
let peers: MetatrackerClient | undefined
if (peerTrackers.length > 0 || bootpageUrls.length > 0) {
  try {
    loader = bootpageUrls.length > 0
      ? createBootpageLoader({ urls: bootpageUrls, key: bootpageKey!, logger, ...(stateDir !== undefined ? { stateDir: join(stateDir, 'bootpage') } : {}) })
      : undefined
  } catch (err) {
    fail(`--bootpage: ${(err as Error).message}`)
  }
  peers = trackers({
    trackers: peerTrackers.filter(r => r.nodeId !== identity.nodeId),
    identity,
    logger,
    ...(loader !== undefined ? { seeds: async (o: { signal?: AbortSignal }) => (await loader!.load(o)).trackers } : {})
  })
}
const node = await createNode({
  identity,
  commstrats: [tcp({ listen: [{ kind: 'tcp', ...listen }], idleTimeoutMs: 120_000 })({ logger })],
  services: [TRACKER_SERVICE],
  ...(peers !== undefined ? { announcer: peers, discovery: peers } : {}),
  logger
})
peers?.attach(node)
const tracker = metatrackerServer(serverInit)({ node, store, logger })

let metrics: Server | undefined
try {
  await openStore()
  await node.start()
  await tracker.start()
  if (metricsAt !== undefined) {
    metrics = createServer((req, res) => {
      void (async () => {
        if (req.url === '/metrics') {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(renderPrometheus(await tracker.stats()))
        } else if (req.url === '/health') {
          // Healthy when the store answers (a Redis outage makes the tracker refuse every request).
          const ok = await store.size(Date.now()).then(() => true, () => false)
          const stats = await tracker.stats()
          res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
            .end(JSON.stringify({ status: ok ? 'ok' : 'store-unavailable', nodeId: node.nodeId, store: stats.store, durable: stats.durable, records: stats.records }))
        } else {
          res.writeHead(404).end()
        }
      })().catch(() => { res.destroy() })
    })
    await new Promise<void>((resolve, reject) => {
      metrics!.once('error', reject).listen(metricsAt.port, metricsAt.host, () => { resolve() })
    })
  }
} catch (err) {
  log.error('could not start: %e', err)
  await tracker.stop().catch(() => {})
  await peers?.stop().catch(() => {})
  loader?.close()
  await node.stop().catch(() => {})
  await store.close().catch(() => {})
  process.exit(1)
}

const record = node.contactRecord()!
const tcpEndpoint = record.endpoints.find(ep => ep.kind === 'tcp')
const metricsAddress = metrics?.address()
process.stdout.write(`${JSON.stringify({
  event: 'ready',
  nodeId: node.nodeId,
  host: tcpEndpoint?.host ?? null,
  port: tcpEndpoint?.port ?? null,
  record: Buffer.from(encodeContactRecord(record)).toString('base64'),
  store: store.kind,
  metricsPort: typeof metricsAddress === 'object' && metricsAddress !== null ? metricsAddress.port : null,
  trackers: peers?.trackerIds() ?? []
})}\n`)

let stopping = false
async function shutdown (signal: string): Promise<void> {
  if (stopping) return
  stopping = true
  log('%s: stopping', signal)
  const timer = setTimeout(() => { log.error('stop took over 5 s; exiting'); process.exit(1) }, 5_000)
  timer.unref()
  metrics?.close()
  // The peer trackers get this tracker's signed goodbye while its node can still send it.
  await peers?.stop().catch((err: unknown) => { log.error('withdrawing from the peer trackers failed: %e', err) })
  loader?.close()
  await tracker.stop()
  await node.stop()
  await store.close()
  process.exit(0)
}
process.on('SIGINT', () => { void shutdown('SIGINT') })
process.on('SIGTERM', () => { void shutdown('SIGTERM') })
