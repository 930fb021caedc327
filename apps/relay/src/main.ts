#!/usr/bin/env -S node --initial-heap-size=128
// egtp-relay: config → compose → run. Prints one JSON line `{"event":"ready",…}` on stdout when serving;
// logs go to stderr (DEBUG=egtp:* for more). Exit codes: 0 after SIGINT/SIGTERM, 1 on a runtime failure,
// 2 on invalid configuration (one line). Node runs with RELAY_NODE_FLAGS (in the shebang and `pnpm start`).
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { FileKeystore, MemoryKeystore, loadOrCreateIdentity } from '@egtp/identity'
import { createComponentLogger, isEgtpError } from '@egtp/interface'
import { relayServer, renderPrometheus } from '@egtp/relay/server'
import type { RelayServer } from '@egtp/relay/server'
import { tcp } from '@egtp/tcp'
import { ConfigError, USAGE, parseConfig } from './config.ts'
import { bootpageArgs, publishRelayRecord, trackerRecordArg } from './publish.ts'
import type { RelayPublisher } from './publish.ts'

function exitWith (err: unknown): never {
  const config = err instanceof ConfigError
  process.stderr.write(`egtp-relay: ${isEgtpError(err) || config ? (err as Error).message : `${(err as Error).name}: ${(err as Error).message}`}\n`)
  if (config) process.stderr.write('(egtp-relay --help for usage)\n')
  process.exit(config ? 2 : 1)
}

/** /metrics: Prometheus text; /health: JSON (200 while serving, 503 while stopping). */
function metricsServer (server: RelayServer, nodeId: string, startedAt: number, stopping: () => boolean): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405, { allow: 'GET, HEAD' }).end(); return }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(renderPrometheus(server.stats()))
    } else if (path === '/health') {
      const s = server.stats()
      const body = {
        status: stopping() ? 'stopping' : 'ok',
        nodeId,
        uptimeMs: Math.round(performance.now() - startedAt),
        connections: s.connections,
        clients: s.clients,
        connectedClients: s.connectedClients,
        queuedMessages: s.queuedMessages,
        queuedBytes: s.queuedBytes,
        persistent: s.persistent
      }
      res.writeHead(stopping() ? 503 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    } else {
      res.writeHead(404).end()
    }
  })
}

async function main (): Promise<void> {
  const config = parseConfig(process.argv.slice(2), process.env)
  if (config.help) { process.stdout.write(`${USAGE}\n`); return }
  const trackerRecords = config.trackers.map(trackerRecordArg)
  const bootpage = bootpageArgs(config.bootpages, config.bootpageKey)
  if ((trackerRecords.length > 0 || bootpage !== undefined) && config.announce === undefined && ['0.0.0.0', '::'].includes(config.listen.host)) {
    throw new ConfigError(`--listen ${config.listen.host} is no address for nodes to dial: give --announce HOST:PORT for the record published to the trackers`)
  }
  const logger = createComponentLogger(process.env.DEBUG ?? 'egtp:relay*', ({ namespace, level, message }) => {
    process.stderr.write(config.json
      ? `${JSON.stringify({ time: new Date().toISOString(), level, namespace, message })}\n`
      : `${new Date().toISOString()} ${level === 'error' ? 'ERROR ' : ''}${namespace} ${message}\n`)
  })
  const log = logger.forComponent('egtp:relay:app')
  if (config.stateDir !== undefined) {
    try { mkdirSync(config.stateDir, { recursive: true, mode: 0o700 }) } catch (err) { throw new ConfigError(`--state-dir ${config.stateDir}: ${(err as Error).message}`) }
  }
  let identity
  try {
    identity = await loadOrCreateIdentity(config.keyFile !== undefined ? new FileKeystore(config.keyFile) : new MemoryKeystore())
  } catch (err) {
    throw new ConfigError(`key file ${config.keyFile ?? ''}: ${(err as Error).message}`)
  }
  const transport = tcp({ idleTimeoutMs: config.limits.idleTimeoutMs ?? 120_000 })({ logger })
  let server: RelayServer
  try {
    server = relayServer({
      listen: { kind: 'tcp', ...config.listen },
      ...(config.announce !== undefined ? { announce: config.announce } : {}),
      ...(config.dataDir !== undefined ? { dataDir: config.dataDir } : {}),
      ...config.limits
    })({ transport, identity, logger })
  } catch (err) {
    // The library checks its limits (e.g. --max-message-bytes above its hard maximum): a configuration error.
    throw new ConfigError((err as Error).message)
  }
  // The effective configuration, secrets left out.
  log('config %o', { ...config, nodeId: identity.nodeId })
  if (config.dataDir === undefined) log('no --state-dir: the queue is in memory only; a stop or restart loses what it holds')

  const startedAt = performance.now()
  let stopping = false
  let metrics: Server | undefined
  try {
    await server.start()
  } catch (err) {
    await server.stop().catch(() => {})
    if (isEgtpError(err, 'ERR_RELAY_STORE')) throw new ConfigError(`--data-dir ${config.dataDir ?? ''}: ${err.message}`)
    throw err
  }
  if (config.metrics !== undefined) {
    const m = metricsServer(server, identity.nodeId, startedAt, () => stopping)
    metrics = m
    try {
      await new Promise<void>((resolve, reject) => { m.once('error', reject).listen(config.metrics!.port, config.metrics!.host, resolve) })
    } catch (err) {
      await server.stop().catch(() => {})
      throw new Error(`--metrics ${config.metrics.host}:${config.metrics.port}: ${(err as Error).message}`)
    }
  }

  // Published once serving, so that nodes never discover a relay that does not answer yet.
  let publisher: RelayPublisher | undefined
  if (trackerRecords.length > 0 || bootpage !== undefined) {
    const at = server.endpoint()
    publisher = await publishRelayRecord({ identity, host: at.host, port: at.port, trackers: trackerRecords, bootpage, stateDir: config.stateDir, recordTtlMs: config.recordTtlMs, logger })
  }

  const address = server.address()
  const metricsAddress = metrics?.address()
  process.stdout.write(`${JSON.stringify({
    event: 'ready',
    nodeId: identity.nodeId,
    host: address.host,
    port: address.port,
    endpoint: server.endpoint(),
    metricsPort: typeof metricsAddress === 'object' && metricsAddress !== null ? metricsAddress.port : null,
    record: publisher?.recordText() ?? null,
    trackers: publisher?.client.trackerIds() ?? []
  })}\n`)

  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return
    stopping = true
    log('%s: stopping', signal)
    const timer = setTimeout(() => { log.error('stop took over 5 s; exiting'); process.exit(1) }, 5_000)
    timer.unref()
    // Withdrawn first: nodes stop picking this relay while it closes.
    await publisher?.stop().catch((err: unknown) => { log.error('withdrawing the relay record failed: %e', err) })
    const queued = server.stats().queuedMessages
    // stop() closes connections, then the queue's log after its last group commit: with --state-dir every
    // queued message is on disk for the next start.
    await server.stop()
    if (queued > 0) log(config.dataDir !== undefined ? '%d queued message(s) kept in the log for the next start' : '%d queued message(s) dropped: memory only (use --state-dir)', queued)
    metrics?.close()
    process.exit(0)
  }
  process.on('SIGINT', () => { void shutdown('SIGINT') })
  process.on('SIGTERM', () => { void shutdown('SIGTERM') })
}

process.on('uncaughtException', exitWith)
process.on('unhandledRejection', exitWith)
main().catch(exitWith)
